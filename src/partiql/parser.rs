//! A recursive-descent parser for DynamoDB's PartiQL statements. `?`
//! markers are bound to the request's parameters while parsing, so the
//! result holds values only.
//!
//! No input overflows the stack: statements are at most
//! [`MAX_STATEMENT_CHARS`] long, every recursive rule counts its depth
//! against [`MAX_NESTING`], and chains of `AND`/`OR` become balanced trees.

use std::collections::BTreeMap;

use super::ast::{Delete, Insert, Returning, Select, Statement, Target, Update};
use super::error::PartiqlError;
use super::lexer::{Tok, tokenize};
use crate::expr::Action;
use crate::expr::ast::{CmpOp, Cond, MAX_PATH_DEPTH, Operand, Path, PathElem};
use crate::model::{AttributeValue, Item, Number, NumberError};

/// Longest statement DynamoDB accepts (the `PartiQLStatement` shape).
pub const MAX_STATEMENT_CHARS: usize = 8192;
/// Deepest nesting of conditions, parentheses and literals.
const MAX_NESTING: usize = 100;

/// Parses `text`, binding its `?` markers to `params` in order.
pub fn parse(text: &str, params: &[AttributeValue]) -> Result<Statement, PartiqlError> {
    if text.chars().count() > MAX_STATEMENT_CHARS {
        return Err(PartiqlError::new(format!(
            "1 validation error detected: Value at 'statement' failed to satisfy constraint: Member must have length less than or equal to {MAX_STATEMENT_CHARS}"
        )));
    }
    let mut parser = Parser {
        toks: tokenize(text)?,
        pos: 0,
        params,
        used: 0,
        depth: 0,
        value_path: String::new(),
    };
    let statement = parser.statement()?;
    if parser.pos < parser.toks.len() {
        return Err(leftover());
    }
    if parser.used != params.len() {
        return Err(PartiqlError::parameter_count());
    }
    Ok(statement)
}

/// A value as written: `MISSING` is no value at all.
enum Literal {
    Value(AttributeValue),
    Missing,
}

struct Parser<'p> {
    toks: Vec<Tok>,
    pos: usize,
    params: &'p [AttributeValue],
    used: usize,
    depth: usize,
    /// Where in the literal being read the parser is (`.m[1]`), for
    /// DynamoDB's number messages ("... under root.m[1]").
    value_path: String,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Tok> {
        self.toks.get(self.pos + ahead)
    }

    fn next(&mut self) -> Option<Tok> {
        let tok = self.toks.get(self.pos).cloned();
        self.pos += 1;
        tok
    }

    fn at_keyword(&self, word: &str) -> bool {
        self.peek().is_some_and(|t| t.is_keyword(word))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let found = self.at_keyword(word);
        if found {
            self.pos += 1;
        }
        found
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        let found = self.peek() == Some(tok);
        if found {
            self.pos += 1;
        }
        found
    }

    /// DynamoDB's message for the token at the cursor.
    fn unexpected(&self) -> PartiqlError {
        match self.peek() {
            None => PartiqlError::syntax("Unexpected end of statement"),
            Some(Tok::Word(w)) if is_keyword(w) => PartiqlError::syntax("Unexpected keyword"),
            Some(_) => PartiqlError::syntax("Unexpected token"),
        }
    }

    fn expect_keyword(&mut self, word: &str) -> Result<(), PartiqlError> {
        if self.eat_keyword(word) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), PartiqlError> {
        if self.eat(tok) { Ok(()) } else { Err(self.unexpected()) }
    }

    fn enter(&mut self) -> Result<(), PartiqlError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(PartiqlError::syntax("Statement is nested too deeply"));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn statement(&mut self) -> Result<Statement, PartiqlError> {
        match self.next() {
            Some(t) if t.is_keyword("SELECT") => self.select().map(Statement::Select),
            Some(t) if t.is_keyword("INSERT") => self.insert().map(Statement::Insert),
            Some(t) if t.is_keyword("UPDATE") => self.update().map(Statement::Update),
            Some(t) if t.is_keyword("DELETE") => self.delete().map(Statement::Delete),
            Some(t) if t.is_keyword("EXISTS") => self.exists().map(Statement::Exists),
            _ => Err(PartiqlError::syntax("Expected data manipulation")),
        }
    }

    /// `EXISTS(SELECT ...)`, `EXISTS` already read.
    fn exists(&mut self) -> Result<Select, PartiqlError> {
        self.expect(&Tok::LParen)?;
        self.expect_keyword("SELECT")?;
        let select = self.select()?;
        self.expect(&Tok::RParen)?;
        Ok(select)
    }

    fn select(&mut self) -> Result<Select, PartiqlError> {
        let projection = if self.eat(&Tok::Star) {
            None
        } else {
            let mut paths = vec![self.path()?];
            while self.eat(&Tok::Comma) {
                paths.push(self.path()?);
            }
            Some(paths)
        };
        self.expect_keyword("FROM")?;
        let target = self.target()?;
        self.refuse_alias()?;
        let condition = self.where_clause()?;
        let (ordered, descending) = self.order_by()?;
        Ok(Select {
            target,
            projection,
            condition,
            descending,
            ordered,
        })
    }

    /// `ORDER BY key [ASC|DESC] [, ...]`: whether there is one, and whether
    /// it runs backwards.
    fn order_by(&mut self) -> Result<(bool, bool), PartiqlError> {
        if !self.eat_keyword("ORDER") {
            return Ok((false, false));
        }
        self.expect_keyword("BY")?;
        let mut descending = false;
        loop {
            self.path()?;
            if self.eat_keyword("DESC") {
                descending = true;
            } else {
                self.eat_keyword("ASC");
            }
            if !self.eat(&Tok::Comma) {
                return Ok((true, descending));
            }
        }
    }

    fn insert(&mut self) -> Result<Insert, PartiqlError> {
        self.expect_keyword("INTO")?;
        let target = self.target()?;
        if self.at_name() {
            return Err(leftover());
        }
        self.expect_keyword("VALUE")?;
        if !self.eat(&Tok::LBrace) {
            return Err(self.unexpected());
        }
        self.enter()?;
        let item = self.map(true);
        self.leave();
        let item = item?;
        Ok(Insert { target, item })
    }

    fn update(&mut self) -> Result<Update, PartiqlError> {
        let target = self.target()?;
        self.refuse_alias()?;
        let mut actions = Vec::new();
        loop {
            if self.eat_keyword("SET") {
                actions.push(self.set_action()?);
                while self.eat(&Tok::Comma) {
                    actions.push(self.set_action()?);
                }
            } else if self.eat_keyword("REMOVE") {
                actions.push(Action::Remove(self.path()?));
                while self.eat(&Tok::Comma) {
                    actions.push(Action::Remove(self.path()?));
                }
            } else {
                break;
            }
        }
        if actions.is_empty() {
            return Err(self.unexpected());
        }
        let paths: Vec<&Path> = actions.iter().map(Action::path).collect();
        if let Some(message) = crate::expr::paths_clash(&paths) {
            return Err(PartiqlError::new(message));
        }
        let condition = self.where_clause()?;
        let returning = self.returning()?;
        Ok(Update {
            target,
            actions,
            condition,
            returning,
        })
    }

    fn delete(&mut self) -> Result<Delete, PartiqlError> {
        self.expect_keyword("FROM")?;
        let target = self.target()?;
        self.refuse_alias()?;
        let condition = self.where_clause()?;
        let returning = self.returning()?;
        Ok(Delete {
            target,
            condition,
            returning,
        })
    }

    /// `RETURNING (ALL|MODIFIED) (OLD|NEW) *`.
    fn returning(&mut self) -> Result<Option<Returning>, PartiqlError> {
        if !self.eat_keyword("RETURNING") {
            return Ok(None);
        }
        let all = if self.eat_keyword("ALL") {
            true
        } else if self.eat_keyword("MODIFIED") {
            false
        } else {
            return Err(self.unexpected());
        };
        let old = if self.eat_keyword("OLD") {
            true
        } else if self.eat_keyword("NEW") {
            false
        } else {
            return Err(self.unexpected());
        };
        self.expect(&Tok::Star)?;
        Ok(Some(match (all, old) {
            (true, true) => Returning::AllOld,
            (false, true) => Returning::ModifiedOld,
            (true, false) => Returning::AllNew,
            (false, false) => Returning::ModifiedNew,
        }))
    }

    /// A table or index name: a bare word or a quoted name.
    fn name(&mut self) -> Result<String, PartiqlError> {
        match self.peek() {
            Some(Tok::Quoted(name)) => {
                let name = name.clone();
                self.pos += 1;
                Ok(name)
            }
            Some(Tok::Word(word)) if !is_keyword(word) => {
                let word = word.clone();
                self.pos += 1;
                Ok(word)
            }
            _ => Err(self.unexpected()),
        }
    }

    /// Whether a name (not a keyword) is at the cursor.
    fn at_name(&self) -> bool {
        match self.peek() {
            Some(Tok::Quoted(_)) => true,
            Some(Tok::Word(word)) => !is_keyword(word),
            _ => false,
        }
    }

    /// `FROM "t" x` or `FROM "t" AS x`: DynamoDB names no aliases.
    fn refuse_alias(&self) -> Result<(), PartiqlError> {
        if self.at_name() {
            return Err(PartiqlError::new("Aliasing is not supported"));
        }
        Ok(())
    }

    /// `table` or `table.index`: at most two components, none empty.
    fn target(&mut self) -> Result<Target, PartiqlError> {
        let mut components = vec![self.name()?];
        while self.eat(&Tok::Dot) {
            components.push(self.name()?);
        }
        if components.len() > 2 {
            return Err(PartiqlError::new(
                "A path may contain at most 2 components in the FROM clause",
            ));
        }
        if components.iter().any(String::is_empty) {
            return Err(PartiqlError::new("Path component cannot be an empty string"));
        }
        let mut components = components.into_iter();
        let table = components.next().unwrap_or_default();
        Ok(Target {
            table,
            index: components.next(),
        })
    }

    fn where_clause(&mut self) -> Result<Option<Cond>, PartiqlError> {
        if self.eat_keyword("WHERE") {
            Ok(Some(self.or()?))
        } else {
            Ok(None)
        }
    }

    /// `a.b[1]."c d"`: a name, then `.name` and `[n]` steps.
    fn path(&mut self) -> Result<Path, PartiqlError> {
        let mut elems = vec![PathElem::Attr(self.name()?)];
        loop {
            if self.eat(&Tok::Dot) {
                elems.push(PathElem::Attr(self.name()?));
            } else if self.eat(&Tok::LBracket) {
                let index = match self.next() {
                    Some(Tok::Number(text)) => text.parse::<u32>().ok(),
                    _ => None,
                };
                let Some(index) = index else {
                    return Err(PartiqlError::syntax("Unexpected token"));
                };
                self.expect(&Tok::RBracket)?;
                elems.push(PathElem::Index(index as usize));
            } else {
                break;
            }
            if elems.len() > MAX_PATH_DEPTH {
                return Err(PartiqlError::new(format!(
                    "The document path has too many nesting levels; nesting levels: {}",
                    elems.len()
                )));
            }
        }
        Ok(Path(elems))
    }

    fn or(&mut self) -> Result<Cond, PartiqlError> {
        self.enter()?;
        let mut terms = vec![self.and()?];
        while self.eat_keyword("OR") {
            terms.push(self.and()?);
        }
        self.leave();
        Ok(balanced(terms, Cond::Or))
    }

    fn and(&mut self) -> Result<Cond, PartiqlError> {
        let mut terms = vec![self.not()?];
        while self.eat_keyword("AND") {
            terms.push(self.not()?);
        }
        Ok(balanced(terms, Cond::And))
    }

    fn not(&mut self) -> Result<Cond, PartiqlError> {
        if !self.eat_keyword("NOT") {
            return self.primary();
        }
        self.enter()?;
        let inner = self.not()?;
        self.leave();
        Ok(Cond::Not(Box::new(inner)))
    }

    fn primary(&mut self) -> Result<Cond, PartiqlError> {
        if self.eat(&Tok::LParen) {
            let inner = self.or()?;
            self.expect(&Tok::RParen)?;
            return Ok(inner);
        }
        if let Some(Tok::Word(word)) = self.peek()
            && self.peek_at(1) == Some(&Tok::LParen)
            && !word.eq_ignore_ascii_case("size")
        {
            let function = word.to_ascii_lowercase();
            self.pos += 2;
            return self.function(&function);
        }
        let left = self.operand()?;
        self.predicate(left)
    }

    /// A boolean function, its `(` already read, and an optional
    /// `= true`, `= false` or `<>` after it.
    fn function(&mut self, name: &str) -> Result<Cond, PartiqlError> {
        let mut args = Vec::new();
        if !self.eat(&Tok::RParen) {
            loop {
                args.push(self.operand()?);
                if self.eat(&Tok::RParen) {
                    break;
                }
                self.expect(&Tok::Comma)?;
            }
        }
        let cond = function_cond(name, args)?;
        self.compared_with_bool(cond)
    }

    /// `cond = true`, `cond <> false` and the like: the condition or its
    /// negation; `cond` alone when no such comparison follows.
    fn compared_with_bool(&mut self, cond: Cond) -> Result<Cond, PartiqlError> {
        let equal = match self.peek() {
            Some(Tok::Eq) => true,
            Some(Tok::Ne) => false,
            _ => return Ok(cond),
        };
        let truth = match self.peek_at(1) {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("TRUE") => true,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("FALSE") => false,
            _ => return Ok(cond),
        };
        self.pos += 2;
        Ok(if equal == truth {
            cond
        } else {
            Cond::Not(Box::new(cond))
        })
    }

    /// What follows an operand: a comparison, BETWEEN, IN or IS.
    fn predicate(&mut self, left: Option<Operand>) -> Result<Cond, PartiqlError> {
        if self.eat_keyword("IS") {
            return self.is(left);
        }
        let negated = self.eat_keyword("NOT");
        let cond = if self.eat_keyword("BETWEEN") {
            let low = present(self.operand()?)?;
            self.expect_keyword("AND")?;
            let high = present(self.operand()?)?;
            let left = present(left)?;
            orderable("BETWEEN", [&left, &low, &high])?;
            Cond::Between(left, low, high)
        } else if self.eat_keyword("IN") {
            Cond::In(present(left)?, self.in_list()?)
        } else if negated {
            return Err(self.unexpected());
        } else {
            let op = self.comparator()?;
            let right = self.operand()?;
            if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                orderable(op.symbol(), [&left, &right].into_iter().flatten())?;
            }
            return compare(op, left, right);
        };
        Ok(if negated { Cond::Not(Box::new(cond)) } else { cond })
    }

    fn comparator(&mut self) -> Result<CmpOp, PartiqlError> {
        let op = match self.peek() {
            Some(Tok::Eq) => CmpOp::Eq,
            Some(Tok::Ne) => CmpOp::Ne,
            Some(Tok::Lt) => CmpOp::Lt,
            Some(Tok::Le) => CmpOp::Le,
            Some(Tok::Gt) => CmpOp::Gt,
            Some(Tok::Ge) => CmpOp::Ge,
            _ => return Err(self.unexpected()),
        };
        self.pos += 1;
        Ok(op)
    }

    /// `IS [NOT] MISSING` or `IS [NOT] NULL`, `IS` already read.
    fn is(&mut self, left: Option<Operand>) -> Result<Cond, PartiqlError> {
        let negated = self.eat_keyword("NOT");
        let cond = if self.eat_keyword("MISSING") {
            match left {
                Some(Operand::Path(path)) => Cond::AttributeNotExists(path),
                // A value is never missing; MISSING always is.
                Some(_) => never(),
                None => always(),
            }
        } else if self.eat_keyword("NULL") {
            let null = Operand::Value(AttributeValue::S("NULL".into()));
            Cond::AttributeType(present(left)?, null)
        } else {
            return Err(self.unexpected());
        };
        Ok(if negated { Cond::Not(Box::new(cond)) } else { cond })
    }

    /// `[a, b]` or `(a, b)`: at least one candidate.
    fn in_list(&mut self) -> Result<Vec<Operand>, PartiqlError> {
        let close = match self.next() {
            Some(Tok::LBracket) => Tok::RBracket,
            Some(Tok::LParen) => Tok::RParen,
            _ => return Err(PartiqlError::syntax("Unexpected token")),
        };
        let mut list = vec![present(self.operand()?)?];
        while self.eat(&Tok::Comma) {
            list.push(present(self.operand()?)?);
        }
        self.expect(&close)?;
        Ok(list)
    }

    /// A path, a literal, a parameter or `size(path)`; `None` is MISSING.
    fn operand(&mut self) -> Result<Option<Operand>, PartiqlError> {
        match self.peek() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("size") && self.peek_at(1) == Some(&Tok::LParen) => {
                self.pos += 2;
                let path = self.path()?;
                self.expect(&Tok::RParen)?;
                Ok(Some(Operand::Size(Box::new(Operand::Path(path)))))
            }
            Some(Tok::Word(w)) if !is_literal_word(w) => Ok(Some(Operand::Path(self.path()?))),
            Some(Tok::Quoted(_)) => Ok(Some(Operand::Path(self.path()?))),
            _ => Ok(match self.literal()? {
                Literal::Value(v) => Some(Operand::Value(v)),
                Literal::Missing => None,
            }),
        }
    }

    /// `path = value`, `path = path + value`, `list_append(...)`,
    /// `set_add(path, set)`, `set_delete(path, set)`.
    fn set_action(&mut self) -> Result<Action, PartiqlError> {
        let path = self.path()?;
        self.expect(&Tok::Eq)?;
        if let Some(Tok::Word(word)) = self.peek()
            && self.peek_at(1) == Some(&Tok::LParen)
        {
            let word = word.to_ascii_lowercase();
            if word == "set_add" || word == "set_delete" {
                self.pos += 2;
                return self.set_function(path, word == "set_add");
            }
        }
        let value = self.value_expr()?;
        Ok(Action::Set(path, value))
    }

    /// `set_add(path, <<...>>)` / `set_delete(...)`, on the path being set.
    fn set_function(&mut self, target: Path, add: bool) -> Result<Action, PartiqlError> {
        let source = self.path()?;
        self.expect(&Tok::Comma)?;
        let value = self.value()?;
        self.expect(&Tok::RParen)?;
        if source != target {
            return Err(PartiqlError::new(
                "set_add and set_delete must name the attribute being set",
            ));
        }
        Ok(if add {
            Action::Add(target, value)
        } else {
            Action::Delete(target, value)
        })
    }

    /// A SET value: terms joined by `+` and `-`.
    fn value_expr(&mut self) -> Result<Operand, PartiqlError> {
        let mut left = self.value_term()?;
        loop {
            let plus = if self.eat(&Tok::Plus) {
                true
            } else if self.eat(&Tok::Minus) {
                false
            } else {
                return Ok(left);
            };
            let right = self.value_term()?;
            left = if plus {
                Operand::Plus(Box::new(left), Box::new(right))
            } else {
                Operand::Minus(Box::new(left), Box::new(right))
            };
        }
    }

    fn value_term(&mut self) -> Result<Operand, PartiqlError> {
        self.enter()?;
        let term = self.value_term_inner();
        self.leave();
        term
    }

    fn value_term_inner(&mut self) -> Result<Operand, PartiqlError> {
        if self.eat(&Tok::LParen) {
            let inner = self.value_expr()?;
            self.expect(&Tok::RParen)?;
            return Ok(inner);
        }
        if let Some(Tok::Word(word)) = self.peek()
            && self.peek_at(1) == Some(&Tok::LParen)
        {
            let word = word.to_ascii_lowercase();
            self.pos += 2;
            let first = self.value_expr()?;
            self.expect(&Tok::Comma)?;
            let second = self.value_expr()?;
            self.expect(&Tok::RParen)?;
            return match word.as_str() {
                "list_append" => Ok(Operand::ListAppend(Box::new(first), Box::new(second))),
                "if_not_exists" => match first {
                    Operand::Path(path) => Ok(Operand::IfNotExists(path, Box::new(second))),
                    _ => Err(PartiqlError::syntax("Unexpected token")),
                },
                _ => Err(PartiqlError::new(format!("Unsupported function: {word}"))),
            };
        }
        present(self.operand()?)
    }

    /// A literal that must be a value (not MISSING).
    fn value(&mut self) -> Result<AttributeValue, PartiqlError> {
        match self.literal()? {
            Literal::Value(v) => Ok(v),
            Literal::Missing => Err(PartiqlError::syntax("Unexpected keyword")),
        }
    }

    fn literal(&mut self) -> Result<Literal, PartiqlError> {
        self.enter()?;
        let literal = self.literal_inner();
        self.leave();
        literal
    }

    fn literal_inner(&mut self) -> Result<Literal, PartiqlError> {
        let value = match self.next() {
            Some(Tok::Str(s)) => AttributeValue::S(s),
            Some(Tok::Number(text)) => number(&text, &self.value_path)?,
            Some(Tok::Minus) => match self.next() {
                Some(Tok::Number(text)) => number(&format!("-{text}"), &self.value_path)?,
                _ => return Err(PartiqlError::syntax("Unexpected token")),
            },
            Some(Tok::Param) => self.parameter()?,
            Some(Tok::LBracket) => AttributeValue::L(self.list(&Tok::RBracket)?),
            Some(Tok::LBrace) => AttributeValue::M(self.map(false)?),
            Some(Tok::LSet) => set(self.list(&Tok::RSet)?)?,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("TRUE") => AttributeValue::Bool(true),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("FALSE") => AttributeValue::Bool(false),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NULL") => AttributeValue::Null,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("MISSING") => return Ok(Literal::Missing),
            _ => {
                self.pos -= 1;
                return Err(self.unexpected());
            }
        };
        Ok(Literal::Value(value))
    }

    fn parameter(&mut self) -> Result<AttributeValue, PartiqlError> {
        let value = self
            .params
            .get(self.used)
            .cloned()
            .ok_or_else(PartiqlError::parameter_count)?;
        self.used += 1;
        Ok(value)
    }

    /// Values up to `close` (the opening token already read).
    fn list(&mut self, close: &Tok) -> Result<Vec<AttributeValue>, PartiqlError> {
        let mut values = Vec::new();
        if self.eat(close) {
            return Ok(values);
        }
        loop {
            let saved = self.value_path.len();
            self.value_path.push_str(&format!("[{}]", values.len()));
            let value = self.value();
            self.value_path.truncate(saved);
            values.push(value?);
            if self.eat(close) {
                return Ok(values);
            }
            self.expect(&Tok::Comma)?;
        }
    }

    /// `'key': value` pairs up to `}`; an INSERT's item is `roots`, its
    /// attributes each the root of the paths in number messages.
    fn map(&mut self, roots: bool) -> Result<BTreeMap<String, AttributeValue>, PartiqlError> {
        let mut map = Item::new();
        if self.eat(&Tok::RBrace) {
            return Ok(map);
        }
        loop {
            let key = match self.next() {
                Some(Tok::Str(key) | Tok::Quoted(key)) => key,
                _ => return Err(PartiqlError::syntax("Unexpected token")),
            };
            self.expect(&Tok::Colon)?;
            let saved = self.value_path.len();
            if !roots {
                self.value_path.push_str(&format!(".{key}"));
            }
            let value = self.literal();
            self.value_path.truncate(saved);
            if let Literal::Value(value) = value? {
                map.insert(key, value);
            }
            if self.eat(&Tok::RBrace) {
                return Ok(map);
            }
            self.expect(&Tok::Comma)?;
        }
    }
}

/// Words the parser never takes for a name.
fn is_keyword(word: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "BETWEEN",
        "IN",
        "IS",
        "INSERT",
        "INTO",
        "VALUE",
        "UPDATE",
        "SET",
        "REMOVE",
        "DELETE",
        "RETURNING",
        "ORDER",
        "BY",
        "MISSING",
        "NULL",
        "TRUE",
        "FALSE",
    ];
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// Words that are values rather than names.
fn is_literal_word(word: &str) -> bool {
    ["TRUE", "FALSE", "NULL", "MISSING"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(word))
}

/// The condition function `name` makes of `args` (MISSING is `None`),
/// in DynamoDB's words when the arguments do not fit.
fn function_cond(name: &str, args: Vec<Option<Operand>>) -> Result<Cond, PartiqlError> {
    let arity = |wanted: usize| {
        if args.len() == wanted {
            return Ok(());
        }
        Err(PartiqlError::new(format!(
            "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}",
            args.len()
        )))
    };
    match name {
        "attribute_exists" | "attribute_not_exists" => {
            arity(1)?;
            let Some(Some(Operand::Path(path))) = args.into_iter().next() else {
                return Err(PartiqlError::new(format!(
                    "Operator or function requires a document path; operator or function: {name}"
                )));
            };
            Ok(match name {
                "attribute_exists" => Cond::AttributeExists(path),
                _ => Cond::AttributeNotExists(path),
            })
        }
        "begins_with" | "contains" | "attribute_type" => {
            arity(2)?;
            let mut args = args.into_iter();
            let (first, second) = (present(args.next().flatten())?, present(args.next().flatten())?);
            Ok(match name {
                "begins_with" => Cond::BeginsWith(first, second),
                "contains" => Cond::Contains(first, second),
                _ => Cond::AttributeType(first, second),
            })
        }
        _ => Err(PartiqlError::new(format!("Unsupported function: {name}"))),
    }
}

/// DynamoDB refuses to order a value whose type has no order (anything
/// but a string, number or binary), whatever the other side is.
fn orderable<'o>(operator: &str, operands: impl IntoIterator<Item = &'o Operand>) -> Result<(), PartiqlError> {
    let unordered = operands.into_iter().find_map(|operand| match operand {
        Operand::Value(AttributeValue::S(_) | AttributeValue::N(_) | AttributeValue::B(_)) => None,
        Operand::Value(value) => Some(value.type_name()),
        _ => None,
    });
    match unordered {
        Some(ty) => Err(PartiqlError::new(format!(
            "Incorrect operand type for operator or function; operator or function: {operator}, operand type: {ty}"
        ))),
        None => Ok(()),
    }
}

/// A condition that always holds (`MISSING IS MISSING`).
fn always() -> Cond {
    let t = || Operand::Value(AttributeValue::Bool(true));
    Cond::Compare(CmpOp::Eq, t(), t())
}

/// A condition that never holds.
fn never() -> Cond {
    Cond::Not(Box::new(always()))
}

/// An operand that must not be MISSING.
fn present(operand: Option<Operand>) -> Result<Operand, PartiqlError> {
    operand.ok_or_else(|| PartiqlError::syntax("Unexpected keyword"))
}

/// A comparison; against MISSING, `=` asks whether a path is missing and
/// `<>` whether it is there (a value is always there).
fn compare(op: CmpOp, left: Option<Operand>, right: Option<Operand>) -> Result<Cond, PartiqlError> {
    let exists = |operand: Operand| match operand {
        Operand::Path(path) => Cond::AttributeExists(path),
        _ => always(),
    };
    Ok(match (left, right) {
        (Some(l), Some(r)) => Cond::Compare(op, l, r),
        (Some(x), None) | (None, Some(x)) => match op {
            CmpOp::Eq => Cond::Not(Box::new(exists(x))),
            CmpOp::Ne => exists(x),
            _ => never(),
        },
        (None, None) if op == CmpOp::Eq => always(),
        (None, None) => never(),
    })
}

/// Joins `terms` with `join` as a balanced tree, so that a long chain of
/// ANDs evaluates (and drops) with shallow recursion.
fn balanced(mut terms: Vec<Cond>, join: fn(Box<Cond>, Box<Cond>) -> Cond) -> Cond {
    if terms.len() == 1 {
        // The caller always passes at least one term.
        return terms.remove(0);
    }
    let right = terms.split_off(terms.len() / 2);
    join(Box::new(balanced(terms, join)), Box::new(balanced(right, join)))
}

/// Whether number `text` has an exponent of more than nine digits, which
/// DynamoDB's PartiQL does not read as a number (in a literal or a
/// parameter), though its item operations range-check it.
pub fn exponent_too_long(text: &str) -> bool {
    let digits = text
        .find(['e', 'E'])
        .map(|at| text[at + 1..].trim_start_matches(['+', '-']).len());
    digits.is_some_and(|digits| digits > 9)
}

/// A number literal; one DynamoDB cannot read is a statement not well
/// formed (with no detail), one out of its range names where it stands.
fn number(text: &str, path: &str) -> Result<AttributeValue, PartiqlError> {
    if exponent_too_long(text) {
        return Err(PartiqlError::syntax(""));
    }
    Number::parse(text).map(AttributeValue::N).map_err(|e| match e {
        NumberError::Malformed(_) => PartiqlError::syntax(""),
        e => PartiqlError::new(format!("{e} under root{path}")),
    })
}

/// "Unexpected token after expression": more after a whole statement.
fn leftover() -> PartiqlError {
    PartiqlError::syntax("Unexpected token after expression")
}

/// `<<...>>`: a string, number or binary set, non-empty and without
/// duplicates (refused in DynamoDB's words for a set value).
fn set(values: Vec<AttributeValue>) -> Result<AttributeValue, PartiqlError> {
    let mismatched = || PartiqlError::new("Set elements must all be strings, all numbers or all binaries");
    let set = match values.first() {
        None => return Err(PartiqlError::new("Empty bags are not supported")),
        Some(AttributeValue::S(_)) => AttributeValue::Ss(
            collect(values, |v| match v {
                AttributeValue::S(s) => Some(s),
                _ => None,
            })
            .ok_or_else(mismatched)?,
        ),
        Some(AttributeValue::N(_)) => AttributeValue::Ns(
            collect(values, |v| match v {
                AttributeValue::N(n) => Some(n),
                _ => None,
            })
            .ok_or_else(mismatched)?,
        ),
        Some(AttributeValue::B(_)) => AttributeValue::Bs(
            collect(values, |v| match v {
                AttributeValue::B(b) => Some(b),
                _ => None,
            })
            .ok_or_else(mismatched)?,
        ),
        Some(_) => return Err(mismatched()),
    };
    // PartiQL's wording of a repeated member, then the model's own check of
    // a set value, with its message.
    crate::model::value::check_partiql_set(&set).map_err(|e| PartiqlError::new(e.to_string()))?;
    AttributeValue::from_json(&set.to_json()).map_err(|e| PartiqlError::new(e.to_string()))
}

fn collect<T>(values: Vec<AttributeValue>, take: fn(AttributeValue) -> Option<T>) -> Option<Vec<T>> {
    values.into_iter().map(take).collect()
}
