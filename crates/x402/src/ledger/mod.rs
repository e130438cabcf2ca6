//! The payment ledger: the durable spend state shared by every client, thread, process and
//! machine that opens it.
//!
//! One abstraction holds the **reservations** (budgets over rolling windows, per wallet and
//! per named scope), the **payment journal** (a write-ahead record of every payment, made
//! durable before the payment leaves the process, and every change of its state made
//! durable before the SDK acts on it), the **rate window** and the **duplicate memory**
//! (digests of nonce-less messages, so two processes on one wallet never sign the same
//! bytes).
//!
//! Backends: [`MemoryStore`] (this process only), `SqliteStore` (feature `sqlite`: one file
//! shared by a machine's processes; the default of the CLI and the MCP server) and
//! `PostgresStore` (feature `postgres`: a fleet). [`Ledger::open`] picks one from a
//! location such as `SOVA_LEDGER`.
//!
//! The journal's statuses ([`Status`]) move forward only: `reserved → signed → sent →
//! settled | landed | expired | failed | uncertain`, or `released` before sending. A crash
//! at any point leaves a record that the next start resolves: reservations are reclaimed
//! ([`Ledger::reclaim`]), signed and sent payments are reconciled with our own RPC.

pub mod budget;
mod handle;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
mod types;

use std::path::PathBuf;

pub use budget::{Budget, BudgetParseError, Window};
pub use handle::{Event, EventFn, Ledger, Pending};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use types::{
    Cap, Charge, Durability, Entry, LedgerError, Op, Query, Reply, ReserveOutcome, ReserveRequest,
    Scope, Status, Store, Transition, TransitionOutcome,
};

/// The environment variable naming the ledger (`memory`, a SQLite path or
/// `sqlite:PATH`, or `postgres://…`).
pub const LEDGER_ENV: &str = "SOVA_LEDGER";

/// How long a reservation (not yet signed) may stay unchanged before another process may
/// reclaim it as left behind by a process that stopped. A live call signs within
/// milliseconds of reserving; a reservation reclaimed under a live call is never signed
/// (its move to `signed` is refused).
pub const RECLAIM_AFTER_MS: u64 = 120_000;

/// The default ledger file: `$XDG_DATA_HOME/sova/ledger.sqlite3`, else
/// `~/.local/share/sova/ledger.sqlite3` (`None` without a home directory).
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local").join("share"))
        })?;
    Some(base.join("sova").join("ledger.sqlite3"))
}

impl Ledger {
    /// Opens the ledger at `location`: `memory`, `postgres://…` / `postgresql://…` (feature
    /// `postgres`), or a SQLite file as `sqlite:PATH` or a plain path (feature `sqlite`).
    pub fn open(location: &str) -> Result<Ledger, LedgerError> {
        let loc = location.trim();
        if loc.eq_ignore_ascii_case("memory") || loc.eq_ignore_ascii_case("mem") {
            return Ok(Ledger::memory());
        }
        if loc.starts_with("postgres://") || loc.starts_with("postgresql://") {
            return Ledger::postgres(loc);
        }
        let path = loc.strip_prefix("sqlite:").unwrap_or(loc);
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(LedgerError::Open {
                location: location.to_owned(),
                message: "no path given".into(),
            });
        }
        Ledger::sqlite(std::path::Path::new(path))
    }

    /// A SQLite ledger file (created and migrated on open).
    #[cfg(feature = "sqlite")]
    pub fn sqlite(path: &std::path::Path) -> Result<Ledger, LedgerError> {
        Ledger::worker(Box::new(SqliteStore::open(path)?))
    }

    /// A SQLite ledger file: this build has no SQLite backend.
    #[cfg(not(feature = "sqlite"))]
    pub fn sqlite(path: &std::path::Path) -> Result<Ledger, LedgerError> {
        Err(LedgerError::Open {
            location: path.display().to_string(),
            message: "this build has no SQLite ledger: enable the `sqlite` feature".into(),
        })
    }

    /// A PostgreSQL ledger (the schema is created and migrated on connect). The connection
    /// is made on the ledger's own thread, so this is safe to call inside an async runtime.
    #[cfg(feature = "postgres")]
    pub fn postgres(url: &str) -> Result<Ledger, LedgerError> {
        let url_owned = url.to_owned();
        // The blocking client runs a runtime of its own: never on a user's runtime thread.
        let store = std::thread::spawn(move || PostgresStore::connect(&url_owned))
            .join()
            .map_err(|_| LedgerError::Store("the connecting thread panicked".into()))??;
        Ledger::worker(Box::new(store))
    }

    /// A PostgreSQL ledger: this build has no PostgreSQL backend.
    #[cfg(not(feature = "postgres"))]
    pub fn postgres(url: &str) -> Result<Ledger, LedgerError> {
        let _ = url;
        Err(LedgerError::Open {
            location: "[a PostgreSQL URL]".into(),
            message: "this build has no PostgreSQL ledger: enable the `postgres` feature".into(),
        })
    }

    /// The ledger named by `SOVA_LEDGER`, else the default SQLite file (feature `sqlite`),
    /// else memory.
    pub fn from_env() -> Result<Ledger, LedgerError> {
        if let Ok(loc) = std::env::var(LEDGER_ENV)
            && !loc.trim().is_empty()
        {
            return Ledger::open(&loc);
        }
        if cfg!(feature = "sqlite")
            && let Some(p) = default_path()
        {
            return Ledger::sqlite(&p);
        }
        Ok(Ledger::memory())
    }
}

/// A fresh random id with `prefix` (`pay_…`, `req_…`): 128 bits from the OS.
pub fn new_id(prefix: &str) -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // Unique enough within this process without OS randomness.
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(1);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let n = u128::from(N.fetch_add(1, Ordering::Relaxed));
        b = (t ^ (n << 64) ^ u128::from(std::process::id())).to_le_bytes();
    }
    let mut s = String::with_capacity(prefix.len() + 32);
    s.push_str(prefix);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// The wall-clock time, Unix milliseconds (for callers outside the sans-IO flows).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Helpers for tests of code that uses the ledger (not a stable API).
#[cfg(feature = "sqlite")]
#[doc(hidden)]
pub mod testing {
    /// Writes `version` as the schema version of the SQLite ledger at `path`.
    pub fn set_schema_version(path: &std::path::Path, version: u32) -> Result<(), String> {
        let c = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
        c.execute(
            "UPDATE sova_meta SET value = ?1 WHERE key = 'schema_version'",
            [version.to_string()],
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    }
}
