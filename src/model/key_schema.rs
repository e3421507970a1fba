//! Primary keys: a key schema (partition key and optional sort key), the
//! validated key of one item, and DynamoDB's messages when an item or a
//! `Key` does not fit the schema.

use serde::{Deserialize, Serialize};

use super::key::{ScalarType, encode_primary_key};
use super::value::{AttributeValue, Item};

/// Largest encoded partition key value DynamoDB accepts, in bytes.
pub const MAX_HASH_KEY_BYTES: usize = 2048;
/// Largest sort key value DynamoDB accepts, in bytes.
pub const MAX_RANGE_KEY_BYTES: usize = 1024;

/// One key attribute: its name and scalar type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttribute {
    pub name: String,
    pub ty: ScalarType,
}

/// A table's primary key: a partition (hash) key and an optional sort (range) key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySchema {
    pub hash: KeyAttribute,
    pub range: Option<KeyAttribute>,
}

/// Why an item or key does not fit the table's key schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("One or more parameter values were invalid: Missing the key {0} in the item")]
    MissingInItem(String),
    #[error(
        "One or more parameter values were invalid: Type mismatch for key {name} expected: {expected} actual: {actual}"
    )]
    TypeMismatch {
        name: String,
        expected: &'static str,
        actual: &'static str,
    },
    #[error(
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {kind} value. Key: {name}"
    )]
    EmptyKey { name: String, kind: &'static str },
    #[error(
        "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"
    )]
    HashKeyTooLarge,
    #[error(
        "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
    )]
    RangeKeyTooLarge,
    #[error("The provided key element does not match the schema")]
    SchemaMismatch,
}

/// A validated primary key of one item: its attribute values and encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrimaryKey {
    pub hash: AttributeValue,
    pub range: Option<AttributeValue>,
    /// Order-preserving encoding (see `key.rs`).
    pub encoded: Vec<u8>,
}

impl PrimaryKey {
    /// The key as an item holding only the key attributes.
    pub fn to_item(&self, schema: &KeySchema) -> Item {
        let mut item = Item::new();
        item.insert(schema.hash.name.clone(), self.hash.clone());
        if let (Some(attr), Some(value)) = (&schema.range, &self.range) {
            item.insert(attr.name.clone(), value.clone());
        }
        item
    }
}

impl KeySchema {
    /// Names of the key attributes, partition key first.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.hash.name.as_str()).chain(self.range.as_ref().map(|r| r.name.as_str()))
    }

    /// Extracts and validates the primary key of an item being written.
    pub fn key_of_item(&self, item: &Item) -> Result<PrimaryKey, KeyError> {
        let hash = self.check(&self.hash, item.get(&self.hash.name), true)?;
        let range = match &self.range {
            Some(attr) => Some(self.check(attr, item.get(&attr.name), true)?),
            None => None,
        };
        Ok(self.build(hash, range))
    }

    /// Validates a `Key` parameter: exactly the key attributes, right types.
    pub fn key_from_request(&self, key: &Item) -> Result<PrimaryKey, KeyError> {
        let expected = 1 + usize::from(self.range.is_some());
        if key.len() != expected {
            return Err(KeyError::SchemaMismatch);
        }
        let hash = self.check(&self.hash, key.get(&self.hash.name), false)?;
        let range = match &self.range {
            Some(attr) => Some(self.check(attr, key.get(&attr.name), false)?),
            None => None,
        };
        Ok(self.build(hash, range))
    }

    fn build(&self, hash: &AttributeValue, range: Option<&AttributeValue>) -> PrimaryKey {
        PrimaryKey {
            hash: hash.clone(),
            range: range.cloned(),
            encoded: encode_primary_key(hash, range),
        }
    }

    fn check<'a>(
        &self,
        attr: &KeyAttribute,
        value: Option<&'a AttributeValue>,
        in_item: bool,
    ) -> Result<&'a AttributeValue, KeyError> {
        let value = match value {
            Some(v) => v,
            None if in_item => return Err(KeyError::MissingInItem(attr.name.clone())),
            None => return Err(KeyError::SchemaMismatch),
        };
        if !attr.ty.matches(value) {
            if !in_item {
                return Err(KeyError::SchemaMismatch);
            }
            return Err(KeyError::TypeMismatch {
                name: attr.name.clone(),
                expected: attr.ty.as_str(),
                actual: value.type_name(),
            });
        }
        let (len, kind) = match value {
            AttributeValue::S(s) => (s.len(), "string"),
            AttributeValue::B(b) => (b.len(), "binary"),
            _ => (usize::MAX, ""),
        };
        if len == 0 {
            return Err(KeyError::EmptyKey {
                name: attr.name.clone(),
                kind,
            });
        }
        let size = value.size();
        let is_hash = attr.name == self.hash.name;
        if is_hash && size > MAX_HASH_KEY_BYTES {
            return Err(KeyError::HashKeyTooLarge);
        }
        if !is_hash && size > MAX_RANGE_KEY_BYTES {
            return Err(KeyError::RangeKeyTooLarge);
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Number;

    fn schema() -> KeySchema {
        KeySchema {
            hash: KeyAttribute {
                name: "pk".into(),
                ty: ScalarType::S,
            },
            range: Some(KeyAttribute {
                name: "sk".into(),
                ty: ScalarType::N,
            }),
        }
    }

    #[test]
    fn validates_item_keys() {
        let mut item = Item::new();
        item.insert("pk".into(), AttributeValue::S("a".into()));
        assert_eq!(schema().key_of_item(&item), Err(KeyError::MissingInItem("sk".into())));
        item.insert("sk".into(), AttributeValue::S("1".into()));
        assert!(matches!(
            schema().key_of_item(&item),
            Err(KeyError::TypeMismatch { .. })
        ));
        item.insert("sk".into(), AttributeValue::N(Number::from(1)));
        assert!(schema().key_of_item(&item).is_ok());
        item.insert("pk".into(), AttributeValue::S(String::new()));
        assert!(matches!(schema().key_of_item(&item), Err(KeyError::EmptyKey { .. })));
        item.insert("pk".into(), AttributeValue::S("x".repeat(2049)));
        assert_eq!(schema().key_of_item(&item), Err(KeyError::HashKeyTooLarge));
    }

    #[test]
    fn request_keys_must_match_exactly() {
        let mut key = Item::new();
        key.insert("pk".into(), AttributeValue::S("a".into()));
        assert_eq!(schema().key_from_request(&key), Err(KeyError::SchemaMismatch));
        key.insert("sk".into(), AttributeValue::N(Number::from(1)));
        assert!(schema().key_from_request(&key).is_ok());
        key.insert("other".into(), AttributeValue::Null);
        assert_eq!(schema().key_from_request(&key), Err(KeyError::SchemaMismatch));
    }
}
