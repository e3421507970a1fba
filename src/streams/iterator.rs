//! Shard iterators: opaque tokens that carry everything GetRecords needs,
//! so the server keeps no per-consumer state: the table and stream label,
//! the shard's first position, the next position to read, and when the
//! token was issued (for the 15-minute expiry). A checksum rejects tokens
//! that were not issued by Meridian or were altered.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::ids::Seq;

/// What a shard iterator points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardIterator {
    pub table: String,
    pub label: String,
    /// First log position of the shard (identifies it in the stream).
    pub shard_first: Seq,
    /// Next log position to read.
    pub position: Seq,
    /// When the token was issued, milliseconds since the Unix epoch.
    pub issued_ms: u64,
}

/// Token layout version, first in the token.
const VERSION: &str = "1";

impl ShardIterator {
    /// The token handed to clients.
    pub fn encode(&self) -> String {
        let body = format!(
            "{VERSION}\n{}\n{}\n{}\n{}\n{}",
            self.table, self.label, self.shard_first, self.position, self.issued_ms
        );
        let check = crc32fast::hash(body.as_bytes());
        URL_SAFE_NO_PAD.encode(format!("{body}\n{check:08x}"))
    }

    /// Decodes a token, `None` when it is not one Meridian issued.
    pub fn decode(token: &str) -> Option<ShardIterator> {
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (body, check) = text.rsplit_once('\n')?;
        if u32::from_str_radix(check, 16).ok()? != crc32fast::hash(body.as_bytes()) {
            return None;
        }
        let mut fields = body.split('\n');
        if fields.next()? != VERSION {
            return None;
        }
        let iterator = ShardIterator {
            table: fields.next()?.to_string(),
            label: fields.next()?.to_string(),
            shard_first: Seq(fields.next()?.parse().ok()?),
            position: Seq(fields.next()?.parse().ok()?),
            issued_ms: fields.next()?.parse().ok()?,
        };
        fields.next().is_none().then_some(iterator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let iterator = ShardIterator {
            table: "Orders".into(),
            label: "2026-11-23T11:35:09.123".into(),
            shard_first: Seq(7),
            position: Seq(1234),
            issued_ms: 1_700_000_000_000,
        };
        let token = iterator.encode();
        assert_eq!(ShardIterator::decode(&token), Some(iterator.clone()));
        let forged = ShardIterator {
            position: Seq(1),
            ..iterator
        }
        .encode();
        let mut mixed = forged[..forged.len() - 4].to_string();
        mixed.push_str(&token[token.len() - 4..]);
        assert_eq!(ShardIterator::decode(&mixed), None);
        assert_eq!(ShardIterator::decode("not a token"), None);
    }
}
