//! The eighteen intrinsic functions (`States.Format`, `States.Array`, `States.Hash`, ...), parsed
//! once from a `.$` field and evaluated against the state's input and the context object.
//!
//! ```
//! use serde_json::json;
//! use svless_asl::intrinsic::Intrinsic;
//!
//! let call = Intrinsic::parse("States.Format('Hello, my name is {}.', $.name)").expect("a call");
//! let out = call.eval(&json!({"name": "Arnav"}), &json!({})).expect("a value");
//! assert_eq!(out, json!("Hello, my name is Arnav."));
//! ```

use crate::path::Path;
use base64::Engine as _;
use serde_json::{Map, Value};
use std::fmt;

/// The deepest nesting of intrinsic calls AWS accepts in one field.
pub const MAX_NESTING: usize = 10;

/// The longest string `States.Base64Encode`, `States.Base64Decode` and `States.Hash` take.
const MAX_INPUT_CHARS: usize = 10_000;

/// The longest array `States.ArrayRange` makes.
const MAX_RANGE_ITEMS: usize = 1_000;

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Intrinsic {
    function: Function,
    args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Literal(Value),
    /// A string literal: its text with escapes resolved, and where its unescaped `{}` stand.
    Text(String, Vec<usize>),
    Input(Path),
    Context(Path),
    Call(Intrinsic),
}

macro_rules! functions {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// An intrinsic function's name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Function { $($variant),* }

        impl Function {
            fn parse(name: &str) -> Option<Function> {
                match name { $($name => Some(Function::$variant),)* _ => None }
            }
            fn name(self) -> &'static str {
                match self { $(Function::$variant => $name),* }
            }
        }

        /// Every intrinsic function's name.
        pub const NAMES: &[&str] = &[$($name),*];
    };
}

functions! {
    Format => "States.Format",
    StringToJson => "States.StringToJson",
    JsonToString => "States.JsonToString",
    Array => "States.Array",
    ArrayPartition => "States.ArrayPartition",
    ArrayContains => "States.ArrayContains",
    ArrayRange => "States.ArrayRange",
    ArrayGetItem => "States.ArrayGetItem",
    ArrayLength => "States.ArrayLength",
    ArrayUnique => "States.ArrayUnique",
    Base64Encode => "States.Base64Encode",
    Base64Decode => "States.Base64Decode",
    Hash => "States.Hash",
    JsonMerge => "States.JsonMerge",
    MathRandom => "States.MathRandom",
    MathAdd => "States.MathAdd",
    StringSplit => "States.StringSplit",
    Uuid => "States.UUID",
}

/// Why an intrinsic call could not be parsed or evaluated (a parse problem is reported when the
/// definition is validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntrinsicError {
    message: String,
    path: bool,
}

impl IntrinsicError {
    fn path(message: String) -> Self {
        Self {
            message,
            path: true,
        }
    }

    /// Whether the call failed because a path among its arguments matched nothing (Step
    /// Functions then fails the state with `States.Runtime`, not `States.IntrinsicFailure`).
    ///
    /// ```
    /// use serde_json::json;
    /// let call = svless_asl::intrinsic::Intrinsic::parse("States.ArrayLength($.missing)").expect("a call");
    /// assert!(call.eval(&json!({}), &json!({})).unwrap_err().is_path());
    /// ```
    pub fn is_path(&self) -> bool {
        self.path
    }
}

impl fmt::Display for IntrinsicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for IntrinsicError {}

fn fail<T>(message: impl Into<String>) -> Result<T, IntrinsicError> {
    Err(IntrinsicError {
        message: message.into(),
        path: false,
    })
}

impl Intrinsic {
    /// Whether a `.$` field's text is an intrinsic call rather than a path.
    ///
    /// ```
    /// assert!(svless_asl::intrinsic::Intrinsic::looks_like("States.Array($.a)"));
    /// assert!(!svless_asl::intrinsic::Intrinsic::looks_like("$.a"));
    /// ```
    pub fn looks_like(text: &str) -> bool {
        text.trim_start().starts_with("States.")
    }

    /// Parses a call: `States.Name(arg, ...)`, where an argument is a string literal in single
    /// quotes (`\'`, `\{`, `\}` and `\\` escape), a number, `true`, `false`, `null`, a path
    /// (`$.a`, `$$.Execution.Id`) or another call (at most [`MAX_NESTING`] deep).
    ///
    /// ```
    /// use svless_asl::intrinsic::Intrinsic;
    /// assert!(Intrinsic::parse("States.ArrayLength(States.Array(1, 'a', $.b))").is_ok());
    /// assert!(Intrinsic::parse("States.Nope(1)").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Intrinsic, IntrinsicError> {
        let mut parser = Parser {
            chars: text.chars().collect(),
            at: 0,
        };
        let call = parser.call(1)?;
        parser.spaces();
        if parser.at != parser.chars.len() {
            return fail(format!("unexpected text after the call in `{text}`"));
        }
        Ok(call)
    }

    /// Whether an argument reads the context object (`$$`).
    ///
    /// ```
    /// let call = svless_asl::intrinsic::Intrinsic::parse("States.Array($$.Execution.Id)").expect("a call");
    /// assert!(call.uses_context());
    /// ```
    pub fn uses_context(&self) -> bool {
        self.args.iter().any(|arg| match arg {
            Arg::Context(_) => true,
            Arg::Call(call) => call.uses_context(),
            _ => false,
        })
    }

    /// Evaluates the call against the state's input (`$`) and the context object (`$$`).
    ///
    /// ```
    /// use serde_json::json;
    /// use svless_asl::intrinsic::Intrinsic;
    /// let call = Intrinsic::parse("States.MathAdd($.value1, $.step)").expect("a call");
    /// assert_eq!(call.eval(&json!({"value1": 111, "step": -1}), &json!({})).expect("a sum"), json!(110));
    /// ```
    pub fn eval(&self, input: &Value, context: &Value) -> Result<Value, IntrinsicError> {
        let mut args = Vec::with_capacity(self.args.len());
        if self.function == Function::Format {
            let Some((template, rest)) = self.args.split_first() else {
                return fail("States.Format needs a template");
            };
            let (text, holes) = match template {
                Arg::Text(text, holes) => (text.clone(), holes.clone()),
                other => match Intrinsic::arg_value(other, input, context)? {
                    Value::String(text) => {
                        let holes = text.match_indices("{}").map(|(i, _)| i).collect();
                        (text, holes)
                    }
                    _ => return fail("the first argument of States.Format must be a string"),
                },
            };
            let values = rest
                .iter()
                .map(|arg| Intrinsic::arg_value(arg, input, context))
                .collect::<Result<Vec<_>, _>>()?;
            return format(&text, &holes, &values).map(Value::String);
        }
        for arg in &self.args {
            args.push(Intrinsic::arg_value(arg, input, context)?);
        }
        self.function.apply(args)
    }

    fn arg_value(arg: &Arg, input: &Value, context: &Value) -> Result<Value, IntrinsicError> {
        Ok(match arg {
            Arg::Literal(value) => value.clone(),
            Arg::Text(text, _) => Value::String(text.clone()),
            Arg::Input(path) => path
                .select(input)
                .map_err(|e| IntrinsicError::path(e.to_string()))?,
            Arg::Context(path) => path
                .select(context)
                .map_err(|e| IntrinsicError::path(e.to_string()))?,
            Arg::Call(call) => call.eval(input, context)?,
        })
    }
}

impl Function {
    fn apply(self, args: Vec<Value>) -> Result<Value, IntrinsicError> {
        let name = self.name();
        let count = |range: std::ops::RangeInclusive<usize>| {
            if range.contains(&args.len()) {
                Ok(())
            } else if range.start() == range.end() {
                fail(format!(
                    "{name} takes {} argument(s), not {}",
                    range.start(),
                    args.len()
                ))
            } else {
                fail(format!(
                    "{name} takes {} to {} arguments, not {}",
                    range.start(),
                    range.end(),
                    args.len()
                ))
            }
        };
        match self {
            Function::Format => fail("States.Format is evaluated with its template"),
            Function::StringToJson => {
                count(1..=1)?;
                let text = string(&args[0], name)?;
                if text.trim().is_empty() {
                    return Ok(Value::Null);
                }
                serde_json::from_str(text)
                    .or_else(|_| fail(format!("the argument of {name} is not JSON: `{text}`")))
            }
            Function::JsonToString => {
                count(1..=1)?;
                serde_json::to_string(&args[0])
                    .map(Value::String)
                    .or_else(|e| fail(e.to_string()))
            }
            Function::Array => Ok(Value::Array(args)),
            Function::ArrayPartition => {
                count(2..=2)?;
                let items = array(&args[0], name)?;
                let size = integer(&args[1], name)?;
                if size <= 0 {
                    return fail(format!(
                        "the chunk size of {name} must be positive, not {size}"
                    ));
                }
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                Ok(Value::Array(
                    items
                        .chunks(size)
                        .map(|chunk| Value::Array(chunk.to_vec()))
                        .collect(),
                ))
            }
            Function::ArrayContains => {
                count(2..=2)?;
                let items = array(&args[0], name)?;
                Ok(Value::Bool(
                    items.iter().any(|item| json_eq(item, &args[1])),
                ))
            }
            Function::ArrayRange => {
                count(3..=3)?;
                let (start, end, step) = (
                    integer(&args[0], name)?,
                    integer(&args[1], name)?,
                    integer(&args[2], name)?,
                );
                // Step Functions counts up only (LocalStack's parity tests against AWS refuse a
                // negative step; the guide's examples all count up).
                if step <= 0 {
                    return fail(format!(
                        "the step of States.ArrayRange must be positive, not {step}"
                    ));
                }
                let mut out = Vec::new();
                let mut n = start;
                while (step > 0 && n <= end) || (step < 0 && n >= end) {
                    if out.len() == MAX_RANGE_ITEMS {
                        return fail(format!(
                            "States.ArrayRange makes at most {MAX_RANGE_ITEMS} items"
                        ));
                    }
                    out.push(Value::from(n));
                    n += step;
                }
                Ok(Value::Array(out))
            }
            Function::ArrayGetItem => {
                count(2..=2)?;
                let items = array(&args[0], name)?;
                let index = integer(&args[1], name)?;
                usize::try_from(index)
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned()
                    .map_or_else(
                        || {
                            fail(format!(
                                "index {index} is out of bounds of an array of {}",
                                items.len()
                            ))
                        },
                        Ok,
                    )
            }
            Function::ArrayLength => {
                count(1..=1)?;
                Ok(Value::from(array(&args[0], name)?.len()))
            }
            Function::ArrayUnique => {
                count(1..=1)?;
                let mut out: Vec<Value> = Vec::new();
                for item in array(&args[0], name)? {
                    if !out.iter().any(|seen| json_eq(seen, item)) {
                        out.push(item.clone());
                    }
                }
                Ok(Value::Array(out))
            }
            Function::Base64Encode => {
                count(1..=1)?;
                let text = bounded(&args[0], name)?;
                Ok(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(text),
                ))
            }
            Function::Base64Decode => {
                count(1..=1)?;
                let text = bounded(&args[0], name)?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .or_else(|_| fail(format!("the argument of {name} is not base64")))?;
                String::from_utf8(bytes)
                    .map(Value::String)
                    .or_else(|_| fail(format!("what {name} decoded is not UTF-8 text")))
            }
            Function::Hash => {
                count(2..=2)?;
                let data = match &args[0] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if data.chars().count() > MAX_INPUT_CHARS {
                    return fail(format!(
                        "the data of {name} is over {MAX_INPUT_CHARS} characters"
                    ));
                }
                let algorithm = string(&args[1], name)?;
                hash(data.as_bytes(), algorithm).map(Value::String)
            }
            Function::JsonMerge => {
                count(3..=3)?;
                let (Value::Object(a), Value::Object(b)) = (&args[0], &args[1]) else {
                    return fail("States.JsonMerge merges two objects");
                };
                match &args[2] {
                    Value::Bool(false) => {}
                    Value::Bool(true) => {
                        return fail(
                            "States.JsonMerge supports only the shallow mode: its third argument must be false",
                        );
                    }
                    _ => return fail("the third argument of States.JsonMerge must be false"),
                }
                let mut merged: Map<String, Value> = a.clone();
                for (key, value) in b {
                    merged.insert(key.clone(), value.clone());
                }
                Ok(Value::Object(merged))
            }
            Function::MathRandom => {
                count(2..=3)?;
                let start = rounded(&args[0], name)?;
                let end = rounded(&args[1], name)?;
                if end < start {
                    return fail("the end of States.MathRandom is below its start");
                }
                let mut rng = match args.get(2) {
                    Some(seed) => fastrand::Rng::with_seed(rounded(seed, name)? as u64),
                    None => fastrand::Rng::new(),
                };
                Ok(Value::from(rng.i64(start..=end)))
            }
            Function::MathAdd => {
                count(2..=2)?;
                let (a, b) = (rounded(&args[0], name)?, rounded(&args[1], name)?);
                let range = i64::from(i32::MIN)..=i64::from(i32::MAX);
                if !range.contains(&a) || !range.contains(&b) {
                    return fail("States.MathAdd adds numbers between -2147483648 and 2147483647");
                }
                Ok(Value::from(a + b))
            }
            Function::StringSplit => {
                count(2..=2)?;
                let text = string(&args[0], name)?;
                let delimiters = string(&args[1], name)?;
                Ok(Value::Array(
                    text.split(|c| delimiters.contains(c))
                        .filter(|part| !part.is_empty())
                        .map(|part| Value::String(part.to_owned()))
                        .collect(),
                ))
            }
            Function::Uuid => {
                count(0..=0)?;
                Ok(Value::String(uuid::Uuid::new_v4().to_string()))
            }
        }
    }
}

/// The template with the `{}` at `holes` replaced by each argument in turn.
fn format(template: &str, holes: &[usize], values: &[Value]) -> Result<String, IntrinsicError> {
    if holes.len() != values.len() {
        return fail(format!(
            "States.Format has {} `{{}}` and {} argument(s) for them",
            holes.len(),
            values.len()
        ));
    }
    let mut out = String::with_capacity(template.len());
    let mut from = 0;
    for (hole, value) in holes.iter().zip(values) {
        out.push_str(&template[from..*hole]);
        match value {
            Value::String(s) => out.push_str(s),
            Value::Number(_) | Value::Bool(_) | Value::Null => out.push_str(&value.to_string()),
            _ => {
                return fail(
                    "States.Format takes strings, numbers, booleans and null, not objects or arrays",
                );
            }
        }
        from = hole + 2;
    }
    out.push_str(&template[from..]);
    Ok(out)
}

fn hash(data: &[u8], algorithm: &str) -> Result<String, IntrinsicError> {
    use sha2::Digest as _;
    let digest: Vec<u8> = match algorithm {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA-1" => sha1::Sha1::digest(data).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data).to_vec(),
        "SHA-384" => sha2::Sha384::digest(data).to_vec(),
        "SHA-512" => sha2::Sha512::digest(data).to_vec(),
        other => {
            return fail(format!(
                "`{other}` is not a hash algorithm of States.Hash (MD5, SHA-1, SHA-256, SHA-384, SHA-512)"
            ));
        }
    };
    Ok(hex::encode(digest))
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn string<'v>(value: &'v Value, name: &str) -> Result<&'v str, IntrinsicError> {
    value
        .as_str()
        .map_or_else(|| fail(format!("{name} expects a string, not {value}")), Ok)
}

fn bounded<'v>(value: &'v Value, name: &str) -> Result<&'v str, IntrinsicError> {
    let text = string(value, name)?;
    if text.chars().count() > MAX_INPUT_CHARS {
        return fail(format!(
            "the argument of {name} is over {MAX_INPUT_CHARS} characters"
        ));
    }
    Ok(text)
}

fn array<'v>(value: &'v Value, name: &str) -> Result<&'v [Value], IntrinsicError> {
    value
        .as_array()
        .map(Vec::as_slice)
        .map_or_else(|| fail(format!("{name} expects an array, not {value}")), Ok)
}

fn integer(value: &Value, name: &str) -> Result<i64, IntrinsicError> {
    match value.as_i64() {
        Some(n) => Ok(n),
        None => match value.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
            _ => fail(format!("{name} expects an integer, not {value}")),
        },
    }
}

/// A number rounded to the nearest integer, halves away from zero (as Java's `Math.round` does
/// for positive numbers and Step Functions documents for `MathAdd` and `MathRandom`).
fn rounded(value: &Value, name: &str) -> Result<i64, IntrinsicError> {
    if let Some(n) = value.as_i64() {
        return Ok(n);
    }
    match value.as_f64() {
        Some(f) if f.is_finite() && f.abs() < 9.0e15 => Ok(f.round() as i64),
        _ => fail(format!("{name} expects a number, not {value}")),
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

    fn spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn call(&mut self, depth: usize) -> Result<Intrinsic, IntrinsicError> {
        if depth > MAX_NESTING {
            return fail(format!(
                "intrinsic functions nest at most {MAX_NESTING} deep"
            ));
        }
        self.spaces();
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            self.at += 1;
        }
        let name: String = self.chars[start..self.at].iter().collect();
        let function = Function::parse(&name).map_or_else(
            || {
                fail(format!(
                    "`{name}` is not an intrinsic function (they are {})",
                    NAMES.join(", ")
                ))
            },
            Ok,
        )?;
        self.spaces();
        if self.peek() != Some('(') {
            return fail(format!("`{name}` must be followed by `(`"));
        }
        self.at += 1;
        let mut args = Vec::new();
        self.spaces();
        if self.peek() == Some(')') {
            self.at += 1;
            return Ok(Intrinsic { function, args });
        }
        loop {
            args.push(self.arg(depth)?);
            self.spaces();
            match self.peek() {
                Some(',') => self.at += 1,
                Some(')') => {
                    self.at += 1;
                    return Ok(Intrinsic { function, args });
                }
                _ => return fail(format!("the arguments of `{name}` are not closed with `)`")),
            }
        }
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, IntrinsicError> {
        self.spaces();
        match self.peek() {
            Some('\'') => self.string().map(|(text, holes)| Arg::Text(text, holes)),
            Some('$') => {
                let start = self.at;
                let mut nesting = 0usize;
                let mut quote: Option<char> = None;
                while let Some(c) = self.peek() {
                    match (quote, c) {
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), _) => {}
                        (None, '\'' | '"') => quote = Some(c),
                        (None, '[' | '(') => nesting += 1,
                        (None, ']') => nesting = nesting.saturating_sub(1),
                        (None, ')') if nesting == 0 => break,
                        (None, ')') => nesting -= 1,
                        (None, ',') if nesting == 0 => break,
                        (None, c) if c.is_whitespace() && nesting == 0 => break,
                        _ => {}
                    }
                    self.at += 1;
                }
                let text: String = self.chars[start..self.at].iter().collect();
                let (context, path) = match text.strip_prefix("$$") {
                    Some(rest) => (true, format!("${rest}")),
                    None => (false, text.clone()),
                };
                let path = Path::parse(&path).map_err(|e| IntrinsicError {
                    message: e.to_string(),
                    path: false,
                })?;
                Ok(if context {
                    Arg::Context(path)
                } else {
                    Arg::Input(path)
                })
            }
            Some(c) if c.is_ascii_digit() || c == '-' => {
                let start = self.at;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
                {
                    self.at += 1;
                }
                let text: String = self.chars[start..self.at].iter().collect();
                serde_json::from_str::<serde_json::Number>(&text)
                    .map(|n| Arg::Literal(Value::Number(n)))
                    .or_else(|_| fail(format!("`{text}` is not a number")))
            }
            Some('S') => self.call(depth + 1).map(Arg::Call),
            _ => {
                for (word, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    let end = self.at + word.len();
                    if self
                        .chars
                        .get(self.at..end)
                        .is_some_and(|w| w.iter().copied().eq(word.chars()))
                    {
                        self.at = end;
                        return Ok(Arg::Literal(value));
                    }
                }
                fail(
                    "an argument is a 'string', a number, true, false, null, a path or a States.* call",
                )
            }
        }
    }

    fn string(&mut self) -> Result<(String, Vec<usize>), IntrinsicError> {
        self.at += 1;
        let mut out = String::new();
        let mut holes = Vec::new();
        loop {
            match self.peek() {
                None => return fail("a string argument is not closed with `'`"),
                Some('\\') => {
                    self.at += 1;
                    match self.peek() {
                        Some(c @ ('{' | '}' | '\'' | '\\')) => out.push(c),
                        _ => {
                            return fail("in a string argument, `\\` escapes only ', {, } and \\");
                        }
                    }
                    self.at += 1;
                }
                Some('\'') => {
                    self.at += 1;
                    return Ok((out, holes));
                }
                Some('{') if self.chars.get(self.at + 1) == Some(&'}') => {
                    holes.push(out.len());
                    out.push_str("{}");
                    self.at += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
    }
}
