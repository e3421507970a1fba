//! Bridge from a request's parameters to the expression language: one set
//! of placeholders per request, DynamoDB's rules on mixing expression and
//! legacy parameters, and the engine's `Precondition` / `Mutator` traits
//! implemented by parsed conditions and updates.

use serde_json::Value;

use super::error::ApiError;
use super::request::{Request, ValueFaults};
use crate::engine::{Mutator, Precondition, SortCondition};
pub use crate::expr::Projection;
use crate::expr::{
    Condition, ConditionKind, ExprError, Placeholders, RequestParameters, UpdateExpr, check_request_parameters, legacy,
    parse_condition, parse_key_condition, parse_projection, parse_update,
};
use crate::model::{AttributeValue, Item, KeySchema};

impl From<ExprError> for ApiError {
    fn from(error: ExprError) -> ApiError {
        ApiError::validation(error.to_string())
    }
}

impl Precondition for Condition {
    fn holds(&self, item: &Item) -> Result<bool, String> {
        self.evaluate(item).map_err(|e| e.to_string())
    }
}

impl Mutator for UpdateExpr {
    fn apply(&self, item: &mut Item, key_attributes: &[&str]) -> Result<(), String> {
        UpdateExpr::apply(self, item, key_attributes).map_err(|e| e.to_string())
    }

    fn creates_missing_item(&self) -> bool {
        UpdateExpr::creates_missing_item(self)
    }
}

/// Which parameters an operation accepts, in DynamoDB's documented order
/// (the order its messages list them in).
pub struct ParameterSet {
    pub expressions: &'static [&'static str],
    pub legacy: &'static [&'static str],
    /// How the operation words a bad number or a duplicate set member in
    /// ExpressionAttributeValues.
    pub value_faults: ValueFaults,
}

impl ParameterSet {
    /// Whether `Expressions::new` reads or checks the request member
    /// `name` for an operation accepting these parameters.
    fn reads(&self, name: &str) -> bool {
        const SHARED: [&str; 4] = [
            "ExpressionAttributeNames",
            "ExpressionAttributeValues",
            "ConditionalOperator",
            "ReturnItemCollectionMetrics",
        ];
        let listed = |list: &[&str]| list.contains(&name);
        listed(self.expressions) || listed(self.legacy) || listed(&SHARED) || name == "KeyConditionExpression"
    }
}

/// PutItem and DeleteItem.
pub const CONDITIONAL_WRITE: ParameterSet = ParameterSet {
    expressions: &["ConditionExpression"],
    legacy: &["Expected", "ConditionalOperator"],
    value_faults: ValueFaults::Enveloped,
};
/// UpdateItem.
pub const UPDATE: ParameterSet = ParameterSet {
    expressions: &["UpdateExpression", "ConditionExpression"],
    legacy: &["AttributeUpdates", "Expected", "ConditionalOperator"],
    value_faults: ValueFaults::Enveloped,
};
/// GetItem and BatchGetItem's per-table parameters.
pub const READ: ParameterSet = ParameterSet {
    expressions: &["ProjectionExpression"],
    legacy: &["AttributesToGet"],
    value_faults: ValueFaults::Bare,
};
/// Query.
pub const QUERY: ParameterSet = ParameterSet {
    expressions: &["ProjectionExpression", "FilterExpression", "KeyConditionExpression"],
    legacy: &["AttributesToGet", "QueryFilter", "ConditionalOperator", "KeyConditions"],
    value_faults: ValueFaults::Bare,
};
/// Scan.
pub const SCAN: ParameterSet = ParameterSet {
    expressions: &["ProjectionExpression", "FilterExpression"],
    legacy: &["AttributesToGet", "ScanFilter", "ConditionalOperator"],
    value_faults: ValueFaults::Wrapped,
};

/// Checks the enum members the expression parameters come with, whether or
/// not the parameters they qualify are present, as DynamoDB does: a value
/// of another JSON type is a SerializationException, a string outside the
/// enum a ValidationException. `ConditionalOperator` goes with the legacy
/// conditions; `ReturnItemCollectionMetrics` with every single-item write
/// (the sets that accept `Expected`).
fn check_enums(req: &Request, params: &ParameterSet) -> Result<(), ApiError> {
    let mut enums: Vec<(&str, &str, &[&str])> = Vec::new();
    if params.legacy.contains(&"ConditionalOperator") {
        enums.push(("ConditionalOperator", "conditionalOperator", &["OR", "AND"]));
    }
    if params.legacy.contains(&"Expected") {
        enums.push((
            "ReturnItemCollectionMetrics",
            "returnItemCollectionMetrics",
            &["SIZE", "NONE"],
        ));
    }
    for (name, member, allowed) in enums {
        if let Some(value) = req.opt_str(name)?
            && !allowed.contains(&value)
        {
            let constraint = format!("Member must satisfy enum value set: [{}]", allowed.join(", "));
            return Err(ApiError::constraint(&format!("'{value}'"), member, &constraint));
        }
    }
    Ok(())
}

/// ConditionalOperator joins two or more legacy conditions (`Expected`,
/// `QueryFilter` or `ScanFilter`): without them, or with one, DynamoDB
/// refuses it.
fn check_conditional_operator(req: &Request, params: &ParameterSet) -> Result<(), ApiError> {
    if !params.legacy.contains(&"ConditionalOperator") || !req.has("ConditionalOperator") {
        return Ok(());
    }
    let conditions = params
        .legacy
        .iter()
        .filter(|name| matches!(**name, "Expected" | "QueryFilter" | "ScanFilter"))
        .filter_map(|name| req.get(name).and_then(Value::as_object))
        .map(|conditions| conditions.len())
        .max()
        .unwrap_or(0);
    match conditions {
        0 => Err(ApiError::validation(
            "ConditionalOperator cannot be used without Filter or Expected",
        )),
        1 => Err(ApiError::validation(
            "ConditionalOperator can only be used when Filter or Expected has two or more elements",
        )),
        _ => Ok(()),
    }
}

/// The expressions of one request, sharing its placeholders.
pub struct Expressions {
    placeholders: Placeholders,
}

impl Expressions {
    /// Reads the placeholders and checks the request-level rules for an
    /// operation accepting `params`.
    pub fn new(req: &Request, params: &ParameterSet) -> Result<Expressions, ApiError> {
        if !req.member_names().any(|name| params.reads(name)) {
            // Nothing to read or check (the checks below would all pass):
            // most requests, and every PutItem of a plain item.
            return Ok(Expressions {
                placeholders: Placeholders::new(None, None),
            });
        }
        check_enums(req, params)?;
        let names = req.attribute_names()?;
        let values = req.attribute_values(params.value_faults)?;
        let present = |list: &'static [&'static str]| list.iter().map(|n| (*n, req.has(n))).collect::<Vec<_>>();
        let (expressions, mut legacy) = (present(params.expressions), present(params.legacy));
        // KeyConditions goes with ProjectionExpression and FilterExpression:
        // only KeyConditionExpression beside it is a mix.
        if !req.has("KeyConditionExpression") {
            legacy.retain(|(name, _)| *name != "KeyConditions");
        }
        check_request_parameters(&RequestParameters {
            expressions: &expressions,
            legacy: &legacy,
            names: names.as_ref(),
            values: values.as_ref(),
        })?;
        check_conditional_operator(req, params)?;
        Ok(Expressions {
            placeholders: Placeholders::new(names, values),
        })
    }

    fn conditional_operator(req: &Request) -> Result<Option<&str>, ApiError> {
        req.opt_str("ConditionalOperator")
    }

    /// ConditionExpression or Expected (+ ConditionalOperator).
    pub fn write_condition(&mut self, req: &Request) -> Result<Option<Box<dyn Precondition>>, ApiError> {
        if let Some(text) = req.opt_str("ConditionExpression")? {
            let condition = parse_condition(text, ConditionKind::Condition, &mut self.placeholders)?;
            return Ok(Some(Box::new(condition)));
        }
        if let Some(expected) = req.get("Expected") {
            let condition = legacy::expected(expected, Self::conditional_operator(req)?)?;
            return Ok(Some(Box::new(condition)));
        }
        Ok(None)
    }

    /// UpdateExpression or AttributeUpdates (none: the item is only created
    /// with its key), and the projection of updated attributes for
    /// UPDATED_OLD / UPDATED_NEW.
    pub fn update(&mut self, req: &Request) -> Result<(Box<dyn Mutator>, Projection), ApiError> {
        let update = if let Some(text) = req.opt_str("UpdateExpression")? {
            parse_update(text, &mut self.placeholders)?
        } else if let Some(updates) = req.get("AttributeUpdates") {
            legacy::attribute_updates(updates)?
        } else {
            legacy::attribute_updates(&Value::Object(Default::default()))?
        };
        let updated = update.updated_projection();
        Ok((Box::new(update), updated))
    }

    /// ProjectionExpression or AttributesToGet.
    pub fn projection(&mut self, req: &Request) -> Result<Option<Projection>, ApiError> {
        if let Some(text) = req.opt_str("ProjectionExpression")? {
            return Ok(Some(parse_projection(text, &mut self.placeholders)?));
        }
        if let Some(names) = req.get("AttributesToGet") {
            return Ok(Some(legacy::attributes_to_get(names)?));
        }
        Ok(None)
    }

    /// KeyConditionExpression or KeyConditions: the partition key value and
    /// the sort key condition.
    pub fn key_condition(
        &mut self,
        req: &Request,
        schema: &KeySchema,
    ) -> Result<(AttributeValue, Option<SortCondition>), ApiError> {
        let condition = if let Some(text) = req.opt_str("KeyConditionExpression")? {
            parse_key_condition(text, schema, &mut self.placeholders)?
        } else if let Some(conditions) = req.get("KeyConditions") {
            legacy::key_conditions(conditions, schema)?
        } else {
            return Err(ApiError::validation(
                "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
            ));
        };
        Ok((condition.hash, condition.range))
    }

    /// FilterExpression or the legacy filter member (`QueryFilter` /
    /// `ScanFilter`). For Query, a filter may not name key attributes.
    pub fn filter(
        &mut self,
        req: &Request,
        legacy_member: &str,
        key_schema: Option<&KeySchema>,
    ) -> Result<Option<Box<dyn Precondition>>, ApiError> {
        let condition = if let Some(text) = req.opt_str("FilterExpression")? {
            parse_condition(text, ConditionKind::Filter, &mut self.placeholders)?
        } else if let Some(filter) = req.get(legacy_member) {
            legacy::filter(filter, Self::conditional_operator(req)?)?
        } else {
            return Ok(None);
        };
        if let Some(schema) = key_schema {
            let names = condition.attribute_names();
            if let Some(key) = schema.names().find(|k| names.contains(k)) {
                return Err(ApiError::validation(format!(
                    "Filter Expression can only contain non-primary key attributes: Primary key attribute: {key}"
                )));
            }
        }
        Ok(Some(Box::new(condition)))
    }

    /// Checks every placeholder was used.
    pub fn finish(self) -> Result<(), ApiError> {
        Ok(self.placeholders.check_all_used()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(body: &str, params: &ParameterSet) -> Result<(), String> {
        let req = Request::parse(body.as_bytes()).map_err(|e| e.message)?;
        Expressions::new(&req, params).map(drop).map_err(|e| e.message)
    }

    /// A request naming no member the checks read skips them; one member
    /// they read, even alone, is checked as before.
    #[test]
    fn only_requests_without_expression_members_skip_the_checks() {
        for params in [&CONDITIONAL_WRITE, &UPDATE, &READ, &QUERY, &SCAN] {
            assert_eq!(new(r#"{"TableName":"t","ReturnValues":"NONE"}"#, params), Ok(()));
            assert_eq!(
                new(r##"{"TableName":"t","ExpressionAttributeNames":{"#a":"a"}}"##, params),
                Err("ExpressionAttributeNames can only be specified when using expressions".into())
            );
        }
        assert_eq!(
            new(
                r#"{"TableName":"t","ReturnItemCollectionMetrics":"ALL"}"#,
                &CONDITIONAL_WRITE
            ),
            Err(
                "1 validation error detected: Value 'ALL' at 'returnItemCollectionMetrics' failed to satisfy \
                 constraint: Member must satisfy enum value set: [SIZE, NONE]"
                    .into()
            )
        );
        assert_eq!(
            new(r#"{"TableName":"t","ConditionalOperator":"AND"}"#, &CONDITIONAL_WRITE),
            Err("ConditionalOperator cannot be used without Filter or Expected".into())
        );
        assert_eq!(
            new(
                r#"{"TableName":"t","KeyConditionExpression":"a = b","KeyConditions":{}}"#,
                &QUERY
            ),
            Err(
                "Can not use both expression and non-expression parameters in the same request: \
                 Non-expression parameters: {KeyConditions} Expression parameters: {KeyConditionExpression}"
                    .into()
            )
        );
    }
}
