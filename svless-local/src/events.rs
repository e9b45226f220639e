//! EventBridge on the local cloud: event patterns as EventBridge matches them, schedule
//! expressions (`rate(...)`, six-field `cron(...)`) as EventBridge Scheduler reads them, and
//! `PutEvents` on the services port.
//!
//! Matching follows "Event patterns" and "Content filtering" in the EventBridge user guide:
//! every field of the pattern must match; a field's array lists alternatives; an event field
//! that is an array matches if any of its elements does; the operators are `prefix`, `suffix`,
//! `equals-ignore-case`, `wildcard`, `anything-but`, `numeric`, `exists`, `cidr` and `$or`.

use std::net::IpAddr;

use chrono::{DateTime, Datelike, Duration as ChronoDuration, NaiveDate, Timelike, Utc};
use serde_json::{Map, Value};
use svless_asl::choice::wildcard;

/// Why an event pattern or a schedule expression is refused (EventBridge refuses it too).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid(message: impl Into<String>) -> Invalid {
    Invalid(message.into())
}

/// An event pattern.
///
/// ```
/// use serde_json::json;
/// use svless_local::events::EventPattern;
/// let pattern = EventPattern::parse(&json!({
///     "source": ["com.example.photos"],
///     "detail": {"size": [{"numeric": [">", 0, "<=", 1048576]}], "key": [{"suffix": ".jpg"}]}
/// })).expect("a valid pattern");
/// assert!(pattern.matches(&json!({"source": "com.example.photos", "detail": {"size": 10, "key": "a.jpg"}})));
/// assert!(!pattern.matches(&json!({"source": "com.example.photos", "detail": {"size": 0, "key": "a.jpg"}})));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EventPattern {
    fields: Vec<(String, Node)>,
    or: Vec<EventPattern>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Nested(EventPattern),
    Any(Vec<Matcher>),
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Exact(Value),
    Prefix(String, bool),
    Suffix(String, bool),
    EqualsIgnoreCase(String),
    Wildcard(String),
    AnythingBut(Box<AnythingBut>),
    Numeric(Vec<(String, f64)>),
    Exists(bool),
    Cidr(IpAddr, u8),
}

#[derive(Debug, Clone, PartialEq)]
enum AnythingBut {
    Values(Vec<Value>),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(Vec<String>),
    Wildcard(Vec<String>),
}

fn text_or_ignore_case(value: &Value, op: &str) -> Result<(String, bool), Invalid> {
    match value {
        Value::String(s) => Ok((s.clone(), false)),
        Value::Object(map) if map.len() == 1 => match map.get("equals-ignore-case") {
            Some(Value::String(s)) => Ok((s.clone(), true)),
            _ => Err(invalid(format!(
                "`{op}` takes a string or {{\"equals-ignore-case\": string}}"
            ))),
        },
        _ => Err(invalid(format!("`{op}` takes a string"))),
    }
}

fn strings(value: &Value, op: &str) -> Result<Vec<String>, Invalid> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(format!("`{op}` takes strings")))
            })
            .collect(),
        _ => Err(invalid(format!(
            "`{op}` takes a string or an array of strings"
        ))),
    }
}

impl Matcher {
    fn parse(value: &Value) -> Result<Matcher, Invalid> {
        let Value::Object(map) = value else {
            return match value {
                Value::Array(_) => Err(invalid("a pattern's array cannot hold arrays")),
                other => Ok(Matcher::Exact(other.clone())),
            };
        };
        if map.len() != 1 {
            return Err(invalid(format!(
                "a matcher object has exactly one operator, not {}",
                Value::Object(map.clone())
            )));
        }
        let Some((op, arg)) = map.iter().next() else {
            return Err(invalid("an empty matcher object"));
        };
        Ok(match op.as_str() {
            "prefix" => {
                let (text, ignore_case) = text_or_ignore_case(arg, "prefix")?;
                Matcher::Prefix(text, ignore_case)
            }
            "suffix" => {
                let (text, ignore_case) = text_or_ignore_case(arg, "suffix")?;
                Matcher::Suffix(text, ignore_case)
            }
            "equals-ignore-case" => Matcher::EqualsIgnoreCase(
                arg.as_str()
                    .ok_or_else(|| invalid("`equals-ignore-case` takes a string"))?
                    .to_owned(),
            ),
            "wildcard" => {
                let pattern = arg
                    .as_str()
                    .ok_or_else(|| invalid("`wildcard` takes a string"))?;
                if pattern.contains("**") {
                    return Err(invalid("`wildcard` cannot hold consecutive `*`"));
                }
                Matcher::Wildcard(pattern.to_owned())
            }
            "exists" => Matcher::Exists(
                arg.as_bool()
                    .ok_or_else(|| invalid("`exists` takes true or false"))?,
            ),
            "numeric" => {
                let items = arg
                    .as_array()
                    .ok_or_else(|| invalid("`numeric` takes [operator, number, ...]"))?;
                if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
                    return Err(invalid("`numeric` takes one or two operator-number pairs"));
                }
                let mut checks = Vec::new();
                for pair in items.chunks(2) {
                    let (Some(op), Some(n)) = (pair[0].as_str(), pair[1].as_f64()) else {
                        return Err(invalid("`numeric` takes [operator, number, ...]"));
                    };
                    if !["<", "<=", "=", ">", ">="].contains(&op) {
                        return Err(invalid(format!("`{op}` is not a numeric operator")));
                    }
                    checks.push((op.to_owned(), n));
                }
                Matcher::Numeric(checks)
            }
            "cidr" => {
                let text = arg
                    .as_str()
                    .ok_or_else(|| invalid("`cidr` takes a string"))?;
                let (ip, bits) = text
                    .split_once('/')
                    .ok_or_else(|| invalid(format!("`{text}` is not a CIDR block")))?;
                let ip: IpAddr = ip
                    .parse()
                    .map_err(|_| invalid(format!("`{text}` is not a CIDR block")))?;
                let bits: u8 = bits
                    .parse()
                    .map_err(|_| invalid(format!("`{text}` is not a CIDR block")))?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                if bits > max {
                    return Err(invalid(format!("`{text}` is not a CIDR block")));
                }
                Matcher::Cidr(ip, bits)
            }
            "anything-but" => Matcher::AnythingBut(Box::new(match arg {
                Value::Object(inner) if inner.len() == 1 => {
                    let Some((op, v)) = inner.iter().next() else {
                        return Err(invalid("an empty `anything-but` object"));
                    };
                    match op.as_str() {
                        "prefix" => AnythingBut::Prefix(
                            v.as_str()
                                .ok_or_else(|| invalid("`anything-but` `prefix` takes a string"))?
                                .to_owned(),
                        ),
                        "suffix" => AnythingBut::Suffix(
                            v.as_str()
                                .ok_or_else(|| invalid("`anything-but` `suffix` takes a string"))?
                                .to_owned(),
                        ),
                        "equals-ignore-case" => {
                            AnythingBut::EqualsIgnoreCase(strings(v, "equals-ignore-case")?)
                        }
                        "wildcard" => AnythingBut::Wildcard(strings(v, "wildcard")?),
                        other => {
                            return Err(invalid(format!("`anything-but` does not take `{other}`")));
                        }
                    }
                }
                Value::Array(items) => {
                    if items.iter().any(|v| v.is_object() || v.is_array()) {
                        return Err(invalid("`anything-but` lists strings or numbers"));
                    }
                    AnythingBut::Values(items.clone())
                }
                Value::Object(_) => return Err(invalid("`anything-but` takes one operator")),
                scalar => AnythingBut::Values(vec![scalar.clone()]),
            })),
            other => return Err(invalid(format!("`{other}` is not a pattern operator"))),
        })
    }

    /// Whether the matcher takes one (non-array) value of the event.
    fn takes(&self, value: &Value) -> bool {
        match self {
            Matcher::Exact(expected) => same(expected, value),
            Matcher::Prefix(prefix, ignore_case) => value.as_str().is_some_and(|s| {
                if *ignore_case {
                    s.to_lowercase().starts_with(&prefix.to_lowercase())
                } else {
                    s.starts_with(prefix.as_str())
                }
            }),
            Matcher::Suffix(suffix, ignore_case) => value.as_str().is_some_and(|s| {
                if *ignore_case {
                    s.to_lowercase().ends_with(&suffix.to_lowercase())
                } else {
                    s.ends_with(suffix.as_str())
                }
            }),
            Matcher::EqualsIgnoreCase(expected) => value
                .as_str()
                .is_some_and(|s| s.to_lowercase() == expected.to_lowercase()),
            Matcher::Wildcard(pattern) => value.as_str().is_some_and(|s| wildcard(pattern, s)),
            Matcher::Numeric(checks) => value.as_f64().is_some_and(|n| {
                checks.iter().all(|(op, bound)| match op.as_str() {
                    "<" => n < *bound,
                    "<=" => n <= *bound,
                    "=" => n == *bound,
                    ">" => n > *bound,
                    _ => n >= *bound,
                })
            }),
            Matcher::Exists(_) => true,
            Matcher::Cidr(network, bits) => value
                .as_str()
                .and_then(|s| s.parse::<IpAddr>().ok())
                .is_some_and(|ip| in_block(ip, *network, *bits)),
            Matcher::AnythingBut(but) => match &**but {
                AnythingBut::Values(values) => !values.iter().any(|v| same(v, value)),
                AnythingBut::Prefix(prefix) => value
                    .as_str()
                    .is_some_and(|s| !s.starts_with(prefix.as_str())),
                AnythingBut::Suffix(suffix) => value
                    .as_str()
                    .is_some_and(|s| !s.ends_with(suffix.as_str())),
                AnythingBut::EqualsIgnoreCase(values) => value
                    .as_str()
                    .is_some_and(|s| !values.iter().any(|v| v.to_lowercase() == s.to_lowercase())),
                AnythingBut::Wildcard(patterns) => value
                    .as_str()
                    .is_some_and(|s| !patterns.iter().any(|p| wildcard(p, s))),
            },
        }
    }
}

/// Scalars compare by value; numbers numerically (`5` and `5.0` are one number).
fn same(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

fn in_block(ip: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits))
            };
            (u32::from(ip) & mask) == (u32::from(net) & mask)
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits))
            };
            (u128::from(ip) & mask) == (u128::from(net) & mask)
        }
        _ => false,
    }
}

impl EventPattern {
    /// Reads a pattern (an object of fields; each a nested object or an array of matchers;
    /// `$or` an array of patterns).
    pub fn parse(pattern: &Value) -> Result<Self, Invalid> {
        let Value::Object(map) = pattern else {
            return Err(invalid("an event pattern is a JSON object"));
        };
        Self::from_map(map)
    }

    fn from_map(map: &Map<String, Value>) -> Result<Self, Invalid> {
        let mut fields = Vec::new();
        let mut or = Vec::new();
        for (name, value) in map {
            if name == "$or" {
                let items = value
                    .as_array()
                    .filter(|items| items.len() >= 2)
                    .ok_or_else(|| invalid("`$or` takes an array of at least two patterns"))?;
                for item in items {
                    or.push(Self::parse(item)?);
                }
                continue;
            }
            let node = match value {
                Value::Object(inner) => Node::Nested(Self::from_map(inner)?),
                Value::Array(items) => {
                    if items.is_empty() {
                        return Err(invalid(format!("the field `{name}` has an empty array")));
                    }
                    Node::Any(items.iter().map(Matcher::parse).collect::<Result<_, _>>()?)
                }
                _ => {
                    return Err(invalid(format!(
                        "the field `{name}` must hold an array of matchers or an object"
                    )));
                }
            };
            fields.push((name.clone(), node));
        }
        if fields.is_empty() && or.is_empty() {
            return Err(invalid("an event pattern needs at least one field"));
        }
        Ok(Self { fields, or })
    }

    /// Whether `event` matches.
    pub fn matches(&self, event: &Value) -> bool {
        let fields = self.fields.iter().all(|(name, node)| {
            let value = event.get(name);
            match node {
                Node::Nested(inner) => match value {
                    Some(Value::Object(_)) => inner.matches(value.unwrap_or(&Value::Null)),
                    Some(Value::Array(items)) => items.iter().any(|v| inner.matches(v)),
                    // A nested pattern of only `exists: false` fields matches an absent object.
                    _ => inner.matches(&Value::Object(Map::new())),
                },
                Node::Any(matchers) => matchers.iter().any(|m| leaf(m, value)),
            }
        });
        fields && (self.or.is_empty() || self.or.iter().any(|p| p.matches(event)))
    }
}

fn leaf(matcher: &Matcher, value: Option<&Value>) -> bool {
    match (matcher, value) {
        (Matcher::Exists(expected), value) => {
            let present = match value {
                None => false,
                Some(Value::Array(items)) => !items.is_empty(),
                Some(Value::Object(_)) => false,
                Some(_) => true,
            };
            present == *expected
        }
        (_, None) => false,
        (matcher, Some(Value::Array(items))) => items.iter().any(|v| matcher.takes(v)),
        (matcher, Some(value)) => matcher.takes(value),
    }
}

/// A schedule expression: `rate(5 minutes)` or `cron(0 12 ? * MON-FRI *)`.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use svless_local::events::Schedule;
/// let noon = Schedule::parse("cron(0 12 * * ? *)").expect("valid");
/// let at = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).single().expect("a time");
/// assert_eq!(noon.next_after(at), Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).single());
/// assert!(Schedule::parse("cron(0 12 * * * *)").is_err()); // day-of-month or day-of-week must be ?
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Every so many seconds.
    Rate(u64),
    /// A cron expression.
    Cron(Box<Cron>),
}

/// The six fields of a cron expression, expanded.
#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minutes: Vec<u32>,
    hours: Vec<u32>,
    day_of_month: DayOfMonth,
    months: Vec<u32>,
    day_of_week: DayOfWeek,
    years: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq)]
enum DayOfMonth {
    Any,
    Days(Vec<u32>),
    Last,
    NearestWeekday(u32),
}

#[derive(Debug, Clone, PartialEq)]
enum DayOfWeek {
    Any,
    /// 1 = Sunday … 7 = Saturday.
    Days(Vec<u32>),
    /// The last such weekday of the month (`5L`).
    Last(u32),
    /// The n-th such weekday of the month (`3#2`).
    Nth(u32, u32),
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn value(text: &str, names: &[&str], offset: u32) -> Option<u32> {
    text.parse().ok().or_else(|| {
        names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(text))
            .map(|i| i as u32 + offset)
    })
}

/// Expands a field of numbers: `*`, `a`, `a-b`, `a/s`, `*/s`, `a-b/s`, lists of those.
fn expand(
    field: &str,
    min: u32,
    max: u32,
    names: &[&str],
    offset: u32,
) -> Result<Vec<u32>, Invalid> {
    let bad = || {
        invalid(format!(
            "`{field}` is not a valid cron field for {min}-{max}"
        ))
    };
    let mut out = Vec::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, step.parse::<u32>().map_err(|_| bad())?),
            None => (part, 1),
        };
        if step == 0 {
            return Err(bad());
        }
        let (from, to) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (
                value(a, names, offset).ok_or_else(bad)?,
                value(b, names, offset).ok_or_else(bad)?,
            )
        } else {
            let start = value(range, names, offset).ok_or_else(bad)?;
            (start, if part.contains('/') { max } else { start })
        };
        if from < min || to > max || from > to {
            return Err(bad());
        }
        out.extend((from..=to).step_by(step as usize));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

impl Schedule {
    /// Reads an expression as EventBridge does; an invalid one names what is wrong.
    pub fn parse(expression: &str) -> Result<Self, Invalid> {
        let expression = expression.trim();
        if let Some(inner) = expression
            .strip_prefix("rate(")
            .and_then(|r| r.strip_suffix(')'))
        {
            let (n, unit) = inner
                .trim()
                .split_once(' ')
                .ok_or_else(|| invalid(format!("`{expression}` is not `rate(value unit)`")))?;
            let n: u64 = n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                invalid(format!(
                    "the rate in `{expression}` must be a positive whole number"
                ))
            })?;
            let seconds = match (n, unit.trim()) {
                (1, "minute") => 60,
                (1, "hour") => 3600,
                (1, "day") => 86_400,
                (n, "minutes") if n > 1 => n * 60,
                (n, "hours") if n > 1 => n * 3600,
                (n, "days") if n > 1 => n * 86_400,
                _ => {
                    return Err(invalid(format!(
                        "`{expression}`: the unit is minute, hour or day for 1, and minutes, hours or days above"
                    )));
                }
            };
            return Ok(Schedule::Rate(seconds));
        }
        let Some(inner) = expression
            .strip_prefix("cron(")
            .and_then(|r| r.strip_suffix(')'))
        else {
            return Err(invalid(format!(
                "`{expression}` is neither `rate(...)` nor `cron(...)`"
            )));
        };
        let fields: Vec<&str> = inner.split_whitespace().collect();
        let [minutes, hours, dom, months, dow, years] = fields[..] else {
            return Err(invalid(format!(
                "`{expression}` needs six fields: minutes hours day-of-month month day-of-week year"
            )));
        };
        let day_of_month = match dom {
            "?" => DayOfMonth::Any,
            "L" => DayOfMonth::Last,
            w if w.ends_with('W') => {
                let day: u32 = w[..w.len() - 1]
                    .parse()
                    .ok()
                    .filter(|d| (1..=31).contains(d))
                    .ok_or_else(|| invalid(format!("`{dom}` is not a day-of-month")))?;
                DayOfMonth::NearestWeekday(day)
            }
            field => DayOfMonth::Days(expand(field, 1, 31, &[], 0)?),
        };
        let day_of_week = match dow {
            "?" => DayOfWeek::Any,
            "L" => DayOfWeek::Days(vec![7]),
            l if l.ends_with('L') => DayOfWeek::Last(
                value(&l[..l.len() - 1], &DAYS, 1)
                    .filter(|d| (1..=7).contains(d))
                    .ok_or_else(|| invalid(format!("`{dow}` is not a day-of-week")))?,
            ),
            n if n.contains('#') => {
                let (day, nth) = n.split_once('#').unwrap_or((n, ""));
                let day = value(day, &DAYS, 1)
                    .filter(|d| (1..=7).contains(d))
                    .ok_or_else(|| invalid(format!("`{dow}` is not a day-of-week")))?;
                let nth: u32 = nth
                    .parse()
                    .ok()
                    .filter(|n| (1..=5).contains(n))
                    .ok_or_else(|| invalid(format!("`{dow}`: the week is 1 to 5")))?;
                DayOfWeek::Nth(day, nth)
            }
            field => DayOfWeek::Days(expand(field, 1, 7, &DAYS, 1)?),
        };
        match (&day_of_month, &day_of_week) {
            (DayOfMonth::Any, DayOfWeek::Any) => {
                return Err(invalid(format!(
                    "`{expression}`: only one of day-of-month and day-of-week may be `?`"
                )));
            }
            (DayOfMonth::Any, _) | (_, DayOfWeek::Any) => {}
            _ => {
                return Err(invalid(format!(
                    "`{expression}`: day-of-month or day-of-week must be `?` (both cannot be set)"
                )));
            }
        }
        let years = expand(years, 1970, 2199, &[], 0)?
            .into_iter()
            .map(|y| y as i32)
            .collect();
        Ok(Schedule::Cron(Box::new(Cron {
            minutes: expand(minutes, 0, 59, &[], 0)?,
            hours: expand(hours, 0, 23, &[], 0)?,
            day_of_month,
            months: expand(months, 1, 12, &MONTHS, 1)?,
            day_of_week,
            years,
        })))
    }

    /// The first time after `after` the schedule fires (a rate counts from `after`).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Rate(seconds) => Some(after + ChronoDuration::seconds(*seconds as i64)),
            Schedule::Cron(cron) => cron.next_after(after),
        }
    }
}

fn last_day(year: i32, month: u32) -> u32 {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

impl Cron {
    fn day_matches(&self, date: NaiveDate) -> bool {
        let (year, month, day) = (date.year(), date.month(), date.day());
        let weekday = date.weekday().num_days_from_sunday() + 1;
        let dom = match &self.day_of_month {
            DayOfMonth::Any => true,
            DayOfMonth::Days(days) => days.contains(&day),
            DayOfMonth::Last => day == last_day(year, month),
            DayOfMonth::NearestWeekday(target) => {
                let target = (*target).min(last_day(year, month));
                let Some(at) = NaiveDate::from_ymd_opt(year, month, target) else {
                    return false;
                };
                let nearest = match at.weekday().num_days_from_sunday() {
                    // Saturday: the Friday before, unless that leaves the month.
                    6 if target > 1 => target - 1,
                    6 => target + 2,
                    // Sunday: the Monday after, unless that leaves the month.
                    0 if target < last_day(year, month) => target + 1,
                    0 => target - 2,
                    _ => target,
                };
                day == nearest
            }
        };
        let dow = match &self.day_of_week {
            DayOfWeek::Any => true,
            DayOfWeek::Days(days) => days.contains(&weekday),
            DayOfWeek::Last(target) => *target == weekday && day + 7 > last_day(year, month),
            DayOfWeek::Nth(target, nth) => *target == weekday && (day - 1) / 7 + 1 == *nth,
        };
        dom && dow
    }

    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Whole minutes: the first candidate is the minute after `after`.
        let start =
            after.with_second(0).and_then(|t| t.with_nanosecond(0))? + ChronoDuration::minutes(1);
        let mut date = start.date_naive();
        // Two hundred years of days at most (the year field ends at 2199).
        for _ in 0..(366 * 230) {
            if date.year() > 2199 {
                return None;
            }
            if self.years.contains(&date.year())
                && self.months.contains(&date.month())
                && self.day_matches(date)
            {
                for &hour in &self.hours {
                    for &minute in &self.minutes {
                        let Some(at) = date.and_hms_opt(hour, minute, 0) else {
                            continue;
                        };
                        let at = at.and_utc();
                        if at >= start {
                            return Some(at);
                        }
                    }
                }
            }
            date = date.succ_opt()?;
        }
        None
    }
}
