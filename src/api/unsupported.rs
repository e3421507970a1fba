//! Members of the table requests that ask for DynamoDB features Meridian
//! does not have: refused with a ValidationException that names them,
//! never accepted and silently ignored (README, "Compatibility and limits").
//!
//! - multi-Region strong consistency (`MultiRegionConsistency` `STRONG`)
//!   and its witness Regions: replicas are eventually consistent, last
//!   writer wins;
//! - multi-account global tables (`GlobalTableSourceArn`, and a settings
//!   replication mode other than the same-account one);
//! - vector indexes (`VectorIndexes`, `VectorIndexUpdates`,
//!   `VectorIndexOverride`).

use super::error::ApiError;
use super::request::Request;

/// The settings replication modes of `GlobalTableSettingsReplicationMode`.
const SETTINGS_MODES: [&str; 3] = ["ENABLED", "DISABLED", "ENABLED_WITH_OVERRIDES"];
/// The one Meridian has: DynamoDB's default for a same-account global
/// table, where every replica takes the table's settings and some may be
/// overridden per replica.
const SAME_ACCOUNT_MODE: &str = "ENABLED_WITH_OVERRIDES";
/// The consistency modes of `MultiRegionConsistency`.
const CONSISTENCY_MODES: [&str; 2] = ["EVENTUAL", "STRONG"];
/// The one Meridian has.
const EVENTUAL: &str = "EVENTUAL";

/// `feature` is refused. The wording says "is not supported", which
/// conformance tooling (and people) read as a feature left out, not as a
/// malformed request.
fn refuse(feature: &str) -> ApiError {
    ApiError::validation(format!("{feature} is not supported by Meridian yet"))
}

/// `feature` is refused, saying what to use `instead`.
pub(super) fn refuse_instead(feature: &str, instead: &str) -> ApiError {
    ApiError::validation(format!("{feature} is not supported by Meridian yet; {instead}"))
}

/// The first of `members` the request has, refused.
pub(super) fn refuse_members(req: &Request, members: &[&str]) -> Result<(), ApiError> {
    match members.iter().find(|m| req.has(m)) {
        Some(member) => Err(refuse(member)),
        None => Ok(()),
    }
}

/// `GlobalTableSettingsReplicationMode`, if given: a valid mode, and the
/// same-account one.
fn check_settings_mode(req: &Request) -> Result<(), ApiError> {
    match req.opt_enum("GlobalTableSettingsReplicationMode", &SETTINGS_MODES)? {
        Some(mode) if mode != SAME_ACCOUNT_MODE => Err(refuse(&format!(
            "GlobalTableSettingsReplicationMode {mode} (multi-account global tables)"
        ))),
        _ => Ok(()),
    }
}

/// What CreateTable and ImportTable's `TableCreationParameters` may ask
/// for that Meridian does not have.
pub fn check_create(req: &Request) -> Result<(), ApiError> {
    refuse_members(req, &["VectorIndexes", "GlobalTableSourceArn"])?;
    check_settings_mode(req)
}

/// What UpdateTable may ask for that Meridian does not have.
pub fn check_update(req: &Request) -> Result<(), ApiError> {
    refuse_members(req, &["VectorIndexUpdates", "GlobalTableWitnessUpdates"])?;
    if let Some(mode) = req.opt_enum("MultiRegionConsistency", &CONSISTENCY_MODES)?
        && mode != EVENTUAL
    {
        return Err(refuse(&format!(
            "MultiRegionConsistency {mode} (replicas are eventually consistent, the last writer wins)"
        )));
    }
    check_settings_mode(req)
}

/// What RestoreTableFromBackup and RestoreTableToPointInTime may ask for
/// that Meridian does not have (vector indexes, on-demand maximums of the
/// restored table).
pub fn check_restore(req: &Request) -> Result<(), ApiError> {
    refuse_members(req, &["VectorIndexOverride", "OnDemandThroughputOverride"])
}
