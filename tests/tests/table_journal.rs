//! The local table backend keeps every acknowledged write across restarts and crashes: a child
//! process writing under load is killed with SIGKILL, and what it acknowledged is all there.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use svless_store::dynamo::{ItemKey, MemoryDb, Table, TableDef};

fn data_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("svless-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The live keys after the acknowledged lines, and the set after the one call in flight.
fn expected(lines: &[String]) -> (BTreeSet<u64>, BTreeSet<u64>) {
    let mut live = BTreeSet::new();
    let mut last = 0;
    for line in lines {
        let (op, k) = line.split_once(' ').expect("an `op k` line");
        let k: u64 = k.parse().expect("a number");
        match op {
            "put" => {
                live.insert(k);
                last = k;
            }
            "del" => {
                live.remove(&k);
            }
            other => panic!("unknown line {other}"),
        }
    }
    // The call after the last acknowledged one: the next delete, or the next put.
    let mut next = live.clone();
    match lines.last().map(|l| l.starts_with("put")) {
        Some(true) if last > 5 => {
            next.remove(&(last - 5));
        }
        _ => {
            next.insert(last + 1);
        }
    }
    (live, next)
}

async fn live_keys(dir: &std::path::Path, upto: u64) -> BTreeSet<u64> {
    let db = MemoryDb::open(dir).expect("the data directory opens again");
    let table = Table::memory(TableDef::simple("load", "pk"), &db);
    table.create().await.expect("the table is created again");
    let mut live = BTreeSet::new();
    for k in 1..=upto + 1 {
        let mut key = std::collections::HashMap::new();
        key.insert(
            "pk".to_owned(),
            serde_dynamo::AttributeValue::S(k.to_string()),
        );
        if table
            .get_item(serde_dynamo::Item::from(key))
            .await
            .expect("a read")
            .is_some()
        {
            live.insert(k);
        }
    }
    live
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill_mid_load() {
    for (round, kill_after) in [(0, 1), (1, 257), (2, 1_503)].into_iter() {
        let dir = data_dir(&format!("journal-kill-{round}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_table-writer"))
            .arg(&dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the writer starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut reader = BufReader::new(stdout).lines();
        let mut lines = Vec::new();
        for line in reader.by_ref() {
            lines.push(line.expect("a line"));
            if lines.len() >= kill_after {
                break;
            }
        }
        child.kill().expect("SIGKILL");
        // Everything the writer printed before it died was acknowledged: read it all.
        for line in reader {
            match line {
                Ok(line) if line.contains(' ') => lines.push(line),
                // The last line may be cut by the kill: that call was not acknowledged.
                _ => break,
            }
        }
        let _ = child.wait();
        assert!(lines.len() >= kill_after, "the writer stopped early");
        let (acked, in_flight) = expected(&lines);
        let upto = acked
            .iter()
            .chain(in_flight.iter())
            .max()
            .copied()
            .unwrap_or(0);
        let live = live_keys(&dir, upto).await;
        assert!(
            live == acked || live == in_flight,
            "round {round}: after {} acknowledged calls the table holds {live:?}, expected {acked:?} \
             (or {in_flight:?} with the call in flight)",
            lines.len()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test]
async fn a_restart_brings_back_items_updates_and_deletes() {
    let dir = data_dir("journal-restart");
    {
        let db = MemoryDb::open(&dir).expect("open");
        let table = Table::memory(TableDef::simple("t", "pk"), &db);
        table.create().await.expect("create");
        for k in 0..20 {
            let mut item = std::collections::HashMap::new();
            item.insert(
                "pk".to_owned(),
                serde_dynamo::AttributeValue::S(format!("k{k}")),
            );
            item.insert(
                "n".to_owned(),
                serde_dynamo::AttributeValue::N(k.to_string()),
            );
            table
                .put_item_if(serde_dynamo::Item::from(item), None)
                .await
                .expect("put");
        }
        for k in 0..10 {
            table
                .delete(&ItemKey::new(format!("k{k}"), None))
                .await
                .expect("delete");
        }
    }
    // Twice: the second open reads the compacted journal the first one wrote.
    for _ in 0..2 {
        let db = MemoryDb::open(&dir).expect("reopen");
        let table = Table::memory(TableDef::simple("t", "pk"), &db);
        table.create().await.expect("create again");
        for k in 0..20 {
            let mut key = std::collections::HashMap::new();
            key.insert(
                "pk".to_owned(),
                serde_dynamo::AttributeValue::S(format!("k{k}")),
            );
            let item = table
                .get_item(serde_dynamo::Item::from(key))
                .await
                .expect("get");
            assert_eq!(item.is_some(), k >= 10, "item k{k}");
            if let Some(item) = item {
                assert_eq!(
                    item.get("n"),
                    Some(&serde_dynamo::AttributeValue::N(k.to_string()))
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
