//! DynamoDB's data model: numbers, attribute values, items, primary-key
//! encoding and table descriptions. Pure data, no I/O.

pub mod index;
pub mod item_seed;
pub mod key;
pub mod key_schema;
pub mod number;
pub mod table;
pub mod table_features;
pub mod table_settings;
pub mod value;

pub use index::{IndexKind, Projection, SecondaryIndex};
pub use item_seed::ItemSeed;
pub use number::{Number, NumberError};
pub use table::{KeyAttribute, KeySchema, ScalarType, TableMeta};
pub use value::{
    AttributeValue, Item, MAX_ATTRIBUTE_NAME_BYTES, ValueError, check_attribute_name, item_from_json,
    item_from_json_owned, item_into_json, item_size, item_to_json,
};
