//! An item parsed straight from a request's JSON into an [`Item`], without
//! a `serde_json::Value` tree in between: PutItem's fast path.
//!
//! Only an item that needs nothing but parsing is accepted: DynamoDB JSON
//! of legal values, each attribute value an object with exactly one type
//! member of the JSON type the service model gives it, no `null`, no name
//! twice. Anything else (a wrong JSON type, a value DynamoDB refuses, a
//! value Coral would convert, a repeated name) fails with a parse error
//! that carries no message for a client: the caller then parses the
//! request the general way (`item_from_json` after the shape check), which
//! finds DynamoDB's error. So an item this path accepts is the item the
//! general path builds, and this path never decides an error.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::number::Number;
use super::value::{AttributeValue, Item, MAX_NESTING_DEPTH, check_attribute_name, check_set};

/// Parses one item (`{"name": {"S": "x"}, ...}`) in canonical form; see
/// the module doc for what fails.
pub struct ItemSeed;

impl<'de> DeserializeSeed<'de> for ItemSeed {
    type Value = Item;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Item, D::Error> {
        deserializer.deserialize_map(MembersSeed {
            depth: 1,
            check_names: true,
        })
    }
}

/// Why the fast path gave up: never shown, the general path takes over.
fn not_canonical<E: de::Error>() -> E {
    E::custom("not a canonical item")
}

/// The members of an item or of an `M` value whose values sit at `depth`
/// (the item's own attributes at 1, as `AttributeValue::from_json` counts).
/// Attribute names are checked at the top only, as the general path does.
#[derive(Clone, Copy)]
struct MembersSeed {
    depth: usize,
    check_names: bool,
}

impl<'de> DeserializeSeed<'de> for MembersSeed {
    type Value = Item;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Item, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MembersSeed {
    type Value = Item;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of attribute values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
        let mut members = Item::new();
        while let Some(name) = map.next_key::<String>()? {
            if self.check_names && check_attribute_name(&name).is_err() {
                return Err(not_canonical());
            }
            let value = map.next_value_seed(ValueSeed { depth: self.depth })?;
            // A repeated name: the general path keeps the last one, and
            // decides whether the first was an error.
            if members.insert(name, value).is_some() {
                return Err(not_canonical());
            }
        }
        Ok(members)
    }
}

/// One attribute value at `depth`.
#[derive(Clone, Copy)]
struct ValueSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = AttributeValue;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<AttributeValue, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = AttributeValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an attribute value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AttributeValue, A::Error> {
        let Some(tag) = map.next_key::<Tag>()? else {
            return Err(not_canonical());
        };
        let value = self.value(tag, &mut map)?;
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(not_canonical());
        }
        Ok(value)
    }
}

impl ValueSeed {
    /// The value of type `tag`, the map's next value.
    fn value<'de, A: MapAccess<'de>>(self, tag: Tag, map: &mut A) -> Result<AttributeValue, A::Error> {
        let nested = self.depth < MAX_NESTING_DEPTH;
        Ok(match tag {
            Tag::S => AttributeValue::S(map.next_value()?),
            Tag::N => AttributeValue::N(number(&map.next_value::<Text>()?)?),
            Tag::B => AttributeValue::B(binary(&map.next_value::<Text>()?)?),
            Tag::Bool => AttributeValue::Bool(map.next_value()?),
            Tag::Null if map.next_value::<bool>()? => AttributeValue::Null,
            Tag::M if nested => AttributeValue::M(map.next_value_seed(MembersSeed {
                depth: self.depth + 1,
                check_names: false,
            })?),
            Tag::L if nested => AttributeValue::L(map.next_value_seed(ListSeed { depth: self.depth + 1 })?),
            Tag::Ss => AttributeValue::Ss(set("string", map.next_value::<Vec<String>>()?, Ok)?),
            Tag::Ns => AttributeValue::Ns(set("number", map.next_value::<Vec<Text>>()?, |t| number(&t))?),
            Tag::Bs => AttributeValue::Bs(set("binary", map.next_value::<Vec<Text>>()?, |t| binary(&t))?),
            Tag::Null | Tag::M | Tag::L => return Err(not_canonical()),
        })
    }
}

/// The elements of an `L` value, at `depth`.
#[derive(Clone, Copy)]
struct ListSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ListSeed {
    type Value = Vec<AttributeValue>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ListSeed {
    type Value = Vec<AttributeValue>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of attribute values")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(ValueSeed { depth: self.depth })? {
            items.push(item);
        }
        Ok(items)
    }
}

/// A number as DynamoDB stores it, or not canonical.
fn number<E: de::Error>(text: &str) -> Result<Number, E> {
    Number::parse(text).map_err(|_| not_canonical())
}

/// Base64 as Coral accepts it (padded, a multiple of 4 characters), decoded.
fn binary<E: de::Error>(text: &str) -> Result<Vec<u8>, E> {
    if !text.len().is_multiple_of(4) {
        return Err(not_canonical());
    }
    BASE64.decode(text).map_err(|_| not_canonical())
}

/// A set's elements, each converted by `convert`, when the set is one
/// DynamoDB accepts (not empty, no element twice).
fn set<T: Eq + std::hash::Hash, S, E: de::Error>(
    kind: &'static str,
    raw: Vec<S>,
    convert: impl Fn(S) -> Result<T, E>,
) -> Result<Vec<T>, E> {
    let items = raw.into_iter().map(convert).collect::<Result<Vec<T>, E>>()?;
    check_set(kind, &items, |_| String::new()).map_err(|_| not_canonical())?;
    Ok(items)
}

/// A JSON string, borrowed from the request where it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(text)))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text.to_string())))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// An attribute value's type member.
#[derive(Clone, Copy)]
enum Tag {
    S,
    N,
    B,
    Bool,
    Null,
    M,
    L,
    Ss,
    Ns,
    Bs,
}

impl<'de> de::Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TagVisitor;
        impl Visitor<'_> for TagVisitor {
            type Value = Tag;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an attribute value type")
            }

            fn visit_str<E: de::Error>(self, tag: &str) -> Result<Tag, E> {
                Ok(match tag {
                    "S" => Tag::S,
                    "N" => Tag::N,
                    "B" => Tag::B,
                    "BOOL" => Tag::Bool,
                    "NULL" => Tag::Null,
                    "M" => Tag::M,
                    "L" => Tag::L,
                    "SS" => Tag::Ss,
                    "NS" => Tag::Ns,
                    "BS" => Tag::Bs,
                    _ => return Err(not_canonical()),
                })
            }
        }
        deserializer.deserialize_str(TagVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::model::item_from_json;

    fn fast(text: &str) -> Option<Item> {
        let mut de = serde_json::Deserializer::from_str(text);
        let item = ItemSeed.deserialize(&mut de).ok()?;
        de.end().ok()?;
        Some(item)
    }

    /// Nested `L` values `levels` deep around a string.
    fn nested(levels: usize) -> Value {
        (0..levels).fold(json!({"S": "x"}), |inner, _| json!({"L": [inner]}))
    }

    #[test]
    fn canonical_items_parse_as_the_general_path_parses_them() {
        let cases = [
            json!({}),
            json!({
                "s": {"S": "é\"\\\n"}, "n": {"N": "-1.50e3"}, "b": {"B": "AAEC"}, "t": {"BOOL": false},
                "z": {"NULL": true}, "m": {"M": {"": {"L": [{"N": "1"}, {"S": "x"}, {"M": {}}]}}},
                "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": ["AA==", "AQ=="]},
                "e": {"L": []}, "empty": {"S": ""}
            }),
            json!({"deep": nested(31)}),
        ];
        for case in cases {
            let general = item_from_json(&case).unwrap();
            assert_eq!(fast(&case.to_string()), Some(general), "{case}");
        }
    }

    /// Everything the general path refuses, converts or resolves (a repeated
    /// name, a null member) leaves the fast path to it.
    #[test]
    fn anything_else_is_left_to_the_general_path() {
        let cases = [
            "[]",
            "null",
            r#"{"a": null}"#,
            r#"{"a": "x"}"#,
            r#"{"a": {}}"#,
            r#"{"a": {"S": "x", "N": "1"}}"#,
            r#"{"a": {"S": "x", "N": null}}"#,
            r#"{"a": {"S": 1}}"#,
            r#"{"a": {"S": null}}"#,
            r#"{"a": {"N": "1e200"}}"#,
            r#"{"a": {"N": "x"}}"#,
            r#"{"a": {"N": 1}}"#,
            r#"{"a": {"B": "abc"}}"#,
            r#"{"a": {"B": "ab!="}}"#,
            r#"{"a": {"BOOL": "yes"}}"#,
            r#"{"a": {"NULL": false}}"#,
            r#"{"a": {"NULL": "true"}}"#,
            r#"{"a": {"SS": []}}"#,
            r#"{"a": {"SS": ["x", "x"]}}"#,
            r#"{"a": {"NS": ["1", "1.0"]}}"#,
            r#"{"a": {"BS": ["AA==", "AA=="]}}"#,
            r#"{"a": {"X": "x"}}"#,
            r#"{"a": {"M": []}}"#,
            r#"{"a": {"L": {}}}"#,
            r#"{"": {"S": "x"}}"#,
            r#"{"a": {"S": "x"}, "a": {"S": "y"}}"#,
            r#"{"a": {"M": {"b": {"S": "x"}, "b": {"S": "y"}}}}"#,
        ];
        for case in cases {
            assert_eq!(fast(case), None, "{case}");
        }
        let too_deep = json!({"deep": nested(32)});
        assert!(item_from_json(&too_deep).is_err());
        assert_eq!(fast(&too_deep.to_string()), None);
        let long_name = json!({ "a".repeat(65_536): {"S": "x"} });
        assert_eq!(fast(&long_name.to_string()), None);
    }
}
