//! The rules of the recorded table settings (`model::table_settings`) when
//! UpdateTable changes them: a replica's table class, the table's and its
//! GSIs' warm throughput, and server-side encryption with KMS keys. Pure:
//! applied to a description inside `TableUpdate::apply`.

use crate::model::TableMeta;
use crate::model::table_settings::{ClassSetting, TableClass, TableSettings, WarmUnits};

/// Warm throughput asked for: a member left out keeps its value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WarmRequest {
    pub read: Option<u64>,
    pub write: Option<u64>,
}

impl WarmRequest {
    /// `current` with the members asked for.
    pub fn over(self, current: WarmUnits) -> WarmUnits {
        WarmUnits {
            read: self.read.unwrap_or(current.read),
            write: self.write.unwrap_or(current.write),
        }
    }
}

/// What an UpdateTable SSESpecification asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SseChange {
    /// Back to the AWS owned key (Enabled false).
    Owned,
    /// A KMS key for this region's replica: the ARN of the key given, or
    /// `None` for the AWS managed key.
    Kms(Option<String>),
}

/// A ReplicaUpdates `Create` or `Update`'s own settings for its replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaOverride {
    pub region: String,
    /// TableClassOverride.
    pub class: Option<TableClass>,
    /// KMSMasterKeyId, as an ARN.
    pub kms_key: Option<String>,
}

/// Why a `SettingsUpdate` cannot be applied: each a ValidationException
/// in DynamoDB, with these messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "One or more parameter values were invalid: WarmThroughput.{member} cannot be decreased: it is {current}, requested {asked}"
    )]
    WarmDecrease {
        member: &'static str,
        current: u64,
        asked: u64,
    },
    #[error("Table is already encrypted by default")]
    AlreadyOwnedKey,
    #[error(
        "One or more parameter values were invalid: KMSMasterKeyId can only be specified for a replica of a table encrypted with a KMS key"
    )]
    KmsKeyWithoutKms,
    #[error("One or more parameter values were invalid: Requested index not found: {0}")]
    NoSuchIndex(String),
    #[error("Update global table operation failed because one or more replicas were not part of the global table: {0}")]
    NoSuchReplica(String),
}

/// Where and when a change is made.
pub(super) struct ChangeSite<'a> {
    /// The region making the change.
    pub region: &'a str,
    /// Milliseconds since the Unix epoch.
    pub now_ms: u64,
}

/// The settings an UpdateTable changes; each part is optional.
#[derive(Clone, Debug, Default)]
pub struct SettingsUpdate {
    /// TableClass of the replica in the region making the change.
    pub class: Option<TableClass>,
    /// The table's WarmThroughput.
    pub warm: Option<WarmRequest>,
    /// GSIs' WarmThroughput (GlobalSecondaryIndexUpdates Create, Update).
    pub index_warm: Vec<(String, WarmRequest)>,
    pub sse: Option<SseChange>,
    pub replicas: Vec<ReplicaOverride>,
}

impl SettingsUpdate {
    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        self.class.is_none()
            && self.warm.is_none()
            && self.index_warm.is_empty()
            && self.sse.is_none()
            && self.replicas.is_empty()
    }
}

/// The settings of `meta`, created empty when it has none.
fn settings_mut(meta: &mut TableMeta) -> &mut TableSettings {
    meta.settings.get_or_insert_with(Default::default)
}

/// Records that the table sustained its current billing before a change
/// of billing: warm throughput never falls.
pub(super) fn keep_warm(meta: &mut TableMeta) {
    let warm = meta.warm();
    settings_mut(meta).warm = warm;
}

/// Applies `update` to `meta`, after the rest of the UpdateTable (new
/// replicas and indexes exist, deleted ones are gone). `created` are the
/// regions of replicas this update adds: they take this region's table
/// class unless they override it.
pub(super) fn apply(
    meta: &mut TableMeta,
    site: &ChangeSite<'_>,
    update: SettingsUpdate,
    created: &[String],
) -> Result<(), SettingsError> {
    if let Some(class) = update.class {
        set_class(meta, site.region, class, Some(site.now_ms));
    }
    if let Some(asked) = update.warm {
        raise_warm(meta, asked)?;
    }
    for (index, asked) in update.index_warm {
        let Some(current) = meta.index(&index).map(|i| meta.index_warm(i)) else {
            return Err(SettingsError::NoSuchIndex(index));
        };
        settings_mut(meta).index_warm.insert(index, asked.over(current));
    }
    if let Some(sse) = update.sse {
        apply_sse(meta, site.region, sse)?;
    }
    let inherited = meta.settings().class(site.region).map(|c| c.class);
    for region in created {
        if let Some(class) = inherited {
            set_class(meta, region, class, None);
        }
    }
    for replica in update.replicas {
        apply_override(meta, replica, created, site.now_ms)?;
    }
    forget_gone(meta);
    Ok(())
}

/// Sets the class of `region`'s replica; `updated_ms` stamps a change.
fn set_class(meta: &mut TableMeta, region: &str, class: TableClass, updated_ms: Option<u64>) {
    let classes = &mut settings_mut(meta).classes;
    if classes.get(region).is_some_and(|c| c.class == class) {
        return;
    }
    classes.insert(region.to_string(), ClassSetting { class, updated_ms });
}

/// The table's warm throughput can be raised, never lowered.
fn raise_warm(meta: &mut TableMeta, asked: WarmRequest) -> Result<(), SettingsError> {
    let current = meta.warm();
    for (member, asked, current) in [
        ("ReadUnitsPerSecond", asked.read, current.read),
        ("WriteUnitsPerSecond", asked.write, current.write),
    ] {
        if let Some(asked) = asked
            && asked < current
        {
            return Err(SettingsError::WarmDecrease { member, current, asked });
        }
    }
    settings_mut(meta).warm = asked.over(current);
    Ok(())
}

/// Switches between the AWS owned key and KMS keys, or changes this
/// region's KMS key.
fn apply_sse(meta: &mut TableMeta, region: &str, sse: SseChange) -> Result<(), SettingsError> {
    let settings = settings_mut(meta);
    match sse {
        SseChange::Owned if settings.kms.is_none() => Err(SettingsError::AlreadyOwnedKey),
        SseChange::Owned => {
            settings.kms = None;
            Ok(())
        }
        SseChange::Kms(key) => {
            let keys = settings.kms.get_or_insert_with(Default::default);
            match key {
                Some(key) => keys.insert(region.to_string(), key),
                None => keys.remove(region),
            };
            Ok(())
        }
    }
}

/// A replica's TableClassOverride and KMSMasterKeyId.
fn apply_override(
    meta: &mut TableMeta,
    replica: ReplicaOverride,
    created: &[String],
    now_ms: u64,
) -> Result<(), SettingsError> {
    if meta.replica(&replica.region).is_none() {
        return Err(SettingsError::NoSuchReplica(replica.region));
    }
    if let Some(class) = replica.class {
        let new = created.contains(&replica.region);
        set_class(meta, &replica.region, class, (!new).then_some(now_ms));
    }
    if let Some(key) = replica.kms_key {
        let Some(keys) = settings_mut(meta).kms.as_mut() else {
            return Err(SettingsError::KmsKeyWithoutKms);
        };
        keys.insert(replica.region, key);
    }
    Ok(())
}

/// Drops the settings of replicas and indexes the table no longer has.
fn forget_gone(meta: &mut TableMeta) {
    let regions: Vec<String> = meta.replicas.iter().map(|r| r.region.clone()).collect();
    let indexes: Vec<String> = meta.indexes.iter().map(|i| i.name.clone()).collect();
    let Some(settings) = meta.settings.as_deref_mut() else {
        return;
    };
    settings.classes.retain(|region, _| regions.contains(region));
    settings.index_warm.retain(|index, _| indexes.contains(index));
    if let Some(keys) = settings.kms.as_mut() {
        keys.retain(|region, _| regions.contains(region));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::table::{BillingMode, Replica, ReplicaStatus};

    const SITE: ChangeSite<'static> = ChangeSite {
        region: "us-east-1",
        now_ms: 1_000,
    };

    fn global_table() -> TableMeta {
        let mut meta = TableMeta::sample("t", 1);
        for region in ["us-east-1", "eu-west-1"] {
            meta.replicas.push(Replica {
                region: region.into(),
                status: ReplicaStatus::Active,
            });
        }
        meta
    }

    fn class_update(class: TableClass) -> SettingsUpdate {
        SettingsUpdate {
            class: Some(class),
            ..SettingsUpdate::default()
        }
    }

    #[test]
    fn a_new_replica_takes_this_regions_class_unless_it_overrides_it() {
        let mut meta = global_table();
        apply(
            &mut meta,
            &SITE,
            class_update(TableClass::StandardInfrequentAccess),
            &[],
        )
        .unwrap();
        meta.replicas.push(Replica {
            region: "ap-southeast-2".into(),
            status: ReplicaStatus::Creating,
        });
        apply(&mut meta, &SITE, SettingsUpdate::default(), &["ap-southeast-2".into()]).unwrap();
        let settings = meta.settings();
        let ap = settings.class("ap-southeast-2").unwrap();
        assert_eq!((ap.class, ap.updated_ms), (TableClass::StandardInfrequentAccess, None));
        assert_eq!(settings.class("us-east-1").unwrap().updated_ms, Some(1_000));
        assert!(settings.class("eu-west-1").is_none());
    }

    #[test]
    fn a_removed_replica_or_index_leaves_no_setting_behind() {
        let mut meta = global_table();
        let update = SettingsUpdate {
            sse: Some(SseChange::Kms(None)),
            replicas: vec![ReplicaOverride {
                region: "eu-west-1".into(),
                class: Some(TableClass::StandardInfrequentAccess),
                kms_key: Some("arn:aws:kms:eu-west-1:000000000000:alias/k".into()),
            }],
            ..SettingsUpdate::default()
        };
        apply(&mut meta, &SITE, update, &[]).unwrap();
        assert_eq!(
            meta.kms_key_arn("eu-west-1").as_deref(),
            Some("arn:aws:kms:eu-west-1:000000000000:alias/k")
        );
        meta.replicas.retain(|r| r.region != "eu-west-1");
        apply(&mut meta, &SITE, SettingsUpdate::default(), &[]).unwrap();
        let settings = meta.settings();
        assert!(settings.class("eu-west-1").is_none());
        assert_eq!(settings.kms.unwrap().len(), 0);
    }

    #[test]
    fn warm_throughput_keeps_what_the_billing_sustained() {
        let mut meta = TableMeta::sample("t", 1);
        meta.billing = BillingMode::Provisioned { read: 30_000, write: 5 };
        keep_warm(&mut meta);
        meta.billing = BillingMode::PayPerRequest;
        assert_eq!(
            meta.warm(),
            WarmUnits {
                read: 30_000,
                write: 4_000
            }
        );
        let lower = SettingsUpdate {
            warm: Some(WarmRequest {
                read: None,
                write: Some(3_999),
            }),
            ..SettingsUpdate::default()
        };
        assert_eq!(
            apply(&mut meta, &SITE, lower, &[]),
            Err(SettingsError::WarmDecrease {
                member: "WriteUnitsPerSecond",
                current: 4_000,
                asked: 3_999
            })
        );
    }

    #[test]
    fn a_replica_key_needs_kms_and_the_owned_key_is_set_once() {
        let mut meta = global_table();
        let key = SettingsUpdate {
            replicas: vec![ReplicaOverride {
                region: "eu-west-1".into(),
                class: None,
                kms_key: Some("arn:aws:kms:eu-west-1:000000000000:key/k".into()),
            }],
            ..SettingsUpdate::default()
        };
        assert_eq!(apply(&mut meta, &SITE, key, &[]), Err(SettingsError::KmsKeyWithoutKms));
        let owned = SettingsUpdate {
            sse: Some(SseChange::Owned),
            ..SettingsUpdate::default()
        };
        assert_eq!(apply(&mut meta, &SITE, owned, &[]), Err(SettingsError::AlreadyOwnedKey));
    }
}
