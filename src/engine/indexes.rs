//! Backfilling secondary indexes created on live tables: the steps the
//! index backfill worker (`workers/index_backfill.rs`) drives. Each run of
//! items is prepared from a snapshot on a blocking thread and stored by
//! writer jobs, a batch each (`backfill_prep.rs`); a batch that no longer
//! fits the stored cursor is done in the writer instead
//! (`index_entries::backfill_batch`).

use super::backfill_prep::{self, BackfillFrom, PreparedBatch, PreparedRun};
use super::error::EngineError;
use super::handle::Engine;
use super::index_entries::{BackfillStep, backfill_batch};
use super::txn::GroupTxn;
use super::writer::Queued;

/// Stores prepared batch `batch`, or when it does not fit the stored
/// cursor, runs one batch from the cursor here; nothing when the table or
/// the index is gone or the index is complete.
fn apply_in(txn: &mut GroupTxn<'_, '_>, batch: &PreparedBatch) -> Result<BackfillStep, EngineError> {
    txn.with_table(&batch.table, |txn, meta| {
        let Some(meta) = meta else {
            return Ok(BackfillStep::default());
        };
        let Some(position) = meta.indexes.iter().position(|i| i.name == batch.index && i.backfilling) else {
            return Ok(BackfillStep::default());
        };
        let step = match backfill_prep::apply(txn.tables, meta, position, batch)? {
            Some(step) => step,
            None => BackfillStep {
                redone: true,
                ..backfill_batch(txn.tables, meta, position)?
            },
        };
        if step.finished {
            // Queries on the index are now allowed: the schema cache must
            // forget the description that says CREATING.
            txn.mark_schema_changed();
        }
        Ok(step)
    })
}

impl Engine {
    /// Indexes of this region still being backfilled, as (table, index).
    pub async fn indexes_being_backfilled(&self) -> Result<Vec<(String, String)>, EngineError> {
        self.read(move |read| {
            let mut out = Vec::new();
            for name in read.table_names(None, usize::MAX)? {
                let Some(meta) = read.table(&name)? else { continue };
                let backfilling = meta.indexes.iter().filter(|i| i.backfilling);
                out.extend(backfilling.map(|i| (name.clone(), i.name.clone())));
            }
            Ok(out)
        })
        .await
    }

    /// The next backfill run of index `index` of `table`, from `from`,
    /// computed from a snapshot on the blocking pool (see
    /// `backfill_prep.rs`); `None` when there is no such index being
    /// backfilled. The snapshot need not be durable: the writer checks
    /// every item against what it holds before storing an entry.
    pub async fn prepare_backfill(
        &self,
        table: String,
        index: String,
        from: BackfillFrom,
    ) -> Result<Option<PreparedRun>, EngineError> {
        let store = self.0.store.clone();
        tokio::task::spawn_blocking(move || {
            let read = store.read()?;
            Ok(backfill_prep::prepare(&read, &table, &index, from)?)
        })
        .await
        .map_err(|_| EngineError::Stopped)?
    }

    /// Queues `batch` for the writer (see `apply_in`) as background work:
    /// client writes go first (`Writer::enqueue_background`). Batches
    /// queued one after another are stored in that order.
    pub async fn enqueue_backfill(&self, batch: PreparedBatch) -> Result<Queued<BackfillStep>, EngineError> {
        self.writer()?
            .enqueue_background(move |txn| apply_in(txn, &batch))
            .await
    }

    /// One backfill run of index `index` of `table`, from its stored
    /// cursor: its steps added up.
    pub async fn backfill_index(&self, table: String, index: String) -> Result<BackfillStep, EngineError> {
        let run = self.prepare_backfill(table, index, BackfillFrom::Cursor).await?;
        let mut queued = Vec::new();
        for batch in run.map(PreparedRun::into_batches).unwrap_or_default() {
            queued.push(self.enqueue_backfill(batch).await?);
        }
        let mut sum = BackfillStep::default();
        for step in queued {
            sum.add(&step.wait().await?);
        }
        Ok(sum)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::engine::{
        BackfillFrom, Engine, IndexUpdate, ItemOp, ItemWrite, Mutator, NewTable, PreparedBatch, PreparedRun, RangeRead,
        TableUpdate,
    };
    use crate::model::{
        AttributeValue, IndexKind, Item, KeyAttribute, KeySchema, Number, Projection, ScalarType, SecondaryIndex,
    };

    /// Sets attribute `name` to `value`, or removes it.
    struct SetOrRemove {
        name: &'static str,
        value: Option<AttributeValue>,
    }

    impl Mutator for SetOrRemove {
        fn apply(&self, item: &mut Item, _keys: &[&str]) -> Result<(), String> {
            match &self.value {
                Some(v) => item.insert(self.name.to_string(), v.clone()),
                None => item.remove(self.name),
            };
            Ok(())
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Put {
            key: u8,
            g: Option<u8>,
            c: Option<u8>,
        },
        SetG {
            key: u8,
            g: Option<u8>,
        },
        Delete {
            key: u8,
        },
        /// Adds GSI `byC` (once), backfilled by the next `Backfill`.
        CreateByC,
        /// Prepares a run of `byC`'s backfill, after the last one prepared
        /// (or from the cursor when every batch prepared was applied), its
        /// batches to be applied by later `Backfill`s, after the ops in
        /// between.
        Prepare,
        /// Applies the oldest or the newest prepared batch (the newest, with
        /// an older one waiting, is out of turn), or when none is waiting,
        /// runs one run from the cursor.
        Backfill {
            newest: bool,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..8, proptest::option::of(0u8..3), proptest::option::of(0u8..3))
                .prop_map(|(key, g, c)| Op::Put { key, g, c }),
            3 => (0u8..8, proptest::option::of(0u8..3)).prop_map(|(key, g)| Op::SetG { key, g }),
            2 => (0u8..8).prop_map(|key| Op::Delete { key }),
            1 => Just(Op::CreateByC),
            1 => Just(Op::Prepare),
            2 => any::<bool>().prop_map(|newest| Op::Backfill { newest }),
        ]
    }

    fn attr(name: &str, ty: ScalarType) -> KeyAttribute {
        KeyAttribute { name: name.into(), ty }
    }

    fn index(
        name: &str,
        kind: IndexKind,
        hash: KeyAttribute,
        range: Option<KeyAttribute>,
        projection: Projection,
    ) -> SecondaryIndex {
        SecondaryIndex {
            name: name.into(),
            kind,
            key_schema: KeySchema { hash, range },
            projection,
            throughput: None,
            storage_id: Default::default(),
            backfilling: false,
            item_count: 0,
            size_bytes: 0,
        }
    }

    /// GSI `byC`: hash key `c` (a number), `projection`.
    fn by_c(projection: Projection) -> SecondaryIndex {
        index("byC", IndexKind::Global, attr("c", ScalarType::N), None, projection)
    }

    /// An UpdateTable making one index change.
    fn index_update(update: IndexUpdate) -> TableUpdate {
        TableUpdate {
            indexes: vec![update],
            ..TableUpdate::default()
        }
    }

    fn key(k: u8) -> Item {
        Item::from([
            ("pk".to_string(), AttributeValue::S(format!("p{}", k % 3))),
            ("sk".to_string(), AttributeValue::N(Number::from(i64::from(k)))),
        ])
    }

    fn scan(index: Option<&str>) -> RangeRead {
        RangeRead {
            table: "t".into(),
            partition: None,
            sort: None,
            forward: true,
            start_after: None,
            limit: None,
            filter: None,
            segment: None,
            index: index.map(str::to_string),
            fetch_from_table: false,
        }
    }

    async fn run(ops: Vec<Op>) {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open_for_test(dir.path(), "r");
        let mut spec = NewTable::keyed_by_pk("t");
        spec.key_schema.range = Some(attr("sk", ScalarType::N));
        spec.indexes = vec![
            index(
                "byG",
                IndexKind::Global,
                attr("g", ScalarType::S),
                None,
                Projection::All,
            ),
            index(
                "byGKeys",
                IndexKind::Global,
                attr("g", ScalarType::S),
                Some(attr("sk", ScalarType::N)),
                Projection::KeysOnly,
            ),
            index(
                "byLocalC",
                IndexKind::Local,
                attr("pk", ScalarType::S),
                Some(attr("c", ScalarType::N)),
                Projection::Include(vec!["g".into()]),
            ),
        ];
        engine.create_table(spec).await.unwrap();
        let s = |v: u8| AttributeValue::S(format!("v{v}"));
        let mut prepared: Vec<PreparedBatch> = Vec::new();
        let mut next_from = BackfillFrom::Cursor;
        for op in ops {
            match op {
                Op::Put { key: k, g, c } => {
                    let mut item = key(k);
                    item.extend(g.map(|g| ("g".to_string(), s(g))));
                    item.extend(c.map(|c| ("c".to_string(), AttributeValue::N(Number::from(i64::from(c))))));
                    engine
                        .write_item("t".into(), ItemWrite::new(ItemOp::Put(item)))
                        .await
                        .unwrap();
                }
                Op::SetG { key: k, g } => {
                    let mutator = Box::new(SetOrRemove {
                        name: "g",
                        value: g.map(s),
                    });
                    let op = ItemOp::Update { key: key(k), mutator };
                    engine.write_item("t".into(), ItemWrite::new(op)).await.unwrap();
                }
                Op::Delete { key: k } => {
                    engine
                        .write_item("t".into(), ItemWrite::new(ItemOp::Delete(key(k))))
                        .await
                        .unwrap();
                }
                Op::CreateByC => {
                    let update = index_update(IndexUpdate::Create(by_c(Projection::All)));
                    // Refused while it exists or is still being filled.
                    let _ = engine.update_table("t".into(), update).await;
                }
                Op::Prepare => {
                    let from = match prepared.is_empty() {
                        true => BackfillFrom::Cursor,
                        false => next_from.clone(),
                    };
                    let run = engine.prepare_backfill("t".into(), "byC".into(), from).await.unwrap();
                    if let Some(run) = run {
                        next_from = run.next_from();
                        prepared.extend(run.into_batches());
                    }
                }
                Op::Backfill { newest } => {
                    let batch = match newest {
                        true => prepared.pop(),
                        false => (!prepared.is_empty()).then(|| prepared.remove(0)),
                    };
                    match batch {
                        Some(batch) => drop(engine.enqueue_backfill(batch).await.unwrap().wait().await.unwrap()),
                        None => drop(engine.backfill_index("t".into(), "byC".into()).await.unwrap()),
                    }
                }
            }
        }
        let (meta, table) = engine.read_range(scan(None)).await.unwrap();
        let table_keys: Vec<Vec<u8>> = table
            .items
            .iter()
            .map(|i| meta.key_schema.key_of_item(i).unwrap().encoded)
            .collect();
        for index in meta.indexes.iter().filter(|i| !i.backfilling) {
            let mut expected: Vec<(Vec<u8>, Item)> = table
                .items
                .iter()
                .zip(&table_keys)
                .filter_map(|(item, key)| Some((index.entry_key(key, item)?, index.project(&meta.key_schema, item))))
                .collect();
            expected.sort_by(|a, b| a.0.cmp(&b.0));
            let expected: Vec<Item> = expected.into_iter().map(|(_, item)| item).collect();
            let (_, actual) = engine.read_range(scan(Some(&index.name))).await.unwrap();
            assert_eq!(actual.items, expected, "index {}", index.name);
            assert_eq!(index.item_count as usize, expected.len(), "count of {}", index.name);
        }
        engine.shutdown();
    }

    /// Item `sk` of partition `p`, with `c` (byC's key), `g` (projected by
    /// `INCLUDE`) and `x` (not projected).
    fn item(sk: i64, c: Option<i64>, g: &str, x: &str) -> Item {
        let mut item = Item::from([
            ("pk".to_string(), AttributeValue::S("p".into())),
            ("sk".to_string(), AttributeValue::N(Number::from(sk))),
            ("g".to_string(), AttributeValue::S(g.into())),
            ("x".to_string(), AttributeValue::S(x.into())),
        ]);
        item.extend(c.map(|c| ("c".to_string(), AttributeValue::N(Number::from(c)))));
        item
    }

    async fn put(engine: &Engine, item: Item) {
        let write = ItemWrite::new(ItemOp::Put(item));
        engine.write_item("t".into(), write).await.unwrap();
    }

    /// Creates GSI `byC` with `projection` on a table of five items, prepares
    /// both its batches, changes items of both after the snapshot, then
    /// stores the batches: each is stored from its snapshot (not redone in
    /// the writer), and the index holds exactly the entries of the items as
    /// they are now, in `c` order.
    /// A table of five items (sk 0, 2, 4, 6, 8 with c 1, 2, 3, 4, 6) and
    /// GSI `byC` with `projection` created on it, not yet backfilled.
    async fn five_items_and_by_c(dir: &std::path::Path, projection: Projection) -> Engine {
        let engine = Engine::open_for_test(dir, "r");
        let mut spec = NewTable::keyed_by_pk("t");
        spec.key_schema.range = Some(attr("sk", ScalarType::N));
        engine.create_table(spec).await.unwrap();
        for (sk, c) in [(0, 1), (2, 2), (4, 3), (6, 4), (8, 6)] {
            put(&engine, item(sk, Some(c), "g", "x")).await;
        }
        let update = index_update(IndexUpdate::Create(by_c(projection)));
        engine.update_table("t".into(), update).await.unwrap();
        engine
    }

    /// Runs `byC`'s backfill from its cursor until none is left, then
    /// checks that the index is complete and holds the five items of
    /// `five_items_and_by_c`, in `c` order, each counted once.
    async fn finish_and_check_five(engine: &Engine) {
        for _ in 0..10 {
            engine.backfill_index("t".into(), "byC".into()).await.unwrap();
        }
        let (meta, actual) = engine.read_range(scan(Some("byC"))).await.unwrap();
        let sks: Vec<&AttributeValue> = actual.items.iter().map(|i| &i["sk"]).collect();
        let expected: Vec<AttributeValue> = [0, 2, 4, 6, 8].map(|sk| AttributeValue::N(Number::from(sk))).into();
        assert_eq!(sks, expected.iter().collect::<Vec<_>>());
        assert_eq!(meta.indexes[0].item_count, 5);
        assert!(!meta.indexes[0].backfilling);
    }

    async fn prepared_batches_with_changed_items(projection: Projection) {
        let dir = tempfile::tempdir().unwrap();
        let engine = five_items_and_by_c(dir.path(), projection.clone()).await;
        let prepare = |from| engine.prepare_backfill("t".into(), "byC".into(), from);
        let first = prepare(BackfillFrom::Cursor).await.unwrap().unwrap();
        let second = prepare(first.next_from()).await.unwrap().unwrap();
        // The first run holds sk 0, 2 and 4 (two batches: c 1 and 2, then
        // c 3); the second 6 and 8 (one batch).
        put(&engine, item(0, Some(1), "g", "x changed")).await;
        put(&engine, item(2, Some(5), "g", "x")).await;
        let key = Item::from([
            ("pk".to_string(), AttributeValue::S("p".into())),
            ("sk".to_string(), AttributeValue::N(Number::from(4))),
        ]);
        let delete = ItemOp::Delete(key);
        engine.write_item("t".into(), ItemWrite::new(delete)).await.unwrap();
        put(&engine, item(1, Some(0), "g", "x")).await;
        put(&engine, item(8, Some(6), "g changed", "x")).await;
        let batches: Vec<PreparedBatch> = [first, second]
            .into_iter()
            .flat_map(PreparedRun::into_batches)
            .collect();
        assert_eq!(batches.len(), 3);
        for (n, batch) in batches.into_iter().enumerate() {
            let step = engine.enqueue_backfill(batch).await.unwrap().wait().await.unwrap();
            assert!(!step.redone, "{step:?}");
            assert_eq!(step.finished, n == 2, "{step:?}");
        }
        let expected: Vec<Item> = [
            (1, 0, "g", "x"),
            (0, 1, "g", "x changed"),
            (6, 4, "g", "x"),
            (2, 5, "g", "x"),
        ]
        .into_iter()
        .chain([(8, 6, "g changed", "x")])
        .map(|(sk, c, g, x)| {
            let mut item = item(sk, Some(c), g, x);
            if projection != Projection::All {
                item.remove("x");
            }
            item
        })
        .collect();
        let (meta, actual) = engine.read_range(scan(Some("byC"))).await.unwrap();
        assert_eq!(actual.items, expected);
        assert_eq!(meta.indexes[0].item_count, 5);
        assert!(!meta.indexes[0].backfilling);
        engine.shutdown();
    }

    /// A prepared batch whose items were written since its snapshot (a
    /// non-projected attribute changed, the index key changed, deleted, an
    /// item inserted among them, a projected attribute changed) stores
    /// the entries of the items as they are now, with INCLUDE and ALL
    /// projections.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_prepared_batch_recomputes_the_entries_of_changed_items() {
        prepared_batches_with_changed_items(Projection::Include(vec!["g".into()])).await;
        prepared_batches_with_changed_items(Projection::All).await;
    }

    /// A run of which only the first batch was stored (as when a restart
    /// loses the rest of a prepared run) is done again from the cursor,
    /// which did not move: the entries stored twice are counted once, and
    /// the index ends complete.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_run_stored_in_part_is_done_again_from_the_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let engine = five_items_and_by_c(dir.path(), Projection::All).await;
        let run = engine.prepare_backfill("t".into(), "byC".into(), BackfillFrom::Cursor);
        let first = run.await.unwrap().unwrap().into_batches().remove(0);
        let step = engine.enqueue_backfill(first).await.unwrap().wait().await.unwrap();
        assert_eq!((step.added, step.redone, step.finished), (2, false, false), "{step:?}");
        finish_and_check_five(&engine).await;
        engine.shutdown();
    }

    /// The last batch of a run stored before the one ahead of it is not
    /// stored from its snapshot (it would move the cursor past the items
    /// of the batch not stored yet): it is done from the cursor instead.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_out_of_turn_is_done_from_the_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let engine = five_items_and_by_c(dir.path(), Projection::All).await;
        let run = engine.prepare_backfill("t".into(), "byC".into(), BackfillFrom::Cursor);
        let mut batches = run.await.unwrap().unwrap().into_batches();
        assert_eq!(batches.len(), 2);
        let last = engine.enqueue_backfill(batches.remove(1)).await.unwrap();
        assert!(last.wait().await.unwrap().redone);
        let first = engine.enqueue_backfill(batches.remove(0)).await.unwrap();
        first.wait().await.unwrap();
        finish_and_check_five(&engine).await;
        engine.shutdown();
    }

    /// GSI `byC` deleted while it is being backfilled (one batch of its
    /// run stored, one prepared and not): the delete is accepted, the
    /// batch left over stores nothing, no backfill is left, and `byC`
    /// created again is backfilled from the first item into storage of
    /// its own. Another index created meanwhile would have been refused.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_index_being_backfilled_can_be_deleted_and_created_again() {
        let dir = tempfile::tempdir().unwrap();
        let engine = five_items_and_by_c(dir.path(), Projection::All).await;
        let run = engine.prepare_backfill("t".into(), "byC".into(), BackfillFrom::Cursor);
        let mut batches = run.await.unwrap().unwrap().into_batches();
        let step = engine
            .enqueue_backfill(batches.remove(0))
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        assert!(!step.finished, "{step:?}");
        let by_g = index(
            "byG",
            IndexKind::Global,
            attr("g", ScalarType::S),
            None,
            Projection::All,
        );
        let busy = engine
            .update_table("t".into(), index_update(IndexUpdate::Create(by_g)))
            .await
            .unwrap_err();
        assert!(busy.to_string().contains("Only 1 online index"), "{busy}");

        let delete = index_update(IndexUpdate::Delete("byC".into()));
        engine.update_table("t".into(), delete).await.unwrap();
        let left_over = engine.enqueue_backfill(batches.remove(0)).await.unwrap();
        assert_eq!(left_over.wait().await.unwrap(), Default::default());
        assert!(engine.indexes_being_backfilled().await.unwrap().is_empty());
        let (meta, _) = engine.read_range(scan(None)).await.unwrap();
        assert!(meta.indexes.is_empty());

        let create = index_update(IndexUpdate::Create(by_c(Projection::All)));
        engine.update_table("t".into(), create).await.unwrap();
        let backfilling = engine.indexes_being_backfilled().await.unwrap();
        assert_eq!(backfilling, [("t".to_string(), "byC".to_string())]);
        finish_and_check_five(&engine).await;
        engine.shutdown();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// For any sequence of puts, updates (adding, changing, removing
        /// index keys), deletes and an index created and backfilled midway
        /// (in batches prepared before the writes that follow them), every
        /// index equals the index recomputed from the table's items.
        #[test]
        fn every_index_equals_the_index_recomputed_from_the_table(ops in proptest::collection::vec(op(), 1..40)) {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(run(ops));
        }
    }
}
