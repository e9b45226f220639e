//! The journal that makes a [`MemoryDb`](super::MemoryDb) survive restarts and crashes.
//!
//! Every call that changes a table appends one line of JSON (the table and, in order, each
//! key's new item or its removal) with a single `write` before the call returns, so an
//! acknowledged write is in the operating system's hands when its caller hears of it: it
//! survives the process being killed (`kill -9`, a panic, an abort). With
//! [`Durability::Sync`] the line is also flushed to the disk (`fdatasync`) before the call
//! returns, which survives power loss at the price of a disk flush per write.
//!
//! A crash in the middle of a `write` leaves a last line without its newline (or cut short):
//! that call was never acknowledged, and opening the journal drops the line. Opening also
//! compacts: the state is written to a new file, flushed, and renamed over the journal.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_dynamo::Item;

use super::{Error, Result};

/// The journal's file name inside a data directory.
pub(crate) const FILE_NAME: &str = "tables.journal";

/// How far an acknowledged write has travelled when its call returns.
///
/// ```
/// use svless_store::dynamo::Durability;
/// assert_ne!(Durability::Process, Durability::Sync);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Written to the operating system: survives the process crashing or being killed.
    #[default]
    Process,
    /// Flushed to the disk: survives power loss too (a disk flush per write).
    Sync,
}

/// Items by partition key, then sort key ("" for tables without one).
pub(crate) type Items = BTreeMap<String, BTreeMap<String, Item>>;

/// One journal line: a call's changes to one table, in the order they were made.
#[derive(Serialize, Deserialize)]
struct Record {
    /// The table.
    t: String,
    /// Whether the table's items were replaced as a whole (a restore, a compaction).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    replace: bool,
    /// `[pk, sk, item]` for a write, `[pk, sk, null]` for a removal.
    ops: Vec<(String, String, Option<Item>)>,
}

pub(crate) struct Journal {
    file: File,
    durability: Durability,
}

fn io_error(err: std::io::Error) -> Error {
    Error::Backend {
        operation: "WriteJournal",
        source: Box::new(err),
    }
}

impl Journal {
    /// Opens (or creates) the journal in `dir`, replays it, and compacts it.
    pub(crate) fn open(
        dir: &Path,
        durability: Durability,
    ) -> std::io::Result<(Journal, HashMap<String, Items>)> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE_NAME);
        let tables = match File::open(&path) {
            Ok(file) => replay(BufReader::new(file))?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            Err(err) => return Err(err),
        };
        let file = compact(dir, &path, &tables)?;
        Ok((Journal { file, durability }, tables))
    }

    /// Appends one call's changes; the call is acknowledged only if this succeeds.
    pub(crate) fn append(
        &mut self,
        table: &str,
        replace: bool,
        ops: Vec<(String, String, Option<Item>)>,
    ) -> Result<()> {
        if ops.is_empty() && !replace {
            return Ok(());
        }
        let record = Record {
            t: table.to_owned(),
            replace,
            ops,
        };
        let mut line = serde_json::to_vec(&record).map_err(|e| io_error(e.into()))?;
        line.push(b'\n');
        self.file.write_all(&line).map_err(io_error)?;
        if self.durability == Durability::Sync {
            self.file.sync_data().map_err(io_error)?;
        }
        Ok(())
    }
}

/// Applies the journal's complete lines; stops at the first torn or unreadable one (a write
/// that never completed, so was never acknowledged).
fn replay(mut reader: impl BufRead) -> std::io::Result<HashMap<String, Items>> {
    let mut tables: HashMap<String, Items> = HashMap::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 || line.last() != Some(&b'\n') {
            break;
        }
        let Ok(record) = serde_json::from_slice::<Record>(&line) else {
            tracing::warn!("the table journal ends in a torn line; the write was not acknowledged");
            break;
        };
        let items = tables.entry(record.t).or_default();
        if record.replace {
            items.clear();
        }
        for (pk, sk, item) in record.ops {
            match item {
                Some(item) => {
                    items.entry(pk).or_default().insert(sk, item);
                }
                None => {
                    if let Some(partition) = items.get_mut(&pk) {
                        partition.remove(&sk);
                        if partition.is_empty() {
                            items.remove(&pk);
                        }
                    }
                }
            }
        }
    }
    Ok(tables)
}

/// Writes the state as a fresh journal beside the old one, flushes it, and renames it over.
fn compact(dir: &Path, path: &Path, tables: &HashMap<String, Items>) -> std::io::Result<File> {
    let fresh: PathBuf = dir.join(format!("{FILE_NAME}.new"));
    {
        let mut out = std::io::BufWriter::new(File::create(&fresh)?);
        let mut names: Vec<&String> = tables.keys().collect();
        names.sort();
        for name in names {
            let ops = tables[name]
                .iter()
                .flat_map(|(pk, partition)| {
                    partition
                        .iter()
                        .map(|(sk, item)| (pk.clone(), sk.clone(), Some(item.clone())))
                })
                .collect();
            let record = Record {
                t: name.clone(),
                replace: true,
                ops,
            };
            serde_json::to_writer(&mut out, &record)?;
            out.write_all(b"\n")?;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
    }
    std::fs::rename(&fresh, path)?;
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    OpenOptions::new().append(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_dynamo::AttributeValue;

    fn item(pk: &str, n: &str) -> Item {
        let mut map = HashMap::new();
        map.insert("pk".to_owned(), AttributeValue::S(pk.to_owned()));
        map.insert("n".to_owned(), AttributeValue::N(n.to_owned()));
        Item::from(map)
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_the_rest_replayed() {
        let dir = std::env::temp_dir().join(format!("svless-journal-{}", fastrand_suffix()));
        {
            let (mut journal, tables) = Journal::open(&dir, Durability::Process).expect("open");
            assert!(tables.is_empty());
            journal
                .append(
                    "t",
                    false,
                    vec![("a".into(), "".into(), Some(item("a", "1")))],
                )
                .expect("append");
            journal
                .append(
                    "t",
                    false,
                    vec![("b".into(), "".into(), Some(item("b", "2")))],
                )
                .expect("append");
            journal
                .append("t", false, vec![("a".into(), "".into(), None)])
                .expect("append");
        }
        // A write cut short by a crash.
        let mut file = OpenOptions::new()
            .append(true)
            .open(dir.join(FILE_NAME))
            .expect("journal");
        file.write_all(br#"{"t":"t","ops":[["c","",{"pk":{"S":"c"#)
            .expect("write");
        drop(file);
        let (_, tables) = Journal::open(&dir, Durability::Process).expect("reopen");
        let items = &tables["t"];
        assert_eq!(items.len(), 1);
        assert_eq!(items["b"][""], item("b", "2"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn fastrand_suffix() -> String {
        format!(
            "{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        )
    }
}
