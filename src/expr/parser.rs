//! Recursive-descent parsers for the three grammars (condition, update,
//! projection). They check syntax only and produce raw trees with
//! unresolved names and placeholders; `check.rs` turns those into the typed
//! AST, reporting semantic errors in DynamoDB's order of precedence.
//!
//! Precedence, loosest first: `OR`, `AND`, `NOT`, then the comparators,
//! `BETWEEN` and `IN`, then function calls, parentheses and operands.

use super::ast::{CmpOp, MAX_PATH_DEPTH};
use super::error::{ExprError, ExprKind};
use super::lexer::{Tok, Token, tokenize};

/// Longest expression string DynamoDB accepts, in bytes.
pub const MAX_EXPRESSION_BYTES: usize = 4096;
/// Nesting of parentheses and function calls beyond which parsing stops;
/// far above anything DynamoDB accepts in 4 KB, and keeps recursion shallow.
const MAX_NESTING: usize = 100;

/// One step of a path as written.
#[derive(Clone, Debug, PartialEq)]
pub enum RawElem {
    /// A bare identifier (subject to the reserved-word check).
    Ident(String),
    /// An expression attribute name such as `#n`.
    Name(String),
    /// A list index.
    Index(usize),
}

/// A parsed, unchecked expression node.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Path(Vec<RawElem>),
    /// An expression attribute value such as `:v`.
    Value(String),
    Call(String, Vec<Node>),
    Paren(Box<Node>),
    Compare(CmpOp, Box<Node>, Box<Node>),
    Between(Box<Node>, Box<Node>, Box<Node>),
    In(Box<Node>, Vec<Node>),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    /// `x + y` (true) or `x - y` (false), update values only.
    Arith(bool, Box<Node>, Box<Node>),
}

/// The four clauses of an update expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clause {
    Set,
    Remove,
    Add,
    Delete,
}

impl Clause {
    /// The keyword as DynamoDB prints it.
    pub fn keyword(self) -> &'static str {
        match self {
            Clause::Set => "SET",
            Clause::Remove => "REMOVE",
            Clause::Add => "ADD",
            Clause::Delete => "DELETE",
        }
    }
}

/// One action of an update clause: its target path and, except for REMOVE,
/// its value (a SET value tree, or the `:v` of ADD/DELETE).
#[derive(Clone, Debug, PartialEq)]
pub struct RawAction {
    pub clause: Clause,
    pub path: Vec<RawElem>,
    pub value: Option<Node>,
    /// True for the first action after a clause keyword.
    pub starts_section: bool,
}

/// Whether a parsed node can stand as a condition, an operand, or both (a
/// function call, whose proper use `check.rs` decides by its name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Cond,
    Operand,
    Either,
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    kind: ExprKind,
    depth: usize,
    /// Set when `((x))` is seen; DynamoDB rejects that after a clean parse.
    redundant_parens: bool,
}

/// Rejects empty and oversized expressions and tokenizes the rest.
fn start(src: &str, kind: ExprKind) -> Result<Parser<'_>, ExprError> {
    let tokens = tokenize(src);
    if tokens.is_empty() {
        return Err(ExprError::invalid(kind, "The expression can not be empty;"));
    }
    if src.len() > MAX_EXPRESSION_BYTES {
        return Err(ExprError::invalid(
            kind,
            format!(
                "Expression size has exceeded the maximum allowed size; expression size: {}",
                src.len()
            ),
        ));
    }
    Ok(Parser {
        src,
        tokens,
        pos: 0,
        kind,
        depth: 0,
        redundant_parens: false,
    })
}

/// Parses a condition (also filter and key condition) expression. Returns
/// the tree and whether it had redundant parentheses.
pub fn parse_condition_syntax(src: &str, kind: ExprKind) -> Result<(Node, bool), ExprError> {
    let mut p = start(src, kind)?;
    let (node, shape) = p.or()?;
    if shape == Shape::Operand || p.pos < p.tokens.len() {
        return Err(p.error_here());
    }
    Ok((node, p.redundant_parens))
}

/// Parses an update expression into its actions in written order.
pub fn parse_update_syntax(src: &str) -> Result<Vec<RawAction>, ExprError> {
    let mut p = start(src, ExprKind::Update)?;
    let mut actions = Vec::new();
    loop {
        let clause = match p.clause_keyword() {
            Some(clause) => clause,
            None => return Err(p.error_here()),
        };
        p.pos += 1;
        let mut starts_section = true;
        loop {
            let path = p.path()?;
            let value = match clause {
                Clause::Set => {
                    p.expect(Tok::Eq)?;
                    Some(p.set_value()?)
                }
                Clause::Remove => None,
                Clause::Add | Clause::Delete => match p.peek() {
                    Some(Tok::Value) => Some(Node::Value(p.take_text())),
                    _ => return Err(p.error_here()),
                },
            };
            actions.push(RawAction {
                clause,
                path,
                value,
                starts_section,
            });
            starts_section = false;
            if p.peek() == Some(Tok::Comma) {
                p.pos += 1;
                continue;
            }
            break;
        }
        if p.pos == p.tokens.len() {
            return Ok(actions);
        }
    }
}

/// Parses a projection expression: paths separated by commas.
pub fn parse_projection_syntax(src: &str) -> Result<Vec<Vec<RawElem>>, ExprError> {
    let mut p = start(src, ExprKind::Projection)?;
    let mut paths = vec![p.path()?];
    while p.peek() == Some(Tok::Comma) {
        p.pos += 1;
        paths.push(p.path()?);
    }
    if p.pos < p.tokens.len() {
        return Err(p.error_here());
    }
    Ok(paths)
}

impl Parser<'_> {
    fn peek(&self) -> Option<Tok> {
        self.tokens.get(self.pos).map(|t| t.tok)
    }

    fn text(&self, index: usize) -> &str {
        self.tokens.get(index).map_or("", |t| &self.src[t.start..t.end])
    }

    /// Consumes the current token and returns its text.
    fn take_text(&mut self) -> String {
        let text = self.text(self.pos).to_string();
        self.pos += 1;
        text
    }

    fn expect(&mut self, tok: Tok) -> Result<(), ExprError> {
        if self.peek() == Some(tok) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error_here())
        }
    }

    /// True when the current token is the (case-insensitive) keyword.
    fn at_keyword(&self, word: &str) -> bool {
        self.peek() == Some(Tok::Ident) && self.text(self.pos).eq_ignore_ascii_case(word)
    }

    /// Keywords of this grammar cannot be attribute names.
    fn is_keyword(&self, text: &str) -> bool {
        let words: &[&str] = match self.kind {
            ExprKind::Update => &["SET", "REMOVE", "ADD", "DELETE"],
            ExprKind::Projection => &[],
            _ => &["AND", "OR", "NOT", "BETWEEN", "IN"],
        };
        words.iter().any(|w| text.eq_ignore_ascii_case(w))
    }

    fn clause_keyword(&self) -> Option<Clause> {
        [Clause::Set, Clause::Remove, Clause::Add, Clause::Delete]
            .into_iter()
            .find(|c| self.at_keyword(c.keyword()))
    }

    /// DynamoDB's syntax error for the current token: the token, and the
    /// source from the previous token to the next one.
    fn error_here(&self) -> ExprError {
        let at = self.pos;
        let prev_start = at.checked_sub(1).and_then(|i| self.tokens.get(i)).map(|t| t.start);
        let (token, near) = match self.tokens.get(at) {
            None => ("<EOF>", prev_start.map_or("", |s| &self.src[s..])),
            Some(t) => {
                let start = prev_start.unwrap_or(t.start);
                let end = self.tokens.get(at + 1).map_or(t.end, |n| n.end);
                (&self.src[t.start..t.end], &self.src[start..end])
            }
        };
        ExprError::invalid(self.kind, format!("Syntax error; token: \"{token}\", near: \"{near}\""))
    }

    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.error_here());
        }
        Ok(())
    }

    fn paren(&mut self, inner: Node) -> Node {
        if matches!(inner, Node::Paren(_)) {
            self.redundant_parens = true;
        }
        Node::Paren(Box::new(inner))
    }

    /// `a.b[1].#c`: an identifier or `#name`, then `.name` / `[n]` steps.
    fn path(&mut self) -> Result<Vec<RawElem>, ExprError> {
        let mut elems = vec![self.path_name()?];
        loop {
            match self.peek() {
                Some(Tok::Dot) => {
                    self.pos += 1;
                    elems.push(self.path_name()?);
                }
                Some(Tok::LBracket) => {
                    self.pos += 1;
                    let index = match self.peek() {
                        Some(Tok::Number) => self.text(self.pos).parse::<u32>().ok(),
                        _ => None,
                    };
                    let Some(index) = index else {
                        return Err(self.error_here());
                    };
                    self.pos += 1;
                    self.expect(Tok::RBracket)?;
                    elems.push(RawElem::Index(index as usize));
                }
                _ => break,
            }
            if elems.len() > MAX_PATH_DEPTH {
                return Err(ExprError::invalid(
                    self.kind,
                    format!(
                        "The document path has too many nesting levels; nesting levels: {}",
                        elems.len()
                    ),
                ));
            }
        }
        Ok(elems)
    }

    fn path_name(&mut self) -> Result<RawElem, ExprError> {
        match self.peek() {
            Some(Tok::Ident) if !self.is_keyword(self.text(self.pos)) => Ok(RawElem::Ident(self.take_text())),
            Some(Tok::Name) => Ok(RawElem::Name(self.take_text())),
            _ => Err(self.error_here()),
        }
    }

    // ---- conditions ----

    fn or(&mut self) -> Result<(Node, Shape), ExprError> {
        let mut left = self.and()?;
        while self.at_keyword("OR") {
            if left.1 == Shape::Operand {
                return Err(self.error_here());
            }
            self.pos += 1;
            let right = self.and()?;
            left = (
                Node::Or(Box::new(left.0), Box::new(self.need_cond(right)?)),
                Shape::Cond,
            );
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<(Node, Shape), ExprError> {
        let mut left = self.not()?;
        while self.at_keyword("AND") {
            if left.1 == Shape::Operand {
                return Err(self.error_here());
            }
            self.pos += 1;
            let right = self.not()?;
            left = (
                Node::And(Box::new(left.0), Box::new(self.need_cond(right)?)),
                Shape::Cond,
            );
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<(Node, Shape), ExprError> {
        if self.at_keyword("NOT") {
            self.pos += 1;
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok((Node::Not(Box::new(self.need_cond(inner)?)), Shape::Cond));
        }
        self.comparison()
    }

    /// A node that must be a condition: an operand here is a syntax error
    /// at the token that follows it.
    fn need_cond(&self, (node, shape): (Node, Shape)) -> Result<Node, ExprError> {
        if shape == Shape::Operand {
            return Err(self.error_here());
        }
        Ok(node)
    }

    fn comparator(&self) -> Option<CmpOp> {
        Some(match self.peek()? {
            Tok::Eq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            _ => return None,
        })
    }

    fn comparison(&mut self) -> Result<(Node, Shape), ExprError> {
        let (left, shape) = self.primary()?;
        let starts_comparison = self.comparator().is_some() || self.at_keyword("BETWEEN") || self.at_keyword("IN");
        if !starts_comparison {
            return Ok((left, shape));
        }
        if shape == Shape::Cond {
            return Err(self.error_here());
        }
        let left = Box::new(left);
        if let Some(op) = self.comparator() {
            self.pos += 1;
            let right = self.operand()?;
            return Ok((Node::Compare(op, left, Box::new(right)), Shape::Cond));
        }
        if self.at_keyword("BETWEEN") {
            self.pos += 1;
            let low = self.operand()?;
            if !self.at_keyword("AND") {
                return Err(self.error_here());
            }
            self.pos += 1;
            let high = self.operand()?;
            return Ok((Node::Between(left, Box::new(low), Box::new(high)), Shape::Cond));
        }
        self.pos += 1; // IN
        self.expect(Tok::LParen)?;
        let list = self.operand_list()?;
        self.expect(Tok::RParen)?;
        Ok((Node::In(left, list), Shape::Cond))
    }

    /// In condition position: a parenthesised condition or operand, a
    /// function call, a path or a value.
    fn primary(&mut self) -> Result<(Node, Shape), ExprError> {
        if self.peek() == Some(Tok::LParen) {
            self.pos += 1;
            self.enter()?;
            let (inner, shape) = self.or()?;
            self.depth -= 1;
            self.expect(Tok::RParen)?;
            return Ok((self.paren(inner), shape));
        }
        let node = self.operand()?;
        let shape = if matches!(node, Node::Call(..)) {
            Shape::Either
        } else {
            Shape::Operand
        };
        Ok((node, shape))
    }

    fn operand_list(&mut self) -> Result<Vec<Node>, ExprError> {
        let mut list = vec![self.operand()?];
        while self.peek() == Some(Tok::Comma) {
            self.pos += 1;
            list.push(self.operand()?);
        }
        Ok(list)
    }

    /// An operand, possibly in parentheses: a function call, a `:value` or
    /// a path.
    fn operand(&mut self) -> Result<Node, ExprError> {
        match self.peek() {
            Some(Tok::LParen) => {
                self.pos += 1;
                self.enter()?;
                let inner = self.operand()?;
                self.depth -= 1;
                self.expect(Tok::RParen)?;
                Ok(self.paren(inner))
            }
            Some(Tok::Value) => Ok(Node::Value(self.take_text())),
            Some(Tok::Ident)
                if self.tokens.get(self.pos + 1).map(|t| t.tok) == Some(Tok::LParen)
                    && !self.is_keyword(self.text(self.pos)) =>
            {
                let name = self.take_text();
                self.pos += 1;
                self.enter()?;
                let args = self.operand_list()?;
                self.depth -= 1;
                self.expect(Tok::RParen)?;
                Ok(Node::Call(name, args))
            }
            _ => Ok(Node::Path(self.path()?)),
        }
    }

    // ---- update values ----

    /// `term`, `term + term` or `term - term`, where a term is an operand or
    /// a parenthesised value; sums do not chain or nest.
    fn set_value(&mut self) -> Result<Node, ExprError> {
        let left = self.set_term()?;
        let plus = match self.peek() {
            Some(Tok::Plus) => true,
            Some(Tok::Minus) => false,
            _ => return Ok(left),
        };
        if is_sum(&left) {
            return Err(self.error_here());
        }
        self.pos += 1;
        let right = self.set_term()?;
        if is_sum(&right) {
            return Err(self.error_here());
        }
        Ok(Node::Arith(plus, Box::new(left), Box::new(right)))
    }

    fn set_term(&mut self) -> Result<Node, ExprError> {
        if self.peek() != Some(Tok::LParen) {
            return self.operand();
        }
        self.pos += 1;
        self.enter()?;
        let inner = self.set_value()?;
        self.depth -= 1;
        self.expect(Tok::RParen)?;
        Ok(self.paren(inner))
    }
}

fn is_sum(node: &Node) -> bool {
    match node {
        Node::Arith(..) => true,
        Node::Paren(inner) => is_sum(inner),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond_err(src: &str) -> String {
        parse_condition_syntax(src, ExprKind::Condition)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn syntax_errors_quote_token_and_neighbours() {
        let cases = [
            ("foo", "token: \"<EOF>\", near: \"foo\""),
            ("a =", "token: \"<EOF>\", near: \"=\""),
            ("a = ", "token: \"<EOF>\", near: \"= \""),
            ("attribute_not_exists(", "token: \"<EOF>\", near: \"(\""),
            ("contains (themes, :theme", "token: \"<EOF>\", near: \":theme\""),
            (":hashId a", "token: \"a\", near: \":hashId a\""),
            ("a > 4", "token: \"4\", near: \"> 4\""),
            ("pk = !!", "token: \"!\", near: \"= !!\""),
            ("a IN ()", "token: \")\", near: \"()\""),
            ("ü > a", "token: \"ü\", near: \"ü >\""),
            ("a = b c", "token: \"c\", near: \"b c\""),
            ("(a = b) = c", "token: \"=\", near: \") = c\""),
            ("size(a).b > a", "token: \".\", near: \").b\""),
            ("a > between", "token: \"between\", near: \"> between\""),
        ];
        for (src, detail) in cases {
            assert_eq!(
                cond_err(src),
                format!("Invalid ConditionExpression: Syntax error; {detail}"),
                "{src}"
            );
        }
    }

    #[test]
    fn update_syntax_errors() {
        for src in [
            "whatever",
            "set a",
            "set a=set",
            "remove a = b",
            "add a = b",
            "delete a b",
            "set a b",
            "set :a = b",
            "remove :a",
            "set a = b / c",
            "set a = b + c + d",
            "set a = (b + c) - d",
            "SET a = :v,",
        ] {
            let err = parse_update_syntax(src).unwrap_err().to_string();
            assert!(
                err.starts_with("Invalid UpdateExpression: Syntax error; "),
                "{src}: {err}"
            );
        }
        assert_eq!(
            parse_update_syntax("SET a = :v, ").unwrap_err().to_string(),
            "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \", \""
        );
        assert_eq!(
            parse_update_syntax("SET path = VALUE 1").unwrap_err().to_string(),
            "Invalid UpdateExpression: Syntax error; token: \"1\", near: \"VALUE 1\""
        );
    }

    #[test]
    fn empty_and_oversized_expressions() {
        for src in ["", "  \n"] {
            assert_eq!(
                parse_projection_syntax(src).unwrap_err().to_string(),
                "Invalid ProjectionExpression: The expression can not be empty;"
            );
        }
        let long = format!("a{}", " ".repeat(4096));
        assert_eq!(
            cond_err(&long),
            "Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 4097"
        );
    }

    #[test]
    fn precedence_binds_not_then_and_then_or() {
        let (node, _) = parse_condition_syntax("NOT a = :x AND b = :y OR c = :z", ExprKind::Filter).unwrap();
        let Node::Or(left, _) = node else { panic!("{node:?}") };
        let Node::And(not, _) = *left else { panic!() };
        assert!(matches!(*not, Node::Not(_)));
    }

    #[test]
    fn redundant_parentheses_are_flagged() {
        assert!(
            parse_condition_syntax("a=a AND ((a=a AND a=a))", ExprKind::Filter)
                .unwrap()
                .1
        );
        assert!(parse_condition_syntax("a > ((b))", ExprKind::Filter).unwrap().1);
        assert!(!parse_condition_syntax("((a=a) OR (a=a))", ExprKind::Filter).unwrap().1);
        assert!(
            !parse_condition_syntax("(a) between (b) and (c)", ExprKind::Filter)
                .unwrap()
                .1
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let src = format!("{}a = b{}", "(".repeat(2000), ")".repeat(2000));
        assert!(cond_err(&src).contains("Syntax error"));
        let src = "NOT ".repeat(1000) + "a = b";
        assert!(cond_err(&src).contains("Syntax error"));
    }

    #[test]
    fn path_depth_is_limited() {
        let ok = vec!["a"; 32].join(".");
        assert!(parse_projection_syntax(&ok).is_ok());
        let deep = vec!["a"; 33].join(".");
        assert_eq!(
            parse_projection_syntax(&deep).unwrap_err().to_string(),
            "Invalid ProjectionExpression: The document path has too many nesting levels; nesting levels: 33"
        );
    }
}
