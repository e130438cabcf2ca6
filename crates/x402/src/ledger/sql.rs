//! What the SQL backends share: the schema, the column list and the row decoding.

use super::types::{Entry, LedgerError, Query, Scope, Status, Transition};

/// The schema version this SDK writes. Opening a newer ledger fails with an error that
/// says to upgrade; older ones are migrated.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// The schema (idempotent), for SQLite or PostgreSQL: the same tables, with each
/// database's integer and sequence types.
pub(crate) fn schema(postgres: bool) -> String {
    let (int, serial) = if postgres {
        ("BIGINT", "BIGSERIAL PRIMARY KEY")
    } else {
        ("INTEGER", "INTEGER PRIMARY KEY AUTOINCREMENT")
    };
    format!(
        "
CREATE TABLE IF NOT EXISTS sova_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sova_payments (
    id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    created_ms {int} NOT NULL,
    updated_ms {int} NOT NULL,
    status TEXT NOT NULL,
    holds {int} NOT NULL,
    payer TEXT NOT NULL,
    scope TEXT,
    asset TEXT NOT NULL,
    amount {int} NOT NULL,
    pay_to TEXT NOT NULL,
    host TEXT,
    endpoint TEXT,
    digest TEXT UNIQUE,
    signature TEXT,
    transaction_id TEXT,
    record TEXT,
    transaction_b64 TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS sova_payments_held ON sova_payments (payer, asset, holds, created_ms, amount);
CREATE INDEX IF NOT EXISTS sova_payments_recent ON sova_payments (payer, created_ms);
CREATE INDEX IF NOT EXISTS sova_payments_status ON sova_payments (status);
CREATE TABLE IF NOT EXISTS sova_events (
    seq {serial},
    payment_id TEXT NOT NULL,
    at_ms {int} NOT NULL,
    status TEXT NOT NULL,
    detail TEXT
);
"
    )
}

/// What a transition writes besides its status.
pub(crate) struct TransitionValues {
    /// The record, as JSON.
    pub(crate) record: Option<String>,
    /// The payer's signature.
    pub(crate) signature: Option<String>,
    /// The transaction id (named, or known from the record).
    pub(crate) txid: Option<String>,
}

/// The values a transition writes besides its status.
pub(crate) fn transition_values(t: &Transition) -> Result<TransitionValues, LedgerError> {
    let record = t
        .record
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| LedgerError::Store(e.to_string()))?;
    let signature = t.record.as_ref().map(|r| r.payer_signature.clone());
    let txid = t.transaction_id.clone().or_else(|| {
        t.record
            .as_ref()
            .and_then(|r| r.transaction_signature.clone())
    });
    Ok(TransitionValues {
        record,
        signature,
        txid,
    })
}

/// The columns read into a [`Row`], in order.
pub(crate) const COLUMNS: &str = "id, request_id, created_ms, updated_ms, status, payer, scope, \
    asset, amount, pay_to, host, endpoint, signature, transaction_id, record, transaction_b64, detail";

/// A row as read from either database.
pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) request_id: String,
    pub(crate) created_ms: i64,
    pub(crate) updated_ms: i64,
    pub(crate) status: String,
    pub(crate) payer: String,
    pub(crate) scope: Option<String>,
    pub(crate) asset: String,
    pub(crate) amount: i64,
    pub(crate) pay_to: String,
    pub(crate) host: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) signature: Option<String>,
    pub(crate) transaction_id: Option<String>,
    pub(crate) record: Option<String>,
    pub(crate) transaction: Option<String>,
    pub(crate) detail: Option<String>,
}

impl Row {
    pub(crate) fn into_entry(self) -> Result<Entry, LedgerError> {
        let status = Status::parse(&self.status).ok_or_else(|| {
            LedgerError::Store(format!("unknown status {:?} in the ledger", self.status))
        })?;
        let record = self
            .record
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| LedgerError::Store(format!("unreadable payment record: {e}")))?;
        Ok(Entry {
            id: self.id,
            request_id: self.request_id,
            created_ms: u64::try_from(self.created_ms).unwrap_or(0),
            updated_ms: u64::try_from(self.updated_ms).unwrap_or(0),
            status,
            payer: self.payer,
            scope: self.scope,
            asset: self.asset,
            amount: u64::try_from(self.amount).unwrap_or(0),
            pay_to: self.pay_to,
            host: self.host,
            endpoint: self.endpoint,
            signature: self.signature,
            transaction_id: self.transaction_id,
            record,
            transaction: self.transaction,
            detail: self.detail,
        })
    }
}

/// A bound value of a listing's filter.
pub(crate) enum Arg {
    /// An integer.
    Int(i64),
    /// A text.
    Text(String),
}

/// The sum of the amounts held by `payer` (every wallet when empty) in `asset` and `scope`
/// since `since`, as SQL and its arguments: a range over the covering index
/// `(payer, asset, holds, created_ms, amount)`.
pub(crate) fn held_query(
    payer: &str,
    scope: &Scope,
    asset: &str,
    since: u64,
    ph: impl Fn(usize) -> String,
) -> (String, Vec<Arg>) {
    let mut sql = format!(
        "SELECT COALESCE(SUM(amount), 0) FROM sova_payments WHERE asset = {} AND holds = 1 AND created_ms >= {}",
        ph(1),
        ph(2)
    );
    let mut args = vec![Arg::Text(asset.to_owned()), Arg::Int(since as i64)];
    if !payer.is_empty() {
        args.push(Arg::Text(payer.to_owned()));
        sql.push_str(&format!(" AND payer = {}", ph(args.len())));
    }
    if let Scope::Named(n) = scope {
        args.push(Arg::Text(n.clone()));
        sql.push_str(&format!(" AND scope = {}", ph(args.len())));
    }
    (sql, args)
}

/// The `WHERE` clause of a listing and its arguments; `ph(n)` writes the n-th placeholder
/// (`?n` for SQLite, `$n` for PostgreSQL).
pub(crate) fn list_filter(q: &Query, ph: impl Fn(usize) -> String) -> (String, Vec<Arg>) {
    let mut clauses = Vec::new();
    let mut args = Vec::new();
    let mut push = |clause: &dyn Fn(&str) -> String, arg: Arg, args: &mut Vec<Arg>| {
        args.push(arg);
        clauses.push(clause(&ph(args.len())));
    };
    if let Some(s) = q.since_ms {
        push(
            &|p| format!("created_ms >= {p}"),
            Arg::Int(s as i64),
            &mut args,
        );
    }
    if let Some(u) = q.until_ms {
        push(
            &|p| format!("created_ms < {p}"),
            Arg::Int(u as i64),
            &mut args,
        );
    }
    if let Some(p) = &q.payer {
        push(
            &|ph| format!("payer = {ph}"),
            Arg::Text(p.clone()),
            &mut args,
        );
    }
    if !q.statuses.is_empty() {
        let list: Vec<String> = q
            .statuses
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        clauses.push(format!("status IN ({})", list.join(", ")));
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (sql, args)
}
