//! `Number`: DynamoDB's number, an exact decimal of up to 38 significant digits.

use std::cmp::Ordering;
use std::fmt;

/// The most significant digits a DynamoDB number holds.
pub const MAX_DIGITS: usize = 38;
/// The exponent of the largest magnitude DynamoDB stores (9.99…E+125).
const MAX_EXPONENT: i64 = 125;
/// The exponent of the smallest positive magnitude DynamoDB stores (1E-130).
const MIN_EXPONENT: i64 = -130;

/// A DynamoDB number: an exact decimal of up to 38 significant digits, with a magnitude from
/// 1E-130 to 9.99…E+125 (Amazon DynamoDB Developer Guide, "Data types", Number). Unlike `f64` or
/// `i64` it holds every number DynamoDB stores — `2^64 + 1`, `0.1` — and compares and adds them
/// exactly, as DynamoDB does.
///
/// In an entity or a stream image a `Number` field reads and writes a DynamoDB `N` attribute
/// through svless's attribute bridge ([`from_item`](super::from_item),
/// [`to_item`](super::to_item)); in JSON it is its decimal text.
///
/// ```
/// use svless_core::attribute::Number;
/// let big: Number = "18446744073709551617".parse().expect("a number");
/// let one: Number = "1".parse().expect("a number");
/// assert_eq!(big.checked_add(&one).expect("in range").to_string(), "18446744073709551618");
/// assert_eq!("0.1".parse::<Number>().unwrap().checked_add(&"0.2".parse().unwrap()).unwrap().to_string(), "0.3");
/// assert!("9007199254740993".parse::<Number>().unwrap() > "9007199254740992".parse().unwrap());
/// assert_eq!("1.50".parse::<Number>().unwrap().to_string(), "1.5");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    /// Significant digits (0–9), no leading or trailing zeros; empty for zero.
    digits: Vec<u8>,
    /// The value is `digits × 10^scale`.
    scale: i64,
}

/// Why a text is not a DynamoDB number, or an arithmetic result cannot be one.
///
/// ```
/// use svless_core::attribute::{Number, NumberError};
/// assert!(matches!("1e200".parse::<Number>(), Err(NumberError::OutOfRange(_))));
/// assert!(matches!("12x".parse::<Number>(), Err(NumberError::Invalid(_))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumberError {
    /// The text is not a decimal number.
    #[error("`{0}` is not a number")]
    Invalid(String),
    /// More than 38 significant digits.
    #[error("`{0}` has more than 38 significant digits, which a DynamoDB number cannot hold")]
    TooPrecise(String),
    /// The magnitude is outside 1E-130 to 9.99…E+125.
    #[error("`{0}` is outside the range of a DynamoDB number (1E-130 to 9.99E+125 in magnitude)")]
    OutOfRange(String),
}

impl Number {
    /// Zero.
    ///
    /// ```
    /// assert_eq!(svless_core::attribute::Number::zero().to_string(), "0");
    /// ```
    pub fn zero() -> Self {
        Number {
            negative: false,
            digits: Vec::new(),
            scale: 0,
        }
    }

    /// Whether the number is zero.
    ///
    /// ```
    /// assert!("-0.000".parse::<svless_core::attribute::Number>().unwrap().is_zero());
    /// ```
    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// The exact sum, or an error where DynamoDB would refuse it (more than 38 significant
    /// digits, or out of range).
    ///
    /// ```
    /// let a: svless_core::attribute::Number = "-5".parse().unwrap();
    /// assert_eq!(a.checked_add(&"3.25".parse().unwrap()).unwrap().to_string(), "-1.75");
    /// ```
    pub fn checked_add(&self, other: &Number) -> Result<Number, NumberError> {
        if self.is_zero() {
            return Ok(other.clone());
        }
        if other.is_zero() {
            return Ok(self.clone());
        }
        let scale = self.scale.min(other.scale);
        let a = self.aligned(scale);
        let b = other.aligned(scale);
        let (negative, magnitude) = if self.negative == other.negative {
            (self.negative, add_magnitudes(&a, &b))
        } else {
            match compare_magnitudes(&a, &b) {
                Ordering::Equal => return Ok(Number::zero()),
                Ordering::Greater => (self.negative, sub_magnitudes(&a, &b)),
                Ordering::Less => (other.negative, sub_magnitudes(&b, &a)),
            }
        };
        let mut digits: Vec<u8> = magnitude.into_iter().rev().collect();
        let mut result_scale = scale;
        normalize(&mut digits, &mut result_scale);
        let result = Number {
            negative: negative && !digits.is_empty(),
            digits,
            scale: result_scale,
        };
        result.checked()
    }

    /// The number negated.
    ///
    /// ```
    /// let a: svless_core::attribute::Number = "2".parse().unwrap();
    /// assert_eq!(a.negated().to_string(), "-2");
    /// ```
    pub fn negated(&self) -> Number {
        Number {
            negative: !self.negative && !self.is_zero(),
            ..self.clone()
        }
    }

    /// The number as an `i128`, when it is an integer that fits.
    ///
    /// ```
    /// let n: svless_core::attribute::Number = "-17014118346046923173168730371588410572".parse().unwrap();
    /// assert_eq!(n.to_i128(), Some(-17014118346046923173168730371588410572));
    /// assert_eq!("1.5".parse::<svless_core::attribute::Number>().unwrap().to_i128(), None);
    /// ```
    pub fn to_i128(&self) -> Option<i128> {
        self.to_string().parse().ok()
    }

    /// The number as a `u128`, when it is a non-negative integer that fits.
    ///
    /// ```
    /// let n: svless_core::attribute::Number = "18446744073709551616".parse().unwrap();
    /// assert_eq!(n.to_u128(), Some(1 << 64));
    /// ```
    pub fn to_u128(&self) -> Option<u128> {
        self.to_string().parse().ok()
    }

    /// The nearest `f64` (lossy beyond 15–17 significant digits).
    ///
    /// ```
    /// assert_eq!("0.5".parse::<svless_core::attribute::Number>().unwrap().to_f64(), 0.5);
    /// ```
    pub fn to_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    fn aligned(&self, scale: i64) -> Vec<u8> {
        // Little-endian digits of `digits × 10^(self.scale - scale)`.
        let shift = usize::try_from(self.scale - scale).unwrap_or(0);
        let mut out = vec![0u8; shift];
        out.extend(self.digits.iter().rev());
        out
    }

    fn exponent(&self) -> i64 {
        self.digits.len() as i64 - 1 + self.scale
    }

    fn checked(self) -> Result<Number, NumberError> {
        if self.digits.len() > MAX_DIGITS {
            return Err(NumberError::TooPrecise(self.to_string()));
        }
        if !self.is_zero() && !(MIN_EXPONENT..=MAX_EXPONENT).contains(&self.exponent()) {
            return Err(NumberError::OutOfRange(self.to_string()));
        }
        Ok(self)
    }
}

/// Strips leading and trailing zeros, moving the scale.
fn normalize(digits: &mut Vec<u8>, scale: &mut i64) {
    let leading = digits.iter().take_while(|d| **d == 0).count();
    digits.drain(..leading);
    while digits.last() == Some(&0) {
        digits.pop();
        *scale += 1;
    }
    if digits.is_empty() {
        *scale = 0;
    }
}

fn compare_magnitudes(a: &[u8], b: &[u8]) -> Ordering {
    let len = a.len().max(b.len());
    for i in (0..len).rev() {
        let (x, y) = (
            a.get(i).copied().unwrap_or(0),
            b.get(i).copied().unwrap_or(0),
        );
        match x.cmp(&y) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    Ordering::Equal
}

fn add_magnitudes(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
    let mut carry = 0;
    for i in 0..a.len().max(b.len()) {
        let sum = a.get(i).copied().unwrap_or(0) + b.get(i).copied().unwrap_or(0) + carry;
        out.push(sum % 10);
        carry = sum / 10;
    }
    if carry > 0 {
        out.push(carry);
    }
    out
}

/// `a - b` for `a >= b`, little-endian.
fn sub_magnitudes(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len());
    let mut borrow = 0i8;
    for (i, &digit) in a.iter().enumerate() {
        let mut d = digit as i8 - borrow - b.get(i).copied().unwrap_or(0) as i8;
        borrow = 0;
        if d < 0 {
            d += 10;
            borrow = 1;
        }
        out.push(d as u8);
    }
    out
}

impl std::str::FromStr for Number {
    type Err = NumberError;

    /// Reads a decimal as DynamoDB does: an optional sign, digits with an optional point, an
    /// optional exponent (`-1.5e3`). Leading and trailing zeros are not significant.
    fn from_str(text: &str) -> Result<Self, NumberError> {
        let invalid = || NumberError::Invalid(text.to_owned());
        let bytes = text.as_bytes();
        let mut i = 0;
        let negative = match bytes.first() {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let mut digits = Vec::new();
        let mut scale: i64 = 0;
        let mut seen_digit = false;
        let mut after_point = false;
        while i < bytes.len() {
            match bytes[i] {
                d @ b'0'..=b'9' => {
                    seen_digit = true;
                    digits.push(d - b'0');
                    if after_point {
                        scale -= 1;
                    }
                }
                b'.' if !after_point => after_point = true,
                b'e' | b'E' => break,
                _ => return Err(invalid()),
            }
            i += 1;
        }
        if !seen_digit {
            return Err(invalid());
        }
        if i < bytes.len() {
            let exponent = &text[i + 1..];
            let exponent: i64 = exponent
                .parse()
                .ok()
                .filter(|e: &i64| e.abs() < 1_000_000)
                .ok_or_else(invalid)?;
            scale += exponent;
        }
        normalize(&mut digits, &mut scale);
        let number = Number {
            negative: negative && !digits.is_empty(),
            digits,
            scale,
        };
        match number.checked() {
            Ok(number) => Ok(number),
            Err(NumberError::TooPrecise(_)) => Err(NumberError::TooPrecise(text.to_owned())),
            Err(_) => Err(NumberError::OutOfRange(text.to_owned())),
        }
    }
}

impl fmt::Display for Number {
    /// The plain decimal, as DynamoDB returns numbers: no exponent, no insignificant zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        let mut out = String::with_capacity(self.digits.len() + 8);
        if self.negative {
            out.push('-');
        }
        let digits: String = self.digits.iter().map(|d| char::from(b'0' + d)).collect();
        if self.scale >= 0 {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', self.scale as usize));
        } else {
            let point = self.digits.len() as i64 + self.scale;
            if point > 0 {
                let (int, frac) = digits.split_at(point as usize);
                out.push_str(int);
                out.push('.');
                out.push_str(frac);
            } else {
                out.push_str("0.");
                out.extend(std::iter::repeat_n('0', (-point) as usize));
                out.push_str(&digits);
            }
        }
        f.write_str(&out)
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => {
                return if other.negative {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
            }
            (false, true) => {
                return if self.negative {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
            }
            _ => {}
        }
        if self.negative != other.negative {
            return if self.negative {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let magnitude = self
            .exponent()
            .cmp(&other.exponent())
            .then_with(|| self.digits.cmp(&other.digits));
        if self.negative {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

macro_rules! from_integer {
    ($($t:ty)*) => {
        $(
            impl From<$t> for Number {
                fn from(value: $t) -> Self {
                    // An integer of at most 39 digits: only `u128::MAX`-sized values exceed 38,
                    // and those keep their digits (a write of one is refused by DynamoDB's rule).
                    let text = value.to_string();
                    let negative = text.starts_with('-');
                    let mut digits: Vec<u8> = text.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
                    let mut scale = 0;
                    normalize(&mut digits, &mut scale);
                    Number { negative: negative && !digits.is_empty(), digits, scale }
                }
            }
        )*
    };
}

from_integer!(i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize);

impl TryFrom<f64> for Number {
    type Error = NumberError;

    /// The shortest decimal that reads back as the same `f64`; NaN and infinities are refused.
    fn try_from(value: f64) -> Result<Self, NumberError> {
        if !value.is_finite() {
            return Err(NumberError::Invalid(value.to_string()));
        }
        format!("{value:e}").parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Number {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_canonically() {
        for (text, canonical) in [
            ("0", "0"),
            ("-0", "0"),
            ("007", "7"),
            ("1.500", "1.5"),
            ("-0.0025", "-0.0025"),
            ("1e3", "1000"),
            ("1.5E-2", "0.015"),
            ("+12", "12"),
            (".5", "0.5"),
            ("5.", "5"),
        ] {
            assert_eq!(n(text).to_string(), canonical, "{text}");
        }
        for bad in ["", "-", ".", "1..2", "1e", "e5", "0x10", "1 2", "NaN"] {
            assert!(bad.parse::<Number>().is_err(), "{bad}");
        }
        assert!("1".repeat(39).parse::<Number>().is_err());
        assert!(format!("{}000", "1".repeat(38)).parse::<Number>().is_ok());
        assert!("1e126".parse::<Number>().is_err());
        assert!("9.9e125".parse::<Number>().is_ok());
        assert!("1e-130".parse::<Number>().is_ok());
        assert!("1e-131".parse::<Number>().is_err());
    }

    #[test]
    fn compares_exactly() {
        let ordered = [
            "-1e125",
            "-2",
            "-1.5",
            "-0.001",
            "0",
            "1e-130",
            "0.1",
            "1",
            "9007199254740992",
            "9007199254740993",
            "18446744073709551616",
        ];
        for pair in ordered.windows(2) {
            assert!(n(pair[0]) < n(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(n("1.0"), n("1"));
    }

    #[test]
    fn adds_exactly() {
        for (a, b, sum) in [
            ("0.1", "0.2", "0.3"),
            ("9007199254740992", "1", "9007199254740993"),
            ("-5", "5", "0"),
            ("-5", "3", "-2"),
            ("5", "-7.5", "-2.5"),
            (
                "99999999999999999999999999999999999999",
                "-1",
                "99999999999999999999999999999999999998",
            ),
            ("1e-3", "1e3", "1000.001"),
        ] {
            assert_eq!(
                n(a).checked_add(&n(b)).unwrap().to_string(),
                sum,
                "{a} + {b}"
            );
        }
        assert!(matches!(
            n("99999999999999999999999999999999999999").checked_add(&n("0.1")),
            Err(NumberError::TooPrecise(_))
        ));
    }
}
