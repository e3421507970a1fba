//! Trees back to expression text: a statement's conditions and updates as
//! a ConditionExpression / UpdateExpression with `#n`/`:v` placeholders,
//! for the transaction operations, which take expressions as text. Every
//! name and value goes through a placeholder, so no reserved word or
//! special character needs quoting.

use std::collections::BTreeMap;

use crate::expr::Action;
use crate::expr::ast::{Cond, Operand, Path, PathElem};
use crate::model::AttributeValue;

/// The placeholders the rendered expressions of one request share.
#[derive(Debug, Default)]
pub struct Renderer {
    /// `#nI` -> attribute name.
    pub names: BTreeMap<String, String>,
    /// `:vI` -> value.
    pub values: BTreeMap<String, AttributeValue>,
    by_name: BTreeMap<String, String>,
}

impl Renderer {
    /// A renderer with no placeholders yet.
    pub fn new() -> Renderer {
        Renderer::default()
    }

    fn name(&mut self, name: &str) -> String {
        if let Some(placeholder) = self.by_name.get(name) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.by_name.len());
        self.by_name.insert(name.to_string(), placeholder.clone());
        self.names.insert(placeholder.clone(), name.to_string());
        placeholder
    }

    fn value(&mut self, value: &AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value.clone());
        placeholder
    }

    /// `#n0.#n1[2]`.
    pub fn path(&mut self, path: &Path) -> String {
        let mut out = String::new();
        for elem in &path.0 {
            match elem {
                PathElem::Attr(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&self.name(name));
                }
                PathElem::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    fn operand(&mut self, operand: &Operand) -> String {
        match operand {
            Operand::Path(path) => self.path(path),
            Operand::Value(value) => self.value(value),
            Operand::Size(inner) => format!("size({})", self.operand(inner)),
            Operand::IfNotExists(path, inner) => {
                format!("if_not_exists({}, {})", self.path(path), self.operand(inner))
            }
            Operand::ListAppend(a, b) => format!("list_append({}, {})", self.operand(a), self.operand(b)),
            Operand::Plus(a, b) => format!("{} + {}", self.operand(a), self.operand(b)),
            Operand::Minus(a, b) => format!("{} - {}", self.operand(a), self.operand(b)),
        }
    }

    /// A condition; never wrapped in parentheses as a whole, so wrapping
    /// it once is never redundant.
    pub fn cond(&mut self, cond: &Cond) -> String {
        match cond {
            Cond::Compare(op, a, b) => format!("{} {} {}", self.operand(a), op.symbol(), self.operand(b)),
            Cond::Between(x, low, high) => format!(
                "{} BETWEEN {} AND {}",
                self.operand(x),
                self.operand(low),
                self.operand(high)
            ),
            Cond::In(x, list) => {
                let x = self.operand(x);
                let list: Vec<String> = list.iter().map(|o| self.operand(o)).collect();
                format!("{x} IN ({})", list.join(", "))
            }
            Cond::AttributeExists(path) => format!("attribute_exists({})", self.path(path)),
            Cond::AttributeNotExists(path) => format!("attribute_not_exists({})", self.path(path)),
            Cond::AttributeType(x, ty) => format!("attribute_type({}, {})", self.operand(x), self.operand(ty)),
            Cond::BeginsWith(a, b) => format!("begins_with({}, {})", self.operand(a), self.operand(b)),
            Cond::Contains(a, b) => format!("contains({}, {})", self.operand(a), self.operand(b)),
            Cond::Not(inner) => format!("NOT ({})", self.cond(inner)),
            Cond::And(a, b) => format!("({}) AND ({})", self.cond(a), self.cond(b)),
            Cond::Or(a, b) => format!("({}) OR ({})", self.cond(a), self.cond(b)),
        }
    }

    /// An UpdateExpression: `SET ... REMOVE ... ADD ... DELETE ...`.
    pub fn update(&mut self, actions: &[Action]) -> String {
        let mut sections: [(&str, Vec<String>); 4] = [
            ("SET", Vec::new()),
            ("REMOVE", Vec::new()),
            ("ADD", Vec::new()),
            ("DELETE", Vec::new()),
        ];
        for action in actions {
            let (section, text) = match action {
                Action::Set(path, value) => (0, format!("{} = {}", self.path(path), self.operand(value))),
                Action::Remove(path) => (1, self.path(path)),
                Action::Add(path, value) => (2, format!("{} {}", self.path(path), self.value(value))),
                Action::Delete(path, value) => (3, format!("{} {}", self.path(path), self.value(value))),
            };
            sections[section].1.push(text);
        }
        sections
            .iter()
            .filter(|(_, parts)| !parts.is_empty())
            .map(|(keyword, parts)| format!("{keyword} {}", parts.join(", ")))
            .collect::<Vec<_>>()
            .join(" ")
    }
}
