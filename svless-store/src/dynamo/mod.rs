//! A typed repository over DynamoDB keys and secondary indexes, with an in-memory twin.
//!
//! Describe each entity once — its type, its key templates, its index keys — with
//! `#[derive(svless::Entity)]`, describe the table with [`TableDef`], and read and write with
//! types: no `"USER#..."` strings or expression strings by hand. [`Table`] runs on DynamoDB
//! (feature `dynamodb`) or on [`MemoryDb`], the embedded default for local runs and unit tests.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use svless_store::dynamo::{Entity, IndexKey, ItemKey, MemoryDb, Table, TableDef};
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct Todo { owner: String, id: String, title: String }
//!
//! // What `#[derive(svless::Entity)]` with `#[entity(pk = "USER#{owner}", sk = "TODO#{id}")]` writes.
//! impl Entity for Todo {
//!     const TYPE: &'static str = "Todo";
//!     fn primary_key(&self) -> ItemKey {
//!         ItemKey::new(format!("USER#{}", self.owner), Some(format!("TODO#{}", self.id)))
//!     }
//!     fn index_keys(&self) -> Vec<IndexKey> { Vec::new() }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), svless_store::dynamo::Error> {
//! let table = Table::memory(TableDef::new("app"), &MemoryDb::new());
//! table.create().await?;
//! let todo = Todo { owner: "u1".into(), id: "7".into(), title: "write docs".into() };
//! table.insert(&todo).await?;
//! let key = ItemKey::new("USER#u1".into(), Some("TODO#7".into()));
//! assert_eq!(table.get::<Todo>(&key).await?, Some(todo));
//! # Ok(()) }
//! ```

#[cfg(feature = "dynamodb")]
mod aws;
mod batch;
mod cursor;
mod entity;
mod error;
mod expr;
mod expression;
mod journal;
mod memory;
mod stream;
mod table;
mod transaction;

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::Stream;
use serde_dynamo::{AttributeValue, Item};

pub use batch::{BATCH_GET_MAX, BATCH_WRITE_MAX};
/// The time type of key parts and entity fields (`chrono`), re-exported so entities need no
/// direct dependency on it.
pub use chrono::{DateTime, Utc};
pub use entity::{Entity, IndexKey, ItemKey, KeyPart, Partition};
pub use error::{CancelReason, Error};
pub use expr::{Comparison, Condition, Update, value};
pub use expression::Placeholders;
pub use journal::Durability;
pub use memory::{Faults, MemoryDb};
pub use stream::{
    ChangeKind, StreamChange, StreamChanges, deliver_stream, deliver_stream_with, stream_payload,
};
/// DynamoDB's exact number, for entity fields that must not round (see
/// [`svless_core::attribute::Number`]).
pub use svless_core::attribute::Number;
pub use table::{IndexDef, IndexKind, Projection, StreamView, TableDef};
pub use transaction::{TRANSACTION_MAX, Transaction};

use cursor::Cursor;

/// The result of a repository call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// DynamoDB's item size limit.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

#[doc(hidden)]
pub mod __private {
    /// Fails to compile for a field type that cannot be part of a key.
    pub fn assert_key_part<T: super::KeyPart>() {}
}

/// A condition on the sort key of a query, compared as strings (byte by byte).
///
/// ```
/// use svless_store::dynamo::SortKey;
/// let this_year = SortKey::Between("TODO#2026-01-01".into(), "TODO#2026-12-31".into());
/// # let _ = this_year;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SortKey {
    /// `sk = value`.
    Eq(String),
    /// `begins_with(sk, prefix)`.
    BeginsWith(String),
    /// `sk BETWEEN low AND high` (both included).
    Between(String, String),
    /// `sk < value`.
    Lt(String),
    /// `sk <= value`.
    Le(String),
    /// `sk > value`.
    Gt(String),
    /// `sk >= value`.
    Ge(String),
}

impl SortKey {
    pub(crate) fn matches(&self, sk: &str) -> bool {
        match self {
            SortKey::Eq(v) => sk == v,
            SortKey::BeginsWith(p) => sk.starts_with(p.as_str()),
            SortKey::Between(low, high) => sk >= low.as_str() && sk <= high.as_str(),
            SortKey::Lt(v) => sk < v.as_str(),
            SortKey::Le(v) => sk <= v.as_str(),
            SortKey::Gt(v) => sk > v.as_str(),
            SortKey::Ge(v) => sk >= v.as_str(),
        }
    }
}

/// An entity with a version attribute, for optimistic locking ([`Table::save`],
/// [`Table::modify`]).
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use svless_store::dynamo::{Entity, IndexKey, ItemKey, Versioned};
///
/// #[derive(Serialize, Deserialize)]
/// struct Counter { name: String, value: u64, version: u64 }
/// # impl Entity for Counter { const TYPE: &'static str = "Counter"; fn primary_key(&self) -> ItemKey { ItemKey::new(format!("COUNTER#{}", self.name), Some("C".into())) } fn index_keys(&self) -> Vec<IndexKey> { vec![] } }
///
/// impl Versioned for Counter {
///     fn version(&self) -> u64 { self.version }
///     fn set_version(&mut self, version: u64) { self.version = version }
/// }
/// ```
pub trait Versioned: Entity {
    /// The attribute the version is stored in (the field's name).
    const VERSION_ATTRIBUTE: &'static str = "version";

    /// The version read (0: never written).
    fn version(&self) -> u64;

    /// Sets the version.
    fn set_version(&mut self, version: u64);
}

/// What [`Table::modify`] saved.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Modified<E> {
    /// The entity as saved.
    pub entity: E,
    /// Conflicts with other writers that were retried.
    pub conflicts: u32,
}

/// Waits before retry `attempt`: exponential from 5 ms, capped at 200 ms, with jitter.
pub(crate) async fn backoff(attempt: u32) {
    let base = 5u64.saturating_mul(1 << attempt.min(6)).min(200);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let jitter = u64::from(nanos) % (base / 2 + 1);
    tokio::time::sleep(std::time::Duration::from_millis(base / 2 + jitter)).await;
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items, in sort key order (reversed for a descending query).
    pub items: Vec<T>,
    /// The cursor of the next page; `None` when the query is done.
    pub next: Option<String>,
}

/// The items of one partition, of several entity types (an item collection).
///
/// ```
/// # use svless_store::dynamo::*;
/// # async fn demo(table: &Table) -> Result<()> {
/// # #[derive(serde::Serialize, serde::Deserialize)] struct User { id: String }
/// # impl Entity for User { const TYPE: &'static str = "User"; fn primary_key(&self) -> ItemKey { ItemKey::new(format!("USER#{}", self.id), Some("PROFILE".into())) } fn index_keys(&self) -> Vec<IndexKey> { vec![] } }
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Todo { id: String }
/// # impl Entity for Todo { const TYPE: &'static str = "Todo"; fn primary_key(&self) -> ItemKey { ItemKey::new("USER#u1".into(), Some(format!("TODO#{}", self.id))) } fn index_keys(&self) -> Vec<IndexKey> { vec![] } }
/// let everything = table.collection("USER#u1").await?;
/// let user: Option<User> = everything.one()?;
/// let todos: Vec<Todo> = everything.all()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Collection {
    type_attribute: String,
    items: Vec<Item>,
}

impl Collection {
    /// Every item of type `E`, decoded.
    pub fn all<E: Entity>(&self) -> Result<Vec<E>> {
        self.items
            .iter()
            .filter(|item| type_of(item, &self.type_attribute) == Some(E::TYPE))
            .map(|item| decode(item.clone()))
            .collect()
    }

    /// The first item of type `E`, decoded.
    pub fn one<E: Entity>(&self) -> Result<Option<E>> {
        self.items
            .iter()
            .find(|item| type_of(item, &self.type_attribute) == Some(E::TYPE))
            .map(|item| decode(item.clone()))
            .transpose()
    }

    /// How many items the partition holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the partition is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The longest partition key value DynamoDB stores, in bytes (table and index keys).
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// The longest sort key value DynamoDB stores, in bytes (table and index keys).
pub const MAX_SORT_KEY_BYTES: usize = 1024;

/// Refuses a key value DynamoDB refuses: empty, or longer than its limit.
fn check_key_value(attribute: &str, value: &str, sort: bool) -> Result<()> {
    if value.is_empty() {
        return Err(Error::Validation {
            message: format!(
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: {attribute}"
            ),
        });
    }
    let (limit, what) = if sort {
        (MAX_SORT_KEY_BYTES, "sort")
    } else {
        (MAX_PARTITION_KEY_BYTES, "partition")
    };
    if value.len() > limit {
        return Err(Error::Validation {
            message: format!(
                "One or more parameter values were invalid: Size of {what} key `{attribute}` is {} bytes, above the limit of {limit} bytes",
                value.len()
            ),
        });
    }
    Ok(())
}

fn type_of<'i>(item: &'i Item, attribute: &str) -> Option<&'i str> {
    match item.get(attribute) {
        Some(AttributeValue::S(s)) => Some(s),
        _ => None,
    }
}

fn decode<E: serde::de::DeserializeOwned>(item: Item) -> Result<E> {
    svless_core::attribute::from_item(item).map_err(|source| Error::Decode {
        type_name: std::any::type_name::<E>(),
        source,
    })
}

/// Decodes an item read with `aws-sdk-dynamodb` directly (a hand-written call, a stream
/// record fetched with the SDK) into its type, as the repository's DynamoDB backend does.
///
/// ```
/// use std::collections::HashMap;
/// use aws_sdk_dynamodb::types::AttributeValue;
///
/// #[derive(serde::Deserialize, PartialEq, Debug)]
/// struct Note { text: String }
/// let item = HashMap::from([("text".to_owned(), AttributeValue::S("hi".into()))]);
/// let note: Note = svless_store::dynamo::from_sdk_item(item).unwrap();
/// assert_eq!(note.text, "hi");
/// ```
#[cfg(feature = "dynamodb")]
pub fn from_sdk_item<E: serde::de::DeserializeOwned>(
    item: HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> Result<E> {
    decode(Item::from(item))
}

/// Encodes an entity into the item the DynamoDB backend sends, keys and type included.
#[cfg(feature = "dynamodb")]
pub fn to_sdk_item<E: Entity>(
    table: &Table,
    entity: &E,
) -> Result<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    Ok(table.encode(entity)?.into())
}

/// DynamoDB's size of an item: attribute names plus values.
pub(crate) fn item_size(item: &Item) -> usize {
    fn value_size(value: &AttributeValue) -> usize {
        match value {
            AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
            AttributeValue::B(b) => b.len(),
            AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
            AttributeValue::Ss(v) | AttributeValue::Ns(v) => v.iter().map(String::len).sum(),
            AttributeValue::Bs(v) => v.iter().map(Vec::len).sum(),
            AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
            AttributeValue::M(m) => {
                3 + m
                    .iter()
                    .map(|(k, v)| 1 + k.len() + value_size(v))
                    .sum::<usize>()
            }
        }
    }
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

/// What a query asks of a backend.
#[derive(Debug, Clone)]
pub(crate) struct QuerySpec {
    pub(crate) index: Option<String>,
    pub(crate) pk_attr: String,
    pub(crate) sk_attr: Option<String>,
    pub(crate) pk: String,
    pub(crate) sk: Option<SortKey>,
    pub(crate) type_filter: Option<(String, String)>,
    pub(crate) filter: Option<Condition>,
    pub(crate) projection: Option<Vec<String>>,
    pub(crate) limit: Option<u32>,
    pub(crate) descending: bool,
    pub(crate) consistent: bool,
    pub(crate) start: Option<HashMap<String, String>>,
}

/// A backend's page: raw items and the last evaluated key.
pub(crate) struct RawPage {
    pub(crate) items: Vec<Item>,
    pub(crate) last: Option<HashMap<String, String>>,
}

#[derive(Clone)]
enum Backend {
    Memory(MemoryDb),
    #[cfg(feature = "dynamodb")]
    Aws(aws_sdk_dynamodb::Client),
}

/// One table, on DynamoDB or in memory.
#[derive(Clone)]
pub struct Table {
    def: Arc<TableDef>,
    backend: Backend,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("name", &self.def.name)
            .finish_non_exhaustive()
    }
}

impl Table {
    /// The table `def` in the in-memory database `db`.
    pub fn memory(def: TableDef, db: &MemoryDb) -> Self {
        Table {
            def: Arc::new(def),
            backend: Backend::Memory(db.clone()),
        }
    }

    /// The table `def` on DynamoDB.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    /// let table = svless_store::dynamo::Table::dynamodb(
    ///     svless_store::dynamo::TableDef::new("app"),
    ///     aws_sdk_dynamodb::Client::new(&config),
    /// );
    /// # }
    /// ```
    #[cfg(feature = "dynamodb")]
    pub fn dynamodb(def: TableDef, client: aws_sdk_dynamodb::Client) -> Self {
        Table {
            def: Arc::new(def),
            backend: Backend::Aws(client),
        }
    }

    /// The definition.
    pub fn def(&self) -> &TableDef {
        &self.def
    }

    /// Creates the table from its definition (pay-per-request), for tests and local runs.
    pub async fn create(&self) -> Result<()> {
        match &self.backend {
            Backend::Memory(db) => db.create(&self.def),
            #[cfg(feature = "dynamodb")]
            Backend::Aws(client) => aws::create(client, &self.def).await,
        }
    }

    /// Makes an on-demand backup named `name`; returns its identifier (the backup ARN on
    /// DynamoDB).
    pub async fn backup(&self, name: &str) -> Result<String> {
        match &self.backend {
            Backend::Memory(db) => db.backup(&self.def.name, name),
            #[cfg(feature = "dynamodb")]
            Backend::Aws(client) => aws::backup(client, &self.def.name, name).await,
        }
    }

    /// Restores a backup into a new table named `target`, with this table's definition.
    pub async fn restore(&self, backup: &str, target: &str) -> Result<Table> {
        let def = TableDef {
            name: target.to_owned(),
            ..(*self.def).clone()
        };
        match &self.backend {
            Backend::Memory(db) => {
                db.restore(backup, target)?;
            }
            #[cfg(feature = "dynamodb")]
            Backend::Aws(client) => aws::restore(client, backup, target).await?,
        }
        Ok(Table {
            def: Arc::new(def),
            backend: self.backend.clone(),
        })
    }

    /// Makes one cheap call (`DescribeTable`) so the first request pays no TLS handshake.
    pub async fn warm_up(&self) -> Result<()> {
        match &self.backend {
            Backend::Memory(_) => Ok(()),
            #[cfg(feature = "dynamodb")]
            Backend::Aws(client) => aws::describe(client, &self.def.name).await,
        }
    }

    fn key_item(&self, key: &ItemKey) -> Result<Item> {
        let mut item = Item::from(HashMap::<String, AttributeValue>::new());
        self.insert_key(&mut item, key.clone())?;
        Ok(item)
    }

    /// Writes a primary key's attributes into `item`, checking its shape against the table's.
    fn insert_key(&self, item: &mut Item, key: ItemKey) -> Result<()> {
        check_key_value(&self.def.pk, &key.pk, false)?;
        match (&self.def.sk, key.sk) {
            (Some(attr), Some(sk)) => {
                check_key_value(attr, &sk, true)?;
                item.insert(attr.clone(), AttributeValue::S(sk));
            }
            (None, None) => {}
            (Some(attr), None) => {
                return Err(Error::Validation {
                    message: format!("the table has composite keys: the key needs its `{attr}`"),
                });
            }
            (None, Some(_)) => {
                return Err(Error::Validation {
                    message: "the table has simple keys: the key has a sort key too many".into(),
                });
            }
        }
        item.insert(self.def.pk.clone(), AttributeValue::S(key.pk));
        Ok(())
    }

    /// The item an entity is stored as: its attributes, keys and type.
    ///
    /// A field stored under the name of a key or type attribute with another value than the
    /// key would be overwritten (and read back changed): it is refused with
    /// [`Error::Validation`]. A field that *is* a key (a local index keyed on an attribute of the
    /// entity) is fine as long as the key template writes it unchanged.
    pub fn encode<E: Entity>(&self, entity: &E) -> Result<Item> {
        let mut item: Item =
            svless_core::attribute::to_item(entity).map_err(|e| Error::Validation {
                message: format!("the entity does not serialize to an item: {e}"),
            })?;
        let mut keys = Item::from(HashMap::<String, AttributeValue>::new());
        self.insert_key(&mut keys, entity.primary_key())?;
        for key in entity.index_keys() {
            let index = self.def.index(key.index).ok_or_else(|| Error::Validation {
                message: format!("the table defines no index `{}`", key.index),
            })?;
            if index.kind == IndexKind::Local && index.pk == self.def.pk {
                // A local index shares the table's partition key: the entity must not move it.
                if keys.get(&index.pk) != Some(&AttributeValue::S(key.pk.clone())) {
                    return Err(Error::Validation {
                        message: format!(
                            "the local index `{}` shares the table's partition key: its `pk` template must render the same value",
                            key.index
                        ),
                    });
                }
            }
            check_key_value(&index.pk, &key.pk, false)?;
            keys.insert(index.pk.clone(), AttributeValue::S(key.pk));
            if let (Some(attr), Some(sk)) = (&index.sk, key.sk) {
                check_key_value(attr, &sk, true)?;
                keys.insert(attr.clone(), AttributeValue::S(sk));
            }
        }
        keys.insert(
            self.def.type_attribute.clone(),
            AttributeValue::S(E::TYPE.to_owned()),
        );
        for (attribute, value) in keys.iter() {
            if let Some(field) = item.get(attribute)
                && field != value
            {
                return Err(Error::Validation {
                    message: format!(
                        "`{}` has a field stored as `{attribute}`, the attribute that holds a key or the type of its item: the write would replace it. Rename the field (or `#[serde(rename = \"...\")]` it)",
                        std::any::type_name::<E>()
                    ),
                });
            }
        }
        item.extend(keys.into_inner());
        let size = item_size(&item);
        if size > MAX_ITEM_BYTES {
            return Err(Error::ItemTooLarge { size });
        }
        Ok(item)
    }

    /// Reads an item by its key attributes, in DynamoDB's own form — for callers that speak
    /// DynamoDB's API (`GetItem`), such as Step Functions' DynamoDB integrations run locally.
    ///
    /// ```
    /// # async fn demo(table: &svless_store::dynamo::Table) -> svless_store::dynamo::Result<()> {
    /// use serde_dynamo::{AttributeValue, Item};
    /// let key = Item::from(std::collections::HashMap::from([("pk".to_owned(), AttributeValue::S("u1".into()))]));
    /// let item = table.get_item(key).await?;
    /// # let _ = item; Ok(()) }
    /// ```
    pub async fn get_item(&self, key: Item) -> Result<Option<Item>> {
        let key = self.raw_key(&key)?;
        match &self.backend {
            Backend::Memory(db) => {
                tokio::task::yield_now().await;
                db.get(&self.def.name, &key)
            }
            #[cfg(feature = "dynamodb")]
            Backend::Aws(client) => aws::get(client, &self.def.name, key, false).await,
        }
    }

    /// Writes an item in DynamoDB's own form (`PutItem`), if `condition` holds for the item
    /// there now; the item must hold the table's key attributes.
    ///
    /// ```
    /// # async fn demo(table: &svless_store::dynamo::Table) -> svless_store::dynamo::Result<()> {
    /// use serde_dynamo::{AttributeValue, Item};
    /// let item = Item::from(std::collections::HashMap::from([("pk".to_owned(), AttributeValue::S("u1".into()))]));
    /// table.put_item_if(item, None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn put_item_if(&self, item: Item, condition: Option<Condition>) -> Result<()> {
        self.raw_key(&item)?;
        let size = item_size(&item);
        if size > MAX_ITEM_BYTES {
            return Err(Error::ItemTooLarge { size });
        }
        self.put_item(item, condition).await
    }

    /// Deletes an item by its key attributes (`DeleteItem`), if `condition` holds for it.
    ///
    /// ```
    /// # async fn demo(table: &svless_store::dynamo::Table) -> svless_store::dynamo::Result<()> {
    /// use serde_dynamo::{AttributeValue, Item};
    /// let key = Item::from(std::collections::HashMap::from([("pk".to_owned(), AttributeValue::S("u1".into()))]));
    /// table.delete_item_if(key, None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_item_if(&self, key: Item, condition: Option<Condition>) -> Result<()> {
        let key = self.raw_key(&key)?;
        match &self.backend {
            Backend::Memory(db) => db.delete(&self.def, &key, condition.as_ref()),
            #[cfg(feature = "dynamodb")]
            Backend::Aws(client) => {
                aws::delete(client, &self.def.name, key, condition.as_ref()).await
            }
        }
    }

    /// Updates an item by its key attributes (`UpdateItem`: creating it when missing, as
    /// DynamoDB does), if `condition` holds; returns the item as it is now.
    ///
    /// ```
    /// # async fn demo(table: &svless_store::dynamo::Table) -> svless_store::dynamo::Result<()> {
    /// use serde_dynamo::{AttributeValue, Item};
    /// use svless_store::dynamo::Update;
    /// let key = Item::from(std::collections::HashMap::from([("pk".to_owned(), AttributeValue::S("u1".into()))]));
    /// let now = table.update_item(key, Update::new().add("visits", &1)?, None).await?;
    /// # let _ = now; Ok(()) }
    /// ```
    pub async fn update_item(
        &self,
        key: Item,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item> {
        let key = self.raw_key(&key)?;
        update.check_paths()?;
        for attr in std::iter::once(self.def.pk.as_str()).chain(self.def.sk.as_deref()) {
            if update.touches(attr) {
                return Err(Error::Validation {
                    message: format!(
                        "Cannot update attribute {attr}. This attribute is part of the key"
                    ),
                });
            }
        }
        // `attribute_exists(pk) OR NOT attribute_exists(pk)`: a condition that always holds.
        let condition = condition.unwrap_or_else(|| {
            Condition::exists(&self.def.pk).or(Condition::not_exists(&self.def.pk))
        });
        match &self.backend {
            Backend::Memory(db) => db.update(&self.def, &key, &update, &condition),
            #[cfg(feature = "dynamodb")]
            Backend::Aws(client) => {
                aws::update(client, &self.def.name, key, &update, &condition).await
            }
        }
    }

    /// The key attributes of a DynamoDB-form key or item: exactly the table's, as strings.
    fn raw_key(&self, item: &Item) -> Result<Item> {
        let mut key = Item::from(HashMap::<String, AttributeValue>::new());
        for attr in std::iter::once(&self.def.pk).chain(self.def.sk.as_ref()) {
            match item.get(attr.as_str()) {
                Some(value @ AttributeValue::S(_)) => {
                    key.insert(attr.clone(), value.clone());
                }
                _ => {
                    return Err(Error::Validation {
                        message: format!(
                            "The provided key element does not match the schema: `{attr}` must be a string"
                        ),
                    });
                }
            }
        }
        Ok(key)
    }

    /// Reads an item (eventually consistent).
    pub async fn get<E: Entity>(&self, key: &ItemKey) -> Result<Option<E>> {
        self.get_with(key, false).await
    }

    /// Reads an item with a strongly consistent read.
    pub async fn get_consistent<E: Entity>(&self, key: &ItemKey) -> Result<Option<E>> {
        self.get_with(key, true).await
    }

    async fn get_with<E: Entity>(&self, key: &ItemKey, consistent: bool) -> Result<Option<E>> {
        let key = self.key_item(key)?;
        let item = match &self.backend {
            Backend::Memory(db) => {
                // One yield per call, as a round trip would: concurrent tasks interleave.
                tokio::task::yield_now().await;
                db.get(&self.def.name, &key)?
            }
            #[cfg(feature = "dynamodb")]
            Backend::Aws(client) => aws::get(client, &self.def.name, key, consistent).await?,
        };
        let _ = consistent;
        item.map(decode).transpose()
    }

    /// Writes an entity, replacing any item with its key.
    pub async fn put<E: Entity>(&self, entity: &E) -> Result<()> {
        let item = self.encode(entity)?;
        self.put_item(item, None).await
    }

    /// Writes an entity only if no item has its key (`attribute_not_exists`); otherwise
    /// [`Error::ConditionFailed`] carrying the item that is there.
    pub async fn insert<E: Entity>(&self, entity: &E) -> Result<()> {
        let item = self.encode(entity)?;
        self.put_item(item, Some(Condition::not_exists(&self.def.pk)))
            .await
    }

    /// Writes an entity if `condition` holds for the item there now (or for no item).
    pub async fn put_if<E: Entity>(&self, entity: &E, condition: Condition) -> Result<()> {
        let item = self.encode(entity)?;
        self.put_item(item, Some(condition)).await
    }

    async fn put_item(&self, item: Item, condition: Option<Condition>) -> Result<()> {
        match &self.backend {
            Backend::Memory(db) => {
                // One yield per call, as a round trip would: concurrent tasks interleave.
                tokio::task::yield_now().await;
                db.put(&self.def, item, condition.as_ref())
            }
            #[cfg(feature = "dynamodb")]
            Backend::Aws(client) => aws::put(client, &self.def, item, condition.as_ref()).await,
        }
    }

    /// Deletes an item (deleting a missing item succeeds).
    pub async fn delete(&self, key: &ItemKey) -> Result<()> {
        self.delete_item(key, None).await
    }

    /// Deletes an item if `condition` holds for it.
    pub async fn delete_if(&self, key: &ItemKey, condition: Condition) -> Result<()> {
        self.delete_item(key, Some(condition)).await
    }

    async fn delete_item(&self, key: &ItemKey, condition: Option<Condition>) -> Result<()> {
        let key = self.key_item(key)?;
        match &self.backend {
            Backend::Memory(db) => db.delete(&self.def, &key, condition.as_ref()),
            #[cfg(feature = "dynamodb")]
            Backend::Aws(client) => {
                aws::delete(client, &self.def.name, key, condition.as_ref()).await
            }
        }
    }

    /// Changes some attributes of an existing item and returns it as it is now (decoded into
    /// the entity, or any type that reads the attributes it needs); a missing
    /// item is [`Error::NotFound`], a `condition` that does not hold
    /// [`Error::ConditionFailed`] with the item as it is.
    ///
    /// ```
    /// # use svless_store::dynamo::*;
    /// # async fn demo<E: Entity>(table: &Table, key: &ItemKey) -> Result<()> {
    /// let todo: E = table
    ///     .update(key, Update::new().set("status", "done")?.add("edits", &1)?, None)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn update<E: serde::de::DeserializeOwned>(
        &self,
        key: &ItemKey,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<E> {
        if update.is_empty() {
            return Err(Error::Validation {
                message: "an update that changes nothing".into(),
            });
        }
        update.check_paths()?;
        let keys = std::iter::once(self.def.pk.as_str()).chain(self.def.sk.as_deref());
        for attr in keys {
            if update.touches(attr) {
                return Err(Error::Validation {
                    message: format!("`{attr}` is part of the key and cannot be updated"),
                });
            }
        }
        let exists = Condition::exists(&self.def.pk);
        let condition = match condition {
            Some(c) => exists.and(c),
            None => exists,
        };
        let key = self.key_item(key)?;
        let result = match &self.backend {
            Backend::Memory(db) => db.update(&self.def, &key, &update, &condition),
            #[cfg(feature = "dynamodb")]
            Backend::Aws(client) => {
                aws::update(client, &self.def.name, key, &update, &condition).await
            }
        };
        match result {
            Ok(item) => decode(item),
            Err(Error::ConditionFailed { current: None }) => Err(Error::NotFound),
            Err(other) => Err(other),
        }
    }

    /// Writes a versioned entity if nobody wrote it since it was read: the stored version must
    /// be the entity's (for version 0: no item, or an item stored at version 0 by
    /// [`insert`](Table::insert) or [`put`](Table::put)); the write stores version + 1 and updates
    /// the entity's version. A conflict is [`Error::ConditionFailed`].
    pub async fn save<E: Versioned>(&self, entity: &mut E) -> Result<()> {
        let expected = entity.version();
        let condition = if expected == 0 {
            // Version 0: never saved — no item yet, or one written by `insert`/`put` at 0.
            Condition::not_exists(&self.def.pk).or(Condition::eq(
                E::VERSION_ATTRIBUTE,
                AttributeValue::N("0".into()),
            ))
        } else {
            Condition::eq(
                E::VERSION_ATTRIBUTE,
                AttributeValue::N(expected.to_string()),
            )
        };
        entity.set_version(expected + 1);
        let result = match self.encode(&*entity) {
            Ok(item) => self.put_item(item, Some(condition)).await,
            Err(e) => Err(e),
        };
        if result.is_err() {
            entity.set_version(expected);
        }
        result
    }

    /// Reads an item, changes it with `change` and [`save`](Table::save)s it, again from a
    /// fresh read after each conflict (up to `attempts` times, with a short randomized
    /// backoff). Returns the saved entity and how many conflicts were absorbed.
    pub async fn modify<E: Versioned>(
        &self,
        key: &ItemKey,
        attempts: u32,
        mut change: impl FnMut(&mut E) + Send,
    ) -> Result<Modified<E>> {
        let mut conflicts = 0;
        loop {
            let mut entity = self
                .get_consistent::<E>(key)
                .await?
                .ok_or(Error::NotFound)?;
            change(&mut entity);
            match self.save(&mut entity).await {
                Ok(()) => return Ok(Modified { entity, conflicts }),
                Err(Error::ConditionFailed { current }) => {
                    conflicts += 1;
                    if conflicts >= attempts {
                        return Err(Error::ConditionFailed { current });
                    }
                    backoff(conflicts).await;
                }
                Err(other) => return Err(other),
            }
        }
    }

    /// A query of the items of type `E` in a partition (of the table or an index).
    pub fn query<E: Entity>(&self, partition: Partition) -> Query<'_, E> {
        Query {
            table: self,
            partition,
            sort_key: None,
            filter: None,
            projection: None,
            limit: None,
            descending: false,
            consistent: false,
            cursor: None,
            _entity: std::marker::PhantomData,
        }
    }

    /// Every item of a table partition, of all types: an item collection.
    pub async fn collection(&self, pk: &str) -> Result<Collection> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let spec = QuerySpec {
                index: None,
                pk_attr: self.def.pk.clone(),
                sk_attr: self.def.sk.clone(),
                pk: pk.to_owned(),
                sk: None,
                type_filter: None,
                filter: None,
                projection: None,
                limit: None,
                descending: false,
                consistent: false,
                start,
            };
            let page = self.run(spec).await?;
            items.extend(page.items);
            match page.last {
                Some(last) => start = Some(last),
                None => break,
            }
        }
        Ok(Collection {
            type_attribute: self.def.type_attribute.clone(),
            items,
        })
    }

    async fn run(&self, spec: QuerySpec) -> Result<RawPage> {
        match &self.backend {
            Backend::Memory(db) => db.query(&self.def, &spec),
            #[cfg(feature = "dynamodb")]
            Backend::Aws(client) => aws::query(client, &self.def.name, &spec).await,
        }
    }
}

/// A query of one entity type in one partition: sort key condition, order, page size and
/// cursor; [`Query::page`] runs one page, [`Query::pages`] streams them all.
///
/// ```
/// # use svless_store::dynamo::*;
/// # async fn demo<E: Entity>(table: &Table, partition: Partition, cursor: Option<String>) -> Result<()> {
/// let page = table
///     .query::<E>(partition)
///     .sort_key(SortKey::BeginsWith("TODO#2026".into()))
///     .descending()
///     .limit(20)
///     .after(cursor.as_deref())
///     .page()
///     .await?;
/// // page.next goes back to the client, which sends it for the next page.
/// # Ok(()) }
/// ```
pub struct Query<'t, E> {
    table: &'t Table,
    partition: Partition,
    sort_key: Option<SortKey>,
    filter: Option<Condition>,
    projection: Option<Vec<String>>,
    limit: Option<u32>,
    descending: bool,
    consistent: bool,
    cursor: Option<String>,
    _entity: std::marker::PhantomData<fn() -> E>,
}

impl<E> std::fmt::Debug for Query<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Query")
            .field("partition", &self.partition)
            .field("sort_key", &self.sort_key)
            .finish_non_exhaustive()
    }
}

impl<'t, E: Entity> Query<'t, E> {
    /// Only items whose sort key meets `condition` (instead of the type's sort key prefix).
    pub fn sort_key(mut self, condition: SortKey) -> Self {
        self.sort_key = Some(condition);
        self
    }

    /// Only items for which `condition` holds. As DynamoDB's filter expressions, it applies
    /// after the items are read: `limit` counts the items read, not those kept.
    pub fn filter(mut self, condition: Condition) -> Self {
        self.filter = Some(match self.filter.take() {
            Some(existing) => existing.and(condition),
            None => condition,
        });
        self
    }

    /// Items evaluated per page, before the type filter (as DynamoDB's `Limit`).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit.max(1));
        self
    }

    /// Highest sort key first.
    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    /// A strongly consistent query (tables and local indexes only).
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }

    /// Continues after the page that gave out `cursor` (`None`: from the start).
    pub fn after(mut self, cursor: Option<&str>) -> Self {
        self.cursor = cursor.map(str::to_owned);
        self
    }

    fn spec(&self, start: Option<HashMap<String, String>>) -> Result<QuerySpec> {
        let def = &self.table.def;
        let (pk_attr, sk_attr) =
            def.key_attributes(self.partition.index)
                .ok_or_else(|| Error::Validation {
                    message: format!(
                        "the table defines no index `{}`",
                        self.partition.index.unwrap_or_default()
                    ),
                })?;
        let sk = self.sort_key.clone().or_else(|| {
            (!self.partition.sk_prefix.is_empty() && sk_attr.is_some())
                .then(|| SortKey::BeginsWith(self.partition.sk_prefix.clone()))
        });
        if sk.is_some() && sk_attr.is_none() {
            return Err(Error::Validation {
                message: "a sort key condition on a key without a sort key".into(),
            });
        }
        Ok(QuerySpec {
            index: self.partition.index.map(str::to_owned),
            pk_attr: pk_attr.to_owned(),
            sk_attr: sk_attr.map(str::to_owned),
            pk: self.partition.pk.clone(),
            sk,
            type_filter: Some((def.type_attribute.clone(), E::TYPE.to_owned())),
            filter: self.filter.clone(),
            projection: self.projection.clone(),
            limit: self.limit,
            descending: self.descending,
            consistent: self.consistent,
            start,
        })
    }

    fn scope(&self) -> Cursor {
        Cursor {
            table: self.table.def.name.clone(),
            index: self.partition.index.map(str::to_owned),
            pk: self.partition.pk.clone(),
            descending: self.descending,
            last: HashMap::new(),
        }
    }

    /// Reads only these attributes of each item (a projection expression); decode the page
    /// with [`Query::page_as`] into a type that has just those fields.
    pub fn project(mut self, attributes: &[&str]) -> Self {
        self.projection = Some(attributes.iter().map(|a| (*a).to_owned()).collect());
        self
    }

    /// Runs one page.
    pub async fn page(&self) -> Result<Page<E>> {
        self.page_as().await
    }

    /// Runs one page, decoding the items into `P` (with [`Query::project`]: a type with
    /// the projected fields).
    ///
    /// ```
    /// # use svless_store::dynamo::*;
    /// # async fn demo<E: Entity>(table: &Table, partition: Partition) -> Result<()> {
    /// #[derive(serde::Deserialize)]
    /// struct Title { title: String }
    /// let titles: Page<Title> = table.query::<E>(partition).project(&["title"]).page_as().await?;
    /// # Ok(()) }
    /// ```
    pub async fn page_as<P: serde::de::DeserializeOwned>(&self) -> Result<Page<P>> {
        let scope = self.scope();
        let start = match &self.cursor {
            None => None,
            Some(text) => Some(scope.open(text)?),
        };
        let raw = self.table.run(self.spec(start)?).await?;
        let items = raw.items.into_iter().map(decode).collect::<Result<_>>()?;
        let next = raw.last.map(|last| Cursor { last, ..scope }.seal());
        Ok(Page { items, next })
    }

    /// Every page, fetched as the stream is read.
    pub fn pages(self) -> impl Stream<Item = Result<Page<E>>> + 't
    where
        E: 't,
    {
        futures_util::stream::try_unfold(Some(self), |query| async move {
            let Some(query) = query else {
                return Ok(None);
            };
            let page = query.page().await?;
            let rest = page.next.clone().map(|next| Query {
                cursor: Some(next),
                ..query
            });
            Ok(Some((page, rest)))
        })
    }
}
