//! Resynchronising a peer from a snapshot. Entries leave the change log
//! once every peer acknowledged them (`crate::workers::trimmer`), so a peer that
//! asks for entries the log no longer holds was away too long or lost its
//! data. A peer that comes back as a new incarnation (started on an empty
//! data directory, or restored from a copy) lost data too, though the log
//! may hold all it asks for: the writes it had originated and replicated
//! are in this region's items, not in the changes this region ships.
//!
//! Instead of the log, such a peer is sent every table it replicates as of
//! one consistent snapshot, together with the log position that snapshot
//! holds: everything this region's log held through that position is in
//! the snapshot. The peer merges the records by last-writer-wins, as a
//! backfill does, records the position as applied (an empty batch of remote
//! changes through it), and takes the log from there.
//!
//! A table deleted, or a replica removed, while the peer was away is not in
//! the snapshot, and the log entry that said so may be trimmed: the
//! snapshot therefore begins with the tables this region knows the peer
//! must drop (`DroppedTable`), and the peer drops its copies of them.

use std::ops::Bound;

use tokio::sync::mpsc;

use super::error::EngineError;
use super::handle::Engine;
use super::remote::{self, ApplyReport};
use crate::ids::{Incarnation, Seq};
use crate::model::TableMeta;
use crate::model::table::TableStatus;
use crate::model::value::item_size;
use crate::store::{DroppedTable, ItemRecord, TableChange};

/// One chunk of a table snapshot: `None` when the table does not exist here.
pub type SnapshotChunk = Option<Vec<(Vec<u8>, ItemRecord)>>;

/// Bytes of items that close a snapshot chunk before its record count does,
/// so a chunk of large items stays far below the frame limit.
const CHUNK_BYTES: usize = 4 << 20;

/// One part of a resync snapshot, in the order they come.
#[derive(Debug)]
pub enum ResyncPart {
    /// First: the snapshot holds this region's log through `through`.
    Start { through: Seq },
    /// Second: the tables the peer must drop.
    Dropped(Vec<DroppedTable>),
    /// A table the peer replicates; its records follow.
    Table(Box<TableMeta>),
    /// Records of the last table, tombstones included.
    Records(Vec<(Vec<u8>, ItemRecord)>),
}

/// Gathers records into chunks of at most `max` records or `CHUNK_BYTES`
/// bytes of items.
pub(super) struct Chunker {
    records: Vec<(Vec<u8>, ItemRecord)>,
    bytes: usize,
    max: usize,
}

impl Chunker {
    pub(super) fn new(max: usize) -> Chunker {
        Chunker {
            records: Vec::new(),
            bytes: 0,
            max: max.max(1),
        }
    }

    /// Adds a record; returns a chunk once one is full.
    pub(super) fn push(&mut self, key: Vec<u8>, record: ItemRecord) -> Option<Vec<(Vec<u8>, ItemRecord)>> {
        self.bytes += key.len() + record.item.as_ref().map_or(0, item_size);
        self.records.push((key, record));
        (self.records.len() >= self.max || self.bytes >= CHUNK_BYTES).then(|| self.take())
    }

    /// What is left (possibly nothing).
    pub(super) fn take(&mut self) -> Vec<(Vec<u8>, ItemRecord)> {
        self.bytes = 0;
        std::mem::take(&mut self.records)
    }
}

impl Engine {
    /// Streams every record (tombstones included) of `table` from one
    /// consistent snapshot, in chunks of at most `chunk` records (fewer when
    /// the items are large); `None` first when the table is absent.
    pub fn snapshot(
        &self,
        table: String,
        chunk: usize,
    ) -> tokio::sync::mpsc::Receiver<Result<SnapshotChunk, EngineError>> {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let store = self.0.store.clone();
        tokio::task::spawn_blocking(move || {
            let result = (|| {
                let read = store.read()?;
                store.until_durable_blocking(read.group())?;
                let Some(meta) = read.table(&table)? else {
                    let _ = tx.blocking_send(Ok(None));
                    return Ok(());
                };
                let mut chunker = Chunker::new(chunk);
                let all = read.items(
                    meta.storage_id,
                    std::ops::Bound::Unbounded,
                    std::ops::Bound::Unbounded,
                    true,
                )?;
                for entry in all {
                    let (key, record) = entry?;
                    if let Some(full) = chunker.push(key, record)
                        && tx.blocking_send(Ok(Some(full))).is_err()
                    {
                        return Ok(());
                    }
                }
                let _ = tx.blocking_send(Ok(Some(chunker.take())));
                Ok::<(), EngineError>(())
            })();
            if let Err(error) = result {
                let _ = tx.blocking_send(Err(error));
            }
        });
        rx
    }

    /// Streams a resync snapshot for `peer` (see the module doc): every table
    /// that lists `peer` as a replica, read from one snapshot that is durable
    /// here, in chunks of at most `chunk` records.
    pub fn resync_snapshot(&self, peer: String, chunk: usize) -> mpsc::Receiver<Result<ResyncPart, EngineError>> {
        let (tx, rx) = mpsc::channel(4);
        let store = self.0.store.clone();
        tokio::task::spawn_blocking(move || {
            let send = |part| tx.blocking_send(part).is_ok();
            let result = (|| {
                let read = store.read()?;
                store.until_durable_blocking(read.group())?;
                if !send(Ok(ResyncPart::Start {
                    through: read.last_seq()?,
                })) || !send(Ok(ResyncPart::Dropped(read.dropped_tables(&peer)?)))
                {
                    return Ok(());
                }
                for name in read.table_names(None, usize::MAX)? {
                    let Some(meta) = read.table(&name)?.filter(|m| m.replica(&peer).is_some()) else {
                        continue;
                    };
                    let storage_id = meta.storage_id;
                    if !send(Ok(ResyncPart::Table(Box::new(meta)))) {
                        return Ok(());
                    }
                    let mut chunker = Chunker::new(chunk);
                    for entry in read.items(storage_id, Bound::Unbounded, Bound::Unbounded, true)? {
                        let (key, record) = entry?;
                        if let Some(full) = chunker.push(key, record)
                            && !send(Ok(ResyncPart::Records(full)))
                        {
                            return Ok(());
                        }
                    }
                    let rest = chunker.take();
                    if !rest.is_empty() && !send(Ok(ResyncPart::Records(rest))) {
                        return Ok(());
                    }
                }
                Ok::<(), EngineError>(())
            })();
            if let Err(error) = result {
                let _ = tx.blocking_send(Err(error));
            }
        });
        rx
    }

    /// The incarnation of `peer`'s data this region last shipped to (`None`
    /// before the first time).
    pub async fn known_incarnation(&self, peer: String) -> Result<Option<Incarnation>, EngineError> {
        self.read(move |read| Ok(read.peer_incarnation(&peer)?)).await
    }

    /// Records that this region ships to incarnation `incarnation` of `peer`.
    pub async fn remember_incarnation(&self, peer: String, incarnation: Incarnation) -> Result<(), EngineError> {
        self.writer()?
            .submit(move |txn| Ok(txn.tables.set_peer_incarnation(&peer, incarnation)?))
            .await
    }

    /// Drops this region's copies of the tables a peer's resync says it must
    /// no longer hold: a deleted table as a replicated deletion is applied,
    /// a table this region was removed from if the description it holds is
    /// older than the removal. Returns how many were dropped.
    pub async fn drop_tables(&self, dropped: Vec<DroppedTable>) -> Result<usize, EngineError> {
        self.writer()?
            .submit(move |txn| {
                let mut count = 0;
                for dropped in dropped {
                    let _ = txn.hlc.observe(dropped.version.ts);
                    let Some(local) = txn.table(&dropped.name)?.filter(|m| m.table_id == dropped.table_id) else {
                        continue;
                    };
                    if dropped.deleted {
                        let change = TableChange::Deleted {
                            name: dropped.name,
                            table_id: dropped.table_id,
                        };
                        remote::apply_table(txn, dropped.version, change, &mut ApplyReport::default())?;
                    } else if super::lww::description_version(&local) < dropped.version {
                        txn.drop_table(&dropped.name, local.storage_id)?;
                    } else {
                        continue;
                    }
                    count += 1;
                }
                Ok(count)
            })
            .await
    }

    /// Takes a table description from a peer's resync as a replicated table
    /// change: creates this region's replica if it has none, or takes the
    /// description if it is newer. Returns whether the local table is that
    /// table (false: none here, or one of the same name created apart), so
    /// the records that follow are merged only into it.
    ///
    /// A replica created here is CREATING (it takes no writes, as DynamoDB
    /// does not) until `finish_adopted`, once its records are in: it holds
    /// nothing yet, and a region that lost its data should not look whole
    /// while it gets it back.
    pub async fn adopt_table(&self, meta: Box<TableMeta>) -> Result<bool, EngineError> {
        self.writer()?
            .submit(move |txn| {
                let version = super::lww::description_version(&meta);
                let _ = txn.hlc.observe(version.ts);
                let (name, table_id) = (meta.name.clone(), meta.table_id.clone());
                let existed = txn.table_ref(&name)?.is_some();
                let mut report = ApplyReport::default();
                remote::apply_table(txn, version, TableChange::Updated(meta), &mut report)?;
                let Some(mut local) = txn.table(&name)?.filter(|local| local.table_id == table_id) else {
                    return Ok(false);
                };
                if !existed {
                    local.status = TableStatus::Creating;
                    txn.set_table(&name, Some(local));
                }
                Ok(true)
            })
            .await
    }

    /// Marks ACTIVE the replicas a resync created (`adopt_table`), given by
    /// name and table id, once their records are merged.
    pub async fn finish_adopted(&self, tables: Vec<(String, String)>) -> Result<(), EngineError> {
        self.writer()?
            .submit(move |txn| {
                for (name, table_id) in tables {
                    let Some(mut local) = txn.table(&name)? else { continue };
                    if local.table_id == table_id && local.status == TableStatus::Creating {
                        local.status = TableStatus::Active;
                        txn.set_table(&name, Some(local));
                    }
                }
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Hlc;
    use crate::config::StorageConfig;
    use crate::engine::{ItemOp, ItemWrite, NewTable};
    use crate::model::table::{Replica, ReplicaStatus};
    use crate::model::{AttributeValue, Item};

    fn key(pk: &str) -> Item {
        Item::from([("pk".to_string(), AttributeValue::S(pk.into()))])
    }

    fn put(pk: &str) -> ItemWrite {
        ItemWrite::new(ItemOp::Put(key(pk)))
    }

    async fn parts(engine: &Engine, peer: &str, chunk: usize) -> Vec<ResyncPart> {
        let mut rx = engine.resync_snapshot(peer.into(), chunk);
        let mut out = Vec::new();
        while let Some(part) = rx.recv().await {
            out.push(part.unwrap());
        }
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_resync_holds_the_tables_the_peer_replicates_through_the_last_log_entry() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open_for_test(dir.path(), "us-east-1");
        engine.create_table(NewTable::keyed_by_pk("global")).await.unwrap();
        engine.create_table(NewTable::keyed_by_pk("local")).await.unwrap();
        engine
            .change_table("global".into(), |meta, _| {
                for region in ["us-east-1", "eu-west-1"] {
                    meta.replicas.push(Replica {
                        region: region.into(),
                        status: ReplicaStatus::Active,
                    });
                }
                Ok(())
            })
            .await
            .unwrap();
        for n in 0..5 {
            engine.write_item("global".into(), put(&format!("g{n}"))).await.unwrap();
            engine.write_item("local".into(), put(&format!("l{n}"))).await.unwrap();
        }
        engine
            .write_item("global".into(), ItemWrite::new(ItemOp::Delete(key("g0"))))
            .await
            .unwrap();

        let parts = parts(&engine, "eu-west-1", 2).await;
        let (_, last) = engine.change_log_bounds().await.unwrap();
        assert!(matches!(parts[0], ResyncPart::Start { through } if through == last));
        assert!(matches!(&parts[1], ResyncPart::Dropped(dropped) if dropped.is_empty()));
        assert!(matches!(&parts[2], ResyncPart::Table(meta) if meta.name == "global"));
        let records: Vec<&ItemRecord> = parts[3..]
            .iter()
            .flat_map(|part| match part {
                ResyncPart::Records(records) => records.iter().map(|(_, r)| r).collect::<Vec<_>>(),
                other => panic!("a second table or start: {other:?}"),
            })
            .collect();
        // Five keys, one of them a tombstone, in chunks of at most two.
        assert_eq!(records.len(), 5);
        assert_eq!(records.iter().filter(|r| r.item.is_none()).count(), 1);
        assert!(
            parts[3..]
                .iter()
                .all(|p| matches!(p, ResyncPart::Records(r) if r.len() <= 2))
        );

        // A region no table lists gets the position and nothing else.
        let parts = super::tests::parts(&engine, "ap-southeast-2", 2).await;
        assert!(matches!(&parts[..], [ResyncPart::Start { .. }, ResyncPart::Dropped(d)] if d.is_empty()));
        engine.shutdown();
    }

    /// A table with replicas in `regions`, as a replicated creation makes it.
    async fn global_table(engine: &Engine, name: &str, regions: &[&str]) -> TableMeta {
        engine.create_table(NewTable::keyed_by_pk(name)).await.unwrap();
        let regions: Vec<String> = regions.iter().map(|r| r.to_string()).collect();
        engine
            .change_table(name.into(), move |meta, _| {
                for region in regions {
                    meta.replicas.push(Replica {
                        region,
                        status: ReplicaStatus::Active,
                    });
                }
                Ok(())
            })
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_resync_tells_the_peer_which_tables_to_drop_and_the_peer_drops_them() {
        let regions = ["us-east-1", "eu-west-1", "ap-southeast-2"];
        let hlc = || Hlc::new(0, std::time::Duration::from_secs(1));
        let (here, there) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let config = StorageConfig::default();
        let shipper = Engine::open(here.path(), "us-east-1", hlc(), &config).unwrap();
        let peer = Engine::open(there.path(), "eu-west-1", hlc(), &config).unwrap();
        let mut copies = Vec::new();
        for name in ["deleted", "left", "kept", "readded"] {
            let copy = global_table(&shipper, name, &regions).await;
            peer.adopt_table(Box::new(copy.clone())).await.unwrap();
            peer.finish_adopted(vec![(name.into(), copy.table_id.clone())])
                .await
                .unwrap();
            copies.push(copy);
            peer.write_item(name.into(), put("k")).await.unwrap();
        }
        shipper.delete_table("deleted".into()).await.unwrap();
        let without_peer = |meta: &mut TableMeta, _: &_| {
            meta.replicas.retain(|r| r.region != "eu-west-1");
            Ok(())
        };
        shipper.change_table("left".into(), without_peer).await.unwrap();
        shipper.change_table("readded".into(), without_peer).await.unwrap();
        // The peer saw "readded" change after the removal (it was added back):
        // its own newer description wins over the removal.
        let mut newer = copies[3].clone();
        newer.changed = shipper.hlc().now();
        peer.adopt_table(Box::new(newer)).await.unwrap();

        let dropped = match &parts(&shipper, "eu-west-1", 10).await[1] {
            ResyncPart::Dropped(dropped) => dropped.clone(),
            other => panic!("expected the dropped tables, got {other:?}"),
        };
        let mut names: Vec<(&str, bool)> = dropped.iter().map(|d| (d.name.as_str(), d.deleted)).collect();
        names.sort();
        assert_eq!(names, vec![("deleted", true), ("left", false), ("readded", false)]);
        // Nothing for a region still holding every table but the deleted one.
        match &parts(&shipper, "ap-southeast-2", 10).await[1] {
            ResyncPart::Dropped(dropped) => assert_eq!(dropped.len(), 1),
            other => panic!("expected the dropped tables, got {other:?}"),
        }

        assert_eq!(peer.drop_tables(dropped).await.unwrap(), 2);
        for (name, exists) in [("deleted", false), ("left", false), ("kept", true), ("readded", true)] {
            assert_eq!(peer.describe_table(name.into()).await.is_ok(), exists, "{name}");
        }
        shipper.shutdown();
        peer.shutdown();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_replica_a_resync_creates_takes_writes_once_its_records_are_in() {
        let hlc = || Hlc::new(0, std::time::Duration::from_secs(1));
        let (here, there) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let config = StorageConfig::default();
        let shipper = Engine::open(here.path(), "us-east-1", hlc(), &config).unwrap();
        let peer = Engine::open(there.path(), "eu-west-1", hlc(), &config).unwrap();
        let meta = global_table(&shipper, "users", &["us-east-1", "eu-west-1"]).await;
        let id = meta.table_id.clone();

        assert!(peer.adopt_table(Box::new(meta.clone())).await.unwrap());
        let status = || async { peer.describe_table("users".into()).await.unwrap().status };
        assert_eq!(status().await, TableStatus::Creating);
        let refused = peer.write_item("users".into(), put("early")).await;
        assert!(matches!(refused, Err(EngineError::ResourceNotFound)), "{refused:?}");
        // Adopting it again (a second peer's resync) leaves it CREATING.
        assert!(peer.adopt_table(Box::new(meta)).await.unwrap());
        assert_eq!(status().await, TableStatus::Creating);

        peer.finish_adopted(vec![("users".into(), id)]).await.unwrap();
        assert_eq!(status().await, TableStatus::Active);
        peer.write_item("users".into(), put("late")).await.unwrap();
        shipper.shutdown();
        peer.shutdown();
    }
}
