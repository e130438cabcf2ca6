//! What the SQL backends share: the schema, the column list and the row decoding.

use super::types::{Entry, LedgerError, Query, Status};

/// The schema version this SDK writes. Opening a newer ledger fails with an error that
/// says to upgrade; older ones are migrated.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// The SQLite schema (idempotent).
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sova_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sova_payments (
    id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    holds INTEGER NOT NULL,
    payer TEXT NOT NULL,
    scope TEXT,
    asset TEXT NOT NULL,
    amount INTEGER NOT NULL,
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
CREATE INDEX IF NOT EXISTS sova_payments_budget ON sova_payments (payer, asset, created_ms);
CREATE INDEX IF NOT EXISTS sova_payments_status ON sova_payments (status);
CREATE TABLE IF NOT EXISTS sova_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    detail TEXT
);
";

/// The PostgreSQL schema (idempotent).
pub(crate) const POSTGRES_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sova_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sova_payments (
    id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    holds BIGINT NOT NULL,
    payer TEXT NOT NULL,
    scope TEXT,
    asset TEXT NOT NULL,
    amount BIGINT NOT NULL,
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
CREATE INDEX IF NOT EXISTS sova_payments_budget ON sova_payments (payer, asset, created_ms);
CREATE INDEX IF NOT EXISTS sova_payments_status ON sova_payments (status);
CREATE TABLE IF NOT EXISTS sova_events (
    seq BIGSERIAL PRIMARY KEY,
    payment_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT
);
";

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
