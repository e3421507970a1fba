//! Reads from a consistent snapshot: GetItem, and the range walk behind Query
//! and Scan with DynamoDB's page rules (Limit counts items evaluated before
//! the filter; a page stops after 1 MB of items read); and the engine's
//! entry points for them, which take the snapshot and answer once it is
//! durable.

use std::ops::Bound;
use std::sync::Arc;

use super::Engine;
use super::error::EngineError;
use super::write::Precondition;
use crate::model::key::{self, encode_key_value, encode_primary_key, partition_key_len};
use crate::model::{AttributeValue, IndexKind, Item, KeySchema, ScalarType, SecondaryIndex, TableMeta, item_size};
use crate::store::{Keyspace, ReadTables, Walk};

/// Most bytes of items one Query or Scan page reads.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// A condition on the sort key of a Query: the expression language's
/// `RangeCondition` (from KeyConditionExpression or KeyConditions).
pub use crate::expr::RangeCondition as SortCondition;

/// What to walk: one partition (Query) or the whole table (Scan).
pub struct RangeRead {
    pub table: String,
    /// The partition key value, for a Query.
    pub partition: Option<AttributeValue>,
    pub sort: Option<SortCondition>,
    pub forward: bool,
    /// ExclusiveStartKey: continue after this key.
    pub start_after: Option<Item>,
    /// Most items to evaluate (before the filter).
    pub limit: Option<usize>,
    /// FilterExpression / QueryFilter / ScanFilter, applied after `limit`.
    pub filter: Option<Box<dyn Precondition>>,
    /// Parallel scan: (Segment, TotalSegments).
    pub segment: Option<(u32, u32)>,
    /// IndexName: walk this secondary index instead of the table.
    pub index: Option<String>,
    /// Read each item from the table rather than from the index (a local
    /// secondary index asked for attributes it does not project).
    pub fetch_from_table: bool,
}

/// One page of results.
#[derive(Debug, Default)]
pub struct Page {
    /// Items that passed the filter.
    pub items: Vec<Item>,
    /// Items evaluated (ScannedCount).
    pub scanned: usize,
    /// Bytes of the items evaluated, for read capacity.
    pub bytes_read: usize,
    /// LastEvaluatedKey, when the page stopped before the end.
    pub last_key: Option<Item>,
    /// Items read from the table for a local secondary index's entries.
    pub table_reads: usize,
}

/// Reads one item by key; `None` when absent or deleted.
pub fn get_item(read: &ReadTables, meta: &TableMeta, key: &Item) -> Result<Option<Item>, EngineError> {
    let key = meta
        .key_schema
        .key_from_request(key)
        .map_err(|e| EngineError::Validation(e.to_string()))?;
    Ok(read.item(meta.storage_id, &key.encoded)?.and_then(|record| record.item))
}

/// The smallest byte string greater than every string starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Bound<Vec<u8>> {
    match key::prefix_end(prefix) {
        Some(end) => Bound::Excluded(end),
        None => Bound::Unbounded,
    }
}

/// Byte bounds of a Query's partition and sort condition, plus a prefix every
/// matching key must start with (for `begins_with`).
fn query_bounds(partition: &AttributeValue, sort: Option<&SortCondition>) -> (Bound<Vec<u8>>, Bound<Vec<u8>>, Vec<u8>) {
    let prefix = encode_primary_key(partition, None);
    let with = |v: &AttributeValue| {
        let mut k = prefix.clone();
        encode_key_value(v, &mut k);
        k
    };
    let (start, end) = (Bound::Included(prefix.clone()), prefix_end(&prefix));
    match sort {
        None => (start, end, prefix),
        Some(SortCondition::Eq(v)) => (Bound::Included(with(v)), Bound::Included(with(v)), prefix),
        Some(SortCondition::Lt(v)) => (start, Bound::Excluded(with(v)), prefix),
        Some(SortCondition::Le(v)) => (start, Bound::Included(with(v)), prefix),
        Some(SortCondition::Gt(v)) => (Bound::Excluded(with(v)), end, prefix),
        Some(SortCondition::Ge(v)) => (Bound::Included(with(v)), end, prefix),
        Some(SortCondition::Between(lo, hi)) => (Bound::Included(with(lo)), Bound::Included(with(hi)), prefix),
        Some(SortCondition::BeginsWith(v @ (AttributeValue::S(_) | AttributeValue::B(_)))) => {
            // The encoding of a string or binary escapes bytes one by one and
            // ends with a terminator; every value starting with `v` therefore
            // encodes to a key starting with `v`'s encoding minus terminator.
            let mut p = with(v);
            p.truncate(p.len() - 2);
            (Bound::Included(p.clone()), prefix_end(&p), p)
        }
        // Validation allows begins_with only on strings and binaries.
        Some(SortCondition::BeginsWith(v)) => (Bound::Included(with(v)), Bound::Included(with(v)), prefix),
    }
}

/// Entries a Query or Scan page looks at inline before it moves to the
/// blocking pool (see `read_range`): about 64 us of work at most.
const INLINE_RANGE_ENTRIES: usize = 64;

/// The engine's reads: point reads and range pages from the snapshot they
/// share (`Store::read_shared`), answered once what it holds is durable.
impl Engine {
    /// Reads one item (GetItem); returns the table too, for capacity and
    /// projections.
    ///
    /// Point reads run inline rather than on the blocking pool: they touch a
    /// few cached B-tree pages, and the hand-off to another thread would cost
    /// more than the read itself.
    pub async fn get_item(&self, table: &str, key: &Item) -> Result<(Arc<TableMeta>, Option<Item>), EngineError> {
        let (read, meta) = self.read_with_schema(table)?;
        let item = self::get_item(&read, &meta, key)?;
        self.release(read).await?;
        Ok((meta, item))
    }

    /// Reads several items of one table from one snapshot (BatchGetItem):
    /// at most 100 point reads (see `get_item` for why inline).
    pub async fn get_items(
        &self,
        table: &str,
        keys: &[Item],
    ) -> Result<(Arc<TableMeta>, Vec<Option<Item>>), EngineError> {
        let (read, meta) = self.read_with_schema(table)?;
        let items = keys
            .iter()
            .map(|key| self::get_item(&read, &meta, key))
            .collect::<Result<_, _>>()?;
        self.release(read).await?;
        Ok((meta, items))
    }

    /// A snapshot shared by point reads (see `Store::read_shared`) and the
    /// table's description, from the schema cache when it has it (see
    /// `schema_cache.rs`).
    pub(super) fn read_with_schema(&self, table: &str) -> Result<(Arc<ReadTables>, Arc<TableMeta>), EngineError> {
        if let Some(meta) = self.0.schemas.get(table) {
            return Ok((self.0.store.read_shared()?, meta));
        }
        let generation = self.0.schemas.generation();
        let read = self.0.store.read_shared()?;
        let meta = Arc::new(read.table(table)?.ok_or(EngineError::ResourceNotFound)?);
        self.0.schemas.insert(meta.clone(), generation);
        Ok((read, meta))
    }

    /// Table `table`'s description as the schema cache has it: current in
    /// what reads rely on (storage id, key schema), possibly stale in the
    /// rest (item count, size). What a Query checks its key condition
    /// against, without a snapshot of its own: one is taken only to fill
    /// the cache.
    pub fn table_schema(&self, table: &str) -> Result<Arc<TableMeta>, EngineError> {
        match self.0.schemas.get(table) {
            Some(meta) => Ok(meta),
            None => Ok(self.read_with_schema(table)?.1),
        }
    }

    /// One page of a Query or Scan, from the snapshot point reads share.
    ///
    /// A page is first read inline, looking at up to `INLINE_RANGE_ENTRIES`
    /// entries: most Queries read a few items, and handing them to the
    /// blocking pool cost more than the read. With that hand-off, and a
    /// second one for the table's description, a one-item Query answered at
    /// 0.29-0.32 of the core bench's no-op rate; inline, 0.57-0.63 (GetItem:
    /// 0.73-0.80). A longer page starts over on the blocking pool, from
    /// the same snapshot, so the entries looked at inline are read twice:
    /// at most 64 of the up to 1 MB a page reads.
    pub async fn read_range(&self, spec: RangeRead) -> Result<(Arc<TableMeta>, Page), EngineError> {
        let (read, meta) = self.read_with_schema(&spec.table)?;
        let page = match self::read_range(&read, &meta, &spec, Some(INLINE_RANGE_ENTRIES))? {
            Some(page) => page,
            None => {
                let (read, meta) = (read.clone(), meta.clone());
                tokio::task::spawn_blocking(move || read_whole_page(&read, &meta, &spec))
                    .await
                    .map_err(|_| EngineError::Stopped)??
            }
        };
        self.release(read).await?;
        Ok((meta, page))
    }
}

impl Engine {
    /// Whole gibibytes in the item collection of partition `hash` of
    /// `table` (its items and their entries in the table's local secondary
    /// indexes, by DynamoDB's size rules): the low end of
    /// ReturnItemCollectionMetrics' SizeEstimateRangeGB. Reads the
    /// partition, on the blocking pool, only when the whole table holds a
    /// gibibyte or more: below that, no collection of it can.
    pub async fn item_collection_gib(&self, table: &str, hash: AttributeValue) -> Result<u64, EngineError> {
        const GIB_SHIFT: u32 = 30;
        let (read, meta) = self.read_with_schema(table)?;
        let (read2, name) = (read.clone(), meta.name.clone());
        let gib = tokio::task::spawn_blocking(move || {
            // The cached description's counters may be stale: the snapshot's.
            let meta = read2.table(&name)?.ok_or(EngineError::ResourceNotFound)?;
            let locals = meta.indexes.iter().filter(|i| i.kind == IndexKind::Local);
            let table_bytes = meta.size_bytes + locals.map(|index| index.size_bytes).sum::<u64>();
            if table_bytes >> GIB_SHIFT == 0 {
                return Ok(0);
            }
            Ok(collection_size(&read2, &meta, &hash)? >> GIB_SHIFT)
        })
        .await
        .map_err(|_| EngineError::Stopped)?;
        self.release(read).await?;
        gib
    }
}

/// The bytes of partition `hash`'s item collection (see
/// `Engine::item_collection_gib`).
fn collection_size(read: &ReadTables, meta: &TableMeta, hash: &AttributeValue) -> Result<u64, EngineError> {
    let (lower, upper, _) = query_bounds(hash, None);
    let mut size = 0u64;
    let locals = meta.indexes.iter().filter(|i| i.kind == IndexKind::Local);
    let stores = std::iter::once((Keyspace::Items, meta.storage_id))
        .chain(locals.map(|i| (Keyspace::IndexEntries, i.storage_id)));
    for (space, storage_id) in stores {
        // An LSI's entries start with the partition key too.
        let bounds = (lower.clone(), upper.clone());
        for entry in read.items_where(space, storage_id, bounds, true, |_| Walk::Keep)? {
            if let Some((_, record)) = entry?
                && let Some(item) = record.item
            {
                size += item_size(&item) as u64;
            }
        }
    }
    Ok(size)
}

/// Which parallel-scan segment a partition key belongs to.
fn segment_of(hash: &AttributeValue, total: u32) -> u32 {
    let mut bytes = Vec::new();
    encode_key_value(hash, &mut bytes);
    segment_of_encoded(&bytes, total)
}

/// `segment_of` for a partition key as the store encodes it.
fn segment_of_encoded(hash: &[u8], total: u32) -> u32 {
    crc32fast::hash(hash) % total
}

/// Items of a partition outside the segment passed over one at a time
/// before the walk jumps past the rest of the partition: a jump is a fresh
/// descent of the tree, worth it for wide partitions only.
const JUMP_AFTER: usize = 4;

/// Which stored keys a walk decodes: with a parallel scan segment, those of
/// the segment's partitions, told apart by the partition key's encoding at
/// the start of each stored key. A segment then passes over the other
/// segments' items without decoding them (they are most of the table), and
/// jumps past the rest of a wide partition. The items of one partition are
/// adjacent, so the last partition's verdict is reused. This only saves
/// work: the item's own partition key still decides.
fn segment_keys(ty: ScalarType, segment: Option<(u32, u32)>) -> impl FnMut(&[u8]) -> Walk + 'static {
    // The last partition seen (empty: none yet), whether it is inside, and
    // how many of its items were passed over.
    let (mut partition, mut inside, mut passed) = (Vec::new(), true, 0);
    move |key| {
        let Some((segment, total)) = segment else {
            return Walk::Keep;
        };
        if partition.is_empty() || !key.starts_with(&partition) {
            let Some(len) = partition_key_len(key, ty) else {
                return Walk::Keep;
            };
            inside = segment_of_encoded(&key[..len], total) == segment;
            partition.clear();
            partition.extend_from_slice(&key[..len]);
            passed = 0;
        }
        if inside {
            return Walk::Keep;
        }
        passed += 1;
        if passed > JUMP_AFTER {
            Walk::PassPrefix(partition.len())
        } else {
            Walk::Pass
        }
    }
}

/// Walks a partition or table and builds one page. With `budget`, gives up
/// (`None`) once it has looked at that many entries (items, tombstones and
/// items of other segments alike) without finishing the page, so a caller
/// can try a page inline and hand the longer ones to another thread.
pub fn read_range(
    read: &ReadTables,
    meta: &TableMeta,
    spec: &RangeRead,
    budget: Option<usize>,
) -> Result<Option<Page>, EngineError> {
    let schema = &meta.key_schema;
    let index = match &spec.index {
        Some(name) => Some(readable_index(meta, name)?),
        None => None,
    };
    let walked = index.map(|i| &i.key_schema).unwrap_or(schema);
    let (mut lower, mut upper, must_start) = match &spec.partition {
        Some(p) => query_bounds(p, spec.sort.as_ref()),
        None => (Bound::Unbounded, Bound::Unbounded, Vec::new()),
    };
    if index.is_some() {
        // Index entries carry the table key after the index key: a bound
        // on the index key covers every entry that starts with it.
        (lower, upper) = (entry_lower(lower), entry_upper(upper));
    }
    if let Some(start) = &spec.start_after {
        // DynamoDB names the schema only for a Scan of a table.
        let detailed = spec.partition.is_none() && index.is_none();
        let key = start_entry(meta, index, start, detailed)?;
        check_start_segment(walked, start, spec.segment)?;
        if spec.forward {
            lower = Bound::Excluded(key);
        } else {
            upper = Bound::Excluded(key);
        }
    }
    let mut page = Page::default();
    let keep = segment_keys(walked.hash.ty, spec.segment);
    let (space, storage_id) = match index {
        Some(index) => (Keyspace::IndexEntries, index.storage_id),
        None => (Keyspace::Items, meta.storage_id),
    };
    let entries = read.items_where(space, storage_id, (lower, upper), spec.forward, keep)?;
    for (looked_at, entry) in entries.enumerate() {
        if budget.is_some_and(|b| looked_at >= b) {
            return Ok(None);
        }
        // Entries of other segments are passed over (a Scan: no partition
        // bound to check).
        let Some((key, record)) = entry? else {
            continue;
        };
        if !key.starts_with(&must_start) {
            break;
        }
        let Some(mut item) = record.item else { continue };
        if let (Some((segment, total)), Some(hash)) = (spec.segment, item.get(&walked.hash.name))
            && segment_of(hash, total) != segment
        {
            continue;
        }
        page.scanned += 1;
        page.bytes_read += item_size(&item);
        let stop = spec.limit.is_some_and(|l| page.scanned >= l) || page.bytes_read >= MAX_PAGE_BYTES;
        if stop {
            page.last_key = Some(match index {
                Some(index) => index.page_key(schema, &item),
                None => key_item(schema, &item),
            });
        }
        if spec.fetch_from_table {
            page.table_reads += 1;
            item = table_item(read, meta, &item)?;
        }
        let passes = match &spec.filter {
            Some(filter) => filter.holds(&item).map_err(EngineError::Validation)?,
            None => true,
        };
        if passes {
            page.items.push(item);
        }
        if stop {
            break;
        }
    }
    Ok(Some(page))
}

/// Secondary index `name` of `meta`, if it can be read (DynamoDB refuses
/// reads of an index still being backfilled).
fn readable_index<'m>(meta: &'m TableMeta, name: &str) -> Result<&'m SecondaryIndex, EngineError> {
    let index = meta
        .index(name)
        .ok_or_else(|| EngineError::Validation(format!("The table does not have the specified index: {name}")))?;
    if index.backfilling {
        return Err(EngineError::Validation(format!(
            "Cannot read from backfilling global secondary index: {name}"
        )));
    }
    Ok(index)
}

/// A lower bound on index keys as a bound on index entries.
fn entry_lower(bound: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match bound {
        Bound::Excluded(key) => match prefix_end(&key) {
            Bound::Excluded(end) => Bound::Included(end),
            _ => Bound::Excluded(vec![0xFF; key.len() + 1]),
        },
        other => other,
    }
}

/// An upper bound on index keys as a bound on index entries.
fn entry_upper(bound: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match bound {
        Bound::Included(key) => prefix_end(&key),
        other => other,
    }
}

/// A parallel scan's ExclusiveStartKey must belong to its segment (a
/// LastEvaluatedKey of another segment would skip or repeat items).
fn check_start_segment(walked: &KeySchema, start: &Item, segment: Option<(u32, u32)>) -> Result<(), EngineError> {
    let (Some((segment, total)), Some(hash)) = (segment, start.get(&walked.hash.name)) else {
        return Ok(());
    };
    if segment_of(hash, total) == segment {
        return Ok(());
    }
    Err(EngineError::Validation(format!(
        "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. TotalSegments: {total} Segment: {segment}"
    )))
}

/// The stored key an ExclusiveStartKey names: the table key, or for an
/// index, the entry key (index key, then table key), which needs both.
/// With `detailed`, a key that does not fit says it does not match the
/// schema.
fn start_entry(
    meta: &TableMeta,
    index: Option<&SecondaryIndex>,
    start: &Item,
    detailed: bool,
) -> Result<Vec<u8>, EngineError> {
    let invalid = || {
        let detail = if detailed {
            ": The provided key element does not match the schema"
        } else {
            ""
        };
        EngineError::Validation(format!("The provided starting key is invalid{detail}"))
    };
    let Some(index) = index else {
        return Ok(meta.key_schema.key_from_request(start).map_err(|_| invalid())?.encoded);
    };
    let names: Vec<&str> = meta.key_schema.names().chain(index.key_schema.names()).collect();
    if start.keys().any(|k| !names.contains(&k.as_str())) {
        return Err(invalid());
    }
    let table_key: Item = meta
        .key_schema
        .names()
        .filter_map(|n| start.get(n).map(|v| (n.to_string(), v.clone())))
        .collect();
    let key = meta.key_schema.key_from_request(&table_key).map_err(|_| invalid())?;
    index.entry_key(&key.encoded, start).ok_or_else(invalid)
}

/// The table's item behind an index entry (its projection holds the table
/// key); the entry itself if the item is gone, which cannot happen within
/// one snapshot, as both change in one commit.
fn table_item(read: &ReadTables, meta: &TableMeta, entry: &Item) -> Result<Item, EngineError> {
    let key = meta
        .key_schema
        .key_of_item(entry)
        .map_err(|e| EngineError::Validation(e.to_string()))?;
    let stored = read.item(meta.storage_id, &key.encoded)?.and_then(|r| r.item);
    Ok(stored.unwrap_or_else(|| entry.clone()))
}

/// `read_range` without a budget, which never gives up.
pub fn read_whole_page(read: &ReadTables, meta: &TableMeta, spec: &RangeRead) -> Result<Page, EngineError> {
    Ok(read_range(read, meta, spec, None)?.unwrap_or_default())
}

/// The key attributes of an item, as LastEvaluatedKey shows them.
fn key_item(schema: &crate::model::KeySchema, item: &Item) -> Item {
    schema
        .names()
        .filter_map(|n| item.get(n).map(|v| (n.to_string(), v.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, ItemOp, ItemWrite, NewTable};

    fn key(pk: &str) -> Item {
        Item::from([("pk".to_string(), AttributeValue::S(pk.into()))])
    }

    fn scan(limit: Option<usize>) -> RangeRead {
        RangeRead {
            table: "t".into(),
            partition: None,
            sort: None,
            forward: true,
            start_after: None,
            limit,
            filter: None,
            segment: None,
            index: None,
            fetch_from_table: false,
        }
    }

    fn keys(page: &Page) -> Vec<String> {
        let pk = |item: &Item| match item.get("pk") {
            Some(AttributeValue::S(s)) => s.clone(),
            other => panic!("no string pk: {other:?}"),
        };
        page.items.iter().map(pk).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_item_collection_counts_its_items_and_lsi_entries_not_tombstones() {
        use crate::ids::StorageId;
        use crate::model::{IndexKind, KeyAttribute, KeySchema, Projection, ScalarType, SecondaryIndex, item_size};
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open_for_test(dir.path(), "r");
        let attr = |name: &str| KeyAttribute {
            name: name.into(),
            ty: ScalarType::S,
        };
        let mut table = NewTable::keyed_by_pk("t");
        table.key_schema.range = Some(attr("sk"));
        table.attribute_definitions.extend([attr("sk"), attr("at")]);
        let index = SecondaryIndex {
            name: "byAt".into(),
            kind: IndexKind::Local,
            key_schema: KeySchema {
                hash: attr("pk"),
                range: Some(attr("at")),
            },
            projection: Projection::KeysOnly,
            throughput: None,
            storage_id: StorageId(0),
            backfilling: false,
            item_count: 0,
            size_bytes: 0,
        };
        table.indexes.push(index.clone());
        engine.create_table(table).await.unwrap();
        let s = |v: &str| AttributeValue::S(v.into());
        let item = |pk: &str, sk: &str, at: Option<&str>| {
            let mut item = Item::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))]);
            item.insert("payload".into(), s(&"x".repeat(100)));
            if let Some(at) = at {
                item.insert("at".into(), s(at));
            }
            item
        };
        let kept = [item("a", "1", Some("t1")), item("a", "2", None)];
        for written in kept
            .iter()
            .chain([&item("a", "3", Some("t3")), &item("b", "1", Some("t1"))])
        {
            let put = ItemWrite::new(ItemOp::Put(written.clone()));
            engine.write_item("t".into(), put).await.unwrap();
        }
        let key = Item::from([("pk".to_string(), s("a")), ("sk".to_string(), s("3"))]);
        let delete = ItemWrite::new(ItemOp::Delete(key));
        engine.write_item("t".into(), delete).await.unwrap();

        // Partition "a": two items, one LSI entry (the other item has no
        // `at`); the deleted item's tombstone and partition "b" count nothing.
        let schema = KeySchema {
            hash: attr("pk"),
            range: Some(attr("sk")),
        };
        let expected = (item_size(&kept[0]) + item_size(&kept[1]) + index.projected_size(&schema, &kept[0])) as u64;
        let (read, meta) = engine.read_with_schema("t").unwrap();
        assert_eq!(collection_size(&read, &meta, &s("a")).unwrap(), expected);
        assert_eq!(engine.item_collection_gib("t", s("a")).await.unwrap(), 0);
        engine.release(read).await.unwrap();
        engine.shutdown();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_page_past_its_budget_is_given_up_and_read_whole_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open_for_test(dir.path(), "r");
        engine.create_table(NewTable::keyed_by_pk("t")).await.unwrap();
        let puts = |range: std::ops::Range<usize>| {
            range
                .map(|n| ("t".to_string(), ItemWrite::new(ItemOp::Put(key(&format!("k{n:03}"))))))
                .collect::<Vec<_>>()
        };
        engine.write_batch(puts(0..10)).await.unwrap();
        for n in 0..4 {
            let delete = ItemWrite::new(ItemOp::Delete(key(&format!("k{n:03}"))));
            engine.write_item("t".into(), delete).await.unwrap();
        }

        // Ten entries, four of them tombstones: all count against the budget.
        let (read, meta) = engine.read_with_schema("t").unwrap();
        assert!(read_range(&read, &meta, &scan(None), Some(9)).unwrap().is_none());
        let page = read_range(&read, &meta, &scan(None), Some(10)).unwrap().unwrap();
        assert_eq!(keys(&page), ["k004", "k005", "k006", "k007", "k008", "k009"]);
        assert_eq!(keys(&read_whole_page(&read, &meta, &scan(None)).unwrap()), keys(&page));
        // A page that ends within the budget does not need the rest of it.
        let first_two = read_range(&read, &meta, &scan(Some(2)), Some(6)).unwrap().unwrap();
        assert_eq!(keys(&first_two), ["k004", "k005"]);
        drop(read);

        // Through the engine: a page longer than the inline budget is read
        // on the blocking pool and is the same page.
        for chunk in (10..110).step_by(25) {
            engine.write_batch(puts(chunk..chunk + 25)).await.unwrap();
        }
        let (_, long) = engine.read_range(scan(None)).await.unwrap();
        let expected: Vec<String> = (4..110).map(|n| format!("k{n:03}")).collect();
        assert_eq!(keys(&long), expected);
        assert_eq!((long.scanned, long.last_key), (106, None));
        let (_, short) = engine.read_range(scan(Some(3))).await.unwrap();
        assert_eq!(keys(&short), ["k004", "k005", "k006"]);
        assert_eq!(short.last_key, Some(key("k006")));
        engine.shutdown();
    }

    #[test]
    fn segment_keys_agree_with_the_items_partition_keys() {
        let n = |v: i64| AttributeValue::N(crate::model::Number::parse(&v.to_string()).unwrap());
        for (ty, hashes) in [
            (
                ScalarType::S,
                (0..40)
                    .map(|p| AttributeValue::S(format!("p{p}\0")))
                    .collect::<Vec<_>>(),
            ),
            (ScalarType::N, (-20..20).map(n).collect()),
        ] {
            for total in [1, 3, 8] {
                for segment in 0..total {
                    let mut walk = segment_keys(ty, Some((segment, total)));
                    // Stored order: each partition's items together.
                    for hash in &hashes {
                        for sort in 0..JUMP_AFTER + 3 {
                            let key = encode_primary_key(hash, Some(&n(sort as i64)));
                            let expected = match (segment_of(hash, total) == segment, sort < JUMP_AFTER) {
                                (true, _) => Walk::Keep,
                                (false, true) => Walk::Pass,
                                (false, false) => Walk::PassPrefix(encode_primary_key(hash, None).len()),
                            };
                            assert_eq!(walk(&key), expected, "{hash:?} {sort}");
                        }
                    }
                }
            }
            assert_eq!(segment_keys(ty, None)(b"anything"), Walk::Keep);
        }
    }

    #[test]
    fn prefix_end_is_the_next_prefix() {
        assert_eq!(prefix_end(&[1, 2]), Bound::Excluded(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 0xFF]), Bound::Excluded(vec![2]));
        assert_eq!(prefix_end(&[0xFF]), Bound::Unbounded);
    }
}
