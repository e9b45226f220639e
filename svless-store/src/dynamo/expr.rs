//! Conditions and updates: built with types, sent with placeholders (user values only ever
//! travel as expression attribute values), and evaluated by the in-memory backend.

// Rendering is for the DynamoDB backend (and the tests that pin it).
#![cfg_attr(not(feature = "dynamodb"), allow(dead_code))]

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::Serialize;
use serde_dynamo::{AttributeValue, Item};
use svless_core::attribute::Number;

use super::{Error, Result};

/// A value for a condition or an update, from anything serde can write.
///
/// ```
/// use svless_store::dynamo::value;
/// let v = value(&42).unwrap();
/// assert_eq!(v, serde_dynamo::AttributeValue::N("42".into()));
/// ```
pub fn value<T: Serialize + ?Sized>(value: &T) -> Result<AttributeValue> {
    svless_core::attribute::to_attribute_value(value).map_err(|e| Error::Validation {
        message: format!("the value does not serialize to an attribute: {e}"),
    })
}

/// A condition on an item's top-level attributes.
///
/// ```
/// use svless_store::dynamo::{Condition, value};
/// let open_and_mine = Condition::eq("status", value("open").unwrap())
///     .and(Condition::eq("owner", value("u1").unwrap()));
/// # let _ = open_and_mine;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Condition {
    /// `attribute_exists(a)`.
    Exists(String),
    /// `attribute_not_exists(a)`.
    NotExists(String),
    /// `a = v`, `a <> v`, `a < v`, `a <= v`, `a > v`, `a >= v`.
    Compare(String, Comparison, AttributeValue),
    /// `begins_with(a, prefix)`.
    BeginsWith(String, String),
    /// Both.
    And(Box<Condition>, Box<Condition>),
    /// Either.
    Or(Box<Condition>, Box<Condition>),
    /// Not.
    Not(Box<Condition>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Comparison {
    fn symbol(self) -> &'static str {
        match self {
            Comparison::Eq => "=",
            Comparison::Ne => "<>",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
        }
    }
}

impl Condition {
    /// `attribute_exists(attribute)`.
    pub fn exists(attribute: &str) -> Self {
        Condition::Exists(attribute.to_owned())
    }

    /// `attribute_not_exists(attribute)`.
    pub fn not_exists(attribute: &str) -> Self {
        Condition::NotExists(attribute.to_owned())
    }

    /// `attribute = value`.
    pub fn eq(attribute: &str, value: AttributeValue) -> Self {
        Condition::Compare(attribute.to_owned(), Comparison::Eq, value)
    }

    /// `attribute <op> value`.
    pub fn compare(attribute: &str, op: Comparison, value: AttributeValue) -> Self {
        Condition::Compare(attribute.to_owned(), op, value)
    }

    /// `begins_with(attribute, prefix)`.
    pub fn begins_with(attribute: &str, prefix: &str) -> Self {
        Condition::BeginsWith(attribute.to_owned(), prefix.to_owned())
    }

    /// Both conditions.
    pub fn and(self, other: Condition) -> Self {
        Condition::And(Box::new(self), Box::new(other))
    }

    /// Either condition.
    pub fn or(self, other: Condition) -> Self {
        Condition::Or(Box::new(self), Box::new(other))
    }

    /// The opposite condition.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        Condition::Not(Box::new(self))
    }

    /// Whether `item` (absent: `None`) meets the condition, as DynamoDB decides it.
    pub fn holds(&self, item: Option<&Item>) -> bool {
        let get = |a: &str| item.and_then(|i| i.get(a));
        match self {
            Condition::Exists(a) => get(a).is_some(),
            Condition::NotExists(a) => get(a).is_none(),
            Condition::Compare(a, op, v) => match get(a) {
                // A missing attribute is not equal to anything: `<>` holds, every other
                // comparison does not.
                None => *op == Comparison::Ne,
                Some(current) => match (op, compare(current, v)) {
                    (Comparison::Eq, Some(Ordering::Equal)) => true,
                    (Comparison::Eq, _) => current == v,
                    (Comparison::Ne, Some(o)) => o != Ordering::Equal,
                    (Comparison::Ne, None) => current != v,
                    (Comparison::Lt, Some(o)) => o == Ordering::Less,
                    (Comparison::Le, Some(o)) => o != Ordering::Greater,
                    (Comparison::Gt, Some(o)) => o == Ordering::Greater,
                    (Comparison::Ge, Some(o)) => o != Ordering::Less,
                    _ => false,
                },
            },
            Condition::BeginsWith(a, prefix) => {
                matches!(get(a), Some(AttributeValue::S(s)) if s.starts_with(prefix.as_str()))
            }
            Condition::And(l, r) => l.holds(item) && r.holds(item),
            Condition::Or(l, r) => l.holds(item) || r.holds(item),
            Condition::Not(c) => !c.holds(item),
        }
    }

    pub(crate) fn render(&self, p: &mut Placeholders) -> String {
        match self {
            Condition::Exists(a) => format!("attribute_exists({})", p.name(a)),
            Condition::NotExists(a) => format!("attribute_not_exists({})", p.name(a)),
            Condition::Compare(a, op, v) => {
                format!("{} {} {}", p.name(a), op.symbol(), p.value(v.clone()))
            }
            Condition::BeginsWith(a, prefix) => format!(
                "begins_with({}, {})",
                p.name(a),
                p.value(AttributeValue::S(prefix.clone()))
            ),
            Condition::And(l, r) => format!("({}) AND ({})", l.render(p), r.render(p)),
            Condition::Or(l, r) => format!("({}) OR ({})", l.render(p), r.render(p)),
            Condition::Not(c) => format!("NOT ({})", c.render(p)),
        }
    }
}

/// Numbers compare as numbers, strings and binaries byte by byte; other pairs do not compare.
fn compare(a: &AttributeValue, b: &AttributeValue) -> Option<Ordering> {
    match (a, b) {
        (AttributeValue::N(x), AttributeValue::N(y)) => {
            let (x, y) = (x.parse::<Number>().ok()?, y.parse::<Number>().ok()?);
            Some(x.cmp(&y))
        }
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Expression attribute names (`#n0`) and values (`:v0`).
#[derive(Debug, Default)]
pub(crate) struct Placeholders {
    pub(crate) names: HashMap<String, String>,
    pub(crate) values: HashMap<String, AttributeValue>,
}

impl Placeholders {
    pub(crate) fn name(&mut self, attribute: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, a)| *a == attribute) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    pub(crate) fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    Set(String, AttributeValue),
    Remove(String),
    Add(String, AttributeValue),
    Append(String, AttributeValue),
}

/// A partial update of an item's top-level attributes: SET, REMOVE, ADD (to numbers and
/// sets) and list append.
///
/// ```
/// use svless_store::dynamo::Update;
/// let update = Update::new()
///     .set("title", &"Write the docs").unwrap()
///     .add("views", &1).unwrap()
///     .append("tags", &["urgent"]).unwrap()
///     .remove("draft");
/// # let _ = update;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    actions: Vec<Action>,
}

impl Update {
    pub(crate) fn from_actions(actions: Vec<Action>) -> Self {
        Self { actions }
    }

    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `SET attribute = value`.
    pub fn set<T: Serialize + ?Sized>(mut self, attribute: &str, v: &T) -> Result<Self> {
        self.actions
            .push(Action::Set(attribute.to_owned(), value(v)?));
        Ok(self)
    }

    /// `REMOVE attribute`.
    pub fn remove(mut self, attribute: &str) -> Self {
        self.actions.push(Action::Remove(attribute.to_owned()));
        self
    }

    /// `ADD attribute value`: adds to a number (starting from 0) or to a set.
    pub fn add<T: Serialize + ?Sized>(mut self, attribute: &str, v: &T) -> Result<Self> {
        self.actions
            .push(Action::Add(attribute.to_owned(), value(v)?));
        Ok(self)
    }

    /// `ADD attribute {strings}`: adds strings to a string set (creating it), a set whose
    /// elements are unique. (serde writes a `Vec<String>` as a list; this writes a set, which
    /// reads back into a `Vec<String>` or a `BTreeSet<String>`.)
    pub fn add_to_set(mut self, attribute: &str, strings: &[&str]) -> Result<Self> {
        if strings.is_empty() {
            return Err(Error::Validation {
                message: format!("`{attribute}`: a set cannot be empty"),
            });
        }
        if let Some(duplicate) = strings
            .iter()
            .enumerate()
            .find_map(|(i, s)| strings[..i].contains(s).then_some(s))
        {
            return Err(Error::Validation {
                message: format!(
                    "`{attribute}`: the input collection contains duplicates (`{duplicate}`); a set holds each value once"
                ),
            });
        }
        let set = strings.iter().map(|s| (*s).to_owned()).collect();
        self.actions
            .push(Action::Add(attribute.to_owned(), AttributeValue::Ss(set)));
        Ok(self)
    }

    /// `SET attribute = list_append(if_not_exists(attribute, []), values)`.
    pub fn append<T: Serialize + ?Sized>(mut self, attribute: &str, values: &T) -> Result<Self> {
        let list = value(values)?;
        if !matches!(list, AttributeValue::L(_)) {
            return Err(Error::Validation {
                message: format!("`{attribute}`: list append takes a list"),
            });
        }
        self.actions
            .push(Action::Append(attribute.to_owned(), list));
        Ok(self)
    }

    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Refuses an update whose actions name one attribute twice (a `SET` and a `REMOVE` of the
    /// same path), as DynamoDB does: "Two document paths overlap with each other".
    pub(crate) fn check_paths(&self) -> Result<()> {
        let name = |a: &Action| match a {
            Action::Set(n, _) | Action::Remove(n) | Action::Add(n, _) | Action::Append(n, _) => {
                n.clone()
            }
        };
        let names: Vec<String> = self.actions.iter().map(name).collect();
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(Error::Validation {
                    message: format!(
                        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [{n}], path two: [{n}]"
                    ),
                });
            }
        }
        Ok(())
    }

    pub(crate) fn touches(&self, attribute: &str) -> bool {
        self.actions.iter().any(|a| match a {
            Action::Set(n, _) | Action::Remove(n) | Action::Add(n, _) | Action::Append(n, _) => {
                n == attribute
            }
        })
    }

    pub(crate) fn render(&self, p: &mut Placeholders) -> String {
        let mut set = Vec::new();
        let mut remove = Vec::new();
        let mut add = Vec::new();
        for action in &self.actions {
            match action {
                Action::Set(a, v) => set.push(format!("{} = {}", p.name(a), p.value(v.clone()))),
                Action::Append(a, v) => {
                    let name = p.name(a);
                    let empty = p.value(AttributeValue::L(Vec::new()));
                    let values = p.value(v.clone());
                    set.push(format!(
                        "{name} = list_append(if_not_exists({name}, {empty}), {values})"
                    ));
                }
                Action::Remove(a) => remove.push(p.name(a)),
                Action::Add(a, v) => add.push(format!("{} {}", p.name(a), p.value(v.clone()))),
            }
        }
        let mut clauses = Vec::new();
        if !set.is_empty() {
            clauses.push(format!("SET {}", set.join(", ")));
        }
        if !remove.is_empty() {
            clauses.push(format!("REMOVE {}", remove.join(", ")));
        }
        if !add.is_empty() {
            clauses.push(format!("ADD {}", add.join(", ")));
        }
        clauses.join(" ")
    }

    /// Applies the update to an item, as DynamoDB would.
    pub(crate) fn apply(&self, item: &mut Item) -> Result<()> {
        for action in &self.actions {
            match action {
                Action::Set(a, v) => {
                    item.insert(a.clone(), v.clone());
                }
                Action::Remove(a) => {
                    item.remove(a);
                }
                Action::Append(a, AttributeValue::L(values)) => match item.get_mut(a) {
                    Some(AttributeValue::L(list)) => list.extend(values.iter().cloned()),
                    None => {
                        item.insert(a.clone(), AttributeValue::L(values.clone()));
                    }
                    Some(_) => {
                        return Err(Error::Validation {
                            message: format!("`{a}` is not a list"),
                        });
                    }
                },
                Action::Append(..) => {}
                Action::Add(a, v) => {
                    let next = match (item.get(a), v) {
                        (None, v) => v.clone(),
                        (Some(AttributeValue::N(x)), AttributeValue::N(y)) => {
                            AttributeValue::N(add_numbers(x, y)?)
                        }
                        (Some(AttributeValue::Ss(x)), AttributeValue::Ss(y)) => {
                            AttributeValue::Ss(union(x, y))
                        }
                        (Some(AttributeValue::Ns(x)), AttributeValue::Ns(y)) => {
                            AttributeValue::Ns(union(x, y))
                        }
                        _ => {
                            return Err(Error::Validation {
                                message: format!(
                                    "ADD `{a}`: adds a number to a number or a set to a set"
                                ),
                            });
                        }
                    };
                    item.insert(a.clone(), next);
                }
            }
        }
        Ok(())
    }
}

/// DynamoDB's exact decimal addition (38 significant digits; beyond them the update fails).
fn add_numbers(x: &str, y: &str) -> Result<String> {
    let number = |text: &str| {
        text.parse::<Number>().map_err(|e| Error::Validation {
            message: e.to_string(),
        })
    };
    number(x)?
        .checked_add(&number(y)?)
        .map(|sum| sum.to_string())
        .map_err(|e| Error::Validation {
            message: format!("Number overflow: {e}"),
        })
}

fn union(x: &[String], y: &[String]) -> Vec<String> {
    let mut out = x.to_vec();
    for v in y {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_values_travel_only_as_placeholders() {
        let mut p = Placeholders::default();
        let injected = "x) OR attribute_exists(pk";
        let condition = Condition::eq("status", AttributeValue::S(injected.into()))
            .and(Condition::not_exists("deleted"));
        let expression = condition.render(&mut p);
        assert_eq!(expression, "(#n0 = :v0) AND (attribute_not_exists(#n1))");
        assert_eq!(p.values[":v0"], AttributeValue::S(injected.into()));
        let update = Update::new()
            .set("title", "t")
            .unwrap()
            .add("n", &1)
            .unwrap()
            .append("tags", &["a"])
            .unwrap()
            .remove("draft");
        let expression = update.render(&mut p);
        assert_eq!(
            expression,
            "SET #n2 = :v1, #n4 = list_append(if_not_exists(#n4, :v3), :v4) REMOVE #n5 ADD #n3 :v2"
        );
    }

    #[test]
    fn updates_apply_as_dynamodb_applies_them() {
        let mut item = Item::from(HashMap::from([
            ("n".to_owned(), AttributeValue::N("41".into())),
            (
                "tags".to_owned(),
                AttributeValue::L(vec![AttributeValue::S("a".into())]),
            ),
            ("draft".to_owned(), AttributeValue::Bool(true)),
        ]));
        Update::new()
            .add("n", &1)
            .unwrap()
            .add("fresh", &5)
            .unwrap()
            .append("tags", &["b"])
            .unwrap()
            .remove("draft")
            .apply(&mut item)
            .unwrap();
        assert_eq!(item["n"], AttributeValue::N("42".into()));
        assert_eq!(item["fresh"], AttributeValue::N("5".into()));
        assert_eq!(
            item["tags"],
            AttributeValue::L(vec![
                AttributeValue::S("a".into()),
                AttributeValue::S("b".into())
            ])
        );
        assert!(!item.contains_key("draft"));
        assert!(
            Condition::compare("n", Comparison::Gt, AttributeValue::N("9".into()))
                .holds(Some(&item))
        );
        assert!(!Condition::exists("draft").holds(Some(&item)));
        assert!(Condition::not_exists("pk").holds(None));
    }
}
