//! Table descriptions cached for point reads, so GetItem does not read and
//! decode the table's stored description on every request.
//!
//! Only what point reads and capacity admission need must be current
//! (storage id, key schema, indexes, billing and throughput); the writer
//! invalidates the whole cache after committing a change to those,
//! and a generation counter stops a reader that loaded a description from an
//! older snapshot from putting it back after the invalidation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::model::TableMeta;

/// Cached table descriptions by name.
#[derive(Default)]
pub struct SchemaCache {
    generation: AtomicU64,
    tables: RwLock<HashMap<String, Arc<TableMeta>>>,
}

impl SchemaCache {
    /// The cached description of `name`, if any.
    pub fn get(&self, name: &str) -> Option<Arc<TableMeta>> {
        self.tables.read().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }

    /// The generation to pass to `insert`; read it before opening the
    /// snapshot the description comes from.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches `meta` unless the cache was invalidated since `generation`.
    pub fn insert(&self, meta: Arc<TableMeta>, generation: u64) {
        let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::Acquire) == generation {
            tables.insert(meta.name.clone(), meta);
        }
    }

    /// Forgets everything; called after a commit that changed a table's
    /// storage id or key schema, or removed a table.
    pub fn invalidate(&self) {
        let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        tables.clear();
    }
}

/// Whether replacing `old` by `new` changes what reads rely on (storage,
/// keys, and the indexes' definitions, storage and backfill state) or what
/// capacity admission does (billing, throughput, on-demand maximums).
pub fn changes_schema(old: Option<&TableMeta>, new: Option<&TableMeta>) -> bool {
    match (old, new) {
        (Some(a), Some(b)) => {
            let same_indexes = a.indexes.len() == b.indexes.len()
                && a.indexes
                    .iter()
                    .zip(&b.indexes)
                    .all(|(x, y)| x.same_shape(y) && x.throughput == y.throughput);
            let same_capacity = a.billing == b.billing && a.on_demand == b.on_demand;
            a.storage_id != b.storage_id
                || a.key_schema != b.key_schema
                || a.table_id != b.table_id
                || !same_indexes
                || !same_capacity
        }
        (None, None) => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::StorageId;

    #[test]
    fn an_insert_from_before_an_invalidation_is_dropped() {
        let cache = SchemaCache::default();
        let meta = TableMeta::sample("t", 1);
        let seen = cache.generation();
        cache.invalidate();
        cache.insert(Arc::new(meta.clone()), seen);
        assert!(cache.get(&meta.name).is_none());
        cache.insert(Arc::new(meta.clone()), cache.generation());
        assert!(cache.get(&meta.name).is_some());
    }

    #[test]
    fn only_storage_and_key_changes_count() {
        let a = TableMeta::sample("t", 1);
        let mut b = a.clone();
        b.item_count = 9;
        assert!(!changes_schema(Some(&a), Some(&b)));
        b.storage_id = StorageId(2);
        assert!(changes_schema(Some(&a), Some(&b)));
        assert!(changes_schema(Some(&a), None));
    }
}
