//! Order-preserving, prefix-free encoding of primary keys, so redb's byte
//! order is DynamoDB's order: numbers numerically, strings and binaries
//! bytewise. Prefix-free matters for composite keys: all items of one
//! partition key form one contiguous range, whatever the sort keys are.
//!
//! - `S`/`B`: the bytes with `0x00` escaped as `0x00 0xFF`, then `0x00 0x01`.
//! - `N`: a class byte (negative, zero, positive), then for non-zero values
//!   the exponent (biased, big-endian u16) and the digits, ended by `0x00`;
//!   negative numbers have every byte after the class byte inverted so a
//!   larger magnitude sorts first.

use serde::{Deserialize, Serialize};

use super::number::Number;
use super::value::AttributeValue;

/// The scalar types a key attribute can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScalarType {
    S,
    N,
    B,
}

impl ScalarType {
    /// Parses `S`, `N` or `B`.
    pub fn parse(text: &str) -> Option<ScalarType> {
        match text {
            "S" => Some(ScalarType::S),
            "N" => Some(ScalarType::N),
            "B" => Some(ScalarType::B),
            _ => None,
        }
    }

    /// The DynamoDB type descriptor.
    pub fn as_str(self) -> &'static str {
        match self {
            ScalarType::S => "S",
            ScalarType::N => "N",
            ScalarType::B => "B",
        }
    }

    /// Whether `value` has this type.
    pub(super) fn matches(self, value: &AttributeValue) -> bool {
        matches!(
            (self, value),
            (ScalarType::S, AttributeValue::S(_))
                | (ScalarType::N, AttributeValue::N(_))
                | (ScalarType::B, AttributeValue::B(_))
        )
    }
}

const NEGATIVE: u8 = 0x01;
const ZERO: u8 = 0x02;
const POSITIVE: u8 = 0x03;
const EXPONENT_BIAS: i32 = 0x8000;

/// Appends the encoding of one key attribute. Only `S`, `N` and `B` can be
/// key attributes; the caller has checked the type against the schema.
pub fn encode_key_value(value: &AttributeValue, out: &mut Vec<u8>) {
    match value {
        AttributeValue::S(s) => encode_bytes(s.as_bytes(), out),
        AttributeValue::B(b) => encode_bytes(b, out),
        AttributeValue::N(n) => encode_number(n, out),
        // Not a key type: schema validation rejects these before encoding.
        other => encode_bytes(other.type_name().as_bytes(), out),
    }
}

fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0x00, 0x01]);
}

fn encode_number(n: &Number, out: &mut Vec<u8>) {
    if n.is_zero() {
        out.push(ZERO);
        return;
    }
    let start = out.len() + 1;
    out.push(if n.is_negative() { NEGATIVE } else { POSITIVE });
    // The exponent is within [-129, 126], so the biased value fits in u16.
    let biased = (n.exponent() + EXPONENT_BIAS) as u16;
    out.extend_from_slice(&biased.to_be_bytes());
    // Digits as 1..=10 so that the terminator 0 sorts below every digit.
    out.extend(n.digits().bytes().map(|d| d - b'0' + 1));
    out.push(0x00);
    if n.is_negative() {
        for byte in &mut out[start..] {
            *byte = !*byte;
        }
    }
}

/// Encodes a whole primary key: the partition key, then the sort key if the
/// table has one.
pub fn encode_primary_key(hash: &AttributeValue, range: Option<&AttributeValue>) -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    encode_key_value(hash, &mut out);
    if let Some(range) = range {
        encode_key_value(range, &mut out);
    }
    out
}

/// The first byte string after every one that starts with `prefix` (none:
/// only strings of `0xFF` bytes follow them all).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Length of the partition key's part of an encoded primary key whose
/// partition key has type `ty`: what `encode_key_value` wrote for it. Lets a
/// reader group keys by partition without decoding the items (parallel scan
/// segments). `None` if `encoded` does not start with a whole encoding.
pub fn partition_key_len(encoded: &[u8], ty: ScalarType) -> Option<usize> {
    match ty {
        ScalarType::S | ScalarType::B => {
            let mut at = 0;
            loop {
                let zero = at + encoded.get(at..)?.iter().position(|&b| b == 0)?;
                match encoded.get(zero + 1)? {
                    0xFF => at = zero + 2,
                    0x01 => return Some(zero + 2),
                    _ => return None,
                }
            }
        }
        ScalarType::N => {
            // After the class byte and the two exponent bytes (which may be
            // anything), the digits end at the terminator: 0x00, or 0xFF
            // for negative numbers, whose bytes are inverted. Digits are
            // 1..=10 (inverted: 0xF5..=0xFE), never a terminator.
            let terminator = match *encoded.first()? {
                ZERO => return Some(1),
                POSITIVE => 0x00,
                NEGATIVE => 0xFF,
                _ => return None,
            };
            let digits = encoded.get(3..)?;
            Some(3 + digits.iter().position(|&b| b == terminator)? + 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc(v: &AttributeValue) -> Vec<u8> {
        let mut out = Vec::new();
        encode_key_value(v, &mut out);
        out
    }

    fn num(s: &str) -> AttributeValue {
        AttributeValue::N(Number::parse(s).unwrap())
    }

    #[test]
    fn number_edge_cases_sort_numerically() {
        let sorted = [
            "-1E125", "-10", "-9.99", "-1", "-0.5", "-1E-130", "0", "1E-130", "0.5", "0.51", "1", "9", "10", "10.5",
            "1E125",
        ];
        for pair in sorted.windows(2) {
            assert!(enc(&num(pair[0])) < enc(&num(pair[1])), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn strings_are_prefix_free() {
        let a = encode_primary_key(&AttributeValue::S("a".into()), Some(&AttributeValue::S("zzz".into())));
        let ab = encode_primary_key(&AttributeValue::S("ab".into()), Some(&AttributeValue::S("".into())));
        let prefix_a = encode_primary_key(&AttributeValue::S("a".into()), None);
        assert!(a.starts_with(&prefix_a));
        assert!(!ab.starts_with(&prefix_a));
        assert!(a < ab);
    }

    fn key_value() -> impl Strategy<Value = AttributeValue> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 1..12).prop_map(AttributeValue::B),
            "[a-z\\x00\\u{ff}]{1,8}".prop_map(AttributeValue::S),
            (-1_000_000_000i64..1_000_000_000, 0u32..40)
                .prop_map(|(m, e)| AttributeValue::N(Number::parse(&format!("{m}E-{e}")).unwrap())),
        ]
    }

    fn scalar_type(v: &AttributeValue) -> ScalarType {
        match v {
            AttributeValue::S(_) => ScalarType::S,
            AttributeValue::B(_) => ScalarType::B,
            _ => ScalarType::N,
        }
    }

    #[test]
    fn partition_key_len_of_edge_values() {
        for (hash, ty) in [
            (AttributeValue::S("a\0b".into()), ScalarType::S),
            (AttributeValue::B(vec![0, 0, 1, 0]), ScalarType::B),
            (num("0"), ScalarType::N),
            (num("-1E-130"), ScalarType::N),
            (num("1E125"), ScalarType::N),
            (num("-99999999999999999999999999999999999999"), ScalarType::N),
        ] {
            let part = enc(&hash);
            let whole = encode_primary_key(&hash, Some(&num("-7")));
            assert_eq!(partition_key_len(&whole, ty), Some(part.len()), "{hash:?}");
            assert_eq!(partition_key_len(&part, ty), Some(part.len()), "{hash:?}");
            assert_eq!(
                partition_key_len(&part[..part.len() - 1], ty),
                None,
                "{hash:?} cut short"
            );
        }
    }

    proptest! {
        #[test]
        fn partition_key_len_finds_the_partition_key(hash in key_value(), range in proptest::option::of(key_value())) {
            let whole = encode_primary_key(&hash, range.as_ref());
            prop_assert_eq!(partition_key_len(&whole, scalar_type(&hash)), Some(enc(&hash).len()));
        }

        #[test]
        fn byte_order_matches_value_order(a in proptest::collection::vec(any::<u8>(), 0..8), b in proptest::collection::vec(any::<u8>(), 0..8)) {
            let (ea, eb) = (enc(&AttributeValue::B(a.clone())), enc(&AttributeValue::B(b.clone())));
            prop_assert_eq!(a.cmp(&b), ea.cmp(&eb));
        }

        #[test]
        fn number_order_matches(a in -1_000_000i64..1_000_000, b in -1_000_000i64..1_000_000, sa in 0u32..6, sb in 0u32..6) {
            let na = Number::parse(&format!("{a}E-{sa}")).unwrap();
            let nb = Number::parse(&format!("{b}E-{sb}")).unwrap();
            prop_assert_eq!(na.cmp(&nb), enc(&AttributeValue::N(na.clone())).cmp(&enc(&AttributeValue::N(nb.clone()))));
        }
    }
}
