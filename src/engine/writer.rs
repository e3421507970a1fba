//! The single writer: one thread that takes write jobs off a bounded queue,
//! runs every job waiting at that moment in one redb transaction and commits
//! it. A second thread, the syncer, makes committed groups durable (one log
//! fsync for every group committed meanwhile) and only then answers their
//! jobs, so the writer runs group N+1 while group N's fsync is in progress.
//! A store in memory has no log and no syncer: a committed group is
//! durable for the life of the process, and the writer answers it itself.
//! Background jobs (index backfill batches) give way: they run in groups
//! of their own when no other job waits (or one alone once it has waited
//! `BACKGROUND_MAX_WAIT`), and such a group takes no further job once a
//! client job is queued.
//!
//! Jobs must be all-or-nothing on their own: a job computes and validates
//! everything before it writes anything, so a failed job leaves no trace in
//! the shared transaction. A storage error is the exception: it can come
//! after a job's first writes (the item stored, its change-log entry not),
//! so a job that fails with one aborts the whole group, and every job in it
//! is answered with an error (`GroupTxn::abort`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use super::commit_times::CommitTimes;
use super::error::EngineError;
use super::schema_cache::SchemaCache;
use super::sync_latency::{SyncHistogram, SyncLatency};
use super::txn::{GroupTxn, Known};
use crate::clock::Hlc;
use crate::ids::{GroupNo, Seq};
use crate::store::space::DiskSpace;
use crate::store::{Store, StoreError};

/// Called after the group's commit with whether it succeeded: when its
/// writes became visible and durable, or why it failed.
pub type Reply = Box<dyn FnOnce(Result<GroupTimes, Arc<StoreError>>) + Send>;

/// When a committed group's writes could first be read in this region (its
/// redb commit: reads see it from then on) and when they became durable
/// (its log sync), by this region's wall clock, ns. Replication lag ends at
/// the first, as DynamoDB's ReplicationLatency ends when the item appears
/// in the other replica; a write is acknowledged at the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupTimes {
    pub visible_ns: u64,
    pub durable_ns: u64,
}

/// A unit of work for the writer: runs inside the group's transaction and
/// returns how to answer once the transaction is committed (or not).
pub type Job = Box<dyn FnOnce(&mut GroupTxn<'_, '_>) -> Reply + Send>;

/// Reports (two per group) the writer may run ahead of the syncer; beyond
/// this it waits. Each group is at most `group_max` jobs.
const UNSYNCED_GROUPS: usize = 64;

/// Counters of the writer's work, for metrics and benchmarks. The times
/// say where a write's latency goes: waiting for the writer, in its group,
/// then waiting for the log sync that makes the group durable.
#[derive(Default, Debug)]
pub struct WriterStats {
    /// Group commits made.
    pub commits: AtomicU64,
    /// Jobs run (each a request's writes).
    pub jobs: AtomicU64,
    /// Jobs other than background ones queued and not yet taken by the
    /// writer: a group of background jobs stops early when one is.
    clients_queued: AtomicUsize,
    /// Summed over jobs: from being queued to their group starting.
    queue_wait_ns: AtomicU64,
    /// Summed over jobs: from their group starting to its commit.
    group_ns: AtomicU64,
    /// Summed over jobs: from their group's commit to their answer (the
    /// wait for the log sync that makes it durable).
    durable_wait_ns: AtomicU64,
    /// Time spent in log syncs (`fdatasync`), and how long each took (the
    /// histogram's total is the number of syncs).
    sync_ns: AtomicU64,
    sync_latency: SyncLatency,
}

impl WriterStats {
    /// The counters as they are now.
    pub fn snapshot(&self) -> WriteStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let time = |counter: &AtomicU64| Duration::from_nanos(load(counter));
        let sync_latency = self.sync_latency.snapshot();
        WriteStats {
            commits: load(&self.commits),
            jobs: load(&self.jobs),
            queue_wait: time(&self.queue_wait_ns),
            in_group: time(&self.group_ns),
            durable_wait: time(&self.durable_wait_ns),
            syncs: sync_latency.total(),
            syncing: time(&self.sync_ns),
            sync_latency,
        }
    }
}

/// Add `elapsed` to a nanosecond counter, `times` over (once per job).
fn add_time(counter: &AtomicU64, elapsed: Duration, times: usize) {
    let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
    counter.fetch_add(nanos.saturating_mul(times as u64), Ordering::Relaxed);
}

/// The writer's counters at one moment (see `WriterStats`); the times are
/// sums over jobs, so divided by `jobs` they give the mean write's wait.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WriteStats {
    pub commits: u64,
    pub jobs: u64,
    pub queue_wait: Duration,
    pub in_group: Duration,
    pub durable_wait: Duration,
    pub syncs: u64,
    pub syncing: Duration,
    pub sync_latency: SyncHistogram,
}

impl WriteStats {
    /// Jobs per group commit on average (0 before the first commit).
    pub fn jobs_per_commit(&self) -> f64 {
        self.jobs as f64 / self.commits.max(1) as f64
    }
}

/// What the writer thread owns: the store, the clock, the region's name,
/// where it publishes the last committed log position and when each group
/// committed, and the schema cache it invalidates.
pub struct WriterSetup {
    pub store: Store,
    pub hlc: Hlc,
    pub region: String,
    pub committed: watch::Sender<Seq>,
    pub commit_times: Arc<CommitTimes>,
    pub schemas: Arc<SchemaCache>,
    /// Free disk space: writes are refused below its reserve.
    pub space: Arc<DiskSpace>,
    /// The largest item collection of a table with local secondary
    /// indexes, in bytes (see `GroupTxn::check_collection`).
    pub collection_limit: Arc<AtomicU64>,
}

/// A queued job's answer, available once its group has committed (or failed).
pub struct Queued<T>(oneshot::Receiver<Result<(T, GroupTimes), EngineError>>);

impl<T> Queued<T> {
    /// Waits for the job's answer.
    pub async fn wait(self) -> Result<T, EngineError> {
        Ok(self.wait_timed().await?.0)
    }

    /// Waits for the job's answer and when its group became visible and
    /// durable: moments earlier than the one this task gets to run again.
    pub async fn wait_timed(self) -> Result<(T, GroupTimes), EngineError> {
        self.0.await.map_err(|_| EngineError::Stopped)?
    }
}

/// A job as queued, with when it was, whether it frees space and whether
/// it is background work (`Writer::enqueue_background`).
struct Submitted {
    job: Job,
    at: Instant,
    frees: bool,
    background: bool,
}

/// How long a background job waits for a moment without client jobs
/// before it runs anyway: background work progresses under any load.
/// Unit tests that check the order jobs run in must not depend on how
/// fast the machine is, so there it is long.
const BACKGROUND_MAX_WAIT: Duration = match cfg!(test) {
    true => Duration::from_secs(30),
    false => Duration::from_millis(50),
};

/// How long the writer polls its queue before it sleeps, when it finds it
/// empty. Sleeping and being woken costs two context switches per group,
/// which on the 2-core test machine was a quarter of in-memory PutItem's
/// CPU time (perf). Measured with bench --scenario core: in-memory PutItem
/// / no-op HTTP 0.55 without polling, 0.67-0.69 with 50 us, 0.64 with 100
/// or 200 us; PutItem on disk 0.46, then 0.49-0.52.
const IDLE_POLL: Duration = Duration::from_micros(50);

/// Background jobs run in one group when no client job waits: their
/// commit is shared, and the group stops early, after any of its jobs,
/// once a client job is queued (see `run_group`).
const BACKGROUND_GROUP: usize = 32;
/// A group of background jobs takes no further job once it has run this
/// long: a client write that comes meanwhile waits for its commit too.
/// Long in unit tests, like `BACKGROUND_MAX_WAIT`, so which jobs share a
/// group does not depend on the machine's speed there.
const BACKGROUND_BUDGET: Duration = match cfg!(test) {
    true => Duration::from_secs(30),
    false => Duration::from_micros(300),
};

/// Handle for submitting jobs to the writer thread.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Submitted>,
    stats: Arc<WriterStats>,
    space: Arc<DiskSpace>,
}

impl Writer {
    /// Starts the writer thread (and its syncer). It stops when every
    /// `Writer` clone is dropped. Once a group is durable, the sequence
    /// number of its last change-log entry is published on `committed`.
    pub fn spawn(setup: WriterSetup, capacity: usize, group_max: usize) -> (Writer, std::thread::JoinHandle<()>) {
        let (queue, jobs) = mpsc::channel(capacity);
        let stats = Arc::new(WriterStats::default());
        let counters = stats.clone();
        let space = setup.space.clone();
        let handle = std::thread::Builder::new()
            .name(format!("writer-{}", setup.region))
            .spawn(move || run(setup, jobs, group_max, counters))
            // Spawning a thread fails only when the OS is out of resources at
            // start-up, where there is nothing better to do than stop.
            .expect("spawn the writer thread");
        (Writer { queue, stats, space }, handle)
    }

    /// Runs `job` in the next group and waits for its answer.
    pub async fn submit<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut GroupTxn<'_, '_>) -> Result<T, EngineError> + Send + 'static,
    ) -> Result<T, EngineError> {
        self.enqueue(job).await?.wait().await
    }

    /// `submit` for a job that frees space (DeleteTable, DeleteBackup, log
    /// trimming): it runs even while the disk is full (see `store::space`).
    pub async fn submit_freeing<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut GroupTxn<'_, '_>) -> Result<T, EngineError> + Send + 'static,
    ) -> Result<T, EngineError> {
        self.submit_as(job, true).await
    }

    /// `submit`, or `submit_freeing` when `frees`.
    pub async fn submit_as<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut GroupTxn<'_, '_>) -> Result<T, EngineError> + Send + 'static,
        frees: bool,
    ) -> Result<T, EngineError> {
        self.queue_job(job, frees, false).await?.wait().await
    }

    /// Queues `job` and returns a future of its answer. Jobs run in the order
    /// they were queued, so a caller can queue several before the first
    /// commits and still have them applied in that order. Refused at once
    /// (`StoreError::DiskFull`) while the disk is full.
    pub async fn enqueue<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut GroupTxn<'_, '_>) -> Result<T, EngineError> + Send + 'static,
    ) -> Result<Queued<T>, EngineError> {
        self.queue_job(job, false, false).await
    }

    /// `enqueue` for background work that may wait for client writes (an
    /// index backfill batch): it runs once no other job is waiting, in a
    /// group of up to `BACKGROUND_GROUP` background jobs that takes no
    /// further job once a client job is queued or it has run
    /// `BACKGROUND_BUDGET`, so a client write waits for at most one
    /// background job and its group's commit; or alone, once it has waited
    /// `BACKGROUND_MAX_WAIT`. Background jobs run in the order they were
    /// queued; other jobs may overtake them.
    pub async fn enqueue_background<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut GroupTxn<'_, '_>) -> Result<T, EngineError> + Send + 'static,
    ) -> Result<Queued<T>, EngineError> {
        self.queue_job(job, false, true).await
    }

    /// `enqueue`, letting a job that `frees` space through a full disk.
    async fn queue_job<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut GroupTxn<'_, '_>) -> Result<T, EngineError> + Send + 'static,
        frees: bool,
        background: bool,
    ) -> Result<Queued<T>, EngineError> {
        if !frees && self.space.refuses_writes() {
            return Err(EngineError::Store(self.space.full_error()));
        }
        let (tx, rx) = oneshot::channel();
        let boxed: Job = Box::new(move |txn| {
            let outcome = job(txn);
            if let Err(EngineError::Store(error)) = &outcome {
                txn.abort(error);
            }
            Box::new(move |committed| {
                let answer = match (outcome, committed) {
                    (Ok(value), Ok(times)) => Ok((value, times)),
                    (Err(e), _) => Err(e),
                    (Ok(_), Err(store)) => Err(EngineError::Store(match &*store {
                        StoreError::DiskFull { available, reserve } => StoreError::DiskFull {
                            available: *available,
                            reserve: *reserve,
                        },
                        other => StoreError::CommitFailed(other.to_string()),
                    })),
                };
                let _ = tx.send(answer);
            })
        });
        let submitted = Submitted {
            job: boxed,
            at: Instant::now(),
            frees,
            background,
        };
        if !background {
            self.stats.clients_queued.fetch_add(1, Ordering::Relaxed);
        }
        if self.queue.send(submitted).await.is_err() {
            if !background {
                self.stats.clients_queued.fetch_sub(1, Ordering::Relaxed);
            }
            return Err(EngineError::Stopped);
        }
        Ok(Queued(rx))
    }

    /// The writer's counters.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Jobs waiting for the writer, for metrics.
    pub fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }
}

/// What the writer tells the syncer, in the order it happens.
enum ToSyncer {
    /// This group's frame is in the log (its redb commit follows).
    Logged(GroupNo),
    /// This group is committed: answer its jobs once it is durable.
    Committed(Committed),
}

/// A group committed to redb, waiting to be durable.
struct Committed {
    group: GroupNo,
    /// Sequence number of the group's last change-log entry.
    last_seq: Seq,
    replies: Vec<Reply>,
    /// When redb committed it.
    at: Instant,
    /// The same moment by the region's wall clock (`GroupTimes`).
    visible_ns: u64,
}

fn run(setup: WriterSetup, mut jobs: mpsc::Receiver<Submitted>, group_max: usize, stats: Arc<WriterStats>) {
    let WriterSetup {
        store,
        hlc,
        region,
        committed,
        commit_times,
        schemas,
        space,
        collection_limit,
    } = setup;
    let _span = tracing::info_span!("writer", region = %region).entered();
    let published = Published {
        committed,
        commit_times,
        clock: hlc.clone(),
    };
    let handoff = Handoff::start(&store, published, &stats, &region);
    // The last change-log position committed: positions only rise.
    let mut last_committed = Seq::ZERO;
    // What the last group committed learned (see `Known`).
    let mut known = Known::default();
    let mut background = VecDeque::new();
    while let Some(mut group) = next_group(&mut jobs, &mut background, group_max, &stats) {
        let started = Instant::now();
        let frees = group.iter().any(|queued| queued.frees);
        stats.commits.fetch_add(1, Ordering::Relaxed);
        let mut replies: Vec<Reply> = Vec::with_capacity(group.len());
        // Taken: a group that fails leaves nothing known to the next.
        let learned = std::mem::take(&mut known);
        let result = store.write_logged(
            |tables| {
                let limit = collection_limit.load(Ordering::Relaxed);
                let mut txn = GroupTxn::new(tables, &hlc, &region, limit, learned);
                run_group(&mut group, &mut txn, &mut replies, &stats);
                let (schema_changed, learned) = txn.finish()?;
                Ok((tables.last_seq(), schema_changed, learned))
            },
            // The syncer starts the log's fsync while redb commits.
            |number| handoff.logged(number),
        );
        add_time(&stats.group_ns, started.elapsed(), replies.len());
        // Background jobs a client job cut off wait for the next group.
        for unrun in group.into_iter().rev() {
            background.push_front(unrun);
        }
        let result = result.map_err(|e| space.explain(e));
        if frees && result.is_ok() && space.is_short() {
            release_freed_pages(&store);
        }
        measure_space(&store, &space);
        match result {
            Ok(((last_seq, schema_changed, learned), number)) => {
                debug_assert!(last_seq >= last_committed, "change-log positions only rise");
                last_committed = last_seq;
                known = learned;
                if schema_changed {
                    schemas.invalidate();
                }
                let group = Committed {
                    group: number,
                    last_seq,
                    replies,
                    at: Instant::now(),
                    visible_ns: hlc.wall_now_ns(),
                };
                handoff.committed(group, &store, &stats);
            }
            Err(e) => {
                tracing::error!(error = %e, writes = replies.len(), "group commit failed");
                answer(replies, Err(Arc::new(e)));
            }
        }
    }
    handoff.stop();
    // Leaves nothing for a restart to redo from the write-ahead log.
    if let Err(e) = store.checkpoint() {
        tracing::warn!(error = %e, "final checkpoint failed; the next start redoes the write-ahead log");
    }
    tracing::debug!("writer stopped");
}

/// Runs the jobs of `group` in `txn`, their answers to `replies`, in
/// order. A group of background jobs stops after any of them once a
/// client job is queued, leaving the rest in `group`: a client write
/// waits for at most one background job.
fn run_group(group: &mut Vec<Submitted>, txn: &mut GroupTxn<'_, '_>, replies: &mut Vec<Reply>, stats: &WriterStats) {
    let started = Instant::now();
    let mut pending = std::mem::take(group).into_iter().peekable();
    let mut ran = 0;
    let go_on = |job: &Submitted, ran: usize| {
        ran == 0
            || !job.background
            || (stats.clients_queued.load(Ordering::Relaxed) == 0 && started.elapsed() < BACKGROUND_BUDGET)
    };
    while let Some(queued) = pending.next_if(|job| go_on(job, ran)) {
        add_time(&stats.queue_wait_ns, started.duration_since(queued.at), 1);
        replies.push((queued.job)(txn));
        ran += 1;
    }
    *group = pending.collect();
    stats.jobs.fetch_add(ran as u64, Ordering::Relaxed);
}

/// The next job, once one is queued: `None` once the queue is closed.
/// Polls for up to `IDLE_POLL` first (giving the CPU to any other thread
/// that wants it meanwhile), so that a job queued soon after the last
/// group does not pay for putting the writer thread to sleep and waking
/// it (see `IDLE_POLL`).
fn next_job(jobs: &mut mpsc::Receiver<Submitted>) -> Option<Submitted> {
    let until = Instant::now() + IDLE_POLL;
    loop {
        match jobs.try_recv() {
            Ok(job) => return Some(job),
            Err(mpsc::error::TryRecvError::Disconnected) => return None,
            Err(mpsc::error::TryRecvError::Empty) if Instant::now() < until => std::thread::yield_now(),
            Err(mpsc::error::TryRecvError::Empty) => return jobs.blocking_recv(),
        }
    }
}

/// The writer's next group: the oldest background job alone when it has
/// waited `BACKGROUND_MAX_WAIT`, else every other job waiting (up to
/// `group_max`), else, when none is, the oldest background jobs (up to
/// `BACKGROUND_GROUP`). Background jobs met meanwhile wait in
/// `background`, in order. `None` once the queue is closed and nothing
/// is left.
fn next_group(
    jobs: &mut mpsc::Receiver<Submitted>,
    background: &mut VecDeque<Submitted>,
    group_max: usize,
    stats: &WriterStats,
) -> Option<Vec<Submitted>> {
    if background
        .front()
        .is_some_and(|job| job.at.elapsed() >= BACKGROUND_MAX_WAIT)
    {
        return background.pop_front().map(|job| vec![job]);
    }
    let mut group = Vec::new();
    while group.len() < group_max {
        // Block only when there is nothing at all to run.
        let next = match group.is_empty() && background.is_empty() {
            true => next_job(jobs),
            false => jobs.try_recv().ok(),
        };
        match next {
            Some(job) if job.background => background.push_back(job),
            Some(job) => {
                stats.clients_queued.fetch_sub(1, Ordering::Relaxed);
                group.push(job);
            }
            None => break,
        }
    }
    match (group.is_empty(), background.is_empty()) {
        (true, true) => None,
        (true, false) => Some(background.drain(..BACKGROUND_GROUP.min(background.len())).collect()),
        (false, _) => Some(group),
    }
}

/// Where the writer hands its committed groups: to the syncer thread,
/// which answers them once a log sync has made them durable, or, for a
/// store in memory (committed is durable there: it has no log), to no
/// one: the writer answers them itself, sparing a thread hop per group.
enum Handoff {
    Syncer {
        to_syncer: std_mpsc::SyncSender<ToSyncer>,
        thread: std::thread::JoinHandle<()>,
    },
    Inline(Published),
}

impl Handoff {
    /// Starts the syncer thread, unless `store` is in memory.
    fn start(store: &Store, published: Published, stats: &Arc<WriterStats>, region: &str) -> Handoff {
        if store.in_memory() {
            return Handoff::Inline(published);
        }
        let (to_syncer, inbox) = std_mpsc::sync_channel(UNSYNCED_GROUPS);
        let (store, stats) = (store.clone(), stats.clone());
        let thread = std::thread::Builder::new()
            .name(format!("syncer-{region}"))
            .spawn(move || sync_groups(&store, &inbox, &published, &stats))
            .expect("spawn the syncer thread");
        Handoff::Syncer { to_syncer, thread }
    }

    /// Group `number`'s frame is in the log: the syncer may sync it.
    fn logged(&self, number: GroupNo) {
        if let Handoff::Syncer { to_syncer, .. } = self {
            let _ = to_syncer.send(ToSyncer::Logged(number));
        }
    }

    /// `group` is committed: it is answered once durable.
    fn committed(&self, group: Committed, store: &Store, stats: &WriterStats) {
        match self {
            Handoff::Syncer { to_syncer, .. } => {
                if let Err(std_mpsc::SendError(ToSyncer::Committed(lost))) = to_syncer.send(ToSyncer::Committed(group))
                {
                    // The syncer is gone (it panicked): nothing is durable.
                    answer(lost.replies, Err(Arc::new(StoreError::WalBroken)));
                }
            }
            Handoff::Inline(published) => {
                debug_assert!(
                    group.group <= store.durable(),
                    "in memory, a committed group is durable"
                );
                answer_durable(vec![group], None, store.durable(), published, stats);
            }
        }
    }

    /// Waits for the syncer to answer every group handed to it.
    fn stop(self) {
        if let Handoff::Syncer { to_syncer, thread } = self {
            drop(to_syncer);
            let _ = thread.join();
        }
    }
}

/// After a group that freed space on a short disk: checkpoints, so that
/// redb releases the pages the group freed (pages freed by a commit that is
/// not durable stay reserved until one is). Two checkpoints: the first
/// makes the group durable, the second releases what it freed.
fn release_freed_pages(store: &Store) {
    for _ in 0..2 {
        if let Err(error) = store.checkpoint() {
            tracing::warn!(%error, "checkpoint after freeing space failed");
            return;
        }
    }
}

/// Measures free space after a group: the file system, and while it is
/// short the database file's unused pages too (see `store::space`).
fn measure_space(store: &Store, space: &DiskSpace) {
    space.measure();
    if !space.is_short() {
        return;
    }
    match store.allocated_bytes() {
        Ok(allocated) => {
            space.measure_file(allocated);
        }
        Err(error) => tracing::warn!(%error, "cannot measure the database file's free pages"),
    }
}

/// Where the syncer tells the rest of the region about durable groups: the
/// last durable change-log entry, and when each group became durable.
struct Published {
    committed: watch::Sender<Seq>,
    commit_times: Arc<CommitTimes>,
    clock: Hlc,
}

/// The syncer: takes everything the writer reported since it last looked,
/// makes every logged group durable with one `Store::sync`, then answers
/// the jobs of the committed groups and publishes their change-log
/// position and commit time. Stops when the writer drops its end.
///
/// A group is reported `Logged` before `Committed`, so by the time its
/// jobs are here, the sync that follows covers it (a checkpoint group is
/// never logged: it is durable already).
fn sync_groups(store: &Store, inbox: &std_mpsc::Receiver<ToSyncer>, published: &Published, stats: &WriterStats) {
    let mut logged = GroupNo::ZERO;
    while let Ok(first) = inbox.recv() {
        let mut groups = Vec::new();
        for message in std::iter::once(first).chain(inbox.try_iter()) {
            match message {
                ToSyncer::Logged(group) => {
                    debug_assert!(group > logged, "groups are logged in order");
                    logged = group;
                }
                ToSyncer::Committed(group) => groups.push(group),
            }
        }
        let syncing = Instant::now();
        let failed = match store.sync(logged) {
            Ok(synced) => {
                if synced {
                    let took = syncing.elapsed();
                    add_time(&stats.sync_ns, took, 1);
                    stats.sync_latency.record(took);
                }
                None
            }
            Err(e) => {
                tracing::error!(error = %e, groups = groups.len(), "write-ahead log sync failed");
                Some(Arc::new(e))
            }
        };
        // Groups a failed sync did not need (durable before) still succeed.
        let durable = store.durable();
        debug_assert!(
            groups.iter().all(|g| g.group <= logged.max(durable)),
            "a group is logged (or checkpointed) before it is committed"
        );
        answer_durable(groups, failed.as_ref(), durable, published, stats);
    }
}

/// Answers the jobs of committed `groups` and publishes the change-log
/// position and commit time of each: those `durable` covers succeed, the
/// others fail with `failed` (the sync that should have covered them).
fn answer_durable(
    groups: Vec<Committed>,
    failed: Option<&Arc<StoreError>>,
    durable: GroupNo,
    published: &Published,
    stats: &WriterStats,
) {
    let now_ns = published.clock.wall_now_ns();
    for group in groups {
        let outcome = match failed {
            Some(e) if group.group > durable => Err(e.clone()),
            _ => {
                let last = group.last_seq;
                published.commit_times.record(last, now_ns);
                published.committed.send_if_modified(|seq| {
                    let moved = last > *seq;
                    *seq = (*seq).max(last);
                    moved
                });
                Ok(GroupTimes {
                    visible_ns: group.visible_ns,
                    durable_ns: now_ns,
                })
            }
        };
        add_time(&stats.durable_wait_ns, group.at.elapsed(), group.replies.len());
        answer(group.replies, outcome);
    }
}

fn answer(replies: Vec<Reply>, outcome: Result<GroupTimes, Arc<StoreError>>) {
    for reply in replies {
        reply(outcome.clone());
    }
}
