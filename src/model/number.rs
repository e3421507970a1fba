//! DynamoDB numbers: decimal, at most 38 significant digits, magnitude in
//! [1E-130, 1E126). Never an `f64`: the value a client stores is the value it
//! reads back, digit for digit.
//!
//! A `Number` is kept normalised as `sign * 0.DIGITS * 10^exponent` with no
//! leading or trailing zeros in `DIGITS`, so equal values have one
//! representation (`1.50`, `1.5` and `15E-1` are the same `Number`), ordering
//! is a comparison of (sign, exponent, digits), and the order-preserving key
//! encoding in `key.rs` falls out of it. Arithmetic goes through `bigdecimal`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use bigdecimal::BigDecimal;
use serde::{Deserialize, Serialize};

/// Most significant digits DynamoDB keeps in a number.
pub const MAX_DIGITS: usize = 38;
/// Largest exponent in the `0.DIGITS * 10^e` form (values below 1E126).
const MAX_EXPONENT: i32 = 126;
/// Smallest exponent in the `0.DIGITS * 10^e` form (values from 1E-130).
const MIN_EXPONENT: i32 = -129;

/// A DynamoDB number, normalised (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Number {
    negative: bool,
    /// Significant digits as ASCII, no leading or trailing zeros; empty for zero.
    digits: String,
    /// Position of the decimal point relative to the first digit.
    exponent: i32,
}

/// Why a string is not a DynamoDB number; the messages are DynamoDB's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Not DynamoDB's number syntax; holds the text as sent.
    #[error("The parameter cannot be converted to a numeric value: {0}")]
    Malformed(String),
    #[error("Attempting to store more than 38 significant digits in a Number")]
    TooManyDigits,
    #[error("Number overflow. Attempting to store a number with magnitude larger than supported range")]
    Overflow,
    #[error("Number underflow. Attempting to store a number with magnitude smaller than supported range")]
    Underflow,
}

impl Number {
    /// Zero.
    pub fn zero() -> Number {
        Number {
            negative: false,
            digits: String::new(),
            exponent: 0,
        }
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// True for values below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// Significant digits as ASCII (empty for zero).
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// Exponent in the `0.DIGITS * 10^exponent` form.
    pub fn exponent(&self) -> i32 {
        self.exponent
    }

    /// Builds a number from sign, raw ASCII digits and the exponent of the
    /// `0.DIGITS` form, normalising and checking DynamoDB's limits.
    fn from_parts(negative: bool, raw_digits: &str, exponent: i64) -> Result<Number, NumberError> {
        let leading = raw_digits.bytes().take_while(|&b| b == b'0').count();
        let trimmed = raw_digits[leading..].trim_end_matches('0');
        if trimmed.is_empty() {
            return Ok(Number::zero());
        }
        if trimmed.len() > MAX_DIGITS {
            return Err(NumberError::TooManyDigits);
        }
        let exponent = exponent.saturating_sub(leading as i64);
        if exponent > MAX_EXPONENT as i64 {
            return Err(NumberError::Overflow);
        }
        if exponent < MIN_EXPONENT as i64 {
            return Err(NumberError::Underflow);
        }
        Ok(Number {
            negative,
            digits: trimmed.to_string(),
            exponent: exponent as i32,
        })
    }

    /// Parses DynamoDB's number syntax: optional sign, digits with an optional
    /// point, optional exponent (`-1.5e+3`).
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        let malformed = || NumberError::Malformed(text.to_string());
        let bytes = text.as_bytes();
        let mut pos = 0;
        let mut negative = false;
        if let Some(&sign) = bytes.first()
            && (sign == b'-' || sign == b'+')
        {
            negative = sign == b'-';
            pos = 1;
        }
        let mut digits = String::new();
        let mut int_len: i64 = 0;
        let mut seen_point = false;
        let mut any_digit = false;
        while pos < bytes.len() {
            match bytes[pos] {
                b'0'..=b'9' => {
                    digits.push(bytes[pos] as char);
                    if !seen_point {
                        int_len += 1;
                    }
                    any_digit = true;
                }
                b'.' if !seen_point => seen_point = true,
                _ => break,
            }
            pos += 1;
        }
        if !any_digit {
            return Err(malformed());
        }
        let mut exp: i64 = 0;
        if pos < bytes.len() {
            if bytes[pos] != b'e' && bytes[pos] != b'E' {
                return Err(malformed());
            }
            let rest = &text[pos + 1..];
            let unsigned = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            // An exponent that fits 64 bits is range-checked (so 1e2147483647
            // overflows), as DynamoDB does.
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed());
            }
            exp = rest.parse::<i64>().map_err(|_| malformed())?;
        }
        let number = Number::from_parts(negative, &digits, int_len.saturating_add(exp))?;
        Ok(number)
    }

    /// Converts to `bigdecimal` for arithmetic.
    pub fn to_bigdecimal(&self) -> BigDecimal {
        if self.is_zero() {
            return BigDecimal::from(0);
        }
        let sign = if self.negative { "-" } else { "" };
        let text = format!("{sign}0.{}e{}", self.digits, self.exponent);
        // The text is built from validated digits and an i32 exponent, so it
        // always parses.
        BigDecimal::from_str(&text).unwrap_or_default()
    }

    /// Converts back from `bigdecimal`, applying DynamoDB's limits.
    pub fn from_bigdecimal(value: &BigDecimal) -> Result<Number, NumberError> {
        let (int, scale) = value.as_bigint_and_exponent();
        let negative = int.sign() == bigdecimal::num_bigint::Sign::Minus;
        let digits = int.magnitude().to_string();
        // value = int * 10^-scale = 0.DIGITS * 10^(len - scale)
        Number::from_parts(negative, &digits, digits.len() as i64 - scale)
    }

    /// `self + other` with DynamoDB's limits on the result.
    pub fn add(&self, other: &Number) -> Result<Number, NumberError> {
        Number::from_bigdecimal(&(self.to_bigdecimal() + other.to_bigdecimal()))
    }

    /// `self - other` with DynamoDB's limits on the result.
    pub fn sub(&self, other: &Number) -> Result<Number, NumberError> {
        Number::from_bigdecimal(&(self.to_bigdecimal() - other.to_bigdecimal()))
    }

    /// Compares magnitudes of two non-zero numbers.
    fn cmp_magnitude(&self, other: &Number) -> Ordering {
        self.exponent
            .cmp(&other.exponent)
            .then_with(|| self.digits.cmp(&other.digits))
    }

    /// Bytes DynamoDB counts for this number in an item's size: one byte per
    /// two significant digits, plus one.
    pub fn size(&self) -> usize {
        self.digits.len().div_ceil(2) + 1
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        let class = |n: &Number| match (n.is_zero(), n.negative) {
            (true, _) => 1,
            (false, true) => 0,
            (false, false) => 2,
        };
        match class(self).cmp(&class(other)) {
            Ordering::Equal => match class(self) {
                0 => other.cmp_magnitude(self),
                1 => Ordering::Equal,
                _ => self.cmp_magnitude(other),
            },
            unequal => unequal,
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for Number {
    type Err = NumberError;
    fn from_str(text: &str) -> Result<Number, NumberError> {
        Number::parse(text)
    }
}

impl From<i64> for Number {
    fn from(value: i64) -> Number {
        // An i64 has at most 19 digits, well inside every limit.
        Number::parse(&value.to_string()).unwrap_or_else(|_| Number::zero())
    }
}

/// Plain decimal notation, never an exponent: `1E3` prints as `1000`,
/// `-15E-3` as `-0.015`, as DynamoDB returns them.
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        if self.negative {
            f.write_str("-")?;
        }
        let len = self.digits.len() as i32;
        if self.exponent <= 0 {
            f.write_str("0.")?;
            for _ in 0..-self.exponent {
                f.write_str("0")?;
            }
            f.write_str(&self.digits)
        } else if self.exponent >= len {
            f.write_str(&self.digits)?;
            for _ in 0..self.exponent - len {
                f.write_str("0")?;
            }
            Ok(())
        } else {
            let (int, frac) = self.digits.split_at(self.exponent as usize);
            write!(f, "{int}.{frac}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Number {
        Number::parse(text).unwrap()
    }

    #[test]
    fn normalises_equal_values() {
        assert_eq!(n("1.50"), n("15E-1"));
        assert_eq!(n("-0"), Number::zero());
        assert_eq!(n("0001000").to_string(), "1000");
        assert_eq!(n("1e3").to_string(), "1000");
        assert_eq!(n("-15E-3").to_string(), "-0.015");
        assert_eq!(n("123.456").to_string(), "123.456");
        assert_eq!(n(".5").to_string(), "0.5");
        assert_eq!(n("5.").to_string(), "5");
    }

    #[test]
    fn enforces_dynamodb_limits() {
        for text in ["abc", "", "1e", "1 ", " 1", "1.2.3", "NaN", "0x10"] {
            assert_eq!(Number::parse(text), Err(NumberError::Malformed(text.to_string())));
        }
        assert_eq!(
            NumberError::Malformed("abc".into()).to_string(),
            "The parameter cannot be converted to a numeric value: abc"
        );
        assert_eq!(Number::parse("1e2147483647"), Err(NumberError::Overflow));
        assert_eq!(Number::parse("1e99999999999"), Err(NumberError::Overflow));
        assert_eq!(Number::parse("1e-2147483648"), Err(NumberError::Underflow));
        assert_eq!(Number::parse("0e99999999999"), Ok(Number::zero()));
        assert_eq!(Number::parse(&"1".repeat(39)), Err(NumberError::TooManyDigits));
        assert!(Number::parse(&"1".repeat(38)).is_ok());
        assert!(Number::parse(&format!("{}000", "1".repeat(38))).is_ok());
        assert_eq!(Number::parse("1E126"), Err(NumberError::Overflow));
        assert!(Number::parse("9.9999999999999999999999999999999999999E+125").is_ok());
        assert_eq!(Number::parse("1E-131"), Err(NumberError::Underflow));
        assert!(Number::parse("1E-130").is_ok());
    }

    #[test]
    fn orders_numerically() {
        let sorted = [
            "-1E10", "-100", "-2", "-1.5", "-1", "-0.001", "0", "1E-130", "0.5", "1", "1.01", "2", "10", "1E125",
        ];
        let parsed: Vec<Number> = sorted.iter().map(|s| n(s)).collect();
        for pair in parsed.windows(2) {
            assert!(pair[0] < pair[1], "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn arithmetic_keeps_precision() {
        let a = n("0.1");
        let b = n("0.2");
        assert_eq!(a.add(&b).unwrap().to_string(), "0.3");
        let big = n(&"9".repeat(38));
        assert_eq!(big.add(&n("1")).unwrap(), n("1E38"));
        assert_eq!(n("5").sub(&n("7")).unwrap().to_string(), "-2");
    }
}
