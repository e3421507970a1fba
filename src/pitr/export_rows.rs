//! The rows of export data files, in the two formats DynamoDB exports:
//! DynamoDB JSON (`{"Item": ...}` per line) and Amazon Ion text (`$ion_1_0
//! {Item:{...}}` per line). Ion values follow DynamoDB's mapping: S to
//! string, N to decimal, B to blob, BOOL to bool, NULL to null, L to list,
//! M to struct, and SS, NS, BS to lists annotated `$dynamodb_SS`,
//! `$dynamodb_NS`, `$dynamodb_BS` (`import_ion.rs` reads them back).
//!
//! Incremental exports write one row per changed item: `Metadata`
//! (`WriteTimestampMicros`, a number), `Keys`, then `OldImage` and
//! `NewImage` as the view type asks and the item had them.

use std::fmt::Write as _;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::model::{AttributeValue, Item, item_to_json};

/// ExportFormat: how data files are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExportFormat {
    #[default]
    DynamodbJson,
    Ion,
}

impl ExportFormat {
    /// The name DynamoDB gives the format on the wire and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::DynamodbJson => "DYNAMODB_JSON",
            ExportFormat::Ion => "ION",
        }
    }

    /// The ending of a data file's name.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::DynamodbJson => "json.gz",
            ExportFormat::Ion => "ion.gz",
        }
    }
}

/// ExportViewType of an incremental export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExportView {
    NewImage,
    #[default]
    NewAndOldImages,
}

impl ExportView {
    /// The name DynamoDB gives the view type.
    pub fn name(self) -> &'static str {
        match self {
            ExportView::NewImage => "NEW_IMAGE",
            ExportView::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }
}

/// One changed item of an incremental export.
pub struct ChangeRow<'a> {
    /// When its last change in the window was written, microseconds.
    pub write_micros: u64,
    pub keys: &'a Item,
    /// The item before the window (written for NEW_AND_OLD_IMAGES only).
    pub old: Option<&'a Item>,
    /// The item at the end of the window (`None`: deleted).
    pub new: Option<&'a Item>,
}

/// The row of a full export for `item`, without its newline.
pub fn item_row(format: ExportFormat, item: &Item) -> String {
    match format {
        ExportFormat::DynamodbJson => json!({ "Item": item_to_json(item) }).to_string(),
        ExportFormat::Ion => {
            let mut out = String::from("$ion_1_0 {Item:");
            ion_item(item, &mut out);
            out.push('}');
            out
        }
    }
}

/// The row of an incremental export for `change`, without its newline.
pub fn change_row(format: ExportFormat, view: ExportView, change: &ChangeRow<'_>) -> String {
    let old = change.old.filter(|_| view == ExportView::NewAndOldImages);
    let images = [("OldImage", old), ("NewImage", change.new)];
    match format {
        ExportFormat::DynamodbJson => {
            // Written member by member to keep DynamoDB's order.
            let mut out = format!(
                r#"{{"Metadata":{{"WriteTimestampMicros":{{"N":"{}"}}}},"Keys":{}"#,
                change.write_micros,
                item_to_json(change.keys)
            );
            for (name, image) in images {
                if let Some(image) = image {
                    let _ = write!(out, r#","{name}":{}"#, item_to_json(image));
                }
            }
            out.push('}');
            out
        }
        ExportFormat::Ion => {
            let mut out = format!(
                "$ion_1_0 {{Metadata:{{WriteTimestampMicros:{}.}},Keys:",
                change.write_micros
            );
            ion_item(change.keys, &mut out);
            for (name, image) in images {
                if let Some(image) = image {
                    let _ = write!(out, ",{name}:");
                    ion_item(image, &mut out);
                }
            }
            out.push('}');
            out
        }
    }
}

/// An item as an Ion struct.
fn ion_item(item: &Item, out: &mut String) {
    out.push('{');
    for (i, (name, value)) in item.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        ion_string(name, out);
        out.push(':');
        ion_value(value, out);
    }
    out.push('}');
}

/// An attribute value as Ion text.
fn ion_value(value: &AttributeValue, out: &mut String) {
    match value {
        AttributeValue::S(text) => ion_string(text, out),
        AttributeValue::N(number) => ion_decimal(&number.to_string(), out),
        AttributeValue::B(bytes) => ion_blob(bytes, out),
        AttributeValue::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        AttributeValue::Null => out.push_str("null"),
        AttributeValue::M(map) => ion_item(map, out),
        AttributeValue::L(list) => ion_list("", list, out, ion_value),
        AttributeValue::Ss(set) => ion_list("$dynamodb_SS::", set, out, |s, out| ion_string(s, out)),
        AttributeValue::Ns(set) => ion_list("$dynamodb_NS::", set, out, |n, out| ion_decimal(&n.to_string(), out)),
        AttributeValue::Bs(set) => ion_list("$dynamodb_BS::", set, out, |b, out| ion_blob(b, out)),
    }
}

fn ion_list<T>(annotation: &str, members: &[T], out: &mut String, member: impl Fn(&T, &mut String)) {
    out.push_str(annotation);
    out.push('[');
    for (i, value) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        member(value, out);
    }
    out.push(']');
}

/// A string as an Ion string: JSON's escapes are Ion's too.
fn ion_string(text: &str, out: &mut String) {
    out.push_str(&Value::String(text.to_string()).to_string());
}

/// A number in plain decimal notation as an Ion decimal (`12.` for 12: an
/// integer without the point would be an Ion int).
fn ion_decimal(text: &str, out: &mut String) {
    out.push_str(text);
    if !text.contains('.') {
        out.push('.');
    }
}

fn ion_blob(bytes: &[u8], out: &mut String) {
    let _ = write!(
        out,
        "{{{{{}}}}}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::item_from_json;
    use crate::pitr::import_ion::ion_item as read_ion;

    fn rich_item() -> Item {
        item_from_json(&json!({
            "pk": {"S": "quote \" \\ \u{e9} \n"}, "n": {"N": "-12500"}, "tiny": {"N": "0.000001"},
            "b": {"B": "/wA="}, "t": {"BOOL": true}, "z": {"NULL": true},
            "l": {"L": [{"N": "1"}, {"SS": ["a"]}]}, "m": {"M": {"k": {"S": "v"}}},
            "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1.5", "20"]}, "bs": {"BS": ["AQ==", "AgM="]}
        }))
        .unwrap()
    }

    #[test]
    fn ion_rows_read_back_as_the_item() {
        let item = rich_item();
        let row = item_row(ExportFormat::Ion, &item);
        assert!(row.starts_with("$ion_1_0 {Item:{"), "{row}");
        assert_eq!(read_ion(&row).unwrap(), item);
    }

    #[test]
    fn ion_writes_dynamodbs_types() {
        let item = item_from_json(&json!({
            "n": {"N": "600"}, "ss": {"SS": ["x"]}, "b": {"B": "aGk="}, "f": {"N": "1.5"}
        }))
        .unwrap();
        assert_eq!(
            item_row(ExportFormat::Ion, &item),
            r#"$ion_1_0 {Item:{"b":{{aGk=}},"f":1.5,"n":600.,"ss":$dynamodb_SS::["x"]}}"#
        );
    }

    #[test]
    fn change_rows_carry_the_images_the_view_asks_for() {
        let keys = item_from_json(&json!({"pk": {"S": "a"}})).unwrap();
        let old = item_from_json(&json!({"pk": {"S": "a"}, "v": {"N": "1"}})).unwrap();
        let change = ChangeRow {
            write_micros: 1_700_000_000_000_001,
            keys: &keys,
            old: Some(&old),
            new: None,
        };
        assert_eq!(
            change_row(ExportFormat::DynamodbJson, ExportView::NewAndOldImages, &change),
            r#"{"Metadata":{"WriteTimestampMicros":{"N":"1700000000000001"}},"Keys":{"pk":{"S":"a"}},"OldImage":{"pk":{"S":"a"},"v":{"N":"1"}}}"#
        );
        assert_eq!(
            change_row(ExportFormat::Ion, ExportView::NewImage, &change),
            r#"$ion_1_0 {Metadata:{WriteTimestampMicros:1700000000000001.},Keys:{"pk":"a"}}"#
        );
    }
}
