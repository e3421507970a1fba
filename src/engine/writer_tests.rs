//! The writer's group commit against a job that fails with a storage error
//! after it has written something, and background jobs giving way to the
//! others.

use super::error::EngineError;
use super::txn::GroupTxn;
use super::write::{ItemOp, ItemWrite, active_table, apply};
use super::writer::{Queued, Writer};
use super::{Engine, NewTable};
use crate::ids::Seq;
use crate::model::{AttributeValue, Item};
use crate::store::{Change, StoreError};

/// Puts item `pk` into table `t` inside the job's group.
fn put(txn: &mut GroupTxn<'_, '_>, pk: &str) -> Result<(), EngineError> {
    let item = Item::from([("pk".to_string(), AttributeValue::S(pk.into()))]);
    let write = ItemWrite::new(ItemOp::Put(item));
    txn.with_table("t", |txn, meta| apply(txn, active_table(meta)?, write))?;
    Ok(())
}

/// The keys of the item changes in the region's own change log.
async fn logged_items(engine: &Engine) -> Vec<Vec<u8>> {
    let (changes, _) = engine.own_changes(Seq(1), 100).await.unwrap();
    let items = changes.into_iter().filter_map(|(_, change)| match change {
        Change::Item(change) => Some(change.key),
        _ => None,
    });
    items.collect()
}

async fn stored(engine: &Engine, pk: &str) -> bool {
    let key = Item::from([("pk".to_string(), AttributeValue::S(pk.into()))]);
    engine.get_item("t", &key).await.unwrap().1.is_some()
}

/// Queues a job that holds the writer inside its group until the sender
/// returned is sent to (or dropped), and waits for it to start: jobs queued
/// meanwhile wait for the next group.
async fn hold(writer: &Writer) -> (Queued<()>, std::sync::mpsc::Sender<()>) {
    let (started, running) = tokio::sync::oneshot::channel();
    let (release, held) = std::sync::mpsc::channel::<()>();
    let first = writer
        .enqueue(move |_| {
            let _ = started.send(());
            let _ = held.recv();
            Ok(())
        })
        .await
        .unwrap();
    running.await.unwrap();
    (first, release)
}

#[tokio::test]
async fn a_job_failing_with_a_storage_error_after_writing_aborts_its_whole_group() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_for_test(dir.path(), "r");
    engine.create_table(NewTable::keyed_by_pk("t")).await.unwrap();
    let writer = engine.writer().unwrap();
    // A first job holds the writer inside its group until the two jobs
    // below are queued, so that they run together in the next group.
    let (first, release) = hold(&writer).await;
    let failing = writer
        .enqueue(|txn| {
            put(txn, "written-then-failed")?;
            Err::<(), _>(EngineError::Store(StoreError::CommitFailed("injected".into())))
        })
        .await
        .unwrap();
    let bystander = writer.enqueue(|txn| put(txn, "bystander")).await.unwrap();
    release.send(()).unwrap();
    first.wait().await.unwrap();

    let failed = failing.wait().await.unwrap_err();
    assert!(failed.to_string().contains("injected"), "{failed}");
    let aborted = bystander.wait().await.unwrap_err();
    assert!(aborted.to_string().contains("injected"), "{aborted}");
    assert!(!stored(&engine, "written-then-failed").await);
    assert!(!stored(&engine, "bystander").await);
    assert_eq!(logged_items(&engine).await, Vec::<Vec<u8>>::new());

    // The next group commits as usual.
    writer.submit(|txn| put(txn, "later")).await.unwrap();
    assert!(stored(&engine, "later").await);
    assert_eq!(logged_items(&engine).await.len(), 1);
    drop(writer); // the writer thread stops when its last handle goes
    engine.shutdown();
}

/// The names of the jobs run, in the order they ran.
type Ran = std::sync::Arc<std::sync::Mutex<Vec<&'static str>>>;

/// A job that adds `name` to `ran`.
fn recording(
    ran: &Ran,
    name: &'static str,
) -> impl FnOnce(&mut GroupTxn<'_, '_>) -> Result<(), EngineError> + Send + use<> {
    let ran = ran.clone();
    move |_| {
        ran.lock().unwrap().push(name);
        Ok(())
    }
}

/// The commit time of each of `queued`'s groups, once it is answered.
async fn group_times(queued: Vec<Queued<()>>) -> Vec<u64> {
    let mut groups = Vec::new();
    for job in queued {
        groups.push(job.wait_timed().await.unwrap().1.visible_ns);
    }
    groups
}

/// Background jobs (index backfill batches) give way: client jobs queued
/// after them run first, in one group, and the background jobs then run
/// in a group of their own, in the order they were queued.
#[tokio::test]
async fn client_jobs_overtake_background_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_for_test(dir.path(), "r");
    let writer = engine.writer().unwrap();
    let ran = Ran::default();
    let (first, release) = hold(&writer).await;
    let mut queued = Vec::new();
    for (name, background) in [("bg1", true), ("bg2", true), ("client1", false), ("client2", false)] {
        let job = recording(&ran, name);
        queued.push(match background {
            true => writer.enqueue_background(job).await.unwrap(),
            false => writer.enqueue(job).await.unwrap(),
        });
    }
    let commits = writer.stats().snapshot().commits;
    release.send(()).unwrap();
    first.wait().await.unwrap();
    let groups = group_times(queued).await;
    assert_eq!(*ran.lock().unwrap(), ["client1", "client2", "bg1", "bg2"]);
    assert_eq!(writer.stats().snapshot().commits - commits, 2);
    assert_eq!(groups[2], groups[3], "the client jobs share a group");
    assert_eq!(groups[0], groups[1], "the background jobs share a group");
    drop(writer);
    engine.shutdown();
}

/// A group of background jobs takes no further job once a client job is
/// queued: the client job waits for the background job running, not for
/// the ones after it, which run in the next group.
#[tokio::test]
async fn a_client_job_cuts_a_group_of_background_jobs_short() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_for_test(dir.path(), "r");
    let writer = engine.writer().unwrap();
    let ran = Ran::default();
    // Held, so that the three background jobs are queued before any runs.
    let (first, release) = hold(&writer).await;
    let (started, running) = tokio::sync::oneshot::channel();
    let (go, held) = std::sync::mpsc::channel::<()>();
    let bg1 = recording(&ran, "bg1");
    let mut queued = vec![
        writer
            .enqueue_background(move |txn| {
                let _ = started.send(());
                let _ = held.recv();
                bg1(txn)
            })
            .await
            .unwrap(),
    ];
    for name in ["bg2", "bg3"] {
        queued.push(writer.enqueue_background(recording(&ran, name)).await.unwrap());
    }
    let commits = writer.stats().snapshot().commits;
    release.send(()).unwrap();
    first.wait().await.unwrap();
    running.await.unwrap();
    queued.insert(1, writer.enqueue(recording(&ran, "client")).await.unwrap());
    go.send(()).unwrap();
    let groups = group_times(queued).await;
    assert_eq!(*ran.lock().unwrap(), ["bg1", "client", "bg2", "bg3"]);
    assert_eq!(writer.stats().snapshot().commits - commits, 3);
    assert_ne!(groups[0], groups[2], "bg1 commits before the client job runs");
    assert_eq!(groups[2], groups[3], "bg2 and bg3 share the next group");
    drop(writer);
    engine.shutdown();
}

/// A group hands the descriptions it committed to the next (`txn::Known`),
/// but not one that a failed change left other than the store holds it:
/// the next group reads that one from the store again.
#[tokio::test]
async fn a_description_a_failed_change_altered_is_not_handed_on() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_for_test(dir.path(), "r");
    engine.create_table(NewTable::keyed_by_pk("t")).await.unwrap();
    let writer = engine.writer().unwrap();
    writer.submit(|txn| put(txn, "first")).await.unwrap();
    let failed = writer
        .submit(|txn| {
            txn.with_table("t", |_, meta| {
                if let Some(meta) = meta {
                    meta.item_count += 1000; // against the rule, then fails
                }
                Err::<(), _>(EngineError::TableNotFound("t".into()))
            })
        })
        .await;
    assert!(matches!(failed, Err(EngineError::TableNotFound(_))), "{failed:?}");
    writer.submit(|txn| put(txn, "second")).await.unwrap();
    assert_eq!(engine.describe_table("t".into()).await.unwrap().item_count, 2);
    drop(writer);
    engine.shutdown();
}
