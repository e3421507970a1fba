//! Parser and planner tests: every statement kind, literals, parameters,
//! DynamoDB's messages, and inputs that must not overflow the stack.

use std::collections::BTreeMap;

use super::*;
use crate::expr::Action;
use crate::expr::RangeCondition;
use crate::expr::ast::{CmpOp, Cond, Operand, Path, PathElem};
use crate::model::{AttributeValue as V, Item, KeyAttribute, KeySchema, Number, ScalarType};

fn s(text: &str) -> V {
    V::S(text.into())
}

fn n(value: i64) -> V {
    V::N(Number::from(value))
}

fn path(names: &[&str]) -> Path {
    Path(names.iter().map(|n| PathElem::Attr(n.to_string())).collect())
}

fn ok(text: &str) -> Statement {
    parse(text, &[]).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn err(text: &str, params: &[V]) -> String {
    parse(text, params).expect_err(text).to_string()
}

fn schema(range: bool) -> KeySchema {
    KeySchema {
        hash: KeyAttribute {
            name: "pk".into(),
            ty: ScalarType::S,
        },
        range: range.then(|| KeyAttribute {
            name: "sk".into(),
            ty: ScalarType::N,
        }),
    }
}

fn where_of(statement: &Statement) -> &Cond {
    match statement {
        Statement::Select(s) | Statement::Exists(s) => s.condition.as_ref().expect("a WHERE"),
        Statement::Update(u) => u.condition.as_ref().expect("a WHERE"),
        Statement::Delete(d) => d.condition.as_ref().expect("a WHERE"),
        Statement::Insert(_) => panic!("no WHERE"),
    }
}

fn evaluate(cond: &Cond, item: &Item) -> bool {
    crate::expr::Condition::from_cond(cond.clone()).evaluate(item).unwrap()
}

#[test]
fn selects_name_tables_indexes_and_projections() {
    let Statement::Select(select) = ok(r#"SELECT a, "b c".d[2], e FROM "T"."I" WHERE pk = 'x'"#) else {
        panic!("a select");
    };
    assert_eq!(select.target.table, "T");
    assert_eq!(select.target.index.as_deref(), Some("I"));
    let projection = select.projection.unwrap();
    assert_eq!(projection[0], path(&["a"]));
    assert_eq!(
        projection[1],
        Path(vec![
            PathElem::Attr("b c".into()),
            PathElem::Attr("d".into()),
            PathElem::Index(2)
        ])
    );
    assert_eq!(
        select.condition,
        Some(Cond::Compare(
            CmpOp::Eq,
            Operand::Path(path(&["pk"])),
            Operand::Value(s("x"))
        ))
    );
    let Statement::Select(star) = ok("select * from Orders;") else {
        panic!("a select");
    };
    assert_eq!(star.projection, None);
    assert_eq!(star.target.table, "Orders");
    assert_eq!(star.condition, None);
}

#[test]
fn literals_become_attribute_values() {
    let Statement::Insert(insert) = ok(
        "INSERT INTO t VALUE {'pk': 'a''b', 'n': -1.5e2, 't': TRUE, 'f': false, 'z': NULL, \
         'l': [1, 'x', [ ]], 'm': {'k': {}}, 'ss': <<'a', 'b'>>, 'ns': <<1, 2>>, 'gone': MISSING}",
    ) else {
        panic!("an insert");
    };
    let mut expected = Item::new();
    expected.insert("pk".into(), s("a'b"));
    expected.insert("n".into(), V::N(Number::parse("-150").unwrap()));
    expected.insert("t".into(), V::Bool(true));
    expected.insert("f".into(), V::Bool(false));
    expected.insert("z".into(), V::Null);
    expected.insert("l".into(), V::L(vec![n(1), s("x"), V::L(vec![])]));
    expected.insert(
        "m".into(),
        V::M(BTreeMap::from([("k".to_string(), V::M(BTreeMap::new()))])),
    );
    expected.insert("ss".into(), V::Ss(vec!["a".into(), "b".into()]));
    expected.insert("ns".into(), V::Ns(vec![Number::from(1), Number::from(2)]));
    assert_eq!(insert.item, expected);
}

#[test]
fn parameters_bind_in_order_and_must_all_be_used() {
    let statement = parse("SELECT * FROM t WHERE pk = ? AND v IN [?, 3]", &[s("k"), n(2)]).unwrap();
    let item = Item::from([("pk".to_string(), s("k")), ("v".to_string(), n(2))]);
    assert!(evaluate(where_of(&statement), &item));
    let message = "Number of parameters in request and statement don't match.";
    assert_eq!(err("SELECT * FROM t WHERE pk = ?", &[]), message);
    assert_eq!(err("SELECT * FROM t WHERE pk = ?", &[s("a"), s("b")]), message);
}

#[test]
fn conditions_evaluate_like_dynamodb() {
    let item = Item::from([
        ("pk".to_string(), s("k")),
        ("n".to_string(), n(5)),
        ("name".to_string(), s("meridian")),
        ("tags".to_string(), V::Ss(vec!["a".into(), "b".into()])),
        (
            "l".to_string(),
            V::L(vec![n(1), V::M(BTreeMap::from([("x".to_string(), s("y"))]))]),
        ),
        ("z".to_string(), V::Null),
    ]);
    let cases = [
        ("n BETWEEN 1 AND 5", true),
        ("n NOT BETWEEN 1 AND 5", false),
        ("n IN (4, 6)", false),
        ("NOT n IN [5]", false),
        ("begins_with(name, 'mer') AND contains(tags, 'b')", true),
        ("contains(name, 'x') OR size(tags) = 2", true),
        ("attribute_type(n, 'N')", true),
        ("l[1].x = 'y' AND l[0] < 2", true),
        ("gone IS MISSING AND n IS NOT MISSING", true),
        ("n IS MISSING", false),
        ("z IS NULL AND n IS NOT NULL", true),
        ("gone = MISSING", true),
        ("n <> MISSING AND n != 4", true),
        ("(n > 4 AND (n < 6)) AND NOT (n = 7 OR n >= 9)", true),
        ("\"n\" <= 4", false),
    ];
    for (text, expected) in cases {
        let statement = ok(&format!("SELECT * FROM t WHERE {text}"));
        assert_eq!(evaluate(where_of(&statement), &item), expected, "{text}");
        // Rendered as a ConditionExpression, it means the same.
        let mut renderer = Renderer::new();
        let rendered = renderer.cond(where_of(&statement));
        let names = renderer.names.clone().into_iter().collect();
        let values: std::collections::HashMap<_, _> = renderer.values.clone().into_iter().collect();
        let values = (!values.is_empty()).then_some(values);
        let mut placeholders = crate::expr::Placeholders::new(Some(names), values);
        let condition =
            crate::expr::parse_condition(&rendered, crate::expr::ConditionKind::Condition, &mut placeholders)
                .unwrap_or_else(|e| panic!("{rendered}: {e}"));
        assert_eq!(condition.evaluate(&item).unwrap(), expected, "{rendered}");
    }
}

#[test]
fn updates_render_as_update_expressions() {
    let Statement::Update(update) = ok("UPDATE t SET a.b[1] = a.b[1] + 2, c = list_append(c, [1]) REMOVE d \
         SET e = set_add(e, <<1>>) SET f = set_delete(f, <<'x'>>) WHERE pk = 'k'")
    else {
        panic!("an update");
    };
    let mut renderer = Renderer::new();
    assert_eq!(
        renderer.update(&update.actions),
        "SET #n0.#n1[1] = #n0.#n1[1] + :v0, #n2 = list_append(#n2, :v1) REMOVE #n3 ADD #n4 :v2 DELETE #n5 :v3"
    );
    let names: Vec<&str> = renderer.names.values().map(String::as_str).collect();
    assert_eq!(names, ["a", "b", "c", "d", "e", "f"]);
    assert_eq!(renderer.values[":v0"], n(2));
}

#[test]
fn updates_and_deletes_parse_their_clauses() {
    let Statement::Update(update) = ok(
        "UPDATE t SET a = 1, b = b + 2 SET c = list_append(c, [1]) REMOVE d, e[1] \
         SET f = set_add(f, <<'x'>>) WHERE pk = 'k' AND a > 0 RETURNING MODIFIED NEW *",
    ) else {
        panic!("an update");
    };
    assert_eq!(update.actions.len(), 6);
    assert_eq!(update.actions[0], Action::Set(path(&["a"]), Operand::Value(n(1))));
    assert_eq!(update.actions[5], Action::Add(path(&["f"]), V::Ss(vec!["x".into()])));
    assert_eq!(update.returning, Some(Returning::ModifiedNew));
    let Statement::Delete(delete) = ok("DELETE FROM \"t\" WHERE pk = 'k' RETURNING ALL OLD *") else {
        panic!("a delete");
    };
    assert_eq!(delete.returning, Some(Returning::AllOld));
}

#[test]
fn malformed_statements_get_dynamodbs_messages() {
    let prefix = "Statement wasn't well formed, can't be processed: ";
    let cases = [
        ("UPSERT INTO t VALUE {'a': 1}", "Expected data manipulation"),
        ("", "Expected data manipulation"),
        ("SELECT * FROM", "Unexpected end of statement"),
        ("SELECT * FROM t WHERE", "Unexpected end of statement"),
        ("SELECT * FROM t WHERE a = 'x", "Unexpected end of statement"),
        ("SELECT * FROM t WHERE a = 1 a", "Unexpected token after expression"),
        ("SELECT * FROM WHERE", "Unexpected keyword"),
        ("SELECT * FROM t WHERE a = @", "Unexpected term"),
        ("INSERT INTO t VALUE [1]", "Unexpected token"),
        ("UPDATE t WHERE pk = 'a'", "Unexpected keyword"),
    ];
    for (text, detail) in cases {
        assert_eq!(err(text, &[]), format!("{prefix}{detail}"), "{text}");
    }
    assert_eq!(
        err("UPDATE t SET s = set_add(s, <<>>) WHERE pk = 'a'", &[]),
        "Empty bags are not supported"
    );
    assert_eq!(
        err("INSERT INTO t VALUE {'n': <<1, 2, 1.0>>}", &[]),
        "One or more parameter values were invalid: Input collection [1, 2, 1] contains duplicates."
    );
    assert_eq!(
        err("INSERT INTO t VALUE {'s': <<'a', 'a'>>}", &[]),
        "One or more parameter values were invalid: Input collection [a, a] contains duplicates."
    );
}

#[test]
fn no_input_overflows_the_stack() {
    let deep_parens = format!("SELECT * FROM t WHERE {}a = 1{}", "(".repeat(3000), ")".repeat(3000));
    assert!(err(&deep_parens, &[]).contains("nested too deeply"));
    let deep_not = format!("SELECT * FROM t WHERE {} a = 1", "NOT ".repeat(2000));
    assert!(err(&deep_not, &[]).contains("nested too deeply"));
    let deep_list = format!("INSERT INTO t VALUE {{'a': {}1{}}}", "[".repeat(3000), "]".repeat(3000));
    assert!(err(&deep_list, &[]).contains("nested too deeply"));
    // A long chain of ANDs parses into a shallow tree.
    let chain = vec!["a = 1"; 800].join(" AND ");
    let statement = ok(&format!("SELECT * FROM t WHERE {chain}"));
    assert!(evaluate(where_of(&statement), &Item::from([("a".to_string(), n(1))])));
    let too_long = format!("SELECT * FROM t WHERE a = '{}'", "x".repeat(MAX_STATEMENT_CHARS));
    assert!(err(&too_long, &[]).contains("length less than or equal to 8192"));
}

#[test]
fn plans_follow_the_key_equalities() {
    let plan = |text: &str, range: bool| {
        let statement = ok(&format!("SELECT * FROM t WHERE {text}"));
        access(Some(where_of(&statement)), &schema(range))
    };
    let key = |pk: &str, sk: Option<i64>| {
        let mut key = Item::from([("pk".to_string(), s(pk))]);
        if let Some(sk) = sk {
            key.insert("sk".into(), n(sk));
        }
        Access::Key(key)
    };
    assert_eq!(plan("pk = 'a'", false), key("a", None));
    assert_eq!(plan("'a' = pk AND x = 1", false), key("a", None));
    assert_eq!(plan("pk = 'a' AND sk = 3", true), key("a", Some(3)));
    assert_eq!(plan("pk = 'a'", true), Access::Partition(s("a"), None));
    assert_eq!(
        plan("pk = 'a' AND 3 < sk", true),
        Access::Partition(s("a"), Some(RangeCondition::Gt(n(3))))
    );
    assert_eq!(
        plan("pk = 'a' AND sk BETWEEN 1 AND 2", true),
        Access::Partition(s("a"), Some(RangeCondition::Between(n(1), n(2))))
    );
    // A key compared with a value of another type fixes nothing.
    assert_eq!(plan("pk = 1", false), Access::Scan);
    assert_eq!(plan("pk > 'a'", false), Access::Scan);
    // IN and ORs of equalities read the partitions they name, each once.
    let two = Access::Partitions(vec![s("a"), s("b")], None);
    assert_eq!(plan("pk = 'a' OR pk = 'b'", false), two);
    assert_eq!(plan("pk IN ['a', 'b', 'a']", false), two);
    assert_eq!(plan("(pk = 'a' OR pk IN ['b']) AND x = 1", true), two);
    assert_eq!(
        plan("pk IN ['a', 'b'] AND sk < 3", true),
        Access::Partitions(vec![s("a"), s("b")], Some(RangeCondition::Lt(n(3))))
    );
    assert_eq!(plan("pk IN ['a']", true), Access::Partition(s("a"), None));
    // Any other disjunct, or a value of another type, leaves a Scan.
    assert_eq!(plan("pk = 'a' OR x = 1", false), Access::Scan);
    assert_eq!(plan("pk IN ['a', 1]", false), Access::Scan);
    assert_eq!(access(None, &schema(false)), Access::Scan);
}

#[test]
fn a_writes_extra_condition_leaves_out_the_key() {
    let statement = ok("DELETE FROM t WHERE pk = 'a' AND v > 1 AND sk = 2");
    let extra = extra_condition(where_of(&statement), &schema(true));
    assert_eq!(
        extra,
        Some(Cond::Compare(
            CmpOp::Gt,
            Operand::Path(path(&["v"])),
            Operand::Value(n(1))
        ))
    );
    let bare = ok("DELETE FROM t WHERE pk = 'a' AND sk = 2");
    assert_eq!(extra_condition(where_of(&bare), &schema(true)), None);
    assert_eq!(key_of(Some(where_of(&bare)), &schema(true)).map(|k| k.len()), Some(2));
    let partial = ok("DELETE FROM t WHERE pk = 'a'");
    assert_eq!(key_of(Some(where_of(&partial)), &schema(true)), None);
}

#[test]
fn an_update_may_not_change_a_path_twice() {
    assert_eq!(
        err("UPDATE t SET a = 1, a.b = 2 WHERE pk = 'x'", &[]),
        "Two document paths overlap with each other; must remove or rewrite one of these paths; \
         path one: [a], path two: [a, b]"
    );
    assert_eq!(
        err("UPDATE t SET a[0] = 1 REMOVE a.b WHERE pk = 'x'", &[]),
        "Two document paths conflict with each other; must remove or rewrite one of these paths; \
         path one: [a, [0]], path two: [a, b]"
    );
    // An overlap anywhere outranks an earlier conflict.
    let both = err("UPDATE t SET a[0] = 1, a.b = 2, c = 3 REMOVE c WHERE pk = 'x'", &[]);
    assert!(both.starts_with("Two document paths overlap"), "{both}");
    ok("UPDATE t SET a.b = 1, a.c = 2 REMOVE d[1] WHERE pk = 'x'");
}

#[test]
fn exists_plans_a_condition_check() {
    let refused = "EXISTS() must contain a single item read with additional condition";
    for text in [
        "EXISTS(SELECT * FROM \"t\" WHERE pk = 'a' AND sk = 1)",
        "EXISTS(SELECT * FROM t WHERE pk = 'a' AND v = 1)",
    ] {
        let statement = ok(text);
        assert!(!statement.is_read());
        assert_eq!(
            write_plan(&statement, &schema(true)).unwrap_err().to_string(),
            refused,
            "{text}"
        );
    }
    let extra = ok("exists (SELECT pk FROM t WHERE pk = 'a' AND sk = 1 AND v > 2)");
    let plan = write_plan(&extra, &schema(true)).unwrap().unwrap();
    assert_eq!(plan.change, Change::Check);
    assert_eq!(plan.key, Item::from([("pk".into(), s("a")), ("sk".into(), n(1))]));
    let v_above_2 = Cond::Compare(CmpOp::Gt, Operand::Path(path(&["v"])), Operand::Value(n(2)));
    assert_eq!(
        plan.condition,
        Some(Cond::And(
            Box::new(Cond::AttributeExists(path(&["pk"]))),
            Box::new(v_above_2)
        ))
    );

    let prefix = "Statement wasn't well formed, can't be processed: ";
    assert_eq!(
        err("EXISTS(SELECT * FROM t WHERE pk = 'a'", &[]),
        format!("{prefix}Unexpected end of statement")
    );
    assert_eq!(
        err("EXISTS(DELETE FROM t WHERE pk = 'a')", &[]),
        format!("{prefix}Unexpected keyword")
    );
}

#[test]
fn from_clauses_name_at_most_a_table_and_an_index() {
    assert_eq!(
        err("SELECT * FROM \"t\".\"i\".\"x\" WHERE pk = 'p'", &[]),
        "A path may contain at most 2 components in the FROM clause"
    );
    for text in [
        "SELECT * FROM \"t\".\"\" WHERE pk = 'p'",
        "SELECT * FROM \"\" WHERE pk = 'p'",
        "DELETE FROM \"\" WHERE pk = 'p'",
    ] {
        assert_eq!(err(text, &[]), "Path component cannot be an empty string", "{text}");
    }
}

#[test]
fn ordering_refuses_values_without_an_order() {
    let message = |op: &str, ty: &str| {
        format!("Incorrect operand type for operator or function; operator or function: {op}, operand type: {ty}")
    };
    for op in ["<", "<=", ">", ">="] {
        let text = format!("SELECT * FROM t WHERE pk = 'x' AND val {op} ?");
        assert_eq!(err(&text, &[V::Bool(true)]), message(op, "BOOL"), "{text}");
    }
    let unordered = [
        (V::Null, "NULL"),
        (V::L(vec![s("a")]), "L"),
        (V::M(Item::from([("a".into(), s("b"))])), "M"),
        (V::Ss(vec!["a".into()]), "SS"),
    ];
    for (value, ty) in unordered {
        assert_eq!(err("SELECT * FROM t WHERE ? > val", &[value]), message(">", ty));
    }
    assert_eq!(
        err(
            "SELECT * FROM t WHERE val BETWEEN ? AND ?",
            &[V::Bool(true), V::Bool(false)]
        ),
        message("BETWEEN", "BOOL")
    );
    assert_eq!(err("SELECT * FROM t WHERE val < true", &[]), message("<", "BOOL"));
    // Equality takes every type, and ordering a string against a number is
    // no error (it just never holds).
    ok("SELECT * FROM t WHERE val = true AND val <> [1] AND val < 'a' AND val >= 5");
}

#[test]
fn a_projection_answers_each_path_under_its_last_name() {
    let item: Item = Item::from([
        ("pk".into(), s("a")),
        ("m".into(), V::M(Item::from([("x".into(), n(1)), ("y".into(), n(2))]))),
        ("l".into(), V::L(vec![n(0), s("one"), n(2)])),
    ]);
    let paths = |text: &str| match ok(&format!("SELECT {text} FROM t")) {
        Statement::Select(select) => select.projection.unwrap_or_default(),
        _ => panic!("a SELECT"),
    };
    assert_eq!(
        project(&paths("pk, m.x, l[1], l[2]"), &item),
        Item::from([
            ("pk".into(), s("a")),
            ("x".into(), n(1)),
            ("l".into(), V::L(vec![s("one"), n(2)])),
        ])
    );
    assert_eq!(project(&paths("m.gone, l.x, nope"), &item), Item::new());
}

#[test]
fn grammar_follows_dynamodbs_parser() {
    let prefix = "Statement wasn't well formed, can't be processed: ";
    let leftover = format!("{prefix}Unexpected token after expression");
    for text in [
        "SELECT * FROM t WHERE pk = 1 e5",
        "INSERT INTO t VALUE {'pk': 1} foo",
        "UPDATE t SET a = 9 WHERE pk = 2 foo",
        "DELETE FROM t WHERE pk = 3 ORDER BY pk",
        "SELECT * FROM t ORDER BY pk WHERE pk = 1",
        "SELECT * FROM t WHERE pk = 1)",
        "INSERT INTO \"t\" x VALUE {'pk': 'x'}",
    ] {
        assert_eq!(err(text, &[]), leftover, "{text}");
    }
    for text in [
        "SELECT * FROM \"t\" x WHERE pk = 'x'",
        "SELECT * FROM t AS x WHERE pk = 'x'",
        "UPDATE \"t\" x SET a = 3 WHERE pk = 'x'",
        "DELETE FROM t x WHERE pk = 'x'",
    ] {
        assert_eq!(err(text, &[]), "Aliasing is not supported", "{text}");
    }
    for text in [
        "SELECT * FROM t WHERE pk = 1e2147483648",
        "SELECT * FROM t WHERE pk = 1.5e-2147483647",
        "SELECT * FROM t WHERE pk = 1 # note",
        "SELECT * FROM t WHERE pk = 1 /* note",
    ] {
        assert_eq!(err(text, &[]), prefix, "{text}");
    }
    let overflow = "Number overflow. Attempting to store a number with magnitude larger than supported range";
    let underflow = "Number underflow. Attempting to store a number with magnitude smaller than supported range";
    let cases = [
        ("SELECT * FROM t WHERE pk = 1e126", format!("{overflow} under root")),
        (
            "UPDATE t SET a = 1e-131 WHERE pk = 5",
            format!("{underflow} under root"),
        ),
        ("INSERT INTO t VALUE {'pk': 1e126}", format!("{overflow} under root")),
        (
            "INSERT INTO t VALUE {'pk': 6, 'm': {'x': 1e126}}",
            format!("{overflow} under root.x"),
        ),
        (
            "INSERT INTO t VALUE {'pk': 7, 'l': [1, {'y': [-1e126]}]}",
            format!("{overflow} under root[1].y[0]"),
        ),
        (
            "SELECT * FROM t WHERE pk = 123456789012345678901234567890123456789",
            "Attempting to store more than 38 significant digits in a Number under root".to_string(),
        ),
    ];
    for (text, message) in cases {
        assert_eq!(err(text, &[]), message, "{text}");
    }
    // Comments are white space; numbers may drop the leading digit.
    let Statement::Select(select) = ok("-- a note\nSELECT * /* x */ FROM t -- b\nWHERE pk = -.73e1 -- c") else {
        panic!("a SELECT");
    };
    let minus_7_3 = Operand::Value(V::N(Number::parse("-7.3").unwrap()));
    assert_eq!(
        select.condition,
        Some(Cond::Compare(CmpOp::Eq, Operand::Path(path(&["pk"])), minus_7_3))
    );
    for literal in ["7.31E6", "7.31e+6", "731e4", "73100000e-1", ".731e7"] {
        let Statement::Insert(insert) = ok(&format!("INSERT INTO t VALUE {{'pk': {literal}}}")) else {
            panic!("an INSERT");
        };
        assert_eq!(insert.item.get("pk"), Some(&n(7_310_000)), "{literal}");
    }
}

#[test]
fn attribute_exists_and_not_exists_are_conditions() {
    let item: Item = Item::from([
        ("pk".into(), s("a")),
        ("m".into(), V::M(Item::from([("sub".into(), s("x"))]))),
    ]);
    let holds = |condition: &str| {
        let statement = ok(&format!("SELECT * FROM t WHERE pk = 'a' AND {condition}"));
        evaluate(where_of(&statement), &item)
    };
    for (condition, expected) in [
        ("attribute_exists(m)", true),
        ("ATTRIBUTE_EXISTS(\"m\")", true),
        ("attribute_exists(m.sub)", true),
        ("attribute_exists(m.nope)", false),
        ("attribute_not_exists(nope)", true),
        ("NOT attribute_exists(nope)", true),
        ("(attribute_exists(nope) OR attribute_exists(m))", true),
        ("attribute_exists(m) = true", true),
        ("attribute_exists(m) = false", false),
        ("attribute_not_exists(m) <> true", true),
        ("begins_with(pk, 'a') = TRUE", true),
    ] {
        assert_eq!(holds(condition), expected, "{condition}");
    }
    let where_ = |condition: &str| format!("SELECT * FROM t WHERE pk = 'a' AND {condition}");
    let path = "Operator or function requires a document path; operator or function: attribute_exists";
    assert_eq!(err(&where_("attribute_exists('ss')"), &[]), path);
    assert_eq!(err(&where_("attribute_exists(?)"), &[s("ss")]), path);
    let count = |name: &str, n: usize| {
        format!(
            "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {n}"
        )
    };
    assert_eq!(err(&where_("attribute_exists()"), &[]), count("attribute_exists", 0));
    assert_eq!(
        err(&where_("attribute_not_exists(a, b)"), &[]),
        count("attribute_not_exists", 2)
    );
    assert_eq!(err(&where_("begins_with(a)"), &[]), count("begins_with", 1));
}
