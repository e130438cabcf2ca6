//! Recent blockhashes: a value type and a shared, age-limited cache.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use solana_hash::Hash;

/// A recent blockhash and, when known, the last block height at which it is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LatestBlockhash {
    /// The blockhash.
    pub blockhash: Hash,
    /// `lastValidBlockHeight`, when the source said.
    pub last_valid_block_height: Option<u64>,
    /// The slot of the RPC answer (`context.slot`), when known: a transaction signed over
    /// this blockhash lands at this slot or later, which bounds a search for it.
    pub context_slot: Option<u64>,
}

impl LatestBlockhash {
    /// A blockhash without a known expiry height.
    pub fn new(blockhash: Hash) -> Self {
        LatestBlockhash {
            blockhash,
            last_valid_block_height: None,
            context_slot: None,
        }
    }

    /// Parses base58 text of 32 bytes; `None` when malformed or all zeros (the default
    /// hash, never a real blockhash).
    pub fn parse(text: &str) -> Option<Hash> {
        let t = text.trim();
        if t.is_empty() || t.len() > 44 {
            return None;
        }
        t.parse::<Hash>().ok().filter(|h| !is_zero(h))
    }

    /// Whether this is a usable blockhash (not all zeros).
    pub fn is_usable(&self) -> bool {
        !is_zero(&self.blockhash)
    }
}

fn is_zero(h: &Hash) -> bool {
    h.as_bytes() == &[0u8; 32]
}

/// Where a payment's blockhash came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BlockhashSource {
    /// The requirement's `extra.recentBlockhash`.
    Requirement,
    /// An RPC answer passed in with the request.
    Context,
    /// The shared cache.
    Cache,
}

/// Default age after which a cached blockhash is refreshed.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(20);

/// A blockhash shared between payments (and between clients, behind an `Arc`), refreshed
/// when older than its maximum age. Time is an input: the cache never reads a clock.
///
/// With a Memo nonce in every payment, reusing one blockhash for many payments is safe.
#[derive(Debug)]
pub struct BlockhashCache {
    max_age: Duration,
    slot: Mutex<Option<(LatestBlockhash, Instant)>>,
}

impl Default for BlockhashCache {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_AGE)
    }
}

impl BlockhashCache {
    /// An empty cache whose entries live `max_age`.
    pub fn new(max_age: Duration) -> Self {
        BlockhashCache {
            max_age,
            slot: Mutex::new(None),
        }
    }

    /// The maximum age.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// The cached blockhash if it was stored less than `max_age` before `now`.
    pub fn get(&self, now: Instant) -> Option<LatestBlockhash> {
        let slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        let (hash, at) = (*slot)?;
        // A `now` earlier than the store time (clock inputs from several threads) counts as fresh.
        (now.saturating_duration_since(at) < self.max_age).then_some(hash)
    }

    /// Stores a blockhash fetched at `now` (a `getLatestBlockhash` answer).
    pub fn store(&self, hash: LatestBlockhash, now: Instant) {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some((hash, now));
    }

    /// Forgets the cached blockhash.
    pub fn invalidate(&self) {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Forgets the cached blockhash if it is `hash`.
    pub fn invalidate_hash(&self, hash: &Hash) {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_some_and(|(h, _)| h.blockhash == *hash) {
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_out() {
        let c = BlockhashCache::default();
        let t0 = Instant::now();
        assert_eq!(c.get(t0), None);
        let h = LatestBlockhash {
            blockhash: Hash::new_from_array([1; 32]),
            last_valid_block_height: Some(10),
            context_slot: None,
        };
        c.store(h, t0);
        assert_eq!(c.get(t0 + Duration::from_secs(19)), Some(h));
        assert_eq!(c.get(t0 + Duration::from_secs(20)), None);
        c.invalidate_hash(&Hash::new_from_array([2; 32]));
        assert_eq!(c.get(t0), Some(h));
        c.invalidate_hash(&h.blockhash);
        assert_eq!(c.get(t0), None);
        assert_eq!(LatestBlockhash::parse("not base58!"), None);
        assert_eq!(LatestBlockhash::parse(""), None);
        let text = Hash::new_from_array([5; 32]).to_string();
        assert_eq!(
            LatestBlockhash::parse(&text),
            Some(Hash::new_from_array([5; 32]))
        );
        assert_eq!(LatestBlockhash::parse("11111"), None);
        assert_eq!(LatestBlockhash::parse(&Hash::default().to_string()), None);
    }
}
