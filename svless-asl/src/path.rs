//! JSONPath as the Amazon States Language uses it: reference paths (`$.a.b`, `$['a b'][0]`) for
//! `ResultPath`, `ItemsPath`, Choice variables and the `…Path` fields, and full paths (wildcards,
//! slices, recursive descent, filters) for `InputPath`, `OutputPath` and `.$` fields.
//!
//! A path that selects one node gives that node; a path with a wildcard, slice, union, recursive
//! descent or filter gives an array of every match, as Step Functions' JSONPath does.
//!
//! ```
//! use serde_json::json;
//! use svless_asl::path::Path;
//!
//! let path = Path::parse("$.items[*].price").expect("a path");
//! let input = json!({"items": [{"price": 3}, {"price": 5}]});
//! assert_eq!(path.select(&input).expect("matches"), json!([3, 5]));
//! ```

use serde_json::{Map, Value};
use std::fmt;

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    text: String,
    segments: Vec<Segment>,
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Segment {
    /// `.name` or `['name']`.
    Field(String),
    /// `[3]` (negative counts from the end).
    Index(i64),
    /// `.*` or `[*]`.
    Wildcard,
    /// `[start:end:step]`.
    Slice(Option<i64>, Option<i64>, i64),
    /// `['a','b']` or `[0,2]`.
    Union(Vec<Selector>),
    /// `..name` or `..*`.
    Descend(Option<String>),
    /// `[?(...)]`.
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq)]
enum Selector {
    Field(String),
    Index(i64),
}

/// A filter expression: `@.a > 1`, `@.a`, `@.b == 'x' && @.c < 3`.
#[derive(Debug, Clone, PartialEq)]
enum Filter {
    Exists(Vec<Segment>),
    Compare(Vec<Segment>, Op, Value),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Why a path could not be read or applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// The text is not a JSONPath.
    Invalid {
        /// The text.
        path: String,
        /// What is wrong, and where.
        reason: String,
    },
    /// A reference path was required and this path selects several nodes.
    NotReference(String),
    /// The path selects nothing in the document.
    NoMatch {
        /// The path.
        path: String,
    },
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::Invalid { path, reason } => {
                write!(f, "`{path}` is not a valid JSONPath: {reason}")
            }
            PathError::NotReference(path) => write!(
                f,
                "`{path}` is not a reference path (no wildcards, slices, filters or `..` here)"
            ),
            PathError::NoMatch { path } => {
                write!(f, "the JSONPath `{path}` could not be found in the input")
            }
        }
    }
}

impl std::error::Error for PathError {}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Path {
    /// Parses a path starting with `$` (or `$$` for the context object: pass the text after
    /// the first `$`).
    ///
    /// ```
    /// assert!(svless_asl::path::Path::parse("$.a[0]['b c']").is_ok());
    /// assert!(svless_asl::path::Path::parse("a.b").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let invalid = |reason: String| PathError::Invalid {
            path: text.to_owned(),
            reason,
        };
        let rest = text
            .strip_prefix('$')
            .ok_or_else(|| invalid("it must start with `$`".into()))?;
        let mut parser = Parser {
            chars: rest.chars().collect(),
            at: 0,
        };
        let segments = parser.segments(false).map_err(invalid)?;
        if parser.at != parser.chars.len() {
            return Err(invalid(format!(
                "unexpected `{}`",
                parser.chars[parser.at..].iter().collect::<String>()
            )));
        }
        Ok(Path {
            text: text.to_owned(),
            segments,
        })
    }

    /// Parses a reference path: fields and indexes only.
    ///
    /// ```
    /// assert!(svless_asl::path::Path::reference("$.a[0].b").is_ok());
    /// assert!(svless_asl::path::Path::reference("$.a[*]").is_err());
    /// ```
    pub fn reference(text: &str) -> Result<Path, PathError> {
        let path = Path::parse(text)?;
        if path.is_definite() {
            Ok(path)
        } else {
            Err(PathError::NotReference(text.to_owned()))
        }
    }

    /// The text of the path.
    ///
    /// ```
    /// assert_eq!(svless_asl::path::Path::parse("$.a").expect("a path").as_str(), "$.a");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the path selects at most one node (fields and indexes only).
    ///
    /// ```
    /// assert!(svless_asl::path::Path::parse("$.a[1]").expect("a path").is_definite());
    /// assert!(!svless_asl::path::Path::parse("$..a").expect("a path").is_definite());
    /// ```
    pub fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Field(_) | Segment::Index(_)))
    }

    /// Whether the path is `$` itself.
    ///
    /// ```
    /// assert!(svless_asl::path::Path::parse("$").expect("a path").is_root());
    /// ```
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// What the path selects in `document`: the node for a definite path, an array of every
    /// match otherwise. A definite path that finds nothing is [`PathError::NoMatch`].
    ///
    /// ```
    /// use serde_json::json;
    /// let path = svless_asl::path::Path::parse("$.a.b").expect("a path");
    /// assert_eq!(path.select(&json!({"a": {"b": 1}})).expect("found"), json!(1));
    /// assert!(path.select(&json!({"a": 1})).is_err());
    /// ```
    pub fn select(&self, document: &Value) -> Result<Value, PathError> {
        if self.is_definite() {
            return self
                .get(document)
                .cloned()
                .ok_or_else(|| PathError::NoMatch {
                    path: self.text.clone(),
                });
        }
        let mut nodes = vec![document];
        for segment in &self.segments {
            nodes = step(&nodes, segment);
        }
        Ok(Value::Array(nodes.into_iter().cloned().collect()))
    }

    /// The node a definite path leads to, if it is there.
    ///
    /// ```
    /// use serde_json::json;
    /// let path = svless_asl::path::Path::parse("$.a[1]").expect("a path");
    /// assert_eq!(path.get(&json!({"a": [1, 2]})), Some(&json!(2)));
    /// ```
    pub fn get<'v>(&self, document: &'v Value) -> Option<&'v Value> {
        relative(document, &self.segments)
    }

    /// Puts `value` where this reference path points in `document`, creating the objects on
    /// the way (`ResultPath`). A field of something that is not an object, or an index past
    /// an array's end, is an error.
    ///
    /// ```
    /// use serde_json::json;
    /// let path = svless_asl::path::Path::reference("$.result.total").expect("a path");
    /// let mut doc = json!({"id": 1});
    /// path.set(&mut doc, json!(42)).expect("set");
    /// assert_eq!(doc, json!({"id": 1, "result": {"total": 42}}));
    /// ```
    pub fn set(&self, document: &mut Value, value: Value) -> Result<(), PathError> {
        let no_match = || PathError::NoMatch {
            path: self.text.clone(),
        };
        let Some((last, init)) = self.segments.split_last() else {
            *document = value;
            return Ok(());
        };
        let mut node = document;
        for segment in init {
            node = match segment {
                Segment::Field(name) => {
                    if node.is_null() {
                        *node = Value::Object(Map::new());
                    }
                    node.as_object_mut()
                        .ok_or_else(no_match)?
                        .entry(name.clone())
                        .or_insert(Value::Null)
                }
                Segment::Index(index) => {
                    let items = node.as_array_mut().ok_or_else(no_match)?;
                    let at = resolve_index(*index, items.len()).ok_or_else(no_match)?;
                    items.get_mut(at).ok_or_else(no_match)?
                }
                _ => return Err(PathError::NotReference(self.text.clone())),
            };
        }
        match last {
            Segment::Field(name) => {
                if node.is_null() {
                    *node = Value::Object(Map::new());
                }
                node.as_object_mut()
                    .ok_or_else(no_match)?
                    .insert(name.clone(), value);
            }
            Segment::Index(index) => {
                let items = node.as_array_mut().ok_or_else(no_match)?;
                let at = resolve_index(*index, items.len()).ok_or_else(no_match)?;
                *items.get_mut(at).ok_or_else(no_match)? = value;
            }
            _ => return Err(PathError::NotReference(self.text.clone())),
        }
        Ok(())
    }
}

fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let at = if index < 0 { len + index } else { index };
    (0..len)
        .contains(&at)
        .then(|| usize::try_from(at).ok())
        .flatten()
}

fn step<'v>(nodes: &[&'v Value], segment: &Segment) -> Vec<&'v Value> {
    let mut out = Vec::new();
    for node in nodes {
        match segment {
            Segment::Field(name) => out.extend(node.as_object().and_then(|o| o.get(name))),
            Segment::Index(index) => {
                if let Some(items) = node.as_array() {
                    out.extend(resolve_index(*index, items.len()).and_then(|i| items.get(i)));
                }
            }
            Segment::Wildcard => children(node, &mut out),
            Segment::Slice(start, end, step) => {
                if let Some(items) = node.as_array() {
                    slice(items, *start, *end, *step, &mut out);
                }
            }
            Segment::Union(selectors) => {
                for selector in selectors {
                    match selector {
                        Selector::Field(name) => {
                            out.extend(node.as_object().and_then(|o| o.get(name)))
                        }
                        Selector::Index(index) => {
                            if let Some(items) = node.as_array() {
                                out.extend(
                                    resolve_index(*index, items.len()).and_then(|i| items.get(i)),
                                );
                            }
                        }
                    }
                }
            }
            Segment::Descend(name) => descend(node, name.as_deref(), &mut out),
            Segment::Filter(filter) => {
                let mut candidates = Vec::new();
                children(node, &mut candidates);
                out.extend(candidates.into_iter().filter(|c| filter.matches(c)));
            }
        }
    }
    out
}

fn children<'v>(node: &'v Value, out: &mut Vec<&'v Value>) {
    match node {
        Value::Object(map) => out.extend(map.values()),
        Value::Array(items) => out.extend(items.iter()),
        _ => {}
    }
}

fn descend<'v>(node: &'v Value, name: Option<&str>, out: &mut Vec<&'v Value>) {
    match name {
        Some(name) => {
            if let Some(found) = node.as_object().and_then(|o| o.get(name)) {
                out.push(found);
            }
        }
        None => children(node, out),
    }
    match node {
        Value::Object(map) => map.values().for_each(|v| descend(v, name, out)),
        Value::Array(items) => items.iter().for_each(|v| descend(v, name, out)),
        _ => {}
    }
}

fn slice<'v>(
    items: &'v [Value],
    start: Option<i64>,
    end: Option<i64>,
    step: i64,
    out: &mut Vec<&'v Value>,
) {
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let clamp = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
    if step <= 0 {
        return;
    }
    let (from, to) = (clamp(start.unwrap_or(0)), clamp(end.unwrap_or(len)));
    let mut i = from;
    while i < to {
        if let Some(item) = usize::try_from(i).ok().and_then(|i| items.get(i)) {
            out.push(item);
        }
        i += step;
    }
}

impl Filter {
    fn matches(&self, node: &Value) -> bool {
        match self {
            Filter::Exists(path) => relative(node, path).is_some(),
            Filter::Compare(path, op, literal) => {
                let Some(found) = relative(node, path) else {
                    return false;
                };
                compare(found, *op, literal)
            }
            Filter::And(a, b) => a.matches(node) && b.matches(node),
            Filter::Or(a, b) => a.matches(node) || b.matches(node),
            Filter::Not(inner) => !inner.matches(node),
        }
    }
}

fn relative<'v>(node: &'v Value, path: &[Segment]) -> Option<&'v Value> {
    let mut node = node;
    for segment in path {
        node = match segment {
            Segment::Field(name) => node.as_object()?.get(name)?,
            Segment::Index(index) => {
                let items = node.as_array()?;
                items.get(resolve_index(*index, items.len())?)?
            }
            _ => return None,
        };
    }
    Some(node)
}

fn compare(found: &Value, op: Op, literal: &Value) -> bool {
    use std::cmp::Ordering;
    let ordering = match (found, literal) {
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (a, b) if a == b => Some(Ordering::Equal),
        _ => None,
    };
    match op {
        Op::Eq => ordering == Some(Ordering::Equal),
        Op::Ne => ordering != Some(Ordering::Equal),
        Op::Lt => ordering == Some(Ordering::Less),
        Op::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
        Op::Gt => ordering == Some(Ordering::Greater),
        Op::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    /// Segments until the end, or (inside a filter) until a character that ends an operand.
    fn segments(&mut self, in_filter: bool) -> Result<Vec<Segment>, String> {
        let mut segments = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                '.' => {
                    self.at += 1;
                    if self.eat('.') {
                        if self.eat('*') {
                            segments.push(Segment::Descend(None));
                        } else if self.peek() == Some('[') {
                            return Err("`..[` is not supported; write `..name` or `..*`".into());
                        } else {
                            segments.push(Segment::Descend(Some(self.name()?)));
                        }
                    } else if self.eat('*') {
                        segments.push(Segment::Wildcard);
                    } else {
                        segments.push(Segment::Field(self.name()?));
                    }
                }
                '[' => {
                    self.at += 1;
                    segments.push(self.bracket()?);
                }
                _ if in_filter => break,
                other => return Err(format!("unexpected `{other}`")),
            }
        }
        Ok(segments)
    }

    fn name(&mut self) -> Result<String, String> {
        let start = self.at;
        while let Some(c) = self.peek() {
            if matches!(
                c,
                '.' | '[' | ']' | ' ' | ')' | '=' | '!' | '<' | '>' | '&' | '|'
            ) {
                break;
            }
            self.at += 1;
        }
        if self.at == start {
            return Err("a field name is missing".into());
        }
        Ok(self.chars[start..self.at].iter().collect())
    }

    fn quoted(&mut self) -> Result<String, String> {
        let quote = self.peek().ok_or("a quoted name is unfinished")?;
        self.at += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err("a quoted name is unfinished".into()),
                Some('\\') => {
                    self.at += 1;
                    out.extend(self.peek());
                    self.at += 1;
                }
                Some(c) if c == quote => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(c) => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
    }

    fn integer(&mut self) -> Result<Option<i64>, String> {
        self.skip_spaces();
        let start = self.at;
        if self.peek() == Some('-') {
            self.at += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        if self.at == start {
            return Ok(None);
        }
        let text: String = self.chars[start..self.at].iter().collect();
        self.skip_spaces();
        text.parse()
            .map(Some)
            .map_err(|_| format!("`{text}` is not an index"))
    }

    fn bracket(&mut self) -> Result<Segment, String> {
        self.skip_spaces();
        let segment = match self.peek() {
            Some('*') => {
                self.at += 1;
                Segment::Wildcard
            }
            Some('?') => {
                self.at += 1;
                if !self.eat('(') {
                    return Err("a filter is written `[?(...)]`".into());
                }
                let filter = self.filter()?;
                self.skip_spaces();
                if !self.eat(')') {
                    return Err("a filter is missing its `)`".into());
                }
                Segment::Filter(filter)
            }
            Some('\'' | '"') => {
                let mut names = vec![Selector::Field(self.quoted()?)];
                self.skip_spaces();
                while self.eat(',') {
                    self.skip_spaces();
                    names.push(Selector::Field(self.quoted()?));
                    self.skip_spaces();
                }
                match names.as_slice() {
                    [Selector::Field(one)] => Segment::Field(one.clone()),
                    _ => Segment::Union(names),
                }
            }
            _ => {
                let first = self.integer()?;
                if self.eat(':') {
                    let end = self.integer()?;
                    let step = if self.eat(':') {
                        self.integer()?.unwrap_or(1)
                    } else {
                        1
                    };
                    Segment::Slice(first, end, step)
                } else if self.peek() == Some(',') {
                    let mut indexes = vec![Selector::Index(first.ok_or("an index is missing")?)];
                    while self.eat(',') {
                        indexes.push(Selector::Index(
                            self.integer()?.ok_or("an index is missing")?,
                        ));
                    }
                    Segment::Union(indexes)
                } else {
                    Segment::Index(first.ok_or("`[` must hold an index, a name, `*` or a filter")?)
                }
            }
        };
        self.skip_spaces();
        if !self.eat(']') {
            return Err("a `[` is not closed".into());
        }
        Ok(segment)
    }

    fn filter(&mut self) -> Result<Filter, String> {
        let mut left = self.filter_term()?;
        loop {
            self.skip_spaces();
            if self.eat('&') {
                if !self.eat('&') {
                    return Err("write `&&`".into());
                }
                let right = self.filter_term()?;
                left = Filter::And(Box::new(left), Box::new(right));
            } else if self.peek() == Some('|') {
                self.at += 1;
                if !self.eat('|') {
                    return Err("write `||`".into());
                }
                let right = self.filter_term()?;
                left = Filter::Or(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn filter_term(&mut self) -> Result<Filter, String> {
        self.skip_spaces();
        if self.eat('!') {
            return Ok(Filter::Not(Box::new(self.filter_term()?)));
        }
        if self.eat('(') {
            let inner = self.filter()?;
            self.skip_spaces();
            if !self.eat(')') {
                return Err("a `(` is not closed".into());
            }
            return Ok(inner);
        }
        if !self.eat('@') {
            return Err("a filter compares `@...` with a value".into());
        }
        let path = self.segments(true)?;
        self.skip_spaces();
        let op = match (self.peek(), self.chars.get(self.at + 1).copied()) {
            (Some('='), Some('=')) => Op::Eq,
            (Some('!'), Some('=')) => Op::Ne,
            (Some('<'), Some('=')) => Op::Le,
            (Some('>'), Some('=')) => Op::Ge,
            (Some('<'), _) => Op::Lt,
            (Some('>'), _) => Op::Gt,
            _ => return Ok(Filter::Exists(path)),
        };
        self.at += if matches!(op, Op::Lt | Op::Gt) { 1 } else { 2 };
        self.skip_spaces();
        let literal = self.literal()?;
        Ok(Filter::Compare(path, op, literal))
    }

    fn literal(&mut self) -> Result<Value, String> {
        if matches!(self.peek(), Some('\'' | '"')) {
            return self.quoted().map(Value::String);
        }
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| !matches!(c, ')' | ' ' | '&' | '|'))
        {
            self.at += 1;
        }
        let text: String = self.chars[start..self.at].iter().collect();
        serde_json::from_str(&text).map_err(|_| format!("`{text}` is not a value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn select(path: &str, doc: Value) -> Value {
        Path::parse(path).unwrap().select(&doc).unwrap()
    }

    #[test]
    fn the_jsonpath_examples_of_the_developer_guide() {
        // "Paths" in the Step Functions developer guide (JSONPath), on its example input.
        let doc = json!({
            "foo": 123,
            "bar": ["a", "b", "c"],
            "car": {"cdr": true}
        });
        assert_eq!(select("$.foo", doc.clone()), json!(123));
        assert_eq!(select("$.bar", doc.clone()), json!(["a", "b", "c"]));
        assert_eq!(select("$.car.cdr", doc.clone()), json!(true));
        assert_eq!(select("$.bar[0]", doc.clone()), json!("a"));
        assert_eq!(select("$.bar[1:]", doc.clone()), json!(["b", "c"]));
        assert_eq!(select("$.bar[-1]", doc.clone()), json!("c"));
        assert_eq!(select("$['car']['cdr']", doc), json!(true));
    }

    #[test]
    fn indefinite_paths_give_arrays_of_matches() {
        let doc = json!({"a": [{"n": 1, "k": "x"}, {"n": 5, "k": "y"}, {"n": 9}]});
        assert_eq!(select("$.a[*].n", doc.clone()), json!([1, 5, 9]));
        assert_eq!(select("$..n", doc.clone()), json!([1, 5, 9]));
        assert_eq!(select("$.a[?(@.n > 2)].n", doc.clone()), json!([5, 9]));
        assert_eq!(select("$.a[?(@.k)].k", doc.clone()), json!(["x", "y"]));
        assert_eq!(
            select("$.a[?(@.k == 'y' || @.n == 1)].n", doc.clone()),
            json!([1, 5])
        );
        assert_eq!(select("$.a[0,2].n", doc.clone()), json!([1, 9]));
        assert_eq!(select("$.nothing[*]", doc), json!([]));
    }

    #[test]
    fn result_paths_create_what_is_missing_and_refuse_what_cannot_hold_a_field() {
        let path = Path::reference("$.a.b.c").unwrap();
        let mut doc = json!({"x": 1});
        path.set(&mut doc, json!(2)).unwrap();
        assert_eq!(doc, json!({"x": 1, "a": {"b": {"c": 2}}}));
        let mut doc = json!({"a": 5});
        assert!(path.set(&mut doc, json!(2)).is_err());
    }

    #[test]
    fn bad_paths_are_errors() {
        for bad in ["", "a", "$.", "$[", "$.a[", "$[?(@.a >)]", "$.a]"] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            Path::reference("$.a[*]"),
            Err(PathError::NotReference(_))
        ));
    }
}
