use super::FromRequestParts;
use crate::Error;
use http::request::Parts;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use std::fmt;
use std::sync::Arc;

/// Parameters taken from the route template's `{name}` segments.
///
/// `T` is a single value (one parameter), a tuple (in template order) or a struct whose
/// fields are named like the parameters. A greedy `{proxy+}` parameter holds the rest of the path.
/// A value that does not parse is a 400 whose problem names the parameter.
///
/// ```
/// use svless_core::Path;
/// use serde::Deserialize;
///
/// async fn one(Path(id): Path<u64>) -> String { id.to_string() }
///
/// async fn two(Path((owner, id)): Path<(String, u64)>) -> String { format!("{owner}/{id}") }
///
/// #[derive(Deserialize)]
/// struct Key { owner: String, id: u64 }
/// async fn named(Path(key): Path<Key>) -> String { format!("{}/{}", key.owner, key.id) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Path<T>(pub T);

/// The matched route's parameters, percent-decoded, in template order.
///
/// The router stores them in the request's extensions; [`Path`] deserializes them.
///
/// ```
/// use svless_core::extract::MatchedParams;
/// let params = MatchedParams::from_pairs([("id", "7")]);
/// assert_eq!(params.get("id"), Some("7"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchedParams {
    pairs: Vec<(Arc<str>, String)>,
    /// The first parameter whose percent-decoded bytes are not UTF-8: [`Path`] refuses it.
    not_utf8: Option<Arc<str>>,
}

impl MatchedParams {
    /// Builds parameters from name/value pairs (values already decoded).
    ///
    /// ```
    /// let params = svless_core::extract::MatchedParams::from_pairs([("a", "1"), ("b", "2")]);
    /// assert_eq!(params.iter().count(), 2);
    /// ```
    pub fn from_pairs<N: Into<Arc<str>>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        Self {
            pairs: pairs
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
            not_utf8: None,
        }
    }

    pub(crate) fn push(&mut self, name: Arc<str>, value: String) {
        self.pairs.push((name, value));
    }

    /// Records a parameter whose raw bytes are not UTF-8 once percent-decoded (`%FF`).
    pub(crate) fn push_not_utf8(&mut self, name: Arc<str>, lossy: String) {
        if self.not_utf8.is_none() {
            self.not_utf8 = Some(name.clone());
        }
        self.pairs.push((name, lossy));
    }

    /// The value of the parameter `name`.
    ///
    /// ```
    /// let params = svless_core::extract::MatchedParams::from_pairs([("id", "7")]);
    /// assert_eq!(params.get("nope"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The parameters as `(name, value)` pairs in template order.
    ///
    /// ```
    /// let params = svless_core::extract::MatchedParams::from_pairs([("id", "7")]);
    /// assert_eq!(params.iter().next(), Some(("id", "7")));
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (&**n, v.as_str()))
    }
}

impl<T: DeserializeOwned> Path<T> {
    /// Deserializes parameters into `T`, with the rejection a handler argument would give.
    ///
    /// ```
    /// use svless_core::{Path, extract::MatchedParams};
    /// let params = MatchedParams::from_pairs([("id", "seven")]);
    /// let err = Path::<u32>::from_params(&params).unwrap_err();
    /// assert_eq!(err.to_problem().extensions["field"], "id");
    /// ```
    pub fn from_params(params: &MatchedParams) -> Result<Self, Error> {
        if let Some(name) = &params.not_utf8 {
            return Err(Error::bad_request(format!(
                "the path parameter `{name}` is not UTF-8 text once percent-decoded"
            ))
            .with_extension("field", &**name));
        }
        T::deserialize(ParamsDeserializer(&params.pairs))
            .map(Path)
            .map_err(|err| {
                let problem = Error::bad_request(err.message);
                match err.field {
                    Some(field) => problem.with_extension("field", field),
                    None => problem,
                }
            })
    }
}

impl<S: Sync, T: DeserializeOwned> FromRequestParts<S> for Path<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        match parts.extensions.get::<MatchedParams>() {
            Some(params) => Self::from_params(params),
            None => Self::from_params(&MatchedParams::default()),
        }
    }
}

#[derive(Debug)]
struct PathError {
    field: Option<String>,
    message: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PathError {}

impl de::Error for PathError {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        PathError {
            field: None,
            message: format!("invalid path parameters: {msg}"),
        }
    }
}

struct ParamsDeserializer<'a>(&'a [(Arc<str>, String)]);

impl<'a> ParamsDeserializer<'a> {
    fn single(&self) -> Result<ValueDeserializer<'a>, PathError> {
        match self.0 {
            [(name, value)] => Ok(ValueDeserializer { name, value }),
            _ => Err(PathError {
                field: None,
                message: format!(
                    "expected one path parameter, the route has {}",
                    self.0.len()
                ),
            }),
        }
    }
}

macro_rules! single_value {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
                self.single()?.$method(visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for ParamsDeserializer<'de> {
    type Error = PathError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_map(ParamsMap {
            params: self.0.iter(),
            value: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PathError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_seq(ParamsSeq(self.0.iter()))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        if len != self.0.len() {
            return Err(PathError {
                field: None,
                message: format!(
                    "expected a tuple of {} path parameters, found {len}",
                    self.0.len()
                ),
            });
        }
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PathError> {
        self.single()?.deserialize_enum(name, variants, visitor)
    }

    single_value! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_option deserialize_unit deserialize_identifier
        deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        visitor.visit_unit()
    }
}

struct ParamsMap<'a> {
    params: std::slice::Iter<'a, (Arc<str>, String)>,
    value: Option<&'a (Arc<str>, String)>,
}

impl<'de> de::MapAccess<'de> for ParamsMap<'de> {
    type Error = PathError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, PathError> {
        match self.params.next() {
            Some(pair) => {
                self.value = Some(pair);
                seed.deserialize(BorrowedStr(&pair.0)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, PathError> {
        match self.value.take() {
            Some((name, value)) => seed.deserialize(ValueDeserializer { name, value }),
            None => Err(de::Error::custom("value without a key")),
        }
    }
}

struct ParamsSeq<'a>(std::slice::Iter<'a, (Arc<str>, String)>);

impl<'de> de::SeqAccess<'de> for ParamsSeq<'de> {
    type Error = PathError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, PathError> {
        match self.0.next() {
            Some((name, value)) => seed
                .deserialize(ValueDeserializer { name, value })
                .map(Some),
            None => Ok(None),
        }
    }
}

struct BorrowedStr<'a>(&'a str);

impl<'de> de::Deserializer<'de> for BorrowedStr<'de> {
    type Error = PathError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_borrowed_str(self.0)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct ValueDeserializer<'a> {
    name: &'a str,
    value: &'a str,
}

impl ValueDeserializer<'_> {
    fn error(&self, expected: &str) -> PathError {
        PathError {
            field: Some(self.name.to_owned()),
            message: format!(
                "path parameter `{}`: cannot parse `{}` as {expected}",
                self.name, self.value
            ),
        }
    }
}

macro_rules! parse_value {
    ($($method:ident => $visit:ident: $ty:ty,)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
                match self.value.parse::<$ty>() {
                    Ok(value) => visitor.$visit(value),
                    Err(_) => Err(self.error(stringify!($ty))),
                }
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'de> {
    type Error = PathError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_borrowed_str(self.value)
    }

    parse_value! {
        deserialize_bool => visit_bool: bool,
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_i128 => visit_i128: i128,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
        deserialize_u128 => visit_u128: u128,
        deserialize_f32 => visit_f32: f32,
        deserialize_f64 => visit_f64: f64,
        deserialize_char => visit_char: char,
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PathError> {
        let name = self.name;
        let value = self.value;
        let de: de::value::StrDeserializer<'_, de::value::Error> = value.into_deserializer();
        visitor.visit_enum(de).map_err(|_| PathError {
            field: Some(name.to_owned()),
            message: format!("path parameter `{name}`: `{value}` is not one of {variants:?}"),
        })
    }

    serde::forward_to_deserialize_any! {
        str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn struct_tuple_and_single_values_deserialize() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Key {
            owner: String,
            id: u32,
        }
        let params = MatchedParams::from_pairs([("owner", "ann"), ("id", "7")]);
        assert_eq!(
            Path::<Key>::from_params(&params).unwrap().0,
            Key {
                owner: "ann".into(),
                id: 7
            }
        );
        assert_eq!(
            Path::<(String, u32)>::from_params(&params).unwrap().0,
            ("ann".into(), 7)
        );
        let one = MatchedParams::from_pairs([("id", "42")]);
        assert_eq!(Path::<u64>::from_params(&one).unwrap().0, 42);
        assert_eq!(Path::<String>::from_params(&one).unwrap().0, "42");
    }

    #[test]
    fn unparsable_value_names_the_parameter() {
        let params = MatchedParams::from_pairs([("owner", "ann"), ("id", "x")]);
        let err = Path::<(String, u32)>::from_params(&params).unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(err.to_problem().extensions["field"], "id");
    }

    #[test]
    fn unit_enum_values_parse() {
        #[derive(Deserialize, Debug, PartialEq)]
        #[serde(rename_all = "lowercase")]
        enum Status {
            Open,
            Done,
        }
        let params = MatchedParams::from_pairs([("status", "done")]);
        assert_eq!(
            Path::<Status>::from_params(&params).unwrap().0,
            Status::Done
        );
        let bad = MatchedParams::from_pairs([("status", "maybe")]);
        assert_eq!(
            Path::<Status>::from_params(&bad)
                .unwrap_err()
                .to_problem()
                .extensions["field"],
            "status"
        );
    }
}
