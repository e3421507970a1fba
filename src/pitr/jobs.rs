//! Resuming what a restart interrupted: restores start over on an emptied
//! target (loading is idempotent but the table's counters are not), backups
//! still CREATING are taken again, exports still IN_PROGRESS are written
//! again, imports still IN_PROGRESS start over. Each kind keeps its state in the engine's named records, written
//! when the job starts, so nothing is lost between a request's answer and
//! the job's first step.

use super::restore::{JOB_PREFIX, RestoreJob};
use super::{Pitr, PitrError};
use crate::model::table::TableStatus;

/// Resumes every unfinished job of the region.
pub(super) async fn resume(pitr: &Pitr) -> Result<(), PitrError> {
    let engine = pitr.engine().clone();
    for (name, bytes) in engine.pitr_records(JOB_PREFIX.to_string()).await? {
        let job: RestoreJob = serde_json::from_slice(&bytes).map_err(|e| PitrError::Corrupt(e.to_string()))?;
        let creating = matches!(
            engine.describe_table(job.target.clone()).await,
            Ok(meta) if meta.status == TableStatus::Creating
        );
        if !creating {
            engine.put_pitr_record(name, None, false).await?;
            continue;
        }
        tracing::info!(region = %pitr.region(), table = %job.target, "resuming an interrupted restore");
        engine.reset_restore_target(job.target.clone()).await?;
        let this = pitr.clone();
        pitr.spawn(async move { this.run_restore(job).await });
    }
    pitr.resume_backups().await?;
    pitr.resume_exports().await?;
    pitr.resume_imports().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::super::restore::{RestoreJob, Source};
    use crate::clock::Hlc;
    use crate::config::{PitrConfig, StorageConfig};
    use crate::engine::{Engine, ItemOp, ItemWrite, NewTable};
    use crate::model::table::TableStatus;
    use crate::model::{AttributeValue, Item};
    use crate::pitr::Pitr;
    use crate::store::{ItemRecord, Version};

    #[tokio::test]
    async fn a_restore_interrupted_midway_starts_over_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let hlc = Hlc::new(0, Duration::from_secs(1));
        let engine = Engine::open(dir.path(), "us-east-1", hlc, &StorageConfig::default()).unwrap();
        let source = engine.create_table(NewTable::keyed_by_pk("src")).await.unwrap();
        engine.set_pitr("src".into(), true, None).await.unwrap();
        for i in 0..10 {
            let item = Item::from([("pk".to_string(), AttributeValue::S(format!("k{i}")))]);
            engine
                .write_item("src".into(), ItemWrite::new(ItemOp::Put(item)))
                .await
                .unwrap();
        }
        // What a crash leaves: the CREATING target and its job, written
        // together, and part of the load (here a stray item).
        let job = RestoreJob {
            target: "dst".into(),
            source: Source::History {
                table: "src".into(),
                storage_id: source.storage_id,
                at_ns: engine.hlc().now().wall_ns,
            },
        };
        let record = serde_json::to_vec(&job).unwrap();
        engine
            .create_restore_target(NewTable::keyed_by_pk("dst"), (job.record_name(), record))
            .await
            .unwrap();
        let stray = ItemRecord {
            version: Version {
                ts: engine.hlc().now(),
                region: "us-east-1".into(),
            },
            item: Some(Item::from([("pk".to_string(), AttributeValue::S("stray".into()))])),
        };
        engine
            .load_records("dst".into(), vec![(b"stray".to_vec(), stray.clone())])
            .await
            .unwrap();

        // Clients cannot write into a table being restored.
        let write = ItemWrite::new(ItemOp::Put(Item::from([(
            "pk".to_string(),
            AttributeValue::S("client".into()),
        )])));
        let refused = engine.write_item("dst".into(), write).await.unwrap_err();
        assert!(matches!(refused, crate::engine::EngineError::ResourceNotFound));

        let pitr = Pitr::new(engine.clone(), PitrConfig::default(), dir.path().to_path_buf());
        pitr.start().await;
        let deadline = Instant::now() + Duration::from_secs(60);
        let meta = loop {
            let meta = engine.describe_table("dst".into()).await.unwrap();
            if meta.status == TableStatus::Active {
                break meta;
            }
            assert!(Instant::now() < deadline, "the restore did not finish");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(meta.item_count, 10, "the stray item is gone and the counters are right");
        // The job record goes in a commit after the one that turns the
        // table ACTIVE.
        while !engine
            .pitr_records(super::JOB_PREFIX.to_string())
            .await
            .unwrap()
            .is_empty()
        {
            assert!(Instant::now() < deadline, "the finished restore kept its job record");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        pitr.shutdown().await;
        engine.shutdown();
    }
}
