//! Tables a topology declares global from the start (`[[table]]` in
//! `regions/*.toml`): each region creates the table at start unless it has
//! one of that name, with an ACTIVE replica in every region of the topology.
//!
//! Every region derives the same table id from the cluster and the table's
//! name, so the creations the regions ship each other describe one table
//! and merge by last-writer-wins like any table change, rather than being
//! taken for two tables of the same name (where the local one is kept).
//! Nothing needs a backfill: every replica starts empty.

use super::error::EngineError;
use super::handle::Engine;
use super::tables::{NewTable, new_table, record_created, uuid_shaped};
use crate::config::DeclaredTable;
use crate::model::table::{BillingMode, Replica, ReplicaStatus};
use crate::model::{KeyAttribute, KeySchema};

impl From<&DeclaredTable> for NewTable {
    /// The table a `[[table]]` declares: pay-per-request, keys as given.
    fn from(declared: &DeclaredTable) -> NewTable {
        let hash = KeyAttribute {
            name: declared.hash_key.clone(),
            ty: declared.hash_key_type,
        };
        let range = declared.range_key.as_ref().map(|name| KeyAttribute {
            name: name.clone(),
            ty: declared.range_key_type,
        });
        NewTable {
            name: declared.name.clone(),
            key_schema: KeySchema {
                hash: hash.clone(),
                range: range.clone(),
            },
            attribute_definitions: std::iter::once(hash).chain(range).collect(),
            billing: BillingMode::PayPerRequest,
            tags: Default::default(),
            stream: None,
            indexes: Vec::new(),
            on_demand: None,
            settings: None,
        }
    }
}

impl Engine {
    /// Creates `spec` as a global table replicated in `regions` (this one
    /// among them) unless this region has a table of that name; returns
    /// whether it created it. A table declared, then deleted by a client,
    /// is created again at the next start: the topology declares it.
    pub async fn declare_global_table(
        &self,
        cluster: &str,
        spec: NewTable,
        regions: Vec<String>,
    ) -> Result<bool, EngineError> {
        let table_id = declared_table_id(cluster, &spec.name);
        self.writer()?
            .submit(move |txn| {
                if txn.table_ref(&spec.name)?.is_some() {
                    return Ok(false);
                }
                let mut meta = new_table(txn, spec)?;
                meta.table_id = table_id;
                meta.replicas = regions
                    .into_iter()
                    .map(|region| Replica {
                        region,
                        status: ReplicaStatus::Active,
                    })
                    .collect();
                record_created(txn, &meta)?;
                Ok(true)
            })
            .await
    }
}

/// The id every region gives the declared table `name` of `cluster`:
/// UUID-shaped like the ids of created tables, and the same in every region.
fn declared_table_id(cluster: &str, name: &str) -> String {
    let both = crc32fast::hash(format!("{cluster}/{name}").as_bytes());
    let name = u64::from(crc32fast::hash(name.as_bytes()));
    let cluster = u64::from(crc32fast::hash(cluster.as_bytes()));
    uuid_shaped(both, name << 32 | cluster)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Hlc;
    use crate::config::StorageConfig;

    fn regions() -> Vec<String> {
        vec!["us-east-1".into(), "eu-west-1".into()]
    }

    #[tokio::test]
    async fn a_declared_table_is_created_once_with_a_replica_in_every_region() {
        let dir = tempfile::tempdir().unwrap();
        let hlc = Hlc::new(0, std::time::Duration::from_secs(1));
        let engine = Engine::open(dir.path(), "us-east-1", hlc, &StorageConfig::default()).unwrap();
        let declare = || engine.declare_global_table("local", NewTable::keyed_by_pk("orders"), regions());
        assert!(declare().await.unwrap());
        assert!(!declare().await.unwrap(), "a second start leaves the table alone");

        let meta = engine.describe_table("orders".into()).await.unwrap();
        assert_eq!(meta.table_id, declared_table_id("local", "orders"));
        let replicas: Vec<(&str, ReplicaStatus)> =
            meta.replicas.iter().map(|r| (r.region.as_str(), r.status)).collect();
        assert_eq!(
            replicas,
            [
                ("us-east-1", ReplicaStatus::Active),
                ("eu-west-1", ReplicaStatus::Active)
            ]
        );
        engine.shutdown();
    }

    #[test]
    fn declared_ids_are_uuid_shaped_and_differ_by_cluster_and_name() {
        let id = declared_table_id("local", "orders");
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
        assert_eq!(id, declared_table_id("local", "orders"));
        assert_ne!(id, declared_table_id("other", "orders"));
        assert_ne!(id, declared_table_id("local", "orders2"));
    }
}
