//! Resource-based policies: PutResourcePolicy, GetResourcePolicy and
//! DeleteResourcePolicy on tables, stored per region in [`Settings`] (DynamoDB
//! does not replicate a table's policy to its other replicas) with a
//! `RevisionId` that rises with every change. They are validated, stored
//! and returned here, and handed to the authorization layer
//! (`crate::auth::Auth`), which enforces them beside the users' own
//! policies when requests are signed (`auth = "sigv4"`).

use serde_json::{Value, json};

use super::error::{ApiError, ErrorKind};
use super::insights::now_ms;
use super::request::Request;
use super::settings::{Settings, SettingsDoc, StoredPolicy};
use crate::auth::Auth;
use crate::config::NodeConfig;
use crate::engine::Engine;
use crate::model::TableMeta;

/// Largest policy document, bytes (DynamoDB's 20 KB).
const MAX_POLICY_BYTES: usize = 20 * 1024;

/// The `ExpectedRevisionId` that asks for no policy to be present.
const NO_POLICY: &str = "NO_POLICY";

/// The table a `ResourceArn` names, which must exist in this region.
async fn table_of(engine: &Engine, req: &Request) -> Result<(String, TableMeta), ApiError> {
    let arn = req.str("ResourceArn")?;
    let Some(name) = super::backups::table_from_arn(engine.region(), arn) else {
        return Err(if arn.starts_with("arn:aws:dynamodb:") {
            ApiError::new(
                ErrorKind::ResourceNotFound,
                format!("Requested resource not found: ResourceArn: {arn} not found"),
            )
        } else {
            ApiError::validation(format!("Invalid ResourceArn provided as input {arn}"))
        });
    };
    let meta = engine.describe_table(name).await?;
    Ok((arn.to_string(), meta))
}

/// The table's current policy (one left by an earlier table of the same
/// name does not count).
fn current<'a>(doc: &'a SettingsDoc, arn: &str, meta: &TableMeta) -> Option<&'a StoredPolicy> {
    doc.policies.get(arn).filter(|p| p.table_id == meta.table_id)
}

fn not_found(arn: &str) -> ApiError {
    ApiError::new(
        ErrorKind::PolicyNotFound,
        format!("Resource-based policy not found for the provided ResourceArn: {arn}"),
    )
}

/// Checks `ExpectedRevisionId` against the policy there is.
fn check_expected(expected: Option<&str>, arn: &str, present: Option<&StoredPolicy>) -> Result<(), ApiError> {
    match (expected, present) {
        (None, _) | (Some(NO_POLICY), None) => Ok(()),
        (Some(e), Some(p)) if e == p.revision => Ok(()),
        (Some(e), Some(p)) => Err(ApiError::new(
            ErrorKind::PolicyNotFound,
            format!(
                "Resource-based policy not found for the provided ResourceArn: Requested update for policy with \
                 revision id {e}, but the policy associated to target resource {arn} has revision id {}.",
                p.revision
            ),
        )),
        (Some(_), None) => Err(not_found(arn)),
    }
}

/// Checks that `policy` is a JSON policy document within the size limit.
pub(super) fn validate_policy(policy: &str) -> Result<(), ApiError> {
    if policy.len() > MAX_POLICY_BYTES {
        return Err(ApiError::validation(format!(
            "Resource-based policy size {} exceeds the maximum of {MAX_POLICY_BYTES} bytes",
            policy.len()
        )));
    }
    let document: Value = serde_json::from_str(policy)
        .map_err(|_| ApiError::validation("Invalid policy document: the policy is not valid JSON"))?;
    match document.get("Statement") {
        Some(Value::Array(_)) | Some(Value::Object(_)) => {}
        _ => {
            return Err(ApiError::validation(
                "Invalid policy document: the policy must have a Statement",
            ));
        }
    }
    crate::auth::policy::Policy::parse_resource(policy)
        .map(|_| ())
        .map_err(|reason| ApiError::validation(format!("Invalid policy document: {reason}")))
}

/// Hands a table's policy (`None`: removed) to the authorization layer,
/// when the region authorizes requests. The policy was validated.
fn publish(auth: Option<&Auth>, arn: &str, meta: &TableMeta, policy: Option<&str>) {
    if let Some(auth) = auth
        && let Err(reason) = auth.set_resource_policy(arn, &meta.table_id, policy)
    {
        tracing::warn!(%arn, %reason, "a resource-based policy cannot be enforced");
    }
}

/// Hands every stored policy to the authorization layer (at start).
pub async fn load(auth: &Auth, settings: &Settings) {
    for (arn, stored) in settings.read().await.policies {
        if let Err(reason) = auth.set_resource_policy(&arn, &stored.table_id, Some(&stored.policy)) {
            tracing::warn!(%arn, %reason, "a stored resource-based policy cannot be enforced");
        }
    }
}

/// CreateTable. Its ResourcePolicy is checked before the table is
/// created and attached once it exists, as PutResourcePolicy would attach
/// it; the response is CreateTable's (no RevisionId).
pub async fn handle_create_table(
    engine: &Engine,
    config: &NodeConfig,
    settings: &Settings,
    auth: Option<&Auth>,
    req: Request,
) -> Result<Value, ApiError> {
    let policy = req.opt_str("ResourcePolicy")?;
    if let Some(policy) = policy {
        validate_policy(policy)?;
    }
    let meta = super::tables::create_table(engine, config, &req).await?;
    let region = engine.region();
    if let Some(policy) = policy {
        let arn = meta.arn(region);
        let stored = StoredPolicy {
            table_id: meta.table_id.clone(),
            policy: policy.to_string(),
            revision: now_ms().to_string(),
        };
        settings
            .update(|doc| {
                doc.policies.insert(arn.clone(), stored);
                Ok(())
            })
            .await?;
        publish(auth, &arn, &meta, Some(policy));
    }
    Ok(json!({ "TableDescription": super::tables::describe(&meta, region) }))
}

/// PutResourcePolicy.
pub async fn handle_put_resource_policy(
    engine: &Engine,
    settings: &Settings,
    auth: Option<&Auth>,
    req: Request,
) -> Result<Value, ApiError> {
    let policy = req.str("Policy")?.to_string();
    validate_policy(&policy)?;
    req.opt_bool("ConfirmRemoveSelfResourceAccess")?;
    let expected = req.opt_str("ExpectedRevisionId")?.map(str::to_string);
    let (arn, meta) = table_of(engine, &req).await?;
    let revision = settings
        .update(|doc| {
            let present = current(doc, &arn, &meta);
            check_expected(expected.as_deref(), &arn, present)?;
            let previous = present.and_then(|p| p.revision.parse::<u64>().ok()).unwrap_or(0);
            let revision = now_ms().max(previous + 1).to_string();
            doc.policies.insert(
                arn.clone(),
                StoredPolicy {
                    table_id: meta.table_id.clone(),
                    policy: policy.clone(),
                    revision: revision.clone(),
                },
            );
            Ok(revision)
        })
        .await?;
    publish(auth, &arn, &meta, Some(&policy));
    Ok(json!({ "RevisionId": revision }))
}

/// GetResourcePolicy.
pub async fn handle_get_resource_policy(engine: &Engine, settings: &Settings, req: Request) -> Result<Value, ApiError> {
    let (arn, meta) = table_of(engine, &req).await?;
    let doc = settings.read().await;
    let policy = current(&doc, &arn, &meta).ok_or_else(|| not_found(&arn))?;
    Ok(json!({ "Policy": policy.policy, "RevisionId": policy.revision }))
}

/// DeleteResourcePolicy: answers with the revision of the policy removed.
pub async fn handle_delete_resource_policy(
    engine: &Engine,
    settings: &Settings,
    auth: Option<&Auth>,
    req: Request,
) -> Result<Value, ApiError> {
    let expected = req.opt_str("ExpectedRevisionId")?.map(str::to_string);
    let (arn, meta) = table_of(engine, &req).await?;
    let revision = settings
        .update(|doc| {
            let present = current(doc, &arn, &meta).ok_or_else(|| not_found(&arn))?;
            check_expected(expected.as_deref(), &arn, Some(present))?;
            let revision = present.revision.clone();
            doc.policies.remove(&arn);
            Ok(revision)
        })
        .await?;
    publish(auth, &arn, &meta, None);
    Ok(json!({ "RevisionId": revision }))
}
