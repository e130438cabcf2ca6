//! The SQLite store (feature `sqlite`): one file shared by every process of a machine.
//!
//! WAL journal, `synchronous = FULL` (a commit is on disk before it returns), `BEGIN
//! IMMEDIATE` (a reservation's check and insert hold the write lock together, so processes
//! never both take the last of a budget) and a busy timeout (writers queue, they do not
//! fail). The schema is created and migrated on open.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::sql::{self, Arg, Row};
use super::types::{
    Durability, Entry, LedgerError, MINUTE_MS, Op, Query, Reply, ReserveOutcome, ReserveRequest,
    Scope, Status, Store, Transition, TransitionOutcome, check_caps,
};

/// How long a writer waits for another process's transaction before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A SQLite ledger file.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    durability: Durability,
    /// The `synchronous` level the connection is at (`true`: FULL).
    full: bool,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SqliteStore").field(&self.path).finish()
    }
}

fn db(e: rusqlite::Error) -> LedgerError {
    LedgerError::Store(e.to_string())
}

impl SqliteStore {
    /// Opens (creating and migrating) the ledger at `path`; its directory is created too.
    /// Processes opening a new file at once may find it locked while another switches it
    /// to WAL: the open is retried for up to the busy timeout.
    pub fn open(path: &Path) -> Result<SqliteStore, LedgerError> {
        let started = std::time::Instant::now();
        loop {
            match Self::open_once(path) {
                Err(LedgerError::Open { message, .. })
                    if (message.contains("locked") || message.contains("busy"))
                        && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    fn open_once(path: &Path) -> Result<SqliteStore, LedgerError> {
        let open_err = |message: String| LedgerError::Open {
            location: path.display().to_string(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
        }
        let conn = Connection::open(path).map_err(|e| open_err(e.to_string()))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_err(e.to_string()))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| open_err(e.to_string()))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| open_err(e.to_string()))?;
        let mut store = SqliteStore {
            conn,
            path: path.to_owned(),
            durability: Durability::default(),
            full: true,
        };
        store.migrate().map_err(|e| open_err(e.to_string()))?;
        Ok(store)
    }

    /// How durable each commit is (default [`Durability::WriteAhead`]).
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets `synchronous` for the next transaction (FULL: flushed before the commit
    /// returns; NORMAL in WAL mode: survives a process crash, flushed at the next FULL
    /// commit or checkpoint).
    fn set_full(&mut self, full: bool) -> Result<(), LedgerError> {
        if self.full != full {
            self.conn
                .pragma_update(None, "synchronous", if full { "FULL" } else { "NORMAL" })
                .map_err(db)?;
            self.full = full;
        }
        Ok(())
    }

    fn migrate(&mut self) -> Result<(), LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        tx.execute_batch(&sql::schema(false)).map_err(db)?;
        let version: Option<String> = tx
            .query_row(
                "SELECT value FROM sova_meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        match version.as_deref() {
            None => {
                tx.execute(
                    "INSERT INTO sova_meta(key, value) VALUES ('schema_version', ?1)",
                    params![sql::SCHEMA_VERSION.to_string()],
                )
                .map_err(db)?;
            }
            Some(v) if v.parse::<u32>().is_ok_and(|v| v <= sql::SCHEMA_VERSION) => {}
            Some(v) => {
                return Err(LedgerError::Store(format!(
                    "the ledger's schema version {v} is newer than this SDK's ({}): upgrade the SDK",
                    sql::SCHEMA_VERSION
                )));
            }
        }
        tx.commit().map_err(db)
    }
}

/// `query_row` through the connection's statement cache (a paid call runs the same dozen
/// statements: prepared once per connection, not per call).
fn query_cached<T, P: rusqlite::Params>(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: P,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    tx.prepare_cached(sql)?.query_row(params, f)
}

/// `execute` through the statement cache.
fn exec_cached<P: rusqlite::Params>(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(params)
}

fn held(
    tx: &rusqlite::Transaction<'_>,
    payer: &str,
    scope: &Scope,
    asset: &str,
    since: u64,
) -> Result<u64, LedgerError> {
    let (sql, args) = sql::held_query(payer, scope, asset, since, |i| format!("?{i}"));
    let v: i64 = query_cached(tx, &sql, rusqlite::params_from_iter(args.iter()), |r| {
        r.get(0)
    })
    .map_err(db)?;
    Ok(u64::try_from(v).unwrap_or(0))
}

fn reserve(
    tx: &rusqlite::Transaction<'_>,
    req: &ReserveRequest,
) -> Result<ReserveOutcome, LedgerError> {
    let exists: Option<i64> = query_cached(
        tx,
        "SELECT 1 FROM sova_payments WHERE id = ?1",
        [&req.id],
        |r| r.get(0),
    )
    .optional()
    .map_err(db)?;
    if exists.is_some() {
        return Ok(ReserveOutcome::Reserved);
    }
    if let Some(d) = &req.message_digest {
        let dup: Option<i64> = query_cached(
            tx,
            "SELECT 1 FROM sova_payments WHERE digest = ?1",
            [d],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
        if dup.is_some() {
            return Ok(ReserveOutcome::Duplicate);
        }
    }
    let refusal = check_caps(
        req,
        |scope, since| held(tx, &req.payer, scope, &req.asset, since),
        || {
            query_cached(
                tx,
                "SELECT COUNT(*) FROM sova_payments
                 WHERE payer = ?1 AND created_ms > ?2 AND status <> 'released'",
                params![req.payer, req.now_ms.saturating_sub(MINUTE_MS) as i64],
                |r| r.get::<_, i64>(0),
            )
            .map(|c| u64::try_from(c).unwrap_or(0))
            .map_err(db)
        },
    )?;
    if let Some(r) = refusal {
        return Ok(ReserveOutcome::Refused(r));
    }
    exec_cached(
        tx,
        "INSERT INTO sova_payments(id, request_id, created_ms, updated_ms, status, holds, payer,
            scope, asset, amount, pay_to, host, endpoint, digest)
         VALUES (?1, ?2, ?3, ?3, 'reserved', 1, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            req.id,
            req.request_id,
            req.now_ms as i64,
            req.payer,
            req.scope,
            req.asset,
            req.amount as i64,
            req.pay_to,
            req.host,
            req.endpoint,
            req.message_digest,
        ],
    )
    .map_err(db)?;
    event(tx, &req.id, Status::Reserved, req.now_ms, None)?;
    Ok(ReserveOutcome::Reserved)
}

fn event(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    status: Status,
    at: u64,
    detail: Option<&str>,
) -> Result<(), LedgerError> {
    exec_cached(
        tx,
        "INSERT INTO sova_events(payment_id, at_ms, status, detail) VALUES (?1, ?2, ?3, ?4)",
        params![id, at as i64, status.as_str(), detail],
    )
    .map(|_| ())
    .map_err(db)
}

fn transition(
    tx: &rusqlite::Transaction<'_>,
    t: &Transition,
) -> Result<TransitionOutcome, LedgerError> {
    let current: Option<String> = query_cached(
        tx,
        "SELECT status FROM sova_payments WHERE id = ?1",
        [&t.id],
        |r| r.get(0),
    )
    .optional()
    .map_err(db)?;
    let Some(current) = current else {
        return Ok(TransitionOutcome::NotFound);
    };
    let from = Status::parse(&current)
        .ok_or_else(|| LedgerError::Store(format!("unknown status {current:?} in the ledger")))?;
    if !t.allowed_from(from) {
        return Ok(TransitionOutcome::Conflict(from));
    }
    let sql::TransitionValues {
        record,
        signature,
        txid,
    } = sql::transition_values(t)?;
    exec_cached(
        tx,
        "UPDATE sova_payments SET status = ?2, holds = ?3, updated_ms = ?4,
            record = COALESCE(?5, record), signature = COALESCE(?6, signature),
            transaction_b64 = COALESCE(?7, transaction_b64),
            transaction_id = COALESCE(?8, transaction_id), detail = COALESCE(?9, detail)
         WHERE id = ?1",
        params![
            t.id,
            t.to.as_str(),
            i64::from(t.to.holds_budget()),
            t.now_ms as i64,
            record,
            signature,
            t.transaction,
            txid,
            t.detail,
        ],
    )
    .map_err(db)?;
    if from != t.to {
        event(tx, &t.id, t.to, t.now_ms, t.detail.as_deref())?;
    }
    Ok(TransitionOutcome::Applied)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        id: r.get(0)?,
        request_id: r.get(1)?,
        created_ms: r.get(2)?,
        updated_ms: r.get(3)?,
        status: r.get(4)?,
        payer: r.get(5)?,
        scope: r.get(6)?,
        asset: r.get(7)?,
        amount: r.get(8)?,
        pay_to: r.get(9)?,
        host: r.get(10)?,
        endpoint: r.get(11)?,
        signature: r.get(12)?,
        transaction_id: r.get(13)?,
        record: r.get(14)?,
        transaction: r.get(15)?,
        detail: r.get(16)?,
    })
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Int(i) => i.to_sql(),
            Arg::Text(t) => t.to_sql(),
        }
    }
}

fn list(tx: &rusqlite::Transaction<'_>, q: &Query) -> Result<Vec<Entry>, LedgerError> {
    let (where_sql, args) = sql::list_filter(q, |i| format!("?{i}"));
    let text = format!(
        "SELECT {} FROM sova_payments {where_sql} ORDER BY created_ms DESC, id DESC{}",
        sql::COLUMNS,
        q.limit.map(|l| format!(" LIMIT {l}")).unwrap_or_default()
    );
    let mut stmt = tx.prepare_cached(&text).map_err(db)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), row)
        .map_err(db)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r.map_err(db)?.into_entry()?);
    }
    Ok(out)
}

fn get(tx: &rusqlite::Transaction<'_>, id: &str) -> Result<Option<Entry>, LedgerError> {
    query_cached(
        tx,
        &format!("SELECT {} FROM sova_payments WHERE id = ?1", sql::COLUMNS),
        [id],
        row,
    )
    .optional()
    .map_err(db)?
    .map(Row::into_entry)
    .transpose()
}

fn reclaim(
    tx: &rusqlite::Transaction<'_>,
    older: u64,
    now: u64,
) -> Result<Vec<String>, LedgerError> {
    let mut stmt = tx
        .prepare(
            "SELECT id FROM sova_payments
             WHERE status = 'reserved' AND updated_ms < ?1",
        )
        .map_err(db)?;
    let ids: Vec<String> = stmt
        .query_map([older as i64], |r| r.get(0))
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    drop(stmt);
    for id in &ids {
        transition(
            tx,
            &Transition::new(id, Status::Released, now)
                .detail("reclaimed: never sent by a process that stopped"),
        )?;
    }
    Ok(ids)
}

impl Store for SqliteStore {
    fn apply(&mut self, ops: &[Op]) -> Result<Vec<Reply>, LedgerError> {
        let writes = ops
            .iter()
            .any(|o| matches!(o, Op::Reserve(_) | Op::Transition(_) | Op::Reclaim { .. }));
        let behavior = if writes {
            TransactionBehavior::Immediate
        } else {
            TransactionBehavior::Deferred
        };
        self.set_full(self.durability.must_flush(ops))?;
        let tx = self.conn.transaction_with_behavior(behavior).map_err(db)?;
        let mut replies = Vec::with_capacity(ops.len());
        for op in ops {
            replies.push(match op {
                Op::Reserve(r) => Reply::Reserve(reserve(&tx, r)?),
                Op::Transition(t) => Reply::Transition(transition(&tx, t)?),
                Op::Get(id) => Reply::Entry(get(&tx, id)?.map(Box::new)),
                Op::List(q) => Reply::Entries(list(&tx, q)?),
                Op::Held {
                    payer,
                    scope,
                    asset,
                    since_ms,
                } => Reply::Amount(held(&tx, payer, scope, asset, *since_ms)?),
                Op::Reclaim {
                    older_than_ms,
                    now_ms,
                } => Reply::Ids(reclaim(&tx, *older_than_ms, *now_ms)?),
            });
        }
        tx.commit().map_err(db)?;
        Ok(replies)
    }

    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }
}
