//! Turns raw parse trees into the typed AST: resolves placeholders, checks
//! reserved words, function names, arities and operand types, and document
//! path overlaps. DynamoDB reports only one error per expression and ranks
//! them (e.g. a reserved word beats an undefined placeholder), so each check
//! records the first error of its category and [`Checker::finish`] returns the
//! highest-ranked category that fired.

use super::ast::{CmpOp, Cond, Operand, Path, PathElem};
use super::error::{ExprError, ExprKind, describe_value};
use super::parser::{Clause, Node, RawElem};
use super::placeholders::Placeholders;
use super::reserved::is_reserved;
use crate::model::AttributeValue;

/// Categories of semantic errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Parens,
    UnknownFunction,
    MisusedFunction,
    Reserved,
    Section,
    Name,
    Value,
    Overlap,
    Conflict,
    /// Wrong constant type for ADD/DELETE.
    Operand,
    /// Per-operator checks: arity, distinct operands, operand types.
    Leaf,
}

const SLOTS: usize = 11;

/// DynamoDB's ranking for conditions, filters and key conditions.
pub const CONDITION_ORDER: &[Slot] = &[
    Slot::Parens,
    Slot::UnknownFunction,
    Slot::MisusedFunction,
    Slot::Reserved,
    Slot::Name,
    Slot::Leaf,
];
/// DynamoDB's ranking for update expressions.
pub const UPDATE_ORDER: &[Slot] = &[
    Slot::Reserved,
    Slot::UnknownFunction,
    Slot::MisusedFunction,
    Slot::Section,
    Slot::Name,
    Slot::Value,
    Slot::Overlap,
    Slot::Conflict,
    Slot::Operand,
    Slot::Leaf,
];
/// DynamoDB's ranking for projection expressions.
pub const PROJECTION_ORDER: &[Slot] = &[Slot::Reserved, Slot::Name, Slot::Overlap, Slot::Conflict];

const CONDITION_FUNCTIONS: &[&str] = &[
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
];
const UPDATE_FUNCTIONS: &[&str] = &["if_not_exists", "list_append"];
const TYPE_NAMES: &[&str] = &["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"];

/// Collects errors while converting one expression.
pub struct Checker<'p> {
    pub kind: ExprKind,
    ph: &'p mut Placeholders,
    errors: [Option<String>; SLOTS],
}

impl<'p> Checker<'p> {
    /// A checker for one expression of `kind`.
    pub fn new(kind: ExprKind, ph: &'p mut Placeholders) -> Checker<'p> {
        Checker {
            kind,
            ph,
            errors: Default::default(),
        }
    }

    /// Records an error unless its category already has one.
    pub fn note(&mut self, slot: Slot, message: String) {
        let entry = &mut self.errors[slot as usize];
        if entry.is_none() {
            *entry = Some(message);
        }
    }

    /// The highest-ranked recorded error, if any.
    pub fn finish(self, order: &[Slot]) -> Result<(), ExprError> {
        for slot in order {
            if let Some(message) = &self.errors[*slot as usize] {
                return Err(ExprError::invalid(self.kind, message));
            }
        }
        Ok(())
    }

    /// Resolves a raw path: reserved-word check and `#name` lookup.
    pub fn path(&mut self, raw: &[RawElem]) -> Path {
        let mut elems = Vec::with_capacity(raw.len());
        for elem in raw {
            elems.push(match elem {
                RawElem::Ident(name) => {
                    if is_reserved(name) {
                        self.note(
                            Slot::Reserved,
                            format!("Attribute name is a reserved keyword; reserved keyword: {name}"),
                        );
                    }
                    PathElem::Attr(name.clone())
                }
                RawElem::Name(placeholder) => match self.ph.name(placeholder) {
                    Some(name) => PathElem::Attr(name),
                    None => {
                        self.note(
                            Slot::Name,
                            format!(
                                "An expression attribute name used in the document path is not defined; \
                                 attribute name: {placeholder}"
                            ),
                        );
                        PathElem::Attr(String::new())
                    }
                },
                RawElem::Index(index) => PathElem::Index(*index),
            });
        }
        Path(elems)
    }

    /// Resolves `:value`. Conditions rank undefined names and values
    /// together (first one wins); updates rank names first.
    fn value(&mut self, placeholder: &str) -> AttributeValue {
        match self.ph.value(placeholder) {
            Some(value) => value,
            None => {
                let slot = if self.kind == ExprKind::Update {
                    Slot::Value
                } else {
                    Slot::Name
                };
                self.note(
                    slot,
                    format!("An expression attribute value used in expression is not defined; attribute value: {placeholder}"),
                );
                AttributeValue::Null
            }
        }
    }

    fn misused(&mut self, name: &str) {
        self.note(
            Slot::MisusedFunction,
            format!("The function is not allowed to be used this way in an expression; function: {name}"),
        );
    }

    fn unknown_function(&mut self, name: &str) -> bool {
        let known = CONDITION_FUNCTIONS.contains(&name) || UPDATE_FUNCTIONS.contains(&name) || name == "size";
        if !known {
            self.note(
                Slot::UnknownFunction,
                format!("Invalid function name; function: {name}"),
            );
        }
        !known
    }

    /// Records the first per-operator error of a leaf, in DynamoDB's order
    /// (arity, then distinct operands, then operand types).
    fn leaf(&mut self, errors: [Option<String>; 3]) {
        if let Some(message) = errors.into_iter().flatten().next() {
            self.note(Slot::Leaf, message);
        }
    }

    // ---- conditions ----

    /// Converts a node in condition position.
    pub fn cond(&mut self, node: &Node) -> Cond {
        match node {
            Node::Paren(inner) => self.cond(inner),
            Node::Not(inner) => Cond::Not(Box::new(self.cond(inner))),
            Node::And(a, b) => Cond::And(Box::new(self.cond(a)), Box::new(self.cond(b))),
            Node::Or(a, b) => Cond::Or(Box::new(self.cond(a)), Box::new(self.cond(b))),
            Node::Compare(op, a, b) => {
                let (a, b) = (self.operand(a), self.operand(b));
                let distinct = same_path(&a, &b).map(|p| not_distinct(op.symbol(), p));
                let types = if *op == CmpOp::Eq || *op == CmpOp::Ne {
                    None
                } else {
                    orderable_error(op.symbol(), [&a, &b])
                };
                self.leaf([None, distinct, types]);
                Cond::Compare(*op, a, b)
            }
            Node::Between(a, low, high) => {
                let (a, low, high) = (self.operand(a), self.operand(low), self.operand(high));
                let types = orderable_error("BETWEEN", [&a, &low, &high]).or_else(|| between_bounds_error(&low, &high));
                self.leaf([None, None, types]);
                Cond::Between(a, low, high)
            }
            Node::In(a, list) => {
                let a = self.operand(a);
                let list: Vec<Operand> = list.iter().map(|n| self.operand(n)).collect();
                if list.len() > 100 {
                    let message = format!(
                        "The IN operator is provided with too many operands; number of operands: {}",
                        list.len()
                    );
                    self.leaf([Some(message), None, None]);
                }
                Cond::In(a, list)
            }
            Node::Call(name, args) => self.function_cond(name, args),
            // The parser never puts a bare operand in condition position.
            Node::Path(_) | Node::Value(_) | Node::Arith(..) => Cond::And(Box::new(always()), Box::new(always())),
        }
    }

    fn function_cond(&mut self, name: &str, args: &[Node]) -> Cond {
        if self.unknown_function(name) {
            return always();
        }
        if !CONDITION_FUNCTIONS.contains(&name) {
            self.misused(name);
            return always();
        }
        let args: Vec<Operand> = args.iter().map(|n| self.operand(n)).collect();
        let arity = if name.starts_with("attribute_") && name != "attribute_type" {
            1
        } else {
            2
        };
        if args.len() != arity {
            let message = format!(
                "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}",
                args.len()
            );
            self.leaf([Some(message), None, None]);
            return always();
        }
        let distinct = if arity == 2 {
            same_path(&args[0], &args[1]).map(|p| not_distinct(name, p))
        } else {
            None
        };
        let types = function_type_error(name, &args);
        self.leaf([None, distinct, types]);
        let mut args = args.into_iter();
        match (name, args.next(), args.next()) {
            ("attribute_exists", Some(Operand::Path(p)), _) => Cond::AttributeExists(p),
            ("attribute_not_exists", Some(Operand::Path(p)), _) => Cond::AttributeNotExists(p),
            ("attribute_type", Some(a), Some(b)) => Cond::AttributeType(a, b),
            ("begins_with", Some(a), Some(b)) => Cond::BeginsWith(a, b),
            ("contains", Some(a), Some(b)) => Cond::Contains(a, b),
            // Arity and path checks above already recorded an error.
            _ => always(),
        }
    }

    /// Converts a node in operand position of a condition.
    pub fn operand(&mut self, node: &Node) -> Operand {
        match node {
            Node::Paren(inner) => self.operand(inner),
            Node::Path(raw) => Operand::Path(self.path(raw)),
            Node::Value(placeholder) => Operand::Value(self.value(placeholder)),
            Node::Call(name, args) => {
                if self.unknown_function(name) {
                    return Operand::Value(AttributeValue::Null);
                }
                if name != "size" {
                    self.misused(name);
                    return Operand::Value(AttributeValue::Null);
                }
                let mut args: Vec<Operand> = args.iter().map(|n| self.operand(n)).collect();
                if args.len() != 1 {
                    let message = format!(
                        "Incorrect number of operands for operator or function; operator or function: size, number of operands: {}",
                        args.len()
                    );
                    self.leaf([Some(message), None, None]);
                    return Operand::Value(AttributeValue::Null);
                }
                let arg = args.remove(0);
                if let Some(ty @ ("N" | "BOOL" | "NULL")) = static_type(&arg) {
                    self.leaf([None, None, Some(operand_type("size", ty))]);
                }
                Operand::Size(Box::new(arg))
            }
            // Conditions never reach operand position in a parsed tree.
            _ => Operand::Value(AttributeValue::Null),
        }
    }

    // ---- update values ----

    /// Converts the value of a SET action.
    pub fn set_value(&mut self, node: &Node) -> Operand {
        match node {
            Node::Paren(inner) => self.set_value(inner),
            Node::Path(raw) => Operand::Path(self.path(raw)),
            Node::Value(placeholder) => Operand::Value(self.value(placeholder)),
            Node::Arith(plus, a, b) => {
                let symbol = if *plus { "+" } else { "-" };
                let (a, b) = (self.set_value(a), self.set_value(b));
                let bad = [&a, &b].into_iter().find_map(|op| match op {
                    Operand::Value(v) if !matches!(v, AttributeValue::N(_)) => Some(v.type_name()),
                    _ => None,
                });
                if let Some(ty) = bad {
                    self.leaf([None, None, Some(operand_type(symbol, ty))]);
                }
                let (a, b) = (Box::new(a), Box::new(b));
                if *plus {
                    Operand::Plus(a, b)
                } else {
                    Operand::Minus(a, b)
                }
            }
            Node::Call(name, args) => self.update_function(name, args),
            _ => Operand::Value(AttributeValue::Null),
        }
    }

    fn update_function(&mut self, name: &str, args: &[Node]) -> Operand {
        if self.unknown_function(name) {
            return Operand::Value(AttributeValue::Null);
        }
        if !UPDATE_FUNCTIONS.contains(&name) {
            self.misused(name);
            return Operand::Value(AttributeValue::Null);
        }
        let mut args: Vec<Operand> = args.iter().map(|n| self.set_value(n)).collect();
        if args.len() != 2 {
            let message = format!(
                "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}",
                args.len()
            );
            self.leaf([Some(message), None, None]);
            return Operand::Value(AttributeValue::Null);
        }
        let second = Box::new(args.pop().unwrap_or(Operand::Value(AttributeValue::Null)));
        let first = args.pop().unwrap_or(Operand::Value(AttributeValue::Null));
        if name == "if_not_exists" {
            return match first {
                Operand::Path(path) => Operand::IfNotExists(path, second),
                _ => {
                    let message =
                        format!("Operator or function requires a document path; operator or function: {name}");
                    self.leaf([None, None, Some(message)]);
                    Operand::Value(AttributeValue::Null)
                }
            };
        }
        let bad = [&first, &*second].into_iter().find_map(|op| match op {
            Operand::Value(v) if !matches!(v, AttributeValue::L(_)) => Some(v.type_name()),
            _ => None,
        });
        if let Some(ty) = bad {
            self.leaf([None, None, Some(operand_type(name, ty))]);
        }
        Operand::ListAppend(Box::new(first), second)
    }

    /// Converts the `:v` of an ADD or DELETE action, checking its type.
    pub fn add_delete_value(&mut self, clause: Clause, node: &Node) -> AttributeValue {
        let Node::Value(placeholder) = node else {
            return AttributeValue::Null;
        };
        let value = self.value(placeholder);
        let long_name = match &value {
            AttributeValue::S(_) => Some("STRING"),
            AttributeValue::N(_) if clause == Clause::Delete => Some("NUMBER"),
            AttributeValue::B(_) => Some("BINARY"),
            AttributeValue::Null => Some("NULL"),
            AttributeValue::Bool(_) => Some("BOOLEAN"),
            AttributeValue::L(_) => Some("LIST"),
            AttributeValue::M(_) => Some("MAP"),
            _ => None,
        };
        // An undefined placeholder resolves to NULL; it is reported as such.
        if let Some(long_name) = long_name
            && self.ph_has_value(placeholder)
        {
            self.note(
                Slot::Operand,
                format!(
                    "Incorrect operand type for operator or function; operator: {}, operand type: {long_name}",
                    clause.keyword()
                ),
            );
        }
        value
    }

    fn ph_has_value(&mut self, placeholder: &str) -> bool {
        self.ph.value(placeholder).is_some()
    }

    /// Checks that no two paths overlap (one is a prefix of the other) or
    /// conflict (one indexes where the other names a key). An overlap
    /// anywhere outranks a conflict.
    pub fn paths_disjoint(&mut self, paths: &[&Path]) {
        for (i, later) in paths.iter().enumerate() {
            for earlier in &paths[..i] {
                match relate(earlier, later) {
                    Relation::Overlap => {
                        self.note(Slot::Overlap, overlap_message(earlier, later));
                        return;
                    }
                    Relation::Conflict => self.note(Slot::Conflict, conflict_message(earlier, later)),
                    Relation::Disjoint => {}
                }
            }
        }
    }
}

/// DynamoDB's message for the first two of `paths` that overlap or, when
/// none do, the first two that conflict (see `Checker::paths_disjoint`).
pub fn paths_clash(paths: &[&Path]) -> Option<String> {
    let mut conflict = None;
    for (i, later) in paths.iter().enumerate() {
        for earlier in &paths[..i] {
            match relate(earlier, later) {
                Relation::Overlap => return Some(overlap_message(earlier, later)),
                Relation::Conflict => conflict = conflict.or_else(|| Some(conflict_message(earlier, later))),
                Relation::Disjoint => {}
            }
        }
    }
    conflict
}

fn overlap_message(one: &Path, two: &Path) -> String {
    format!(
        "Two document paths overlap with each other; must remove or rewrite one of these paths; \
         path one: {one}, path two: {two}"
    )
}

fn conflict_message(one: &Path, two: &Path) -> String {
    format!(
        "Two document paths conflict with each other; must remove or rewrite one of these paths; \
         path one: {one}, path two: {two}"
    )
}

enum Relation {
    Disjoint,
    Overlap,
    Conflict,
}

fn relate(a: &Path, b: &Path) -> Relation {
    for (x, y) in a.0.iter().zip(&b.0) {
        match (x, y) {
            (PathElem::Attr(p), PathElem::Attr(q)) if p != q => return Relation::Disjoint,
            (PathElem::Index(p), PathElem::Index(q)) if p != q => return Relation::Disjoint,
            (PathElem::Attr(_), PathElem::Index(_)) | (PathElem::Index(_), PathElem::Attr(_)) => {
                return Relation::Conflict;
            }
            _ => {}
        }
    }
    Relation::Overlap
}

/// A condition that is always true: the stand-in for a node whose error is
/// already recorded (the tree is discarded when an error is reported).
fn always() -> Cond {
    Cond::AttributeNotExists(Path(Vec::new()))
}

/// The type DynamoDB knows statically: a constant's, or `N` for `size()`.
fn static_type(op: &Operand) -> Option<&'static str> {
    match op {
        Operand::Value(v) => Some(v.type_name()),
        Operand::Size(_) => Some("N"),
        _ => None,
    }
}

fn operand_type(function: &str, ty: &str) -> String {
    format!("Incorrect operand type for operator or function; operator or function: {function}, operand type: {ty}")
}

fn same_path<'a>(a: &'a Operand, b: &Operand) -> Option<&'a Path> {
    match (a, b) {
        (Operand::Path(p), Operand::Path(q)) if p == q => Some(p),
        _ => None,
    }
}

fn not_distinct(operator: &str, path: &Path) -> String {
    format!(
        "The first operand must be distinct from the remaining operands for this operator or function; \
         operator: {operator}, first operand: {path}"
    )
}

/// `<`, `<=`, `>`, `>=` and BETWEEN only order numbers, strings and binaries.
fn orderable_error<const N: usize>(operator: &str, operands: [&Operand; N]) -> Option<String> {
    operands.into_iter().find_map(|op| match static_type(op) {
        Some("N" | "S" | "B") | None => None,
        Some(ty) => Some(operand_type(operator, ty)),
    })
}

/// Constant BETWEEN bounds must share a type and be in order.
fn between_bounds_error(low: &Operand, high: &Operand) -> Option<String> {
    let (Operand::Value(lo), Operand::Value(hi)) = (low, high) else {
        return None;
    };
    let bounds = format!(
        "lower bound operand: {}, upper bound operand: {}",
        describe_value(lo),
        describe_value(hi)
    );
    if lo.type_name() != hi.type_name() {
        return Some(format!(
            "The BETWEEN operator requires same data type for lower and upper bounds; {bounds}"
        ));
    }
    if super::eval::compare_scalars(lo, hi) == Some(std::cmp::Ordering::Greater) {
        return Some(format!(
            "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; {bounds}"
        ));
    }
    None
}

fn function_type_error(name: &str, args: &[Operand]) -> Option<String> {
    match name {
        "attribute_exists" | "attribute_not_exists" => match args.first() {
            Some(Operand::Path(_)) => None,
            _ => Some(format!(
                "Operator or function requires a document path; operator or function: {name}"
            )),
        },
        "begins_with" => args.iter().find_map(|a| match static_type(a) {
            Some(ty) if ty != "S" && ty != "B" => Some(operand_type(name, ty)),
            _ => None,
        }),
        "attribute_type" => match args.get(1) {
            Some(Operand::Value(AttributeValue::S(ty))) if TYPE_NAMES.contains(&ty.as_str()) => None,
            Some(Operand::Value(AttributeValue::S(ty))) => Some(format!(
                "Invalid attribute type name found; type: {ty}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"
            )),
            Some(other) => Some(operand_type(
                name,
                static_type(other).unwrap_or("{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"),
            )),
            None => None,
        },
        _ => None,
    }
}
