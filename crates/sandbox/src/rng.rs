//! Deterministic pseudo-randomness: every synthetic value is a function of a seed and a key.

/// SplitMix64: small, fast, good enough for synthetic data.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator seeded by `seed` and the bytes of `key` (an address, a mint, …).
    pub(crate) fn keyed(seed: u64, key: &str) -> Rng {
        Rng(seed ^ fnv1a(key.as_bytes()))
    }

    /// A generator from a raw state.
    pub(crate) fn new(state: u64) -> Rng {
        Rng(state)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`, rounded to `digits` decimals.
    pub(crate) fn range(&mut self, lo: f64, hi: f64, digits: i32) -> f64 {
        round(lo + (hi - lo) * self.unit(), digits)
    }

    /// Uniform integer in `[lo, hi]`.
    pub(crate) fn int(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let i = (self.next_u64() % items.len().max(1) as u64) as usize;
        &items[i.min(items.len().saturating_sub(1))]
    }

    /// `n` random bytes.
    pub(crate) fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        out
    }

    /// Lower-case hex of `n` random bytes.
    pub(crate) fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n * 2);
        for _ in 0..n {
            let b = (self.next_u64() & 0xff) as u8;
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    /// A random UUID v4 string.
    pub(crate) fn uuid(&mut self) -> String {
        let mut b: [u8; 16] = self.bytes();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// A base58 Solana-style address (32 random bytes).
    pub(crate) fn address(&mut self) -> String {
        bs58::encode(self.bytes::<32>()).into_string()
    }
}

/// FNV-1a 64-bit.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Rounds to `digits` decimals.
pub(crate) fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic() {
        let a = Rng::keyed(1, "abc").next_u64();
        let b = Rng::keyed(1, "abc").next_u64();
        let c = Rng::keyed(1, "abd").next_u64();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let u = Rng::new(5).uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
