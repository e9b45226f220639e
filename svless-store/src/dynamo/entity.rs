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
/// value is written to sort as its values do, and so that two different values never write the
/// same key:
///
/// - text escapes `%` as `%25` and `#` (the separator of key templates) as `%23`, so
///   `("1#ITEM#2", "3")` and `("1", "2#ITEM#3")` make different keys;
/// - unsigned integers are zero-padded to a fixed width (`42u32` → `0000000042`);
/// - signed integers are offset by half their range and zero-padded (`i32::MIN` → `0000000000`,
///   `-1i32` → `2147483647`, `0i32` → `2147483648`), so negative values sort before positive ones;
/// - times are RFC 3339 UTC with milliseconds;
/// - `Option<T>` writes `T`, and a `None` makes the key absent: an entity whose secondary index
///   key has a `None` part is not in that index (a sparse index).
///
/// Decimals have no order-preserving text form here: key on an integer in the smallest unit
/// (cents as `i64`). A foreign type becomes a key part through a newtype of your own:
///
/// ```
/// use svless_store::dynamo::KeyPart;
///
/// /// A SKU from another crate's type, written as its code.
/// struct Sku(String);
/// impl KeyPart for Sku {
///     fn write_key(&self, key: &mut String) {
///         self.0.to_uppercase().write_key(key);
///     }
/// }
///
/// let mut key = String::new();
/// 42u32.write_key(&mut key);
/// assert_eq!(key, "0000000042");
/// let mut key = String::new();
/// "a#b".to_string().write_key(&mut key);
/// assert_eq!(key, "a%23b");
/// let mut key = String::new();
/// (-1i32).write_key(&mut key);
/// assert_eq!(key, "2147483647");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a DynamoDB key",
    note = "use a `String`, an integer, a `chrono::DateTime<Utc>` (`svless::store::dynamo::DateTime`), an `Option` of one, or a newtype of your own that implements `svless::store::dynamo::KeyPart` (keys compare as strings: write values so they sort as they should)"
)]
pub trait KeyPart {
    /// Appends the value to `key`.
    fn write_key(&self, key: &mut String);

    /// Whether the value is absent (`None`): the key it is part of is then not written, and the
    /// entity is left out of that secondary index.
    fn is_absent(&self) -> bool {
        false
    }
}

fn write_escaped(text: &str, key: &mut String) {
    for c in text.chars() {
        match c {
            '%' => key.push_str("%25"),
            '#' => key.push_str("%23"),
            other => key.push(other),
        }
    }
}

impl KeyPart for String {
    fn write_key(&self, key: &mut String) {
        write_escaped(self, key);
    }
}

impl KeyPart for &str {
    fn write_key(&self, key: &mut String) {
        write_escaped(self, key);
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

padded!(u8 => 3, u16 => 5, u32 => 10, u64 => 20, usize => 20, u128 => 39);

macro_rules! offset {
    ($($ty:ty => $unsigned:ty, $width:literal),*) => {$(
        impl KeyPart for $ty {
            fn write_key(&self, key: &mut String) {
                // Two's complement with the sign bit flipped: order-preserving and unsigned.
                let shifted = (*self as $unsigned) ^ (1 << (<$unsigned>::BITS - 1));
                key.push_str(&format!("{:0width$}", shifted, width = $width));
            }
        }
    )*};
}

offset!(i8 => u8, 3, i16 => u16, 5, i32 => u32, 10, i64 => u64, 20, isize => usize, 20, i128 => u128, 39);

impl KeyPart for DateTime<Utc> {
    fn write_key(&self, key: &mut String) {
        key.push_str(&self.to_rfc3339_opts(SecondsFormat::Millis, true));
    }
}

impl<T: KeyPart> KeyPart for Option<T> {
    fn write_key(&self, key: &mut String) {
        if let Some(value) = self {
            value.write_key(key);
        }
    }

    fn is_absent(&self) -> bool {
        self.as_ref().is_none_or(KeyPart::is_absent)
    }
}

impl<T: KeyPart> KeyPart for &T {
    fn write_key(&self, key: &mut String) {
        (*self).write_key(key);
    }

    fn is_absent(&self) -> bool {
        (*self).is_absent()
    }
}
