//! Reading attribute values into Rust types, numbers exactly.

use super::{AttributeValue, HANDOFF, IMAGE_TOKEN, Item, NUMBER_TOKEN};
use base64::Engine as _;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use std::fmt;

/// Why an item does not decode into a type; names the attribute path (`address.zip`).
///
/// ```
/// use svless_core::attribute::{AttributeValue, from_item};
/// #[derive(Debug, serde::Deserialize)]
/// struct Row { n: u8 }
/// let item = std::collections::HashMap::from([("n".to_string(), AttributeValue::N("300".into()))]).into();
/// let err = from_item::<Row>(item).unwrap_err();
/// assert_eq!(err.path(), "n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    path: String,
    message: String,
}

impl DecodeError {
    /// The path of the attribute that failed (`.` for the item itself).
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path == "." {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for DecodeError {}

/// The error inside the deserializer, with the path built as it unwinds (innermost first), so
/// a decode that succeeds pays nothing for paths.
#[derive(Debug)]
struct Error(String, Vec<Segment>);

#[derive(Debug)]
enum Segment {
    Key(String),
    Index(usize),
}

impl Error {
    fn at(mut self, segment: Segment) -> Self {
        self.1.push(segment);
        self
    }

    fn path(&self) -> String {
        let mut path = String::new();
        for segment in self.1.iter().rev() {
            match segment {
                Segment::Key(key) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                }
                Segment::Index(i) => path.push_str(&format!("[{i}]")),
            }
        }
        if path.is_empty() { ".".into() } else { path }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string(), Vec::new())
    }
}

/// Decodes an item into `T`: numbers exactly (see the [module docs](super)).
///
/// ```
/// use svless_core::attribute::{AttributeValue, Number, from_item};
/// #[derive(serde::Deserialize)]
/// struct Row { wide: u128, exact: Number, text: String }
/// let item = std::collections::HashMap::from([
///     ("wide".to_string(), AttributeValue::N("18446744073709551617".into())),
///     ("exact".to_string(), AttributeValue::N("0.1".into())),
///     ("text".to_string(), AttributeValue::N("12345678901234567890123456789012345678".into())),
/// ]).into();
/// let row: Row = from_item(item).unwrap();
/// assert_eq!(row.wide, 18446744073709551617);
/// assert_eq!(row.text, "12345678901234567890123456789012345678");
/// ```
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, DecodeError> {
    from_attribute_value(AttributeValue::M(item.into_inner()))
}

/// Decodes one attribute value into `T`.
///
/// ```
/// use svless_core::attribute::{AttributeValue, from_attribute_value};
/// let n: i128 = from_attribute_value(AttributeValue::N("-170141183460469231731687303715884105728".into())).unwrap();
/// assert_eq!(n, i128::MIN);
/// ```
pub fn from_attribute_value<T: DeserializeOwned>(value: AttributeValue) -> Result<T, DecodeError> {
    T::deserialize(Deserializer(value)).map_err(|err| DecodeError {
        path: err.path(),
        message: err.0,
    })
}

struct Deserializer(AttributeValue);

fn kind(value: &AttributeValue) -> &'static str {
    match value {
        AttributeValue::S(_) => "a string (S)",
        AttributeValue::N(_) => "a number (N)",
        AttributeValue::B(_) => "binary (B)",
        AttributeValue::Bool(_) => "a boolean (BOOL)",
        AttributeValue::Null(_) => "null (NULL)",
        AttributeValue::M(_) => "a map (M)",
        AttributeValue::L(_) => "a list (L)",
        AttributeValue::Ss(_) => "a string set (SS)",
        AttributeValue::Ns(_) => "a number set (NS)",
        AttributeValue::Bs(_) => "a binary set (BS)",
    }
}

impl Deserializer {
    fn expected(&self, what: &str) -> Error {
        de::Error::custom(format!("expected {what}, found {}", kind(&self.0)))
    }

    fn number(&self, what: &str) -> Result<&str, Error> {
        match &self.0 {
            AttributeValue::N(n) => Ok(n),
            _ => Err(self.expected(what)),
        }
    }
}

macro_rules! numbers {
    ($($method:ident $visit:ident $t:ty;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                let text = self.number(concat!("a number for ", stringify!($t)))?;
                let value: $t = text.parse().map_err(|_| {
                    <Error as de::Error>::custom(format!("the number {text} does not fit {}", stringify!($t)))
                })?;
                visitor.$visit(value)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for Deserializer {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::S(s) => visitor.visit_string(s),
            AttributeValue::N(n) => {
                if let Ok(i) = n.parse::<i64>() {
                    visitor.visit_i64(i)
                } else if let Ok(u) = n.parse::<u64>() {
                    visitor.visit_u64(u)
                } else if let Some(f) = exact_f64(&n) {
                    visitor.visit_f64(f)
                } else {
                    // No primitive holds it exactly: its text, never a rounded value.
                    visitor.visit_string(n)
                }
            }
            AttributeValue::B(b) => {
                visitor.visit_string(base64::engine::general_purpose::STANDARD.encode(b))
            }
            AttributeValue::Bool(b) => visitor.visit_bool(b),
            AttributeValue::Null(_) => visitor.visit_unit(),
            AttributeValue::M(map) => visitor.visit_map(MapAccess::new(map)),
            AttributeValue::L(list) => visitor.visit_seq(SeqAccess::new(list.into_iter())),
            AttributeValue::Ss(set) => visitor.visit_seq(SeqAccess::new(
                set.into_iter()
                    .map(AttributeValue::S)
                    .collect::<Vec<_>>()
                    .into_iter(),
            )),
            AttributeValue::Ns(set) => visitor.visit_seq(SeqAccess::new(
                set.into_iter()
                    .map(AttributeValue::N)
                    .collect::<Vec<_>>()
                    .into_iter(),
            )),
            AttributeValue::Bs(set) => {
                let encoded: Vec<AttributeValue> = set
                    .into_iter()
                    .map(|b| AttributeValue::S(base64::engine::general_purpose::STANDARD.encode(b)))
                    .collect();
                visitor.visit_seq(SeqAccess::new(encoded.into_iter()))
            }
        }
    }

    numbers! {
        deserialize_i8 visit_i8 i8;
        deserialize_i16 visit_i16 i16;
        deserialize_i32 visit_i32 i32;
        deserialize_i64 visit_i64 i64;
        deserialize_i128 visit_i128 i128;
        deserialize_u8 visit_u8 u8;
        deserialize_u16 visit_u16 u16;
        deserialize_u32 visit_u32 u32;
        deserialize_u64 visit_u64 u64;
        deserialize_u128 visit_u128 u128;
        deserialize_f32 visit_f32 f32;
        deserialize_f64 visit_f64 f64;
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::Bool(b) => visitor.visit_bool(b),
            _ => Err(self.expected("a boolean (BOOL)")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.0 {
            AttributeValue::S(s) if s.chars().count() == 1 => {
                visitor.visit_char(s.chars().next().unwrap_or_default())
            }
            _ => Err(self.expected("a one-character string")),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    /// A string, or a number's exact decimal text.
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::S(s) | AttributeValue::N(s) => visitor.visit_string(s),
            _ => Err(self.expected("a string (S)")),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_byte_buf(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::B(b) => visitor.visit_byte_buf(b),
            _ => Err(self.expected("binary (B)")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::Null(_) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::Null(_) => visitor.visit_unit(),
            _ => Err(self.expected("null (NULL)")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name == NUMBER_TOKEN {
            return match self.0 {
                AttributeValue::N(n) | AttributeValue::S(n) => visitor.visit_string(n),
                _ => Err(self.expected("a number (N)")),
            };
        }
        if name == IMAGE_TOKEN {
            return match self.0 {
                value @ AttributeValue::M(_) => {
                    HANDOFF.with(|h| *h.borrow_mut() = Some(value));
                    let out = visitor.visit_unit();
                    HANDOFF.with(|h| h.borrow_mut().take());
                    out
                }
                _ => Err(self.expected("a map (M)")),
            };
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::L(_)
            | AttributeValue::Ss(_)
            | AttributeValue::Ns(_)
            | AttributeValue::Bs(_) => match self.0 {
                AttributeValue::Bs(set) => visitor.visit_seq(SeqAccess::new(
                    set.into_iter()
                        .map(AttributeValue::B)
                        .collect::<Vec<_>>()
                        .into_iter(),
                )),
                other => Deserializer(other).deserialize_any(visitor),
            },
            _ => Err(self.expected("a list (L) or a set")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::M(map) => visitor.visit_map(MapAccess::new(map)),
            _ => Err(self.expected("a map (M)")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    /// As `serde_dynamo` writes enums: a unit variant as its name (`S`), any other as a map of
    /// one member named like the variant.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::S(variant) => visitor.visit_enum(variant.into_deserializer()),
            AttributeValue::M(map) if map.len() == 1 => {
                let (variant, value) = map
                    .into_iter()
                    .next()
                    .ok_or_else(|| <Error as de::Error>::custom("an empty map"))?;
                visitor.visit_enum(EnumAccess { variant, value })
            }
            _ => Err(self.expected("an enum variant (S, or M of one member)")),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

/// The `f64` a decimal text reads as, only when it prints back as the same number.
fn exact_f64(text: &str) -> Option<f64> {
    let f: f64 = text.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    let exact: super::Number = text.parse().ok()?;
    let back: super::Number = super::Number::try_from(f).ok()?;
    (exact == back).then_some(f)
}

struct SeqAccess(std::vec::IntoIter<AttributeValue>, usize);

impl SeqAccess {
    fn new(values: std::vec::IntoIter<AttributeValue>) -> Self {
        SeqAccess(values, 0)
    }
}

impl<'de> de::SeqAccess<'de> for SeqAccess {
    type Error = Error;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.0.next() {
            Some(value) => {
                let index = self.1;
                self.1 += 1;
                seed.deserialize(Deserializer(value))
                    .map(Some)
                    .map_err(|e| e.at(Segment::Index(index)))
            }
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapAccess {
    entries: std::collections::hash_map::IntoIter<String, AttributeValue>,
    key: String,
    value: Option<AttributeValue>,
}

impl MapAccess {
    fn new(map: std::collections::HashMap<String, AttributeValue>) -> Self {
        MapAccess {
            entries: map.into_iter(),
            key: String::new(),
            value: None,
        }
    }
}

impl<'de> de::MapAccess<'de> for MapAccess {
    type Error = Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            Some((key, value)) => {
                self.key = key;
                self.value = Some(value);
                seed.deserialize(de::value::StrDeserializer::<Error>::new(&self.key))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(value) => seed
                .deserialize(Deserializer(value))
                .map_err(|e| e.at(Segment::Key(std::mem::take(&mut self.key)))),
            None => Err(de::Error::custom("a value without a key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct EnumAccess {
    variant: String,
    value: AttributeValue,
}

impl<'de> de::EnumAccess<'de> for EnumAccess {
    type Error = Error;
    type Variant = VariantAccess;

    fn variant_seed<V: de::DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantAccess), Error> {
        let variant =
            seed.deserialize(de::value::StringDeserializer::<Error>::new(self.variant))?;
        Ok((variant, VariantAccess(self.value)))
    }
}

struct VariantAccess(AttributeValue);

impl<'de> de::VariantAccess<'de> for VariantAccess {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(Deserializer(self.0))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(Deserializer(self.0), visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_map(Deserializer(self.0), visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        sizes: Vec<u8>,
    }

    #[test]
    fn a_failure_names_its_path() {
        let item: Item = std::collections::HashMap::from([(
            "inner".to_string(),
            AttributeValue::M(std::collections::HashMap::from([(
                "sizes".to_string(),
                AttributeValue::L(vec![
                    AttributeValue::N("1".into()),
                    AttributeValue::N("300".into()),
                ]),
            )])),
        )])
        .into();
        let err = from_item::<Outer>(item).expect_err("300 is no u8");
        assert_eq!(err.path(), "inner.sizes[1]");
        assert!(err.to_string().contains("does not fit u8"), "{err}");
    }
}
