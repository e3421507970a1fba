//! Bridge from request parameters to expressions. Interim version: top-level
//! projections and equality key conditions only; the full expression
//! language replaces it.

use std::collections::HashMap;

use super::error::ApiError;
use super::request::Request;
use crate::engine::{Mutator, Precondition, SortCondition};
use crate::model::{AttributeValue, Item, KeySchema};

/// A projection: which attributes to return.
pub struct Projection(Vec<String>);

impl Projection {
    /// The projected item.
    pub fn apply(&self, item: &Item) -> Item {
        self.0
            .iter()
            .filter_map(|n| item.get(n).map(|v| (n.clone(), v.clone())))
            .collect()
    }
}

/// The expressions of one request, sharing its placeholders.
pub struct Expressions {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

fn unsupported(member: &str) -> ApiError {
    ApiError::validation(format!("{member} is not supported by this build"))
}

impl Expressions {
    /// Reads ExpressionAttributeNames / ExpressionAttributeValues.
    pub fn new(req: &Request) -> Result<Expressions, ApiError> {
        Ok(Expressions {
            names: req.attribute_names()?.unwrap_or_default(),
            values: req.attribute_values()?.unwrap_or_default(),
        })
    }

    fn name(&self, token: &str) -> Result<String, ApiError> {
        match token.strip_prefix('#') {
            Some(_) => self.names.get(token).cloned().ok_or_else(|| {
                ApiError::validation(format!(
                    "An expression attribute name used in the document path is not defined; attribute name: {token}"
                ))
            }),
            None => Ok(token.to_string()),
        }
    }

    /// ConditionExpression / Expected.
    pub fn write_condition(&mut self, req: &Request) -> Result<Option<Box<dyn Precondition>>, ApiError> {
        for member in ["ConditionExpression", "Expected"] {
            if req.has(member) {
                return Err(unsupported(member));
            }
        }
        Ok(None)
    }

    /// UpdateExpression / AttributeUpdates: the change, and the projection of
    /// updated attributes for UPDATED_OLD / UPDATED_NEW.
    pub fn update(&mut self, req: &Request) -> Result<(Box<dyn Mutator>, Projection), ApiError> {
        for member in ["UpdateExpression", "AttributeUpdates"] {
            if req.has(member) {
                return Err(unsupported(member));
            }
        }
        Ok((Box::new(NoChange), Projection(Vec::new())))
    }

    /// ProjectionExpression / AttributesToGet.
    pub fn projection(&mut self, req: &Request) -> Result<Option<Projection>, ApiError> {
        if let Some(text) = req.opt_str("ProjectionExpression")? {
            let names = text.split(',').map(|t| self.name(t.trim())).collect::<Result<_, _>>()?;
            return Ok(Some(Projection(names)));
        }
        if let Some(list) = req.opt_array("AttributesToGet")? {
            return Ok(Some(Projection(
                list.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            )));
        }
        Ok(None)
    }

    /// KeyConditionExpression: `pk = :v` optionally `AND sk = :w`.
    pub fn key_condition(
        &mut self,
        req: &Request,
        schema: &KeySchema,
    ) -> Result<(AttributeValue, Option<SortCondition>), ApiError> {
        let text = req
            .opt_str("KeyConditionExpression")?
            .ok_or_else(|| unsupported("KeyConditions"))?;
        let mut hash = None;
        let mut sort = None;
        for part in text.split(" AND ") {
            let (lhs, rhs) = part
                .split_once('=')
                .ok_or_else(|| unsupported("this KeyConditionExpression"))?;
            let name = self.name(lhs.trim())?;
            let value = self.values.get(rhs.trim()).cloned().ok_or_else(|| {
                ApiError::validation(format!(
                    "An expression attribute value used in expression is not defined; attribute value: {}",
                    rhs.trim()
                ))
            })?;
            if name == schema.hash.name {
                hash = Some(value);
            } else if schema.range.as_ref().is_some_and(|r| r.name == name) {
                sort = Some(SortCondition::Eq(value));
            } else {
                return Err(ApiError::validation("Query condition missed key schema element"));
            }
        }
        let hash = hash.ok_or_else(|| {
            ApiError::validation(format!(
                "Query condition missed key schema element: {}",
                schema.hash.name
            ))
        })?;
        Ok((hash, sort))
    }

    /// FilterExpression / QueryFilter / ScanFilter.
    pub fn filter(&mut self, req: &Request, legacy: &str) -> Result<Option<Box<dyn Precondition>>, ApiError> {
        for member in ["FilterExpression", legacy] {
            if req.has(member) {
                return Err(unsupported(member));
            }
        }
        Ok(None)
    }

    /// Checks every placeholder was used.
    pub fn finish(self) -> Result<(), ApiError> {
        Ok(())
    }
}

struct NoChange;

impl Mutator for NoChange {
    fn apply(&self, _item: &mut Item, _keys: &[&str]) -> Result<(), String> {
        Ok(())
    }
}
