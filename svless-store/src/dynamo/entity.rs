//! Entities: Rust types with key templates.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A type stored as one DynamoDB item, with its keys built from its fields.
///
/// Derive it with `#[derive(svless::Entity)]` and `#[entity(pk = "...", sk = "...")]`
/// templates, or implement it by hand:
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use svless_store::dynamo::{Entity, IndexKey, ItemKey};
///
/// #[derive(Serialize, Deserialize)]
/// struct User { id: String, email: String }
///
/// impl Entity for User {
///     const TYPE: &'static str = "User";
///     fn primary_key(&self) -> ItemKey {
///         ItemKey::new(format!("USER#{}", self.id), Some("PROFILE".into()))
///     }
///     fn index_keys(&self) -> Vec<IndexKey> {
///         vec![IndexKey::new("gsi1", format!("EMAIL#{}", self.email), None)]
///     }
/// }
/// ```
pub trait Entity: Serialize + DeserializeOwned + Send + Sync {
    /// The value of the table's type attribute for this type (single-table design).
    const TYPE: &'static str;

    /// The item's primary key.
    fn primary_key(&self) -> ItemKey;

    /// The item's keys in secondary indexes (an index it has no key for does not hold it).
    fn index_keys(&self) -> Vec<IndexKey>;
}

/// A primary key: the partition key and, in a table with composite keys, the sort key.
///
/// ```
/// use svless_store::dynamo::ItemKey;
/// let key = ItemKey::new("USER#42".into(), Some("TODO#7".into()));
/// assert_eq!(key.pk, "USER#42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ItemKey {
    /// The partition key's value.
    pub pk: String,
    /// The sort key's value.
    pub sk: Option<String>,
}

impl ItemKey {
    /// A key.
    pub fn new(pk: String, sk: Option<String>) -> Self {
        ItemKey { pk, sk }
    }
}

/// An item's keys in one secondary index.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexKey {
    /// The index, as the table definition names it.
    pub index: &'static str,
    /// The index's partition key value.
    pub pk: String,
    /// The index's sort key value.
    pub sk: Option<String>,
}

impl IndexKey {
    /// The keys of an item in `index`.
    ///
    /// ```
    /// let key = svless_store::dynamo::IndexKey::new("gsi1", "STATUS#open".into(), None);
    /// assert_eq!(key.index, "gsi1");
    /// ```
    pub fn new(index: &'static str, pk: String, sk: Option<String>) -> Self {
        IndexKey { index, pk, sk }
    }
}

/// A partition to query: its key value, the index it is in, and the sort key prefix of one
/// entity type (the literal text before the first field of its sort key template).
///
/// ```
/// use svless_store::dynamo::Partition;
/// let todos = Partition::new("USER#42".into(), "TODO#");
/// assert_eq!(todos.sk_prefix, "TODO#");
/// let open = Partition::new("STATUS#open".into(), "").on_index("gsi1");
/// assert_eq!(open.index, Some("gsi1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Partition {
    /// The partition key value.
    pub pk: String,
    /// The index, or `None` for the table.
    pub index: Option<&'static str>,
    /// Items of the type start their sort key with this.
    pub sk_prefix: String,
}

impl Partition {
    /// The table partition `pk`.
    pub fn new(pk: String, sk_prefix: &str) -> Self {
        Partition {
            pk,
            index: None,
            sk_prefix: sk_prefix.to_owned(),
        }
    }

    /// The same partition key in a secondary index.
    pub fn on_index(mut self, index: &'static str) -> Self {
        self.index = Some(index);
        self
    }
}

/// A value that can be part of a key. Keys are strings compared byte by byte, so each kind of
/// value is written to sort as its values do: unsigned integers zero-padded to a fixed width,
/// times as RFC 3339 UTC with milliseconds.
///
/// ```
/// use svless_store::dynamo::KeyPart;
/// let mut key = String::new();
/// 42u32.write_key(&mut key);
/// assert_eq!(key, "0000000042");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a DynamoDB key",
    note = "use a `String`, an unsigned integer, a `chrono::DateTime<Utc>`, or implement `svless::store::dynamo::KeyPart` for it (keys compare as strings: write values so they sort as they should)"
)]
pub trait KeyPart {
    /// Appends the value to `key`.
    fn write_key(&self, key: &mut String);
}

impl KeyPart for String {
    fn write_key(&self, key: &mut String) {
        key.push_str(self);
    }
}

impl KeyPart for &str {
    fn write_key(&self, key: &mut String) {
        key.push_str(self);
    }
}

macro_rules! padded {
    ($($ty:ty => $width:literal),*) => {$(
        impl KeyPart for $ty {
            fn write_key(&self, key: &mut String) {
                key.push_str(&format!("{:0width$}", self, width = $width));
            }
        }
    )*};
}

padded!(u8 => 3, u16 => 5, u32 => 10, u64 => 20, usize => 20);

impl KeyPart for DateTime<Utc> {
    fn write_key(&self, key: &mut String) {
        key.push_str(&self.to_rfc3339_opts(SecondsFormat::Millis, true));
    }
}

impl<T: KeyPart> KeyPart for &T {
    fn write_key(&self, key: &mut String) {
        (*self).write_key(key);
    }
}
