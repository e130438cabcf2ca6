//! Sources of the 16-byte memo nonce that makes every payment unique.

use std::sync::atomic::{AtomicU64, Ordering};

/// The nonce could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no randomness is available for the payment nonce: {0}")]
pub struct NonceError(pub String);

/// Produces the 16 random bytes written (hex-encoded) in a payment's Memo.
pub trait NonceSource: Send + Sync {
    /// The next nonce.
    fn next_nonce(&self) -> Result<[u8; 16], NonceError>;
}

/// Nonces from the operating system's random generator (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsNonce;

impl NonceSource for OsNonce {
    fn next_nonce(&self) -> Result<[u8; 16], NonceError> {
        let mut out = [0u8; 16];
        getrandom::fill(&mut out).map_err(|e| NonceError(e.to_string()))?;
        Ok(out)
    }
}

/// Deterministic, distinct nonces from a seed (tests, simulations). Not secret; never
/// repeats within 2^64 draws.
#[derive(Debug)]
pub struct SeededNonce {
    seed: u64,
    counter: AtomicU64,
}

impl SeededNonce {
    /// A sequence keyed by `seed`.
    pub fn new(seed: u64) -> Self {
        SeededNonce {
            seed,
            counter: AtomicU64::new(0),
        }
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl NonceSource for SeededNonce {
    fn next_nonce(&self) -> Result<[u8; 16], NonceError> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut out = [0u8; 16];
        // The counter goes in the first half verbatim (mixed with the seed), so two draws
        // never collide; the second half is a hash for looks.
        out[..8].copy_from_slice(&(n ^ self.seed).to_le_bytes());
        out[8..].copy_from_slice(&splitmix(n ^ splitmix(self.seed)).to_le_bytes());
        Ok(out)
    }
}

/// Lower-case hex of the nonce: the Memo text (32 ASCII characters).
pub fn nonce_hex(nonce: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(32);
    for b in nonce {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces() {
        let a = OsNonce.next_nonce().unwrap();
        let b = OsNonce.next_nonce().unwrap();
        assert_ne!(a, b);
        let s = SeededNonce::new(1);
        let x: Vec<_> = (0..1000).map(|_| s.next_nonce().unwrap()).collect();
        let set: std::collections::HashSet<_> = x.iter().collect();
        assert_eq!(set.len(), 1000);
        assert_eq!(nonce_hex(&[0xab; 16]), "ab".repeat(16));
        assert_eq!(nonce_hex(&a).len(), 32);
    }
}
