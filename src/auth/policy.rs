//! IAM-style identity policies: statements with `Effect` Allow or Deny,
//! `Action` and `Resource` patterns (`*` and `?` wildcards, `${aws:username}`
//! substituted), and `Condition` blocks over the request's condition keys.
//! Resource-based policies (a table's, from PutResourcePolicy) are the same
//! with a `Principal` in every statement: `*` (or `{"AWS": "*"}`), a user's
//! ARN, or the account (its id or `arn:aws:iam::ACCOUNT:root`). Within one
//! account, an Allow to the account principal grants nothing by itself (it
//! delegates to the users' identity policies, as IAM does), while a Deny to
//! it denies every user.
//!
//! Evaluation is IAM's: an access is allowed when some Allow statement
//! matches it and no Deny statement does (an explicit deny wins); with no
//! matching statement it is denied (implicit deny, so a user without a
//! policy may do nothing).
//!
//! Condition operators: `StringEquals`, `StringNotEquals`,
//! `StringEqualsIgnoreCase`, `StringNotEqualsIgnoreCase`, `StringLike`,
//! `StringNotLike` and `Bool`, each optionally prefixed with `ForAllValues:`
//! or `ForAnyValue:` and suffixed with `IfExists`, and `Null`. As in IAM, a key
//! absent from the request makes a plain operator false (a negated one true,
//! `...IfExists` true), `ForAllValues` true and `ForAnyValue` false; a plain
//! operator on a key with several values needs every value to match.

use std::borrow::Cow;

use serde_json::Value;

use crate::model::table::ACCOUNT_ID;

/// A user's policy: its statements, in the order written.
#[derive(Debug, Default)]
pub struct Policy {
    statements: Vec<Statement>,
}

/// Allow or Deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

#[derive(Debug)]
struct Statement {
    effect: Effect,
    /// Who a resource-based policy's statement applies to; `None` in an
    /// identity policy (it applies to its user).
    principals: Option<Vec<String>>,
    /// Lowercased action patterns (actions compare case-insensitively).
    actions: Vec<String>,
    resources: Vec<String>,
    conditions: Vec<Condition>,
}

/// How a condition combines a multi-valued key's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SetQualifier {
    /// Every value must match (true when there are none).
    ForAllValues,
    /// Some value must match (false when there are none).
    ForAnyValue,
    /// The key must be present and every value must match.
    Single,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    Equals,
    EqualsIgnoreCase,
    Like,
    Null,
}

#[derive(Debug)]
struct Condition {
    operator: Operator,
    negated: bool,
    qualifier: SetQualifier,
    if_exists: bool,
    /// Lowercased (condition keys compare case-insensitively).
    key: String,
    values: Vec<String>,
}

/// One thing a request does: an action on a resource, with the values of
/// the condition keys it carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// `dynamodb:PutItem`, ...
    pub action: String,
    /// The resource's ARN, or `*` for actions on no resource.
    pub resource: String,
    /// Condition keys (lowercased) and their values.
    pub keys: Vec<(String, Vec<String>)>,
}

/// A policy's answer for one access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Some Allow statement matches and no Deny does.
    Allow,
    /// A Deny statement matches.
    ExplicitDeny,
    /// No statement matches.
    ImplicitDeny,
}

impl Policy {
    /// Parses a JSON policy document; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Policy, String> {
        Policy::parse_as(text, false)
    }

    /// Parses a resource-based policy document (every statement names its
    /// `Principal`); the error says what is wrong.
    pub fn parse_resource(text: &str) -> Result<Policy, String> {
        Policy::parse_as(text, true)
    }

    fn parse_as(text: &str, resource: bool) -> Result<Policy, String> {
        let document: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let parse = |statement: &Value| Statement::parse(statement, resource);
        let statements = match document.get("Statement") {
            Some(Value::Array(statements)) => statements.iter().map(parse).collect::<Result<_, _>>()?,
            Some(statement @ Value::Object(_)) => vec![parse(statement)?],
            _ => return Err("a policy needs a Statement (an object or an array of them)".into()),
        };
        Ok(Policy { statements })
    }

    /// Whether any statement has a `Condition` (which reads the request's
    /// condition keys).
    pub fn has_conditions(&self) -> bool {
        self.statements.iter().any(|s| !s.conditions.is_empty())
    }

    /// What the policy says about `access` by user `username`.
    pub fn decide(&self, access: &Access, username: &str) -> Decision {
        let mut allowed = false;
        let action = access.action.to_ascii_lowercase();
        for statement in &self.statements {
            if statement.matches(access, &action, username) {
                match statement.effect {
                    Effect::Deny => return Decision::ExplicitDeny,
                    Effect::Allow => allowed = true,
                }
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }
}

impl Statement {
    fn parse(value: &Value, resource: bool) -> Result<Statement, String> {
        let effect = match value.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            other => return Err(format!("Effect must be \"Allow\" or \"Deny\", not {other:?}")),
        };
        let kind = if resource { "resource-based" } else { "identity" };
        let principal = if resource { None } else { Some("Principal") };
        for unsupported in ["NotAction", "NotResource", "NotPrincipal"]
            .into_iter()
            .chain(principal)
        {
            if value.get(unsupported).is_some() {
                return Err(format!("{unsupported} is not supported in {kind} policies here"));
            }
        }
        let principals = if resource {
            Some(principals(value.get("Principal"))?)
        } else {
            None
        };
        let actions = strings(value.get("Action"), "Action")?
            .into_iter()
            .map(|a| a.to_ascii_lowercase())
            .collect();
        let resources = strings(value.get("Resource"), "Resource")?;
        let conditions = match value.get("Condition") {
            None => Vec::new(),
            Some(Value::Object(blocks)) => {
                let mut conditions = Vec::new();
                for (operator, keys) in blocks {
                    let Value::Object(keys) = keys else {
                        return Err(format!("Condition {operator} must map keys to values"));
                    };
                    for (key, values) in keys {
                        conditions.push(Condition::parse(operator, key, values)?);
                    }
                }
                conditions
            }
            Some(_) => return Err("Condition must be an object".into()),
        };
        Ok(Statement {
            effect,
            principals,
            actions,
            resources,
            conditions,
        })
    }

    /// Whether the statement covers `access`, whose action lowercased is
    /// `action`, by `username`.
    fn matches(&self, access: &Access, action: &str, username: &str) -> bool {
        self.applies_to(username)
            && self.actions.iter().any(|pattern| glob(pattern, action))
            && self
                .resources
                .iter()
                .any(|pattern| glob(&substitute(pattern, username), &access.resource))
            && self.conditions.iter().all(|c| c.holds(&access.keys, username))
    }
}

impl Statement {
    /// Whether the statement applies to user `username`: always in an
    /// identity policy; in a resource-based one when its principal is
    /// anyone, the user, or (for a Deny) the user's account.
    fn applies_to(&self, username: &str) -> bool {
        let Some(principals) = &self.principals else {
            return true;
        };
        let user = format!("arn:aws:iam::{ACCOUNT_ID}:user/{username}");
        let account = |p: &str| p == ACCOUNT_ID || p == format!("arn:aws:iam::{ACCOUNT_ID}:root");
        principals
            .iter()
            .any(|p| p == "*" || *p == user || (self.effect == Effect::Deny && account(p)))
    }
}

/// A resource-based statement's `Principal`: `"*"`, or `{"AWS": ...}` with
/// one principal or a list of them.
fn principals(value: Option<&Value>) -> Result<Vec<String>, String> {
    match value {
        Some(Value::String(any)) if any == "*" => Ok(vec!["*".into()]),
        Some(Value::Object(map)) if map.len() == 1 && map.contains_key("AWS") => {
            strings(map.get("AWS"), "Principal.AWS")
        }
        Some(_) => Err("Principal must be \"*\" or {\"AWS\": principals}".into()),
        None => Err("a statement of a resource-based policy needs a Principal".into()),
    }
}

/// A string or an array of strings, at least one.
fn strings(value: Option<&Value>, member: &str) -> Result<Vec<String>, String> {
    let list = match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("{member} must be a string or an array of strings"))?,
        _ => return Err(format!("a statement needs {member} (a string or an array of strings)")),
    };
    if list.is_empty() {
        return Err(format!("{member} must not be empty"));
    }
    Ok(list)
}

impl Condition {
    fn parse(written: &str, key: &str, values: &Value) -> Result<Condition, String> {
        let operator = written;
        let (qualifier, rest) = if let Some(rest) = operator.strip_prefix("ForAllValues:") {
            (SetQualifier::ForAllValues, rest)
        } else if let Some(rest) = operator.strip_prefix("ForAnyValue:") {
            (SetQualifier::ForAnyValue, rest)
        } else {
            (SetQualifier::Single, operator)
        };
        let (rest, if_exists) = match rest.strip_suffix("IfExists") {
            Some(rest) => (rest, true),
            None => (rest, false),
        };
        let (operator, negated) = match rest {
            "StringEquals" => (Operator::Equals, false),
            "StringNotEquals" => (Operator::Equals, true),
            "StringEqualsIgnoreCase" => (Operator::EqualsIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (Operator::EqualsIgnoreCase, true),
            "StringLike" => (Operator::Like, false),
            "StringNotLike" => (Operator::Like, true),
            // "true" or "false", as IAM compares booleans.
            "Bool" => (Operator::EqualsIgnoreCase, false),
            "Null" if qualifier == SetQualifier::Single && !if_exists => (Operator::Null, false),
            _ => return Err(format!("condition operator {operator} is not supported")),
        };
        let values = match values {
            Value::Bool(b) => vec![b.to_string()],
            other => strings(Some(other), &format!("condition {written} {key}"))?,
        };
        Ok(Condition {
            operator,
            negated,
            qualifier,
            if_exists,
            key: key.to_ascii_lowercase(),
            values,
        })
    }

    fn holds(&self, keys: &[(String, Vec<String>)], username: &str) -> bool {
        let present = keys.iter().find(|(k, _)| *k == self.key).map(|(_, v)| v.as_slice());
        if self.operator == Operator::Null {
            let wants_absent = self.values.iter().any(|v| v == "true");
            return present.is_none() == wants_absent;
        }
        let one = |value: &String| {
            let hit = self
                .values
                .iter()
                .any(|p| self.compare(&substitute(p, username), value));
            hit != self.negated
        };
        match (self.qualifier, present) {
            (SetQualifier::ForAllValues, None) => true,
            (SetQualifier::ForAllValues, Some(values)) => values.iter().all(one),
            (SetQualifier::ForAnyValue, None) => false,
            (SetQualifier::ForAnyValue, Some(values)) => values.iter().any(one),
            (SetQualifier::Single, None) => self.if_exists || self.negated,
            (SetQualifier::Single, Some(values)) => !values.is_empty() && values.iter().all(one),
        }
    }

    fn compare(&self, pattern: &str, value: &str) -> bool {
        match self.operator {
            Operator::Equals => pattern == value,
            Operator::EqualsIgnoreCase => pattern.eq_ignore_ascii_case(value),
            Operator::Like => glob(pattern, value),
            Operator::Null => false,
        }
    }
}

/// Replaces `${aws:username}` with the user's name.
fn substitute<'p>(pattern: &'p str, username: &str) -> Cow<'p, str> {
    const USERNAME: &str = "${aws:username}";
    if pattern.contains(USERNAME) {
        Cow::Owned(pattern.replace(USERNAME, username))
    } else {
        Cow::Borrowed(pattern)
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of
/// characters and `?` for one. Iterative, linear in practice: a pattern
/// from a policy cannot make it recurse.
fn glob(pattern: &str, text: &str) -> bool {
    // Most patterns are `*` or have no wildcard at all.
    if pattern == "*" {
        return true;
    }
    match pattern.find(['*', '?']) {
        None => return pattern == text,
        // `dynamodb:*`, `arn:aws:dynamodb:r:a:table/T*`: a prefix.
        Some(at) if at + 1 == pattern.len() && pattern.ends_with('*') => return text.starts_with(&pattern[..at]),
        Some(_) => {}
    }
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(action: &str, resource: &str, keys: &[(&str, &[&str])]) -> Access {
        Access {
            action: action.into(),
            resource: resource.into(),
            keys: keys
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
        }
    }

    const TABLE: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/T";

    #[test]
    fn globs() {
        assert!(glob("dynamodb:get*", "dynamodb:getitem"));
        assert!(glob("*", ""));
        assert!(glob("a?c*", "abcdef"));
        assert!(!glob("a?c", "abcd"));
        assert!(glob("arn:*:table/T/index/*", "arn:x:table/T/index/I"));
        assert!(!glob("arn:*:table/T", "arn:x:table/T/index/I"));
        assert!(glob("dynamodb:*", "dynamodb:"));
        assert!(!glob("dynamodb:*", "dynamodb"));
        assert!(glob("é*", "éa"));
        assert!(!glob("?*", ""));
    }

    #[test]
    fn explicit_deny_wins_and_nothing_is_allowed_by_default() {
        let policy = Policy::parse(
            r#"{"Statement": [
                {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
                {"Effect": "Deny", "Action": ["dynamodb:Delete*"], "Resource": "arn:aws:dynamodb:*:*:table/T"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(
            policy.decide(&access("dynamodb:GetItem", TABLE, &[]), "u"),
            Decision::Allow
        );
        assert_eq!(
            policy.decide(&access("dynamodb:DeleteItem", TABLE, &[]), "u"),
            Decision::ExplicitDeny
        );
        assert_eq!(
            Policy::default().decide(&access("dynamodb:GetItem", TABLE, &[]), "u"),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn leading_keys_with_the_user_name() {
        let policy = Policy::parse(
            r#"{"Statement": {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*",
                "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}}}}"#,
        )
        .unwrap();
        let get = |keys: &[&str]| {
            policy.decide(
                &access("dynamodb:GetItem", TABLE, &[("dynamodb:leadingkeys", keys)]),
                "alice",
            )
        };
        assert_eq!(get(&["alice"]), Decision::Allow);
        assert_eq!(get(&["alice", "bob"]), Decision::ImplicitDeny);
        assert_eq!(get(&[]), Decision::Allow);
    }

    #[test]
    fn qualifiers_and_absent_keys() {
        let parse = |op: &str| {
            Policy::parse(&format!(
                r#"{{"Statement": {{"Effect": "Allow", "Action": "*", "Resource": "*",
                    "Condition": {{"{op}": {{"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}}}}}}}"#
            ))
            .unwrap()
        };
        let absent = access("dynamodb:Query", TABLE, &[]);
        let all = access("dynamodb:Query", TABLE, &[("dynamodb:select", &["ALL_ATTRIBUTES"])]);
        let specific = access(
            "dynamodb:Query",
            TABLE,
            &[("dynamodb:select", &["SPECIFIC_ATTRIBUTES"])],
        );
        let cases = [
            (
                "StringEquals",
                [Decision::ImplicitDeny, Decision::ImplicitDeny, Decision::Allow],
            ),
            (
                "StringEqualsIfExists",
                [Decision::Allow, Decision::ImplicitDeny, Decision::Allow],
            ),
            (
                "StringNotEquals",
                [Decision::Allow, Decision::Allow, Decision::ImplicitDeny],
            ),
            (
                "ForAnyValue:StringLike",
                [Decision::ImplicitDeny, Decision::ImplicitDeny, Decision::Allow],
            ),
        ];
        for (op, expected) in cases {
            let policy = parse(op);
            let got = [&absent, &all, &specific].map(|a| policy.decide(a, "u"));
            assert_eq!(got, expected, "{op}");
        }
    }

    #[test]
    fn malformed_policies_are_refused() {
        for bad in [
            "[]",
            r#"{"Statement": {"Effect": "Allow", "Resource": "*"}}"#,
            r#"{"Statement": {"Effect": "Allow", "Action": [], "Resource": "*"}}"#,
            r#"{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"NumericLessThan": {"k": "1"}}}}"#,
            r#"{"Statement": {"Effect": "Allow", "NotAction": "*", "Action": "*", "Resource": "*"}}"#,
        ] {
            assert!(Policy::parse(bad).is_err(), "{bad}");
        }
    }
}
