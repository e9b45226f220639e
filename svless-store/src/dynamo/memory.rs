//! The in-memory backend: DynamoDB's semantics for unit tests and local runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_dynamo::{AttributeValue, Item};

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use super::batch::Write;
use super::journal::{Durability, Items, Journal};
use super::stream::{ChangeKind, StreamChange, StreamChanges};
use super::transaction::Op;
use super::{
    CancelReason, Condition, Error, IndexKind, Projection, QuerySpec, RawPage, Result, StreamView,
    TableDef, Update, item_size,
};

/// DynamoDB stops a page at 1 MB of items read.
const PAGE_BYTES: usize = 1024 * 1024;

/// Tables in memory, shared by every [`Table`](super::Table) made from the same `MemoryDb`
/// (clones share them too).
///
/// Keys are strings ordered byte by byte, as DynamoDB orders them; a query's `Limit` counts
/// items before the type filter and a page ends at 1 MB; indexes are sparse (an item without
/// an index's keys is not in it) and hold what their projection says.
///
/// ```
/// let db = svless_store::dynamo::MemoryDb::new();
/// let users = svless_store::dynamo::Table::memory(svless_store::dynamo::TableDef::new("users"), &db);
/// # let _ = users;
/// ```
#[derive(Clone, Default)]
pub struct MemoryDb {
    tables: Arc<Mutex<HashMap<String, MemTable>>>,
    faults: Arc<Mutex<Faults>>,
    calls: Arc<Mutex<HashMap<&'static str, u32>>>,
    streams: Arc<Mutex<HashMap<String, Vec<mpsc::UnboundedSender<StreamChange>>>>>,
    /// Subscribers to every table's changes.
    all_streams: Arc<Mutex<Vec<mpsc::UnboundedSender<StreamChange>>>>,
    #[allow(clippy::type_complexity)]
    backups: Arc<Mutex<HashMap<String, (TableDef, BTreeMap<String, BTreeMap<String, Item>>)>>>,
    sequence: Arc<AtomicU64>,
    journal: Option<Arc<Mutex<Journal>>>,
    /// Tables read back from the journal that no `create` has claimed yet.
    recovered: Arc<Mutex<HashMap<String, Items>>>,
}

/// Faults the in-memory backend injects, so retry paths run in tests (DynamoDB returns
/// unprocessed items and throttles under load; local servers never do).
///
/// ```
/// use svless_store::dynamo::{Faults, MemoryDb};
/// let db = MemoryDb::new();
/// // The next 3 batch calls each leave half their requests unprocessed.
/// db.inject(Faults { unprocessed_calls: 3, unprocessed_fraction: 0.5, ..Faults::default() });
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// How many batch calls return some requests unprocessed.
    pub unprocessed_calls: u32,
    /// Which share of each such call's requests (at least one) comes back unprocessed.
    pub unprocessed_fraction: f64,
    /// How many calls (of any kind) fail with `Throttled` before the rest succeed.
    pub throttled_calls: u32,
}

impl std::fmt::Debug for MemoryDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryDb").finish_non_exhaustive()
    }
}

struct MemTable {
    def: TableDef,
    /// partition key → sort key ("" for simple keys) → item.
    items: BTreeMap<String, BTreeMap<String, Item>>,
    /// Changes of the current call, (old, new, expired), for the stream and the journal.
    log: Vec<(Option<Item>, Option<Item>, bool)>,
    /// Whether the database keeps a journal (so every change is logged).
    journaled: bool,
}

impl MemTable {
    /// Whether changes are logged: for the table's stream or for the journal.
    fn logs(&self) -> bool {
        self.journaled || self.def.stream.is_some()
    }

    fn store(&mut self, pk: String, sk: String, item: Item) {
        let old = self.items.entry(pk).or_default().insert(sk, item.clone());
        if self.logs() {
            self.log.push((old, Some(item), false));
        }
    }

    fn unstore(&mut self, pk: &str, sk: &str) {
        let logs = self.logs();
        if let Some(partition) = self.items.get_mut(pk) {
            if let Some(old) = partition.remove(sk)
                && logs
            {
                self.log.push((Some(old), None, false));
            }
            if partition.is_empty() {
                self.items.remove(pk);
            }
        }
    }
}

fn string(item: &Item, attr: &str) -> Option<String> {
    match item.get(attr) {
        Some(AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    }
}

impl MemoryDb {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    /// A database kept in `dir` (created if missing): what it held when it was last used is
    /// back, and every acknowledged write survives the process being killed. A table's items
    /// come back when the table is created again with its name.
    ///
    /// ```
    /// use svless_store::dynamo::{MemoryDb, Table, TableDef};
    /// # tokio::runtime::Builder::new_current_thread().build().expect("rt").block_on(async {
    /// let dir = std::env::temp_dir().join(format!("svless-doc-open-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let users = Table::memory(TableDef::simple("users", "pk"), &MemoryDb::open(&dir).expect("a directory"));
    /// users.create().await.expect("created");
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// # });
    /// ```
    pub fn open(dir: impl AsRef<std::path::Path>) -> std::io::Result<Self> {
        Self::open_with(dir, Durability::Process)
    }

    /// [`open`](Self::open) with the durability every write waits for.
    ///
    /// ```
    /// use svless_store::dynamo::{Durability, MemoryDb};
    /// let dir = std::env::temp_dir().join(format!("svless-doc-open-with-{}", std::process::id()));
    /// let db = MemoryDb::open_with(&dir, Durability::Sync).expect("a directory");
    /// # drop(db);
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// ```
    pub fn open_with(
        dir: impl AsRef<std::path::Path>,
        durability: Durability,
    ) -> std::io::Result<Self> {
        let (journal, recovered) = Journal::open(dir.as_ref(), durability)?;
        Ok(Self {
            journal: Some(Arc::new(Mutex::new(journal))),
            recovered: Arc::new(Mutex::new(recovered)),
            ..Self::default()
        })
    }

    /// Subscribes to the changes of `table` (which needs a [`StreamView`] in its definition),
    /// shaped as DynamoDB Streams records; see [`deliver_stream`](super::deliver_stream).
    pub fn subscribe(&self, table: &str) -> StreamChanges {
        let (tx, rx) = mpsc::unbounded_channel();
        self.streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(table.to_owned())
            .or_default()
            .push(tx);
        StreamChanges(rx)
    }

    /// Subscribes to the changes of every table that has a [`StreamView`], those created later
    /// included, in the order they were made (a local cloud's one event source mapping).
    ///
    /// ```
    /// let db = svless_store::dynamo::MemoryDb::new();
    /// let mut changes = db.subscribe_all();
    /// assert!(changes.try_recv().is_none());
    /// ```
    pub fn subscribe_all(&self) -> StreamChanges {
        let (tx, rx) = mpsc::unbounded_channel();
        self.all_streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(tx);
        StreamChanges(rx)
    }

    fn emit(&self, def: &TableDef, view: StreamView, log: Vec<(Option<Item>, Option<Item>, bool)>) {
        if log.is_empty() {
            return;
        }
        let mut streams = self
            .streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut all = self
            .all_streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut none = Vec::new();
        let subscribers = streams.get_mut(&def.name).unwrap_or(&mut none);
        if subscribers.is_empty() && all.is_empty() {
            return;
        }
        for (old, new, expired) in log {
            let kind = match (&old, &new) {
                (None, _) => ChangeKind::Insert,
                (Some(_), Some(_)) => ChangeKind::Modify,
                (Some(_), None) => ChangeKind::Remove,
            };
            let any = new.as_ref().or(old.as_ref()).cloned().unwrap_or_default();
            let mut keys = Item::from(HashMap::<String, AttributeValue>::new());
            for attr in std::iter::once(&def.pk).chain(def.sk.iter()) {
                if let Some(v) = any.get(attr) {
                    keys.insert(attr.clone(), v.clone());
                }
            }
            let (old, new) = match view {
                StreamView::KeysOnly => (None, None),
                StreamView::NewImage => (None, new),
                StreamView::OldImage => (old, None),
                StreamView::NewAndOldImages => (old, new),
            };
            let change = StreamChange {
                table: def.name.clone(),
                kind,
                keys,
                old,
                new,
                sequence: self.sequence.fetch_add(1, Ordering::Relaxed) + 1,
                view,
                expired,
            };
            subscribers.retain(|tx| tx.send(change.clone()).is_ok());
            all.retain(|tx| tx.send(change.clone()).is_ok());
        }
    }

    /// Removes the items of `table` whose TTL attribute (epoch seconds) is at or before
    /// `now`, as DynamoDB's time to live does (some time after expiry); their stream records
    /// name DynamoDB's service principal, so handlers can tell them from deletes.
    pub fn expire(&self, table: &str, now: std::time::SystemTime) -> Result<usize> {
        let now = now
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        self.with_table(table, |t| {
            let logs = t.logs();
            let Some(attr) = t.def.ttl_attribute.clone() else {
                return Ok(0);
            };
            let mut expired = Vec::new();
            for (pk, partition) in &t.items {
                for (sk, item) in partition {
                    if let Some(AttributeValue::N(n)) = item.get(&attr)
                        && n.parse::<f64>().is_ok_and(|at| at <= now)
                    {
                        expired.push((pk.clone(), sk.clone()));
                    }
                }
            }
            for (pk, sk) in &expired {
                if let Some(partition) = t.items.get_mut(pk) {
                    if let Some(old) = partition.remove(sk)
                        && logs
                    {
                        t.log.push((Some(old), None, true));
                    }
                    if partition.is_empty() {
                        t.items.remove(pk);
                    }
                }
            }
            Ok(expired.len())
        })
    }

    pub(crate) fn backup(&self, table: &str, backup: &str) -> Result<String> {
        let (def, copy) = self.with_table(table, |t| Ok((t.def.clone(), t.items.clone())))?;
        self.backups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(backup.to_owned(), (def, copy));
        Ok(backup.to_owned())
    }

    pub(crate) fn restore(&self, backup: &str, target: &str) -> Result<TableDef> {
        let (def, items) = self
            .backups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(backup)
            .cloned()
            .ok_or_else(|| Error::Validation {
                message: format!("no backup `{backup}`"),
            })?;
        let def = TableDef {
            name: target.to_owned(),
            ..def
        };
        self.create(&def)?;
        self.with_table(target, |t| {
            if let Some(journal) = &self.journal {
                let ops = items
                    .iter()
                    .flat_map(|(pk, partition)| {
                        partition
                            .iter()
                            .map(|(sk, item)| (pk.clone(), sk.clone(), Some(item.clone())))
                    })
                    .collect();
                journal
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .append(target, true, ops)?;
            }
            t.items = items;
            Ok(())
        })?;
        Ok(def)
    }

    /// Injects faults into the calls that follow.
    pub fn inject(&self, faults: Faults) {
        *self
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = faults;
    }

    /// How many times the operation (`"BatchGetItem"`, `"BatchWriteItem"`, `"GetItem"`,
    /// `"PutItem"`, `"Query"`, `"TransactWriteItems"`) was called.
    pub fn calls(&self, operation: &str) -> u32 {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// Counts a call and applies the throttling fault.
    fn call(&self, operation: &'static str) -> Result<()> {
        *self
            .calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(operation)
            .or_default() += 1;
        let mut faults = self
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if faults.throttled_calls > 0 {
            faults.throttled_calls -= 1;
            return Err(Error::Throttled {
                message: format!("{operation}: injected throttling"),
            });
        }
        Ok(())
    }

    /// How many of `n` requests the unprocessed fault holds back in this call.
    fn held_back(&self, n: usize) -> usize {
        let mut faults = self
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if faults.unprocessed_calls == 0 || n == 0 {
            return 0;
        }
        faults.unprocessed_calls -= 1;
        ((n as f64 * faults.unprocessed_fraction).ceil() as usize).clamp(1, n)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, MemTable>> {
        self.tables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn create(&self, def: &TableDef) -> Result<()> {
        let mut tables = self.lock();
        if tables.contains_key(&def.name) {
            return Err(Error::Validation {
                message: format!("the table `{}` exists already", def.name),
            });
        }
        let items = self
            .recovered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&def.name)
            .unwrap_or_default();
        tables.insert(
            def.name.clone(),
            MemTable {
                def: def.clone(),
                items,
                log: Vec::new(),
                journaled: self.journal.is_some(),
            },
        );
        Ok(())
    }

    fn with_table<T>(&self, name: &str, f: impl FnOnce(&mut MemTable) -> Result<T>) -> Result<T> {
        let mut tables = self.lock();
        let table = tables.get_mut(name).ok_or_else(|| Error::Validation {
            message: format!("no table `{name}`: create it first"),
        })?;
        let result = f(table);
        let log = std::mem::take(&mut table.log);
        if let Some(journal) = &self.journal
            && !log.is_empty()
        {
            let ops = log
                .iter()
                .filter_map(|(old, new, _)| {
                    let any = new.as_ref().or(old.as_ref())?;
                    let (pk, sk) = Self::keys_of(&table.def, any).ok()?;
                    Some((pk, sk, new.clone()))
                })
                .collect();
            let appended = journal
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .append(name, false, ops);
            if let Err(err) = appended {
                // Not acknowledged: undo the call's changes, newest first.
                for (old, new, _) in log.into_iter().rev() {
                    let Some(any) = new.as_ref().or(old.as_ref()) else {
                        continue;
                    };
                    let Ok((pk, sk)) = Self::keys_of(&table.def, any) else {
                        continue;
                    };
                    match old {
                        Some(old) => {
                            table.items.entry(pk).or_default().insert(sk, old);
                        }
                        None => {
                            if let Some(partition) = table.items.get_mut(&pk) {
                                partition.remove(&sk);
                                if partition.is_empty() {
                                    table.items.remove(&pk);
                                }
                            }
                        }
                    }
                }
                return Err(err);
            }
            if let Some(view) = table.def.stream {
                self.emit(&table.def, view, log);
            }
            return result;
        }
        if let Some(view) = table.def.stream {
            self.emit(&table.def, view, log);
        }
        result
    }

    fn keys_of(def: &TableDef, item: &Item) -> Result<(String, String)> {
        let pk = string(item, &def.pk).ok_or_else(|| Error::Validation {
            message: format!("the item has no string `{}`", def.pk),
        })?;
        let sk = match &def.sk {
            None => String::new(),
            Some(attr) => string(item, attr).ok_or_else(|| Error::Validation {
                message: format!("the item has no string `{attr}`"),
            })?,
        };
        Ok((pk, sk))
    }

    pub(crate) fn get(&self, table: &str, key: &Item) -> Result<Option<Item>> {
        self.call("GetItem")?;
        self.with_table(table, |t| {
            let (pk, sk) = Self::keys_of(&t.def, key)?;
            Ok(t.items.get(&pk).and_then(|p| p.get(&sk)).cloned())
        })
    }

    pub(crate) fn put(
        &self,
        def: &TableDef,
        item: Item,
        condition: Option<&Condition>,
    ) -> Result<()> {
        self.with_table(&def.name, |t| {
            let (pk, sk) = Self::keys_of(&t.def, &item)?;
            let current = t.items.get(&pk).and_then(|p| p.get(&sk));
            if let Some(condition) = condition
                && !condition.holds(current)
            {
                return Err(Error::ConditionFailed {
                    current: current.cloned(),
                });
            }
            t.store(pk, sk, item);
            Ok(())
        })
    }

    pub(crate) fn delete(
        &self,
        def: &TableDef,
        key: &Item,
        condition: Option<&Condition>,
    ) -> Result<()> {
        self.with_table(&def.name, |t| {
            let (pk, sk) = Self::keys_of(&t.def, key)?;
            let current = t.items.get(&pk).and_then(|p| p.get(&sk));
            if let Some(condition) = condition
                && !condition.holds(current)
            {
                return Err(Error::ConditionFailed {
                    current: current.cloned(),
                });
            }
            t.unstore(&pk, &sk);
            Ok(())
        })
    }

    pub(crate) fn update(
        &self,
        def: &TableDef,
        key: &Item,
        update: &Update,
        condition: &Condition,
    ) -> Result<Item> {
        self.with_table(&def.name, |t| {
            let (pk, sk) = Self::keys_of(&t.def, key)?;
            let current = t.items.get(&pk).and_then(|p| p.get(&sk));
            if !condition.holds(current) {
                return Err(Error::ConditionFailed {
                    current: current.cloned(),
                });
            }
            let mut next = current.cloned().unwrap_or_else(|| key.clone());
            update.apply(&mut next)?;
            let size = item_size(&next);
            if size > super::MAX_ITEM_BYTES {
                return Err(Error::ItemTooLarge { size });
            }
            t.store(pk, sk, next.clone());
            Ok(next)
        })
    }

    pub(crate) fn batch_get(
        &self,
        def: &TableDef,
        keys: Vec<Item>,
    ) -> Result<(Vec<Item>, Vec<Item>)> {
        self.call("BatchGetItem")?;
        if keys.len() > super::batch::BATCH_GET_MAX {
            return Err(Error::Validation {
                message: "BatchGetItem takes at most 100 keys".into(),
            });
        }
        let held = self.held_back(keys.len());
        let (keys, unprocessed) = keys.split_at(keys.len() - held);
        self.with_table(&def.name, |t| {
            let mut items = Vec::new();
            for key in keys {
                let (pk, sk) = Self::keys_of(&t.def, key)?;
                if let Some(item) = t.items.get(&pk).and_then(|p| p.get(&sk)) {
                    items.push(item.clone());
                }
            }
            Ok((items, unprocessed.to_vec()))
        })
    }

    pub(crate) fn batch_write(&self, def: &TableDef, writes: Vec<Write>) -> Result<Vec<Write>> {
        self.call("BatchWriteItem")?;
        if writes.len() > super::batch::BATCH_WRITE_MAX {
            return Err(Error::Validation {
                message: "BatchWriteItem takes at most 25 requests".into(),
            });
        }
        let held = self.held_back(writes.len());
        let (writes, unprocessed) = writes.split_at(writes.len() - held);
        self.with_table(&def.name, |t| {
            let mut seen = std::collections::HashSet::new();
            for write in writes {
                let (Write::Put(item) | Write::Delete(item)) = write;
                if !seen.insert(Self::keys_of(&t.def, item)?) {
                    return Err(Error::Validation {
                        message: "Provided list of item keys contains duplicates".into(),
                    });
                }
            }
            for write in writes {
                match write {
                    Write::Put(item) => {
                        let (pk, sk) = Self::keys_of(&t.def, item)?;
                        t.store(pk, sk, item.clone());
                    }
                    Write::Delete(key) => {
                        let (pk, sk) = Self::keys_of(&t.def, key)?;
                        t.unstore(&pk, &sk);
                    }
                }
            }
            Ok(unprocessed.to_vec())
        })
    }

    /// All operations or none: every condition is checked first.
    pub(crate) fn transact(&self, def: &TableDef, ops: Vec<Op>) -> Result<()> {
        self.call("TransactWriteItems")?;
        self.with_table(&def.name, |t| {
            let mut seen = std::collections::HashSet::new();
            let mut reasons = Vec::with_capacity(ops.len());
            let mut failed = false;
            for op in &ops {
                let (key, condition) = match op {
                    Op::Put(item, c) => (item, c.as_ref()),
                    Op::Update(key, _, c) | Op::Delete(key, c) => (key, c.as_ref()),
                    Op::Check(key, c) => (key, Some(c)),
                };
                let (pk, sk) = Self::keys_of(&t.def, key)?;
                if !seen.insert((pk.clone(), sk.clone())) {
                    return Err(Error::Validation {
                        message: "a transaction cannot include several operations on one item"
                            .into(),
                    });
                }
                let current = t.items.get(&pk).and_then(|p| p.get(&sk));
                if condition.is_some_and(|c| !c.holds(current)) {
                    failed = true;
                    reasons.push(CancelReason::ConditionFailed {
                        current: current.cloned(),
                    });
                } else {
                    reasons.push(CancelReason::None);
                }
            }
            if failed {
                return Err(Error::TransactionCancelled { reasons });
            }
            // Updates are computed before anything is written, so a failing one writes nothing.
            let mut writes = Vec::with_capacity(ops.len());
            for op in ops {
                match op {
                    Op::Put(item, _) => writes.push(Write::Put(item)),
                    Op::Delete(key, _) => writes.push(Write::Delete(key)),
                    Op::Check(..) => {}
                    Op::Update(key, update, _) => {
                        let (pk, sk) = Self::keys_of(&t.def, &key)?;
                        let mut next = t
                            .items
                            .get(&pk)
                            .and_then(|p| p.get(&sk))
                            .cloned()
                            .unwrap_or(key);
                        update.apply(&mut next)?;
                        writes.push(Write::Put(next));
                    }
                }
            }
            for write in writes {
                match write {
                    Write::Put(item) => {
                        let (pk, sk) = Self::keys_of(&t.def, &item)?;
                        t.store(pk, sk, item);
                    }
                    Write::Delete(key) => {
                        let (pk, sk) = Self::keys_of(&t.def, &key)?;
                        t.unstore(&pk, &sk);
                    }
                }
            }
            Ok(())
        })
    }

    pub(crate) fn query(&self, def: &TableDef, spec: &QuerySpec) -> Result<RawPage> {
        self.call("Query")?;
        self.with_table(&def.name, |t| {
            let table_keys = |item: &Item| -> HashMap<String, String> {
                let mut keys = HashMap::new();
                for attr in std::iter::once(&t.def.pk).chain(t.def.sk.iter()) {
                    if let Some(v) = string(item, attr) {
                        keys.insert(attr.clone(), v);
                    }
                }
                keys
            };
            // The candidates in index order: (index sort key, table keys, item).
            let mut rows: Vec<(String, String, String, &Item)> = match &spec.index {
                None => t
                    .items
                    .get(&spec.pk)
                    .into_iter()
                    .flat_map(|p| p.iter())
                    .map(|(sk, item)| (sk.clone(), spec.pk.clone(), sk.clone(), item))
                    .collect(),
                Some(name) => {
                    let index = t.def.index(name).ok_or_else(|| Error::Validation {
                        message: format!("the table defines no index `{name}`"),
                    })?;
                    if spec.consistent && index.kind == IndexKind::Global {
                        return Err(Error::Validation {
                            message:
                                "consistent reads are not supported on global secondary indexes"
                                    .into(),
                        });
                    }
                    let mut rows = Vec::new();
                    for (pk, partition) in &t.items {
                        for (sk, item) in partition {
                            if string(item, &index.pk).as_deref() != Some(spec.pk.as_str()) {
                                continue;
                            }
                            let isk = match &index.sk {
                                Some(attr) => match string(item, attr) {
                                    Some(v) => v,
                                    None => continue, // sparse: not in the index
                                },
                                None => String::new(),
                            };
                            rows.push((isk, pk.clone(), sk.clone(), item));
                        }
                    }
                    rows
                }
            };
            rows.sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
            if spec.descending {
                rows.reverse();
            }
            if let Some(condition) = &spec.sk {
                rows.retain(|row| condition.matches(&row.0));
            }
            if let Some(start) = &spec.start {
                let at = |row: &(String, String, String, &Item)| {
                    let isk = spec.sk_attr.as_ref().and_then(|a| start.get(a));
                    let tpk = start.get(&t.def.pk);
                    let tsk = t.def.sk.as_ref().and_then(|a| start.get(a));
                    isk.is_none_or(|v| *v == row.0)
                        && tpk == Some(&row.1)
                        && tsk.is_none_or(|v| *v == row.2)
                };
                let Some(position) = rows.iter().position(at) else {
                    // The start item is gone: continue after where it would be.
                    let key = (
                        spec.sk_attr
                            .as_ref()
                            .and_then(|a| start.get(a))
                            .cloned()
                            .unwrap_or_default(),
                        start.get(&t.def.pk).cloned().unwrap_or_default(),
                        t.def
                            .sk
                            .as_ref()
                            .and_then(|a| start.get(a))
                            .cloned()
                            .unwrap_or_default(),
                    );
                    rows.retain(|row| {
                        let here = (&row.0, &row.1, &row.2);
                        let there = (&key.0, &key.1, &key.2);
                        if spec.descending {
                            here < there
                        } else {
                            here > there
                        }
                    });
                    return Ok(Self::page(t, spec, rows, table_keys));
                };
                rows.drain(..=position);
            }
            Ok(Self::page(t, spec, rows, table_keys))
        })
    }

    fn page(
        t: &MemTable,
        spec: &QuerySpec,
        rows: Vec<(String, String, String, &Item)>,
        table_keys: impl Fn(&Item) -> HashMap<String, String>,
    ) -> RawPage {
        let projection = spec
            .index
            .as_ref()
            .and_then(|name| t.def.index(name))
            .map(|index| (index, &index.projection));
        let mut items = Vec::new();
        let mut last = None;
        let mut read = 0;
        let total = rows.len();
        for (evaluated, (isk, _, _, item)) in rows.into_iter().enumerate() {
            read += item_size(item);
            // A query of a global index sees the index's items: what its projection holds,
            // never the base table's other attributes (filters and projection expressions
            // included). A local index fetches other attributes from the table when a filter or
            // a projection expression names them; its default answer is what it projects.
            let projected = match projection {
                None | Some((_, Projection::All)) => item.clone(),
                Some((index, Projection::KeysOnly)) => {
                    project(item, &t.def, index.pk.as_str(), index.sk.as_deref(), &[])
                }
                Some((index, Projection::Include(extra))) => {
                    project(item, &t.def, index.pk.as_str(), index.sk.as_deref(), extra)
                }
            };
            let global = projection.is_some_and(|(index, _)| index.kind == IndexKind::Global);
            let view = if global { &projected } else { item };
            let keep =
                spec.type_filter.as_ref().is_none_or(|(attr, value)| {
                    string(item, attr).as_deref() == Some(value.as_str())
                }) && spec.filter.as_ref().is_none_or(|f| f.holds(Some(view)));
            if keep && let Some(attributes) = &spec.projection {
                let mut out = Item::from(HashMap::<String, AttributeValue>::new());
                for attr in attributes {
                    if let Some(value) = view.get(attr) {
                        out.insert(attr.clone(), value.clone());
                    }
                }
                items.push(out);
            } else if keep {
                items.push(projected);
            }
            let limit_reached = spec.limit.is_some_and(|l| evaluated + 1 >= l as usize);
            if (limit_reached || read >= PAGE_BYTES)
                && evaluated + 1 < total + usize::from(limit_reached)
            {
                let mut key = table_keys(item);
                if let Some(attr) = &spec.sk_attr {
                    key.insert(attr.clone(), isk);
                }
                key.insert(spec.pk_attr.clone(), spec.pk.clone());
                last = Some(key);
                break;
            }
        }
        RawPage { items, last }
    }
}

/// The attributes an index of projection `KeysOnly` or `Include` holds.
fn project(item: &Item, def: &TableDef, pk: &str, sk: Option<&str>, extra: &[String]) -> Item {
    let mut out = Item::from(HashMap::<String, AttributeValue>::new());
    let keep = std::iter::once(def.pk.as_str())
        .chain(def.sk.as_deref())
        .chain(std::iter::once(pk))
        .chain(sk)
        .chain(std::iter::once(def.type_attribute.as_str()))
        .chain(extra.iter().map(String::as_str));
    for attr in keep {
        if let Some(value) = item.get(attr) {
            out.insert(attr.to_owned(), value.clone());
        }
    }
    out
}
