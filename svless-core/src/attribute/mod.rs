//! DynamoDB attribute values and Rust types: exact numbers, generic images, and the serde bridge
//! that stream handlers and the repository read and write items with.
//!
//! `serde_dynamo` converts items; svless reads them with its own deserializer over
//! `serde_dynamo::AttributeValue` because numbers must arrive exactly: a DynamoDB number has 38
//! significant digits, and `serde_dynamo` hands every number to serde as an `i64`, `u64` or
//! `f64`. Here a number reads exactly into [`Number`], `i128`/`u128` and `String` (its decimal
//! text), and into any integer or float type that holds it; a self-describing target such as
//! `serde_json::Value` gets binary values as base64 text (as DynamoDB's JSON shows them) and
//! numbers that no `i64`/`u64`/`f64` holds exactly as their decimal text. Writes go through
//! `serde_dynamo` ([`to_item`]), with [`Number`]s written as `N`; `serde_dynamo` writes no
//! `i128`/`u128`, so a field that must hold integers beyond 64 bits is a [`Number`]
//! (`Number::from(u128::MAX)`), which reads back into a `u128` too.

mod de;
mod number;

pub use de::{DecodeError, from_attribute_value, from_item};
pub use number::{MAX_DIGITS, Number, NumberError};
pub use serde_dynamo::{AttributeValue, Item};

use std::cell::{Cell, RefCell};

/// The newtype name [`Number`] asks for: svless's deserializer hands it the exact text.
const NUMBER_TOKEN: &str = "\u{37e}svless::Number\u{37e}";
/// The newtype name [`Image`] asks for: svless's deserializer hands it the attribute values.
const IMAGE_TOKEN: &str = "\u{37e}svless::Image\u{37e}";
/// What a [`Number`] writes while [`to_item`] runs, for the pass that turns it into an `N`.
const NUMBER_MARK: &str = "\u{37e}svless::N\u{37e}";

thread_local! {
    /// Set while [`to_item`] serializes: numbers then write themselves as marked text.
    static WRITING_ITEM: Cell<bool> = const { Cell::new(false) };
    /// The attribute values handed from the deserializer to an [`Image`] (same thread, same
    /// call: serde has no way to pass a foreign value through its data model).
    static HANDOFF: RefCell<Option<AttributeValue>> = const { RefCell::new(None) };
}

/// Serializes `value` into an item with `serde_dynamo`, writing [`Number`]s as `N` attributes.
///
/// ```
/// use svless_core::attribute::{AttributeValue, Number, to_item};
/// #[derive(serde::Serialize)]
/// struct Counter { id: String, total: Number }
/// let item = to_item(&Counter { id: "a".into(), total: "18446744073709551617".parse().unwrap() }).unwrap();
/// assert_eq!(item["total"], AttributeValue::N("18446744073709551617".into()));
/// ```
pub fn to_item<T: serde::Serialize + ?Sized>(value: &T) -> Result<Item, serde_dynamo::Error> {
    let item: Item = writing(|| serde_dynamo::to_item(value))?;
    let mut map = item.into_inner();
    map.values_mut().for_each(unmark);
    Ok(Item::from(map))
}

/// Serializes `value` into one attribute value with `serde_dynamo`, writing [`Number`]s as `N`.
///
/// ```
/// use svless_core::attribute::{AttributeValue, Number, to_attribute_value};
/// let n: Number = "0.1".parse().unwrap();
/// assert_eq!(to_attribute_value(&n).unwrap(), AttributeValue::N("0.1".into()));
/// ```
pub fn to_attribute_value<T: serde::Serialize + ?Sized>(
    value: &T,
) -> Result<AttributeValue, serde_dynamo::Error> {
    let mut value: AttributeValue = writing(|| serde_dynamo::to_attribute_value(value))?;
    unmark(&mut value);
    Ok(value)
}

fn writing<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            WRITING_ITEM.with(|w| w.set(self.0));
        }
    }
    let _reset = Reset(WRITING_ITEM.with(|w| w.replace(true)));
    f()
}

/// Turns marked numbers back into `N` attributes, at any depth.
fn unmark(value: &mut AttributeValue) {
    match value {
        AttributeValue::S(text) => {
            if let Some(number) = text.strip_prefix(NUMBER_MARK) {
                *value = AttributeValue::N(number.to_owned());
            }
        }
        AttributeValue::L(list) => list.iter_mut().for_each(unmark),
        AttributeValue::M(map) => map.values_mut().for_each(unmark),
        AttributeValue::Ss(strings)
            if !strings.is_empty() && strings.iter().all(|s| s.starts_with(NUMBER_MARK)) =>
        {
            let numbers = strings
                .iter()
                .map(|s| s[NUMBER_MARK.len()..].to_owned())
                .collect();
            *value = AttributeValue::Ns(numbers);
        }
        _ => {}
    }
}

impl serde::Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if WRITING_ITEM.with(Cell::get) {
            serializer.serialize_str(&format!("{NUMBER_MARK}{self}"))
        } else {
            serializer.collect_str(self)
        }
    }
}

impl<'de> serde::Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Number;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Number, E> {
                text.parse().map_err(E::custom)
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(v.into())
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(v.into())
            }

            fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Number, E> {
                Ok(v.into())
            }

            fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Number, E> {
                Ok(v.into())
            }

            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Number, E> {
                Number::try_from(v).map_err(E::custom)
            }

            fn visit_newtype_struct<D: serde::Deserializer<'de>>(
                self,
                deserializer: D,
            ) -> Result<Number, D::Error> {
                deserializer.deserialize_any(self)
            }
        }
        deserializer.deserialize_newtype_struct(NUMBER_TOKEN, Visitor)
    }
}

/// A stream image or item as its attribute values, whatever their types (`S`, `N`, `B`, `BOOL`,
/// `NULL`, `L`, `M`, `SS`, `NS`, `BS`): the generic form of a DynamoDB stream handler's record,
/// `StreamRecord<Image>`, which never fails on an attribute type.
///
/// ```
/// use svless_core::attribute::{AttributeValue, Image, from_item};
/// let item: svless_core::attribute::Item = std::collections::HashMap::from([
///     ("id".to_string(), AttributeValue::S("a".into())),
///     ("blob".to_string(), AttributeValue::B(vec![0, 255])),
///     ("big".to_string(), AttributeValue::N("123456789012345678901234567890".into())),
/// ]).into();
/// let image: Image = from_item(item).expect("every attribute type reads");
/// assert_eq!(image.get("blob"), Some(&AttributeValue::B(vec![0, 255])));
/// assert_eq!(image.number("big").map(|n| n.to_string()).as_deref(), Some("123456789012345678901234567890"));
/// assert_eq!(image.string("id"), Some("a"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Image(pub Item);

impl Image {
    /// The attribute `name`.
    ///
    /// ```
    /// assert_eq!(svless_core::attribute::Image::default().get("x"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&AttributeValue> {
        self.0.get(name)
    }

    /// The string attribute `name` (`S`).
    ///
    /// ```
    /// assert_eq!(svless_core::attribute::Image::default().string("x"), None);
    /// ```
    pub fn string(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            AttributeValue::S(s) => Some(s),
            _ => None,
        }
    }

    /// The number attribute `name` (`N`), exactly.
    ///
    /// ```
    /// assert_eq!(svless_core::attribute::Image::default().number("x"), None);
    /// ```
    pub fn number(&self, name: &str) -> Option<Number> {
        match self.get(name)? {
            AttributeValue::N(n) => n.parse().ok(),
            _ => None,
        }
    }

    /// Decodes the image into a type, as a typed stream record would.
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Row { id: String }
    /// let image = svless_core::attribute::Image::default();
    /// assert!(image.decode::<Row>().is_err());
    /// ```
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, DecodeError> {
        from_item(self.0.clone())
    }
}

impl<'de> serde::Deserialize<'de> for Image {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Image;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a DynamoDB item")
            }

            /// svless's deserializer handed the attribute values over.
            fn visit_unit<E: serde::de::Error>(self) -> Result<Image, E> {
                match HANDOFF.with(|h| h.borrow_mut().take()) {
                    Some(AttributeValue::M(map)) => Ok(Image(Item::from(map))),
                    _ => Err(E::custom("an image is a map of attributes")),
                }
            }

            /// Any other format: DynamoDB's JSON (`{"id": {"S": "a"}}`).
            fn visit_newtype_struct<D: serde::Deserializer<'de>>(
                self,
                deserializer: D,
            ) -> Result<Image, D::Error> {
                <Item as serde::Deserialize>::deserialize(deserializer).map(Image)
            }
        }
        deserializer.deserialize_newtype_struct(IMAGE_TOKEN, Visitor)
    }
}

impl serde::Serialize for Image {
    /// DynamoDB's JSON form (`{"id": {"S": "a"}}`).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}
