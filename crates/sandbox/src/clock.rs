//! The sandbox clock: wall time plus an offset that tests can advance.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time source of a sandbox: result TTLs, job progress, replay windows, quote and token
/// expiry and blockhash lifetimes all read it.
///
/// [`Clock::system`] follows the wall clock; [`Clock::manual`] stands still at a start time
/// until [`Clock::advance`] moves it. Both can be advanced, so a test can jump past a
/// 15-minute TTL without waiting. Clones share the same time.
#[derive(Debug, Clone)]
pub struct Clock {
    inner: Arc<ClockInner>,
}

#[derive(Debug)]
struct ClockInner {
    frozen: AtomicBool,
    /// Frozen: the current time in ms since the epoch. Running: the offset added to wall time.
    value_ms: AtomicI64,
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    /// Wall time (plus whatever [`Clock::advance`] added).
    pub fn system() -> Clock {
        Clock {
            inner: Arc::new(ClockInner {
                frozen: AtomicBool::new(false),
                value_ms: AtomicI64::new(0),
            }),
        }
    }

    /// A clock that stands still at `start_ms` (milliseconds since the Unix epoch) and moves
    /// only when advanced.
    pub fn manual(start_ms: i64) -> Clock {
        Clock {
            inner: Arc::new(ClockInner {
                frozen: AtomicBool::new(true),
                value_ms: AtomicI64::new(start_ms),
            }),
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        let v = self.inner.value_ms.load(Ordering::SeqCst);
        if self.inner.frozen.load(Ordering::SeqCst) {
            v
        } else {
            wall_ms().saturating_add(v)
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.inner.value_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// The current time as ISO-8601 (`2026-01-15T10:30:00.000Z`).
    pub fn now_iso(&self) -> String {
        iso8601(self.now_ms())
    }

    /// Whether this clock moves only when advanced.
    pub fn is_manual(&self) -> bool {
        self.inner.frozen.load(Ordering::SeqCst)
    }
}

/// Formats milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) use sova_protocol::time::iso8601_millis as iso8601;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_iso() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_768_473_000_123), "2026-01-15T10:30:00.123Z");
    }

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let c = Clock::manual(1000);
        assert_eq!(c.now_ms(), 1000);
        c.advance(Duration::from_secs(2));
        assert_eq!(c.now_ms(), 3000);
        let c2 = c.clone();
        c2.advance(Duration::from_millis(1));
        assert_eq!(c.now_ms(), 3001);
    }
}
