//! The PostgreSQL store (feature `postgres`): one server shared by a fleet.
//!
//! A reservation runs in one transaction that first takes a transaction-scoped advisory
//! lock on its wallet, so reservations of one wallet — from any machine — are serialized:
//! the check and the insert see the same history, and no update is lost. The schema is
//! created and migrated on connect, under a lock, so many processes may start at once.

use postgres::types::ToSql;
use postgres::{Client, NoTls, Transaction};

use super::sql::{self, Arg, Row};
use super::types::{
    Durability, Entry, LedgerError, MINUTE_MS, Op, Query, Reply, ReserveOutcome, ReserveRequest,
    Scope, Status, Store, Transition, TransitionOutcome, check_caps,
};

/// The advisory lock key of schema migrations.
const MIGRATION_LOCK: i64 = 0x5641_5f4c_4544_4752; // "SOVA_LEDGR"-ish

/// A PostgreSQL ledger.
pub struct PostgresStore {
    client: Client,
    location: String,
    durability: Durability,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PostgresStore")
            .field(&self.location)
            .finish()
    }
}

fn db(e: postgres::Error) -> LedgerError {
    LedgerError::Store(e.to_string())
}

/// `url` without its password, for messages.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "[a PostgreSQL connection string]".to_owned();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((a, h)) => (Some(a), h),
        None => (None, rest),
    };
    let host = host.split('?').next().unwrap_or(host);
    match auth {
        Some(a) => {
            let user = a.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}")
        }
        None => format!("{scheme}://{host}"),
    }
}

impl PostgresStore {
    /// How durable each commit is (default [`Durability::WriteAhead`]).
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Connects to `url` (`postgres://user:password@host:port/db`; no TLS: use a local
    /// socket, loopback or a tunnel) and creates or migrates the schema. Blocking: call it
    /// outside async code (the ledger's worker thread does).
    pub fn connect(url: &str) -> Result<PostgresStore, LedgerError> {
        let location = redact_url(url);
        let open_err = |message: String| LedgerError::Open {
            location: location.clone(),
            message,
        };
        let mut client = Client::connect(url, NoTls).map_err(|e| open_err(e.to_string()))?;
        let mut tx = client.transaction().map_err(|e| open_err(e.to_string()))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(|e| open_err(e.to_string()))?;
        tx.batch_execute(&sql::schema(true))
            .map_err(|e| open_err(e.to_string()))?;
        let version: Option<String> = tx
            .query_opt(
                "SELECT value FROM sova_meta WHERE key = 'schema_version'",
                &[],
            )
            .map_err(|e| open_err(e.to_string()))?
            .map(|r| r.get(0));
        match version.as_deref() {
            None => {
                tx.execute(
                    "INSERT INTO sova_meta(key, value) VALUES ('schema_version', $1)",
                    &[&sql::SCHEMA_VERSION.to_string()],
                )
                .map_err(|e| open_err(e.to_string()))?;
            }
            Some(v) if v.parse::<u32>().is_ok_and(|v| v <= sql::SCHEMA_VERSION) => {}
            Some(v) => {
                return Err(open_err(format!(
                    "the ledger's schema version {v} is newer than this SDK's ({}): upgrade the SDK",
                    sql::SCHEMA_VERSION
                )));
            }
        }
        tx.commit().map_err(|e| open_err(e.to_string()))?;
        Ok(PostgresStore {
            client,
            location,
            durability: Durability::default(),
        })
    }
}

fn held(
    tx: &mut Transaction<'_>,
    payer: &str,
    scope: &Scope,
    asset: &str,
    since: u64,
) -> Result<u64, LedgerError> {
    let (sql, args) = sql::held_query(payer, scope, asset, since, |i| format!("${i}"));
    let sql = sql.replace("SUM(amount), 0)", "SUM(amount), 0)::BIGINT");
    let owned = pg_args(args);
    let refs: Vec<&(dyn ToSql + Sync)> = owned.iter().map(|b| &**b).collect();
    let row = tx.query_one(&sql, &refs).map_err(db)?;
    Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

/// Bound values for the postgres client.
fn pg_args(args: Vec<Arg>) -> Vec<Box<dyn ToSql + Sync>> {
    args.into_iter()
        .map(|a| -> Box<dyn ToSql + Sync> {
            match a {
                Arg::Int(i) => Box::new(i),
                Arg::Text(t) => Box::new(t),
            }
        })
        .collect()
}

fn event(
    tx: &mut Transaction<'_>,
    id: &str,
    status: Status,
    at: u64,
    detail: Option<&str>,
) -> Result<(), LedgerError> {
    tx.execute(
        "INSERT INTO sova_events(payment_id, at_ms, status, detail) VALUES ($1, $2, $3, $4)",
        &[&id, &(at as i64), &status.as_str(), &detail],
    )
    .map(|_| ())
    .map_err(db)
}

fn reserve(tx: &mut Transaction<'_>, req: &ReserveRequest) -> Result<ReserveOutcome, LedgerError> {
    // Serializes every reservation of this wallet, on every machine, until the commit.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[&req.payer],
    )
    .map_err(db)?;
    if tx
        .query_opt("SELECT 1 FROM sova_payments WHERE id = $1", &[&req.id])
        .map_err(db)?
        .is_some()
    {
        return Ok(ReserveOutcome::Reserved);
    }
    if let Some(d) = &req.message_digest
        && tx
            .query_opt("SELECT 1 FROM sova_payments WHERE digest = $1", &[d])
            .map_err(db)?
            .is_some()
    {
        return Ok(ReserveOutcome::Duplicate);
    }
    let refusal = {
        let tx_cell = std::cell::RefCell::new(&mut *tx);
        check_caps(
            req,
            |scope, since| {
                held(
                    &mut tx_cell.borrow_mut(),
                    &req.payer,
                    scope,
                    &req.asset,
                    since,
                )
            },
            || {
                tx_cell
                    .borrow_mut()
                    .query_one(
                        "SELECT COUNT(*)::BIGINT FROM sova_payments
                         WHERE payer = $1 AND created_ms > $2 AND status <> 'released'",
                        &[&req.payer, &(req.now_ms.saturating_sub(MINUTE_MS) as i64)],
                    )
                    .map(|r| u64::try_from(r.get::<_, i64>(0)).unwrap_or(0))
                    .map_err(db)
            },
        )?
    };
    if let Some(r) = refusal {
        return Ok(ReserveOutcome::Refused(r));
    }
    tx.execute(
        "INSERT INTO sova_payments(id, request_id, created_ms, updated_ms, status, holds, payer,
            scope, asset, amount, pay_to, host, endpoint, digest)
         VALUES ($1, $2, $3, $3, 'reserved', 1, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &req.id,
            &req.request_id,
            &(req.now_ms as i64),
            &req.payer,
            &req.scope,
            &req.asset,
            &(req.amount as i64),
            &req.pay_to,
            &req.host,
            &req.endpoint,
            &req.message_digest,
        ],
    )
    .map_err(db)?;
    event(tx, &req.id, Status::Reserved, req.now_ms, None)?;
    Ok(ReserveOutcome::Reserved)
}

fn transition(tx: &mut Transaction<'_>, t: &Transition) -> Result<TransitionOutcome, LedgerError> {
    let current = tx
        .query_opt(
            "SELECT status FROM sova_payments WHERE id = $1 FOR UPDATE",
            &[&t.id],
        )
        .map_err(db)?;
    let Some(current) = current else {
        return Ok(TransitionOutcome::NotFound);
    };
    let current: String = current.get(0);
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
    tx.execute(
        "UPDATE sova_payments SET status = $2, holds = $3, updated_ms = $4,
            record = COALESCE($5, record), signature = COALESCE($6, signature),
            transaction_b64 = COALESCE($7, transaction_b64),
            transaction_id = COALESCE($8, transaction_id), detail = COALESCE($9, detail)
         WHERE id = $1",
        &[
            &t.id,
            &t.to.as_str(),
            &i64::from(t.to.holds_budget()),
            &(t.now_ms as i64),
            &record,
            &signature,
            &t.transaction,
            &txid,
            &t.detail,
        ],
    )
    .map_err(db)?;
    if from != t.to {
        event(tx, &t.id, t.to, t.now_ms, t.detail.as_deref())?;
    }
    Ok(TransitionOutcome::Applied)
}

fn row(r: &postgres::Row) -> Row {
    Row {
        id: r.get(0),
        request_id: r.get(1),
        created_ms: r.get(2),
        updated_ms: r.get(3),
        status: r.get(4),
        payer: r.get(5),
        scope: r.get(6),
        asset: r.get(7),
        amount: r.get(8),
        pay_to: r.get(9),
        host: r.get(10),
        endpoint: r.get(11),
        signature: r.get(12),
        transaction_id: r.get(13),
        record: r.get(14),
        transaction: r.get(15),
        detail: r.get(16),
    }
}

fn list(tx: &mut Transaction<'_>, q: &Query) -> Result<Vec<Entry>, LedgerError> {
    let (where_sql, args) = sql::list_filter(q, |i| format!("${i}"));
    let text = format!(
        "SELECT {} FROM sova_payments {where_sql} ORDER BY created_ms DESC, id DESC{}",
        sql::COLUMNS,
        q.limit.map(|l| format!(" LIMIT {l}")).unwrap_or_default()
    );
    let owned = pg_args(args);
    let refs: Vec<&(dyn ToSql + Sync)> = owned.iter().map(|b| &**b).collect();
    tx.query(&text, &refs)
        .map_err(db)?
        .iter()
        .map(|r| row(r).into_entry())
        .collect()
}

fn get(tx: &mut Transaction<'_>, id: &str) -> Result<Option<Entry>, LedgerError> {
    tx.query_opt(
        &format!("SELECT {} FROM sova_payments WHERE id = $1", sql::COLUMNS),
        &[&id],
    )
    .map_err(db)?
    .map(|r| row(&r).into_entry())
    .transpose()
}

fn reclaim(tx: &mut Transaction<'_>, older: u64, now: u64) -> Result<Vec<String>, LedgerError> {
    let ids: Vec<String> = tx
        .query(
            "SELECT id FROM sova_payments WHERE status = 'reserved' AND updated_ms < $1",
            &[&(older as i64)],
        )
        .map_err(db)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut released = Vec::new();
    for id in ids {
        let t = Transition::new(&id, Status::Released, now)
            .detail("reclaimed: never sent by a process that stopped");
        if transition(tx, &t)? == TransitionOutcome::Applied {
            released.push(id);
        }
    }
    Ok(released)
}

impl Store for PostgresStore {
    fn apply(&mut self, ops: &[Op]) -> Result<Vec<Reply>, LedgerError> {
        let flush = self.durability.must_flush(ops);
        let mut tx = self.client.transaction().map_err(db)?;
        if !flush {
            // Reservations and outcomes: committed without waiting for the server's disk.
            tx.batch_execute("SET LOCAL synchronous_commit = off")
                .map_err(db)?;
        }
        let mut replies = Vec::with_capacity(ops.len());
        for op in ops {
            replies.push(match op {
                Op::Reserve(r) => Reply::Reserve(reserve(&mut tx, r)?),
                Op::Transition(t) => Reply::Transition(transition(&mut tx, t)?),
                Op::Get(id) => Reply::Entry(get(&mut tx, id)?.map(Box::new)),
                Op::List(q) => Reply::Entries(list(&mut tx, q)?),
                Op::Held {
                    payer,
                    scope,
                    asset,
                    since_ms,
                } => Reply::Amount(held(&mut tx, payer, scope, asset, *since_ms)?),
                Op::Reclaim {
                    older_than_ms,
                    now_ms,
                } => Reply::Ids(reclaim(&mut tx, *older_than_ms, *now_ms)?),
            });
        }
        tx.commit().map_err(db)?;
        Ok(replies)
    }

    fn describe(&self) -> String {
        self.location.clone()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_leave_the_url() {
        assert_eq!(
            super::redact_url("postgres://bot:s3cret@db.example:5432/sova?sslmode=disable"),
            "postgres://bot@db.example:5432/sova"
        );
        assert_eq!(
            super::redact_url("postgresql://localhost/sova"),
            "postgresql://localhost/sova"
        );
        assert!(!super::redact_url("host=x password=y").contains('y'));
    }
}
