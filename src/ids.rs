//! Positions and identities that cross modules, as types of their own (a
//! log position is not a count, nor a group number, nor a storage id),
//! with the arithmetic and formatting each needs. Encoded as the bare number they wrap (serde
//! `transparent`), so records and wire frames keep their layout.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A position in a region's change log: entries are numbered from 1, without
/// gaps, in commit order. `Seq::ZERO` is "before the first entry" (nothing
/// applied, an empty log).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seq(pub u64);

impl Seq {
    /// Before the first entry.
    pub const ZERO: Seq = Seq(0);
    /// After every entry (an open end).
    pub const MAX: Seq = Seq(u64::MAX);

    /// The position right after this one.
    pub fn next(self) -> Seq {
        Seq(self.0.saturating_add(1))
    }

    /// The position right before this one (`ZERO` stays `ZERO`).
    pub fn prev(self) -> Seq {
        Seq(self.0.saturating_sub(1))
    }

    /// The position right before this one, if there is one.
    pub fn checked_prev(self) -> Option<Seq> {
        self.0.checked_sub(1).map(Seq)
    }

    /// How many entries `self` is past `earlier` (0 when it is not).
    pub fn since(self, earlier: Seq) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// The number, for storage keys, metrics and JSON.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// `seq + n`: the position `n` entries on (saturating: positions never wrap).
impl std::ops::Add<u64> for Seq {
    type Output = Seq;
    fn add(self, n: u64) -> Seq {
        Seq(self.0.saturating_add(n))
    }
}

/// `seq - n`: the position `n` entries back (saturating at `ZERO`).
impl std::ops::Sub<u64> for Seq {
    type Output = Seq;
    fn sub(self, n: u64) -> Seq {
        Seq(self.0.saturating_sub(n))
    }
}

impl std::ops::AddAssign<u64> for Seq {
    fn add_assign(&mut self, n: u64) {
        *self = *self + n;
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which incarnation of a region's data a store is: a random number drawn
/// when the store is created (or put back from a copy), so peers keep their
/// positions in its log per incarnation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Incarnation(pub u64);

impl Incarnation {
    /// An unknown incarnation (a test's, or one not yet told).
    pub const UNKNOWN: Incarnation = Incarnation(0);

    /// The number, for storage and JSON.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// Written as 16 hex digits, as storage keys name it.
impl fmt::Display for Incarnation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// A group commit's number: groups are numbered from 1 in commit order;
/// a group is durable once every group up to its number is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupNo(pub u64);

impl GroupNo {
    /// Before the first group.
    pub const ZERO: GroupNo = GroupNo(0);

    /// The group after this one.
    pub fn next(self) -> GroupNo {
        GroupNo(self.0 + 1)
    }

    /// The number, for the log's frames and metrics.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for GroupNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a table's items are kept in this region's store: a number the
/// region allocates when it creates its copy of the table (so a table
/// dropped and created again under the same name has a new one), local to
/// the region (replicas of one table have different ones).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StorageId(pub u64);

impl StorageId {
    /// The number, for storage keys and metrics.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The 8 big-endian bytes every key of the table's records starts with.
    pub fn to_be_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    /// The id after this one (allocation; the bound of a key range).
    pub fn next(self) -> StorageId {
        StorageId(self.0 + 1)
    }
}

/// Written as 16 hex digits, as the names of its records and cursors take it.
impl fmt::LowerHex for StorageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

impl fmt::Display for StorageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_step_and_measure_without_wrapping() {
        assert_eq!(Seq(4).next(), Seq(5));
        assert_eq!(Seq(4).prev(), Seq(3));
        assert_eq!(Seq::ZERO.prev(), Seq::ZERO);
        assert_eq!(Seq::MAX.next(), Seq::MAX);
        assert_eq!(Seq(10).since(Seq(4)), 6);
        assert_eq!(Seq(4).since(Seq(10)), 0);
        assert_eq!(Seq(4) + 3, Seq(7));
        assert_eq!(Seq(4) - 3, Seq(1));
        assert_eq!(Seq(4) - 9, Seq::ZERO);
        assert_eq!(Seq(1).checked_prev(), Some(Seq::ZERO));
        assert_eq!(Seq::ZERO.checked_prev(), None);
        assert_eq!(Seq(42).to_string(), "42");
        assert!(Seq(1) < Seq(2));
        assert_eq!(Incarnation(0xab).to_string(), "00000000000000ab");
        assert_eq!(GroupNo(7).next(), GroupNo(8));
        assert_eq!(format!("{:016x}", StorageId(0x2a)), "000000000000002a");
        assert_eq!(StorageId(1).to_be_bytes(), [0, 0, 0, 0, 0, 0, 0, 1]);
    }
}
