//! Sovera SovX: users, user tokens, monetization, currencies, wallets and addresses, balances
//! and transactions, quotes and orders, withdrawals and transfers with the two-step code flow.
//! Paths follow `reference/sovera-sx-api.md` §6 (conventional paths for undocumented rows).

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::clock::iso8601;
use crate::respond::{Ctx, header_str, json_response, query_pairs, set_header};
use crate::rng::Rng;
use crate::state::{Shared, lock};

/// Prefix of every SovX route.
pub(crate) const PREFIX: &str = "/sovx/v1";

const PAIRS: [(&str, &str, &str, &str); 6] = [
    ("btcusd", "btc", "usd", "60000"),
    ("ethusd", "eth", "usd", "3000"),
    ("solusd", "sol", "usd", "150"),
    ("dogeusd", "doge", "usd", "0.1"),
    ("usdcusd", "usdc", "usd", "1"),
    ("ethbtc", "eth", "btc", "0.05"),
];

/// (symbol, name, precision, sign, is_fiat, min_withdrawal)
const CURRENCIES: [(&str, &str, u32, &str, bool, &str); 6] = [
    ("USD", "US Dollar", 2, "$", true, "1"),
    ("BTC", "Bitcoin", 8, "₿", false, "0.0001"),
    ("ETH", "Ethereum", 8, "Ξ", false, "0.001"),
    ("SOL", "Solana", 9, "◎", false, "0.01"),
    ("USDC", "USD Coin", 6, "$", false, "1"),
    ("DOGE", "Dogecoin", 8, "Ð", false, "10"),
];

// ---------------------------------------------------------------------------------------------
// Store

#[derive(Debug, Clone)]
struct User {
    id: String,
    fields: Map<String, Value>,
    status: &'static str,
    deleted: bool,
    created_ms: i64,
    updated_ms: i64,
}

#[derive(Debug, Clone, Default)]
struct Bal {
    balance: Decimal,
    held: Decimal,
}

#[derive(Debug, Clone)]
struct Wallet {
    id: String,
    vault_id: String,
    user_id: String,
    name: String,
    description: Option<String>,
    wallet_type: String,
    networks: Vec<Value>,
    addresses: Vec<Value>,
    balances: BTreeMap<String, Bal>,
    created_ms: i64,
    updated_ms: i64,
}

#[derive(Debug, Clone)]
struct Quote {
    wallet_id: String,
    pair: &'static str,
    side: String,
    quantity: Decimal,
    amount: Decimal,
    price: Decimal,
    created_ms: i64,
    expires_ms: i64,
    used: bool,
}

#[derive(Debug, Clone)]
struct Pending {
    id: String,
    numeric_id: String,
    kind: &'static str,
    user_id: String,
    wallet_id: String,
    destination_wallet_id: Option<String>,
    currency: String,
    amount: Decimal,
    fee: Decimal,
    status: &'static str,
    body: Map<String, Value>,
    idempotency_key: String,
    created_ms: i64,
    updated_ms: i64,
}

#[derive(Debug, Clone)]
struct Setting {
    id: u64,
    feature: String,
    method: String,
    amount: Decimal,
    pair: Option<String>,
    currency: Option<String>,
    created_ms: i64,
    updated_ms: i64,
}

/// Everything SovX remembers.
pub(crate) struct SovxStore {
    owner_key: String,
    users: HashMap<String, User>,
    tokens: HashMap<String, (String, i64)>,
    current_token: HashMap<String, String>,
    settings: Vec<Setting>,
    next_setting: u64,
    wallets: HashMap<String, Wallet>,
    quotes: HashMap<String, Quote>,
    pending: HashMap<String, Pending>,
    codes: HashMap<String, String>,
    txs: Vec<Value>,
    owner_fees: BTreeMap<String, Decimal>,
    next_numeric: u64,
    rng: Rng,
    started_ms: i64,
}

impl SovxStore {
    pub fn new(seed: u64, owner_key: String, now: i64) -> SovxStore {
        SovxStore {
            owner_key,
            users: HashMap::new(),
            tokens: HashMap::new(),
            current_token: HashMap::new(),
            settings: Vec::new(),
            next_setting: 1000,
            wallets: HashMap::new(),
            quotes: HashMap::new(),
            pending: HashMap::new(),
            codes: HashMap::new(),
            txs: Vec::new(),
            owner_fees: BTreeMap::new(),
            next_numeric: 9180,
            rng: Rng::keyed(seed, "sovx-store"),
            started_ms: now,
        }
    }

    /// The owner API key.
    pub fn owner_key(&self) -> &str {
        &self.owner_key
    }

    /// The current confirmation code of a pending withdrawal or transfer (by id or numeric id).
    pub fn code(&self, id: &str) -> Option<String> {
        let p = self.find_pending(id)?;
        self.codes.get(&p.id).cloned()
    }

    /// All current codes: (operation id, kind, code).
    pub fn codes(&self) -> Vec<(String, String, String)> {
        let mut v: Vec<_> = self
            .codes
            .iter()
            .filter_map(|(id, c)| {
                self.pending
                    .get(id)
                    .map(|p| (id.clone(), p.kind.to_owned(), c.clone()))
            })
            .collect();
        v.sort();
        v
    }

    fn find_pending(&self, id: &str) -> Option<&Pending> {
        self.pending
            .get(id)
            .or_else(|| self.pending.values().find(|p| p.numeric_id == id))
    }

    /// Credits a wallet (admin funding); false when the wallet is unknown or the amount bad.
    pub fn fund(&mut self, wallet_id: &str, currency: &str, amount: Decimal, now: i64) -> bool {
        if amount <= Decimal::ZERO {
            return false;
        }
        let Some(w) = self.wallets.get_mut(wallet_id) else {
            return false;
        };
        let cur = currency.to_ascii_lowercase();
        w.balances.entry(cur.clone()).or_default().balance += amount;
        let (uid, wid) = (w.user_id.clone(), w.id.clone());
        let id = self.rng.uuid();
        self.push_tx(json!({
            "id": id, "type": "DEPOSIT", "status": "COMPLETED", "currency": cur, "amount": dec(amount),
            "wallet_id": wid, "user_id": uid, "description": "sandbox deposit",
            "created_at": iso8601(now), "updated_at": iso8601(now),
        }));
        true
    }

    fn push_tx(&mut self, tx: Value) {
        self.txs.push(tx);
    }

    fn new_code(&mut self, id: &str) -> String {
        let code = format!("{:06}", self.rng.int(0, 999_999));
        self.codes.insert(id.to_owned(), code.clone());
        code
    }
}

// ---------------------------------------------------------------------------------------------
// Envelopes

fn trace_id(headers: &HeaderMap, rng_seed: u64) -> String {
    match header_str(headers, "x-trace-id").map(str::trim) {
        Some(t) if !t.is_empty() && t.len() <= 128 && t.bytes().all(|b| b.is_ascii_graphic()) => {
            t.to_owned()
        }
        _ => Rng::new(rng_seed ^ crate::rng::fnv1a(headers.len().to_string().as_bytes())).uuid(),
    }
}

struct Reply {
    trace: String,
    now: i64,
}

impl Reply {
    fn meta(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("timestamp".into(), Value::from(iso8601(self.now)));
        m.insert("version".into(), Value::from("v1"));
        m.insert("trace_id".into(), Value::from(self.trace.clone()));
        m
    }

    fn finish(&self, status: StatusCode, body: Value) -> Response {
        let mut r = json_response(status, &body);
        set_header(r.headers_mut(), "x-trace-id", &self.trace);
        r
    }

    fn ok(&self, status: StatusCode, data: Value) -> Response {
        self.finish(
            status,
            json!({"success": true, "data": data, "meta": Value::Object(self.meta())}),
        )
    }

    fn list(&self, items: Vec<Value>, query: &ListQuery) -> Response {
        let total = items.len();
        let page: Vec<Value> = items
            .into_iter()
            .skip(query.skip)
            .take(query.limit)
            .collect();
        let mut meta = self.meta();
        meta.insert(
            "pagination".into(),
            json!({
                "total": total, "limit": query.limit, "skip": query.skip, "count": page.len(),
                "has_more": query.skip + page.len() < total,
            }),
        );
        self.finish(
            StatusCode::OK,
            json!({"success": true, "data": page, "meta": Value::Object(meta)}),
        )
    }

    fn err(&self, status: StatusCode, code: &str, message: impl Into<String>) -> Response {
        self.finish(
            status,
            json!({
                "success": false,
                "errors": [{"code": code, "message": message.into()}],
                "meta": Value::Object(self.meta()),
            }),
        )
    }
}

/// The SovX error envelope for a status (used for unmatched routes and framework rejections).
pub(crate) fn error_envelope(status: StatusCode, message: &str, trace: &str, now: i64) -> Value {
    json!({
        "success": false,
        "errors": [{"code": default_code(status), "message": message}],
        "meta": {"timestamp": iso8601(now), "version": "v1", "trace_id": trace},
    })
}

fn default_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "BAD_REQUEST",
        401 => "UNAUTHORIZED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_ALLOWED",
        409 => "CONFLICT",
        413 => "PAYLOAD_TOO_LARGE",
        415 => "UNSUPPORTED_MEDIA_TYPE",
        422 => "UNPROCESSABLE_ENTITY",
        429 => "RATE_LIMIT_EXCEEDED",
        502 => "UPSTREAM_ERROR",
        503 => "SERVICE_UNAVAILABLE",
        _ => "INTERNAL_SERVER_ERROR",
    }
}

/// A trace id for a request (echoed or generated).
pub(crate) fn request_trace(headers: &HeaderMap, seed: u64, now: i64) -> String {
    trace_id(headers, seed ^ (now as u64))
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn dec(d: Decimal) -> Value {
    let s = d.normalize().to_string();
    s.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::from(0))
}

fn num(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => {
            let s = n.to_string();
            Decimal::from_str(&s)
                .ok()
                .or_else(|| Decimal::from_scientific(&s).ok())
        }
        _ => None,
    }
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

enum Caller {
    Owner,
    User(String),
}

struct ListQuery {
    limit: usize,
    skip: usize,
    sort: Option<(String, bool)>,
    filters: Vec<(String, String)>,
}

fn list_query(uri: &axum::http::Uri) -> Result<ListQuery, String> {
    let mut q = ListQuery {
        limit: 50,
        skip: 0,
        sort: None,
        filters: vec![],
    };
    let set = |q: &mut ListQuery, key: &str, value: &str| -> Result<(), String> {
        match key {
            "limit" => {
                q.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|l| (1..=500).contains(l))
                    .ok_or("filter[limit] must be an integer between 1 and 500")?
            }
            "skip" | "offset" => {
                q.skip = value
                    .parse::<usize>()
                    .map_err(|_| "filter[skip] must be a non-negative integer")?
            }
            "sort" | "order" => {
                let mut it = value.split_whitespace();
                let field = it
                    .next()
                    .ok_or("filter[sort] must be `<field> ASC|DESC`")?
                    .to_owned();
                let asc = match it.next().map(str::to_ascii_uppercase).as_deref() {
                    None | Some("DESC") => false,
                    Some("ASC") => true,
                    _ => return Err("filter[sort] must be `<field> ASC|DESC`".into()),
                };
                q.sort = Some((field, asc));
            }
            _ => {}
        }
        Ok(())
    };
    for (k, v) in query_pairs(uri) {
        if k == "filter" {
            let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&v) else {
                return Err("filter must be a JSON object".into());
            };
            for (fk, fv) in m {
                if fk == "where" {
                    if let Value::Object(w) = fv {
                        for (wk, wv) in w {
                            let s = match wv {
                                Value::String(s) => s,
                                other => other.to_string(),
                            };
                            q.filters.push((wk, s));
                        }
                    }
                } else {
                    let s = match fv {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    set(&mut q, &fk, &s)?;
                }
            }
            continue;
        }
        let Some(rest) = k.strip_prefix("filter[") else {
            continue;
        };
        if let Some(w) = rest.strip_prefix("where][") {
            let field = w.trim_end_matches(']').to_owned();
            q.filters.push((field, v));
        } else {
            set(&mut q, rest.trim_end_matches(']'), &v)?;
        }
    }
    Ok(q)
}

fn apply_filters(items: &mut Vec<Value>, q: &ListQuery) {
    items.retain(|item| {
        q.filters.iter().all(|(f, want)| match item.get(f) {
            Some(Value::String(s)) => s.eq_ignore_ascii_case(want),
            Some(Value::Null) | None => want == "null",
            Some(other) => serde_json::from_str::<Value>(want).ok().as_ref() == Some(other),
        })
    });
    let (field, asc) = q.sort.clone().unwrap_or(("created_at".into(), false));
    items.sort_by(|a, b| {
        let o = match (a.get(&field), b.get(&field)) {
            (Some(Value::Number(x)), Some(Value::Number(y))) => x
                .as_f64()
                .partial_cmp(&y.as_f64())
                .unwrap_or(std::cmp::Ordering::Equal),
            (x, y) => x.map(|v| v.to_string()).cmp(&y.map(|v| v.to_string())),
        };
        if asc { o } else { o.reverse() }
    });
}

/// The per-request context of a SovX handler.
struct Req {
    reply: Reply,
    headers: HeaderMap,
    uri: axum::http::Uri,
}

impl Req {
    fn new(state: &Shared, ctx: Ctx) -> Req {
        let now = state.clock.now_ms();
        Req {
            reply: Reply {
                trace: request_trace(&ctx.headers, state.config.seed, now),
                now,
            },
            headers: ctx.headers,
            uri: ctx.uri,
        }
    }

    fn caller(&self, store: &SovxStore) -> Result<Caller, Response> {
        let api_key = header_str(&self.headers, "x-api-key")
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let bearer = header_str(&self.headers, "authorization")
            .and_then(|a| {
                a.strip_prefix("Bearer ")
                    .or_else(|| a.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let Some(cred) = api_key.or(bearer) else {
            return Err(self.reply.err(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "Missing authentication: send x-api-key or Authorization: Bearer",
            ));
        };
        if cred == store.owner_key {
            return Ok(Caller::Owner);
        }
        match store.tokens.get(cred) {
            Some((uid, exp))
                if *exp > self.reply.now && store.users.get(uid).is_some_and(|u| !u.deleted) =>
            {
                Ok(Caller::User(uid.clone()))
            }
            Some(_) => Err(self.reply.err(
                StatusCode::UNAUTHORIZED,
                "TOKEN_EXPIRED",
                "The user token has expired or been revoked",
            )),
            None => Err(self.reply.err(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "Invalid API key or user token",
            )),
        }
    }

    fn owner_only(&self, c: &Caller) -> Result<(), Response> {
        match c {
            Caller::Owner => Ok(()),
            Caller::User(_) => Err(self.reply.err(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "This operation requires the owner API key",
            )),
        }
    }

    fn user_only(&self, c: &Caller) -> Result<String, Response> {
        match c {
            Caller::User(u) => Ok(u.clone()),
            Caller::Owner => Err(self.reply.err(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "This operation requires a user token",
            )),
        }
    }

    fn self_or_owner(&self, c: &Caller, user_id: &str) -> Result<(), Response> {
        match c {
            Caller::Owner => Ok(()),
            Caller::User(u) if u == user_id => Ok(()),
            Caller::User(_) => Err(self.reply.err(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "A user token can act only on its own account",
            )),
        }
    }

    fn body(&self, body: &[u8]) -> Result<Map<String, Value>, Response> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        if let Some(ct) = header_str(&self.headers, "content-type")
            && !ct.to_ascii_lowercase().contains("json")
        {
            return Err(self.reply.err(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "Content-Type must be application/json",
            ));
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(self.bad("Request body must be a JSON object")),
            Err(e) => Err(self.bad(format!("Invalid JSON body: {e}"))),
        }
    }

    fn bad(&self, message: impl Into<String>) -> Response {
        self.reply
            .err(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    fn not_found(&self, code: &str, what: &str) -> Response {
        self.reply
            .err(StatusCode::NOT_FOUND, code, format!("{what} not found"))
    }
}

fn user_json(u: &User) -> Value {
    let mut m = Map::new();
    m.insert("user_id".into(), Value::from(u.id.clone()));
    for (k, v) in &u.fields {
        if k != "user_id" {
            m.insert(k.clone(), v.clone());
        }
    }
    m.insert("status".into(), Value::from(u.status));
    m.insert("created_at".into(), Value::from(iso8601(u.created_ms)));
    m.insert("updated_at".into(), Value::from(iso8601(u.updated_ms)));
    Value::Object(m)
}

fn wallet_json(w: &Wallet) -> Value {
    json!({
        "wallet_id": w.id, "vault_wallet_id": w.vault_id, "user_id": w.user_id, "name": w.name,
        "description": w.description, "wallet_type": w.wallet_type, "status": "ACTIVE",
        "networks": w.networks, "addresses": w.addresses,
        "created_at": iso8601(w.created_ms), "updated_at": iso8601(w.updated_ms),
    })
}

fn bal_json(currency: &str, b: &Bal) -> Value {
    json!({"currency": currency, "balance": dec(b.balance), "available": dec(b.balance - b.held), "held": dec(b.held)})
}

fn setting_json(s: &Setting) -> Value {
    let feature = match s.feature.as_str() {
        "RFQ" => "RFQ Quote",
        "SPOT_TRADE" => "Spot Trading",
        _ => "Withdrawal",
    };
    let method = match s.method.as_str() {
        "FEE_RATE" => "Fee Rate",
        "FEE_FLAT" => "Flat Fee",
        _ => "Spread Adjustment",
    };
    json!({
        "id": s.id, "feature": feature, "feature_code": s.feature, "method": method, "method_code": s.method,
        "amount": dec(s.amount), "customer_id": "sovbs-sandbox", "currency": s.currency, "pair": s.pair,
        "created_at": iso8601(s.created_ms), "updated_at": iso8601(s.updated_ms),
    })
}

fn pending_json(p: &Pending) -> Value {
    let mut m = p.body.clone();
    m.insert("id".into(), Value::from(p.id.clone()));
    m.insert("status".into(), Value::from(p.status));
    m.insert("currency".into(), Value::from(p.currency.clone()));
    m.insert("amount".into(), dec(p.amount));
    m.insert("fee".into(), dec(p.fee));
    m.insert("created_at".into(), Value::from(iso8601(p.created_ms)));
    m.insert("updated_at".into(), Value::from(iso8601(p.updated_ms)));
    if p.kind == "withdrawal" {
        m.insert("user_id".into(), Value::from(p.user_id.clone()));
        m.insert(
            "withdraw".into(),
            json!({"id": p.numeric_id, "status": p.status, "idempotency_key": p.idempotency_key, "is_duplicate": false}),
        );
    } else {
        m.insert("source_wallet_id".into(), Value::from(p.wallet_id.clone()));
    }
    Value::Object(m)
}

// ---------------------------------------------------------------------------------------------
// Router

/// The SovX router (mounted under `/sovx/v1`).
pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/health", get(health))
        .route("/users", post(create_user).get(list_users))
        .route("/users/tokens", post(bulk_tokens))
        .route(
            "/users/{user_id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/users/{user_id}/activate", post(activate_user))
        .route("/users/{user_id}/deactivate", post(deactivate_user))
        .route("/users/{user_id}/token", post(user_token))
        .route(
            "/users/{user_id}/wallets",
            post(create_wallet).get(list_wallets),
        )
        .route("/users/{user_id}/accounts/balance", get(user_balance))
        .route(
            "/users/{user_id}/accounts/transactions",
            get(user_transactions),
        )
        .route("/users/{user_id}/trading/quotes", post(create_quote))
        .route("/users/{user_id}/trading/orders", post(place_order))
        .route(
            "/users/{user_id}/accounts/crypto/withdrawals",
            post(create_withdrawal).get(list_withdrawals),
        )
        .route(
            "/users/{user_id}/accounts/crypto/withdrawals/{op_id}",
            get(get_withdrawal),
        )
        .route(
            "/users/{user_id}/accounts/crypto/withdrawals/{op_id}/{action}",
            post(withdrawal_action),
        )
        .route(
            "/monetization/settings",
            get(list_settings).post(create_setting),
        )
        .route(
            "/monetization/settings/{id}",
            get(get_setting)
                .put(update_setting)
                .patch(update_setting)
                .delete(delete_setting),
        )
        .route("/accounts/balance", get(owner_balance))
        .route("/accounts/transactions", get(owner_transactions))
        .route("/currencies", get(currencies))
        .route("/currency-pairs", get(currency_pairs))
        .route("/wallets/{wallet_id}", get(get_wallet))
        .route("/wallets/{wallet_id}/balances", get(wallet_balances))
        .route(
            "/wallets/{wallet_id}/transactions",
            get(wallet_transactions),
        )
        .route(
            "/wallets/{wallet_id}/addresses",
            post(create_address).get(list_addresses),
        )
        .route(
            "/wallets/{wallet_id}/transfers",
            post(create_transfer).get(list_transfers),
        )
        .route("/wallets/{wallet_id}/transfers/{op_id}", get(get_transfer))
        .route(
            "/wallets/{wallet_id}/transfers/{op_id}/{action}",
            post(transfer_action),
        )
}

type R = Result<Response, Response>;

fn done(r: R) -> Response {
    r.unwrap_or_else(|e| e)
}

async fn health(State(state): State<Shared>) -> Response {
    let now = state.clock.now_ms();
    let started = lock(&state.sovx).started_ms;
    json_response(
        StatusCode::OK,
        &json!({"status": "ok", "timestamp": iso8601(now), "uptime": ((now - started).max(0) / 1000)}),
    )
}

// ---- users --------------------------------------------------------------------------------

fn validate_user_fields(req: &Req, b: &Map<String, Value>, partial: bool) -> Result<(), Response> {
    let str_field = |k: &str, max: usize| -> Result<Option<String>, Response> {
        match b.get(k) {
            None if partial => Ok(None),
            None | Some(Value::Null) => Err(req.bad(format!("{k} is required"))),
            Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= max => {
                Ok(Some(s.clone()))
            }
            Some(_) => Err(req.bad(format!(
                "{k} must be a non-empty string of at most {max} characters"
            ))),
        }
    };
    let enum_field = |k: &str, allowed: &[&str]| -> Result<(), Response> {
        match str_field(k, 32)? {
            Some(v) if !allowed.contains(&v.as_str()) => {
                Err(req.bad(format!("{k} must be one of {}", allowed.join(", "))))
            }
            _ => Ok(()),
        }
    };
    enum_field("account_type", &["individual", "business"])?;
    enum_field("account_role", &["third"])?;
    enum_field("account_purpose", &["trading", "investing"])?;
    str_field("first_name", 100)?;
    str_field("last_name", 100)?;
    if let Some(e) = str_field("email", 255)? {
        let ok = e
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'));
        if !ok {
            return Err(req.bad("email must be a valid email address"));
        }
    }
    if let Some(c) = str_field("phone_country_code", 2)?
        && (c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(req.bad("phone_country_code must be an ISO 3166-1 alpha-2 code"));
    }
    if let Some(p) = str_field("phone_number", 20)? {
        let digits = p.bytes().filter(u8::is_ascii_digit).count();
        if digits < 6
            || !p
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'+' || b == b' ' || b == b'-')
        {
            return Err(req.bad("phone_number must be a valid mobile number"));
        }
    }
    match b.get("individual") {
        None if partial => {}
        Some(Value::Object(_)) => {}
        _ => {
            return Err(
                req.bad("individual must be an object with the account holder's KYC details")
            );
        }
    }
    if let Some(u) = b.get("user_id")
        && !u.as_str().is_some_and(is_uuid)
    {
        return Err(req.bad("user_id must be a UUID"));
    }
    Ok(())
}

fn conflict(
    store: &SovxStore,
    b: &Map<String, Value>,
    except: Option<&str>,
) -> Option<(&'static str, &'static str)> {
    for u in store.users.values() {
        if u.deleted || Some(u.id.as_str()) == except {
            continue;
        }
        let same = |k: &str, ci: bool| match (
            b.get(k).and_then(Value::as_str),
            u.fields.get(k).and_then(Value::as_str),
        ) {
            (Some(a), Some(c)) => {
                if ci {
                    a.eq_ignore_ascii_case(c)
                } else {
                    a == c
                }
            }
            _ => false,
        };
        if same("email", true) {
            return Some((
                "EMAIL_ALREADY_EXISTS",
                "A user with this email already exists",
            ));
        }
        if same("phone_number", false) && same("phone_country_code", true) {
            return Some((
                "PHONE_ALREADY_EXISTS",
                "A user with this phone number already exists",
            ));
        }
    }
    None
}

async fn create_user(State(state): State<Shared>, ctx: Ctx, body: Bytes) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let b = req.body(&body)?;
        validate_user_fields(&req, &b, false)?;
        let id = match b.get("user_id").and_then(Value::as_str) {
            Some(id) => id.to_ascii_lowercase(),
            None => store.rng.uuid(),
        };
        if store.users.contains_key(&id) {
            return Err(req.reply.err(
                StatusCode::CONFLICT,
                "USER_ALREADY_EXISTS",
                "A user with this user_id already exists",
            ));
        }
        if let Some((code, msg)) = conflict(&store, &b, None) {
            return Err(req.reply.err(StatusCode::CONFLICT, code, msg));
        }
        let now = req.reply.now;
        let u = User {
            id: id.clone(),
            fields: b,
            status: "PENDING",
            deleted: false,
            created_ms: now,
            updated_ms: now,
        };
        let out = user_json(&u);
        store.users.insert(id, u);
        Ok(req.reply.ok(StatusCode::CREATED, out))
    })())
}

async fn list_users(State(state): State<Shared>, ctx: Ctx) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let q = list_query(&req.uri).map_err(|e| req.bad(e))?;
        let mut items: Vec<Value> = store
            .users
            .values()
            .filter(|u| !u.deleted)
            .map(user_json)
            .collect();
        apply_filters(&mut items, &q);
        Ok(req.reply.list(items, &q))
    })())
}

/// The caller acting on `id`'s own account (owner key or that user's token), which must be a
/// live, active user; `action` completes "The user must be active to …".
fn acting_active_user<'a>(
    req: &Req,
    store: &'a SovxStore,
    c: &Caller,
    id: &str,
    action: &str,
) -> Result<&'a User, Response> {
    req.self_or_owner(c, id)?;
    let u = live_user(req, store, id)?;
    if u.status != "ACTIVE" {
        return Err(req.reply.err(
            StatusCode::BAD_REQUEST,
            "USER_NOT_ACTIVE",
            format!("The user must be active to {action}"),
        ));
    }
    Ok(u)
}

fn live_user<'a>(req: &Req, store: &'a SovxStore, id: &str) -> Result<&'a User, Response> {
    store
        .users
        .get(id)
        .filter(|u| !u.deleted)
        .ok_or_else(|| req.not_found("USER_NOT_FOUND", "User"))
}

async fn get_user(State(state): State<Shared>, Path(user_id): Path<String>, ctx: Ctx) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let u = live_user(&req, &store, &user_id)?;
        Ok(req.reply.ok(StatusCode::OK, user_json(u)))
    })())
}

async fn update_user(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        live_user(&req, &store, &user_id)?;
        let b = req.body(&body)?;
        if b.contains_key("user_id") {
            return Err(req.bad("user_id cannot be changed"));
        }
        if b.is_empty() {
            return Err(req.bad("Provide at least one field to update"));
        }
        validate_user_fields(&req, &b, true)?;
        if let Some((code, msg)) = conflict(&store, &b, Some(&user_id)) {
            return Err(req.reply.err(StatusCode::CONFLICT, code, msg));
        }
        let now = req.reply.now;
        let u = store
            .users
            .get_mut(&user_id)
            .ok_or_else(|| req.not_found("USER_NOT_FOUND", "User"))?;
        for (k, v) in b {
            u.fields.insert(k, v);
        }
        u.updated_ms = now;
        Ok(req.reply.ok(StatusCode::OK, user_json(u)))
    })())
}

fn set_status(state: &Shared, req: &Req, user_id: &str, status: Option<&'static str>) -> R {
    let mut store = lock(&state.sovx);
    let c = req.caller(&store)?;
    req.owner_only(&c)?;
    live_user(req, &store, user_id)?;
    let now = req.reply.now;
    let u = store
        .users
        .get_mut(user_id)
        .ok_or_else(|| req.not_found("USER_NOT_FOUND", "User"))?;
    match status {
        Some(s) => u.status = s,
        None => {
            u.deleted = true;
            u.status = "DELETED";
        }
    }
    u.updated_ms = now;
    let out = user_json(u);
    if status.is_none() {
        store.tokens.retain(|_, (uid, _)| uid != user_id);
        store.current_token.remove(user_id);
    }
    Ok(req.reply.ok(StatusCode::OK, out))
}

async fn activate_user(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done(set_status(&state, &req, &user_id, Some("ACTIVE")))
}

async fn deactivate_user(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done(set_status(&state, &req, &user_id, Some("INACTIVE")))
}

async fn delete_user(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done(set_status(&state, &req, &user_id, None))
}

fn issue_token(store: &mut SovxStore, user_id: &str, now: i64, ttl_ms: i64) -> Value {
    if let Some(old) = store.current_token.remove(user_id) {
        store.tokens.remove(&old);
    }
    let token = store.rng.hex(32);
    let expires = now.saturating_add(ttl_ms);
    store
        .tokens
        .insert(token.clone(), (user_id.to_owned(), expires));
    store
        .current_token
        .insert(user_id.to_owned(), token.clone());
    json!({"token": token, "user_id": user_id, "expires": iso8601(expires)})
}

fn token_ttl(state: &Shared) -> i64 {
    i64::try_from(state.config.user_token_ttl.as_millis()).unwrap_or(i64::MAX / 4)
}

async fn user_token(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        live_user(&req, &store, &user_id)?;
        let t = issue_token(&mut store, &user_id, req.reply.now, token_ttl(&state));
        Ok(req.reply.ok(StatusCode::OK, t))
    })())
}

async fn bulk_tokens(State(state): State<Shared>, ctx: Ctx, body: Bytes) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let b = req.body(&body)?;
        let ids: Vec<String> = match b.get("user_ids") {
            Some(Value::Array(a)) if !a.is_empty() && a.len() <= 100 => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| req.bad("user_ids must be an array of user ids"))?,
            _ => return Err(req.bad("user_ids must be a non-empty array of at most 100 user ids")),
        };
        for id in &ids {
            live_user(&req, &store, id)?;
        }
        let out: Vec<Value> = ids
            .iter()
            .map(|id| issue_token(&mut store, id, req.reply.now, token_ttl(&state)))
            .collect();
        Ok(req.reply.ok(StatusCode::OK, Value::Array(out)))
    })())
}

// ---- monetization -------------------------------------------------------------------------

async fn list_settings(State(state): State<Shared>, ctx: Ctx) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let q = list_query(&req.uri).map_err(|e| req.bad(e))?;
        let mut items: Vec<Value> = store.settings.iter().map(setting_json).collect();
        apply_filters(&mut items, &q);
        Ok(req.reply.list(items, &q))
    })())
}

fn setting_id(req: &Req, id: &str) -> Result<u64, Response> {
    id.parse::<u64>()
        .map_err(|_| req.not_found("SETTING_NOT_FOUND", "Monetization setting"))
}

async fn get_setting(State(state): State<Shared>, Path(id): Path<String>, ctx: Ctx) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let id = setting_id(&req, &id)?;
        let s = store
            .settings
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| req.not_found("SETTING_NOT_FOUND", "Monetization setting"))?;
        Ok(req.reply.ok(StatusCode::OK, setting_json(s)))
    })())
}

fn positive_amount(req: &Req, v: Option<&Value>, field: &str) -> Result<Decimal, Response> {
    match v.and_then(num) {
        Some(d) if d > Decimal::ZERO => Ok(d),
        _ => Err(req.bad(format!("{field} must be a number greater than 0"))),
    }
}

async fn create_setting(State(state): State<Shared>, ctx: Ctx, body: Bytes) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let b = req.body(&body)?;
        let feature = b.get("feature").and_then(Value::as_str).unwrap_or("");
        if !["RFQ", "SPOT_TRADE", "WITHDRAW"].contains(&feature) {
            return Err(req.bad("feature must be one of RFQ, SPOT_TRADE, WITHDRAW"));
        }
        let method = b.get("method").and_then(Value::as_str).unwrap_or("");
        if !["FEE_RATE", "FEE_FLAT", "SPREAD_ADJUSTMENT"].contains(&method) {
            return Err(req.bad("method must be one of FEE_RATE, FEE_FLAT, SPREAD_ADJUSTMENT"));
        }
        let amount = positive_amount(&req, b.get("amount"), "amount")?;
        if method != "FEE_FLAT" && amount >= Decimal::ONE {
            return Err(req.bad("amount is a decimal fraction (0.01 = 1%) and must be below 1"));
        }
        let pair = match b.get("pair") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if PAIRS.iter().any(|x| x.0.eq_ignore_ascii_case(p)) => {
                Some(p.to_ascii_uppercase())
            }
            Some(_) => return Err(req.bad("pair must be a supported trading pair, e.g. BTCUSD")),
        };
        let currency = match b.get("currency") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if CURRENCIES.iter().any(|c| c.0.eq_ignore_ascii_case(s)) => {
                Some(s.to_ascii_lowercase())
            }
            Some(_) => return Err(req.bad("currency must be a supported currency code")),
        };
        store.next_setting += 1;
        let s = Setting {
            id: store.next_setting,
            feature: feature.to_owned(),
            method: method.to_owned(),
            amount,
            pair,
            currency,
            created_ms: req.reply.now,
            updated_ms: req.reply.now,
        };
        let out = setting_json(&s);
        store.settings.push(s);
        Ok(req.reply.ok(StatusCode::CREATED, out))
    })())
}

async fn update_setting(
    State(state): State<Shared>,
    Path(id): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let id = setting_id(&req, &id)?;
        let b = req.body(&body)?;
        let v = b.get("new_monetization_amount").or_else(|| b.get("amount"));
        let amount = positive_amount(&req, v, "amount")?;
        let now = req.reply.now;
        let s = store
            .settings
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or_else(|| req.not_found("SETTING_NOT_FOUND", "Monetization setting"))?;
        if s.method != "FEE_FLAT" && amount >= Decimal::ONE {
            return Err(req.bad("amount is a decimal fraction (0.01 = 1%) and must be below 1"));
        }
        s.amount = amount;
        s.updated_ms = now;
        Ok(req.reply.ok(StatusCode::OK, setting_json(s)))
    })())
}

async fn delete_setting(State(state): State<Shared>, Path(id): Path<String>, ctx: Ctx) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let id = setting_id(&req, &id)?;
        let before = store.settings.len();
        store.settings.retain(|s| s.id != id);
        if before == store.settings.len() {
            return Err(req.not_found("SETTING_NOT_FOUND", "Monetization setting"));
        }
        Ok(req
            .reply
            .ok(StatusCode::OK, json!({"id": id, "deleted": true})))
    })())
}

fn fee_setting(
    store: &SovxStore,
    feature: &str,
    pair: Option<&str>,
    currency: Option<&str>,
) -> Option<Setting> {
    let matches = |s: &&Setting| {
        s.feature == feature
            && s.pair
                .as_deref()
                .is_none_or(|p| pair.is_some_and(|q| p.eq_ignore_ascii_case(q)))
            && s.currency
                .as_deref()
                .is_none_or(|c| currency.is_some_and(|q| c.eq_ignore_ascii_case(q)))
    };
    // The most specific setting wins.
    store
        .settings
        .iter()
        .filter(matches)
        .max_by_key(|s| (s.pair.is_some() as u8) + (s.currency.is_some() as u8))
        .cloned()
}

// ---- owner account, currencies --------------------------------------------------------------

async fn owner_balance(State(state): State<Shared>, ctx: Ctx) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let mut base: BTreeMap<String, Bal> = [
            ("usd", "1000000"),
            ("btc", "10"),
            ("eth", "100"),
            ("sol", "1000"),
            ("usdc", "500000"),
        ]
        .iter()
        .map(|(c, v)| {
            (
                (*c).to_owned(),
                Bal {
                    balance: Decimal::from_str(v).unwrap_or_default(),
                    held: Decimal::ZERO,
                },
            )
        })
        .collect();
        for (cur, fee) in &store.owner_fees {
            base.entry(cur.clone()).or_default().balance += *fee;
        }
        let out: Vec<Value> = base.iter().map(|(c, b)| bal_json(c, b)).collect();
        Ok(req.reply.ok(StatusCode::OK, Value::Array(out)))
    })())
}

fn tx_list(req: &Req, store: &SovxStore, keep: impl Fn(&Value) -> bool) -> R {
    let q = list_query(&req.uri).map_err(|e| req.bad(e))?;
    let mut items: Vec<Value> = store.txs.iter().filter(|t| keep(t)).cloned().collect();
    apply_filters(&mut items, &q);
    Ok(req.reply.list(items, &q))
}

async fn owner_transactions(State(state): State<Shared>, ctx: Ctx) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        tx_list(&req, &store, |_| true)
    })())
}

async fn currencies(State(state): State<Shared>, ctx: Ctx) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        req.caller(&store)?;
        let out: Vec<Value> = CURRENCIES
            .iter()
            .enumerate()
            .map(|(i, (sym, name, precision, sign, fiat, min))| {
                json!({
                    "id": i + 1, "symbol": sym, "name": name, "code": sym, "currency": sym,
                    "precision": precision, "ascii_sign": sign, "can_deposit": true, "can_withdraw": !fiat,
                    "min_withdrawal": dec(Decimal::from_str(min).unwrap_or_default()), "is_fiat": fiat,
                    "is_confirmations_needed": !fiat, "is_custody_enabled": true, "is_trading_enabled": true,
                })
            })
            .collect();
        Ok(req.reply.ok(StatusCode::OK, Value::Array(out)))
    })())
}

async fn currency_pairs(State(state): State<Shared>, ctx: Ctx) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        req.caller(&store)?;
        let out: Vec<Value> = PAIRS
            .iter()
            .map(|(p, b, q, price)| {
                json!({
                    "pair": p, "symbol": format!("{}/{}", b.to_ascii_uppercase(), q.to_ascii_uppercase()),
                    "base": b, "quote": q, "price": dec(Decimal::from_str(price).unwrap_or_default()),
                    "is_trading_enabled": true,
                })
            })
            .collect();
        Ok(req.reply.ok(StatusCode::OK, Value::Array(out)))
    })())
}

// ---- wallets --------------------------------------------------------------------------------

fn make_address(rng: &mut Rng, network: &str) -> String {
    let n = network.to_ascii_lowercase();
    if n.contains("bitcoin") {
        format!("tb1q{}", rng.hex(19))
    } else if n.contains("ethereum") || n.contains("polygon") || n.contains("base") {
        format!("0x{}", rng.hex(20))
    } else {
        rng.address()
    }
}

async fn create_wallet(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        acting_active_user(&req, &store, &c, &user_id, "open a wallet")?;
        let b = req.body(&body)?;
        let name = match b.get("name") {
            Some(Value::String(n)) if !n.trim().is_empty() && n.chars().count() <= 100 => n.clone(),
            _ => return Err(req.bad("name is required (at most 100 characters)")),
        };
        if store
            .wallets
            .values()
            .any(|w| w.user_id == user_id && w.name == name)
        {
            return Err(req.reply.err(
                StatusCode::BAD_REQUEST,
                "DUPLICATE_WALLET_NAME",
                "A wallet with this name already exists for the user",
            ));
        }
        let networks = match b.get("networks") {
            Some(Value::Array(a)) if !a.is_empty() && a.len() <= 20 => a.clone(),
            _ => return Err(req.bad("networks must be a non-empty array of {name, currency}")),
        };
        for n in &networks {
            let ok = n
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty() && s.len() <= 100)
                && n.get("currency")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty() && s.len() <= 10);
            if !ok {
                return Err(req.bad(
                    "each network needs a name (e.g. networks/solana-devnet) and a currency",
                ));
            }
        }
        let wallet_type = match b.get("wallet_type") {
            None | Some(Value::Null) => "virtual".to_owned(),
            Some(Value::String(t)) if t == "virtual" || t == "real" => t.clone(),
            _ => return Err(req.bad("wallet_type must be virtual or real")),
        };
        let description = match b.get("description") {
            None | Some(Value::Null) => None,
            Some(Value::String(d)) if d.chars().count() <= 500 => Some(d.clone()),
            _ => return Err(req.bad("description must be a string")),
        };
        let id = store.rng.uuid();
        let vault_id = format!("wal_{}", store.rng.hex(6));
        let mut addresses = Vec::new();
        for n in &networks {
            let network = n
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim_start_matches("networks/")
                .to_owned();
            let currency = n
                .get("currency")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            let address = make_address(&mut store.rng, &network);
            let address_id = store.rng.uuid();
            addresses.push(json!({"address_id": address_id, "currency": currency, "network": network, "address": address}));
        }
        let now = req.reply.now;
        let w = Wallet {
            id: id.clone(),
            vault_id,
            user_id: user_id.clone(),
            name,
            description,
            wallet_type,
            networks,
            addresses,
            balances: BTreeMap::new(),
            created_ms: now,
            updated_ms: now,
        };
        let out = wallet_json(&w);
        store.wallets.insert(id, w);
        Ok(req.reply.ok(StatusCode::CREATED, out))
    })())
}

async fn list_wallets(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.self_or_owner(&c, &user_id)?;
        live_user(&req, &store, &user_id)?;
        let q = list_query(&req.uri).map_err(|e| req.bad(e))?;
        let mut items: Vec<Value> = store
            .wallets
            .values()
            .filter(|w| w.user_id == user_id)
            .map(wallet_json)
            .collect();
        apply_filters(&mut items, &q);
        Ok(req.reply.list(items, &q))
    })())
}

/// Resolves a wallet the caller may act on.
/// A read of one wallet the caller may see: owner key, or the wallet's own user.
fn read_wallet(
    state: &Shared,
    ctx: Ctx,
    wallet_id: &str,
    view: impl FnOnce(&Wallet) -> Value,
) -> Response {
    let req = Req::new(state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        let w = wallet_for(&req, &store, &c, wallet_id)?;
        Ok(req.reply.ok(StatusCode::OK, view(w)))
    })())
}

fn wallet_for<'a>(
    req: &Req,
    store: &'a SovxStore,
    c: &Caller,
    wallet_id: &str,
) -> Result<&'a Wallet, Response> {
    let w = store.wallets.get(wallet_id);
    if let (Caller::User(u), Some(w)) = (c, w)
        && &w.user_id != u
    {
        return Err(req.reply.err(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "A user token can act only on its own wallets",
        ));
    }
    let w = w.ok_or_else(|| req.not_found("WALLET_NOT_FOUND", "Wallet"))?;
    if store.users.get(&w.user_id).is_none_or(|u| u.deleted) {
        return Err(req.not_found("WALLET_NOT_FOUND", "Wallet"));
    }
    Ok(w)
}

async fn get_wallet(
    State(state): State<Shared>,
    Path(wallet_id): Path<String>,
    ctx: Ctx,
) -> Response {
    read_wallet(&state, ctx, &wallet_id, wallet_json)
}

async fn wallet_balances(
    State(state): State<Shared>,
    Path(wallet_id): Path<String>,
    ctx: Ctx,
) -> Response {
    read_wallet(&state, ctx, &wallet_id, |w| {
        Value::Array(w.balances.iter().map(|(cur, b)| bal_json(cur, b)).collect())
    })
}

async fn wallet_transactions(
    State(state): State<Shared>,
    Path(wallet_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        wallet_for(&req, &store, &c, &wallet_id)?;
        tx_list(&req, &store, |t| {
            t.get("wallet_id").and_then(Value::as_str) == Some(wallet_id.as_str())
        })
    })())
}

fn addresses_json(w: &Wallet) -> Value {
    json!({
        "wallet_id": w.id, "vault_wallet_id": w.vault_id, "user_id": w.user_id, "name": w.name,
        "description": w.description, "addresses": w.addresses,
        "created_at": iso8601(w.created_ms), "updated_at": iso8601(w.updated_ms),
    })
}

async fn create_address(
    State(state): State<Shared>,
    Path(wallet_id): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        wallet_for(&req, &store, &c, &wallet_id)?;
        let b = req.body(&body)?;
        let currency = match b.get("currency") {
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 10 => {
                s.to_ascii_lowercase()
            }
            _ => return Err(req.bad("currency is required, e.g. btc")),
        };
        let network = match b.get("network") {
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 100 => s.clone(),
            _ => return Err(req.bad("network is required, e.g. bitcoin-testnet")),
        };
        let exists = store.wallets.get(&wallet_id).is_some_and(|w| {
            w.addresses.iter().any(|a| {
                a.get("currency").and_then(Value::as_str) == Some(currency.as_str())
                    && a.get("network").and_then(Value::as_str) == Some(network.as_str())
            })
        });
        if !exists {
            let address = make_address(&mut store.rng, &network);
            let address_id = store.rng.uuid();
            let now = req.reply.now;
            if let Some(w) = store.wallets.get_mut(&wallet_id) {
                w.addresses.push(json!({"address_id": address_id, "currency": currency, "network": network, "address": address}));
                w.updated_ms = now;
            }
        }
        let w = store
            .wallets
            .get(&wallet_id)
            .ok_or_else(|| req.not_found("WALLET_NOT_FOUND", "Wallet"))?;
        Ok(req.reply.ok(StatusCode::CREATED, addresses_json(w)))
    })())
}

async fn list_addresses(
    State(state): State<Shared>,
    Path(wallet_id): Path<String>,
    ctx: Ctx,
) -> Response {
    read_wallet(&state, ctx, &wallet_id, addresses_json)
}

// ---- user account ---------------------------------------------------------------------------

async fn user_balance(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.self_or_owner(&c, &user_id)?;
        live_user(&req, &store, &user_id)?;
        let mut totals: BTreeMap<String, Bal> = BTreeMap::new();
        for w in store.wallets.values().filter(|w| w.user_id == user_id) {
            for (cur, b) in &w.balances {
                let t = totals.entry(cur.to_ascii_uppercase()).or_default();
                t.balance += b.balance;
                t.held += b.held;
            }
        }
        let out: Vec<Value> = totals.iter().map(|(c, b)| bal_json(c, b)).collect();
        Ok(req.reply.ok(StatusCode::OK, Value::Array(out)))
    })())
}

async fn user_transactions(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.self_or_owner(&c, &user_id)?;
        live_user(&req, &store, &user_id)?;
        tx_list(&req, &store, |t| {
            t.get("user_id").and_then(Value::as_str) == Some(user_id.as_str())
        })
    })())
}

// ---- trading --------------------------------------------------------------------------------

fn active_user_wallet<'a>(
    req: &Req,
    store: &'a SovxStore,
    c: &Caller,
    wallet_id: &str,
) -> Result<&'a Wallet, Response> {
    let w = wallet_for(req, store, c, wallet_id)?;
    let active = store
        .users
        .get(&w.user_id)
        .is_some_and(|u| u.status == "ACTIVE" && !u.deleted);
    if !active {
        return Err(req.reply.err(
            StatusCode::FORBIDDEN,
            "USER_NOT_ACTIVE",
            "The user is not active",
        ));
    }
    Ok(w)
}

async fn create_quote(
    State(state): State<Shared>,
    Path(wallet_id): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.user_only(&c)?;
        active_user_wallet(&req, &store, &c, &wallet_id)?;
        let b = req.body(&body)?;
        let pair_in = b
            .get("pair")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let Some(&(pair, _, _, price)) = PAIRS.iter().find(|p| p.0 == pair_in) else {
            return Err(req.bad("pair must be a supported pair, e.g. btcusd"));
        };
        let side = match b.get("side").and_then(Value::as_str) {
            Some(s @ ("buy" | "sell")) => s.to_owned(),
            _ => return Err(req.bad("side must be buy or sell")),
        };
        let quantity = b.get("quantity").filter(|v| !v.is_null());
        let amount = b.get("amount").filter(|v| !v.is_null());
        let mid = Decimal::from_str(price).unwrap_or(Decimal::ONE);
        let setting = fee_setting(&store, "RFQ", Some(pair), None);
        let mut px = mid;
        if let Some(s) = setting.as_ref().filter(|s| s.method == "SPREAD_ADJUSTMENT") {
            px = if side == "buy" {
                mid * (Decimal::ONE + s.amount)
            } else {
                mid * (Decimal::ONE - s.amount)
            };
        }
        let (qty, amt) = match (quantity, amount) {
            (Some(q), None) => {
                let q = positive_amount(&req, Some(q), "quantity")?;
                (q, (q * px).round_dp(8))
            }
            (None, Some(a)) => {
                let a = positive_amount(&req, Some(a), "amount")?;
                ((a / px).round_dp(8), a)
            }
            _ => {
                return Err(req.bad(
                    "send exactly one of quantity (base currency) or amount (quote currency)",
                ));
            }
        };
        if qty <= Decimal::ZERO {
            return Err(req.bad("the quote is too small"));
        }
        let now = req.reply.now;
        let ttl = i64::try_from(state.config.quote_ttl.as_millis()).unwrap_or(300_000);
        let id = format!(
            "{}-{}-11f0-{}",
            store.rng.hex(4),
            store.rng.hex(2),
            store.rng.hex(2)
        );
        let q = Quote {
            wallet_id: wallet_id.clone(),
            pair,
            side: side.clone(),
            quantity: qty,
            amount: amt,
            price: px,
            created_ms: now,
            expires_ms: now + ttl,
            used: false,
        };
        let price_key = if side == "buy" {
            "buy_price"
        } else {
            "sell_price"
        };
        let mut out = json!({
            "quote_id": id, "pair": pair, "side": side, "amount": dec(amt), "quantity": dec(qty),
            "created_at": iso8601(q.created_ms), "expired_at": iso8601(q.expires_ms),
        });
        if let Value::Object(m) = &mut out {
            m.insert(price_key.into(), dec(px));
        }
        store.quotes.insert(id, q);
        Ok(req.reply.ok(StatusCode::CREATED, out))
    })())
}

async fn place_order(
    State(state): State<Shared>,
    Path(wallet_id): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        let uid = req.user_only(&c)?;
        active_user_wallet(&req, &store, &c, &wallet_id)?;
        let b = req.body(&body)?;
        let Some(quote_id) = b.get("quote_id").and_then(Value::as_str).map(str::to_owned) else {
            return Err(req.bad("quote_id is required"));
        };
        let q = store
            .quotes
            .get(&quote_id)
            .filter(|q| q.wallet_id == wallet_id)
            .cloned()
            .ok_or_else(|| req.not_found("QUOTE_NOT_FOUND", "Quote"))?;
        if q.used {
            return Err(req.reply.err(
                StatusCode::CONFLICT,
                "QUOTE_ALREADY_USED",
                "This quote has already been executed",
            ));
        }
        if req.reply.now >= q.expires_ms {
            return Err(req.reply.err(
                StatusCode::BAD_REQUEST,
                "QUOTE_EXPIRED",
                "The quote has expired; request a new one",
            ));
        }
        let (_, base, quote_cur, _) = PAIRS
            .iter()
            .find(|p| p.0 == q.pair)
            .copied()
            .unwrap_or(PAIRS[0]);
        let setting = fee_setting(&store, "RFQ", Some(q.pair), None)
            .filter(|s| s.method != "SPREAD_ADJUSTMENT")
            .or_else(|| fee_setting(&store, "SPOT_TRADE", Some(q.pair), None));
        let fee = match &setting {
            Some(s) if s.method == "FEE_RATE" => (q.amount * s.amount).round_dp(8),
            Some(s) if s.method == "FEE_FLAT" => s.amount,
            _ => Decimal::ZERO,
        };
        let (debit_cur, debit, credit_cur, credit) = if q.side == "buy" {
            (quote_cur, q.amount + fee, base, q.quantity)
        } else {
            (
                base,
                q.quantity,
                quote_cur,
                (q.amount - fee).max(Decimal::ZERO),
            )
        };
        let w = store
            .wallets
            .get_mut(&wallet_id)
            .ok_or_else(|| req.not_found("WALLET_NOT_FOUND", "Wallet"))?;
        let available = w
            .balances
            .get(debit_cur)
            .map(|b| b.balance - b.held)
            .unwrap_or_default();
        if available < debit {
            return Err(req.reply.err(
                StatusCode::BAD_REQUEST,
                "INSUFFICIENT_BALANCE",
                format!(
                    "Insufficient {debit_cur} balance: available {}, required {}",
                    available.normalize(),
                    debit.normalize()
                ),
            ));
        }
        w.balances.entry(debit_cur.to_owned()).or_default().balance -= debit;
        w.balances.entry(credit_cur.to_owned()).or_default().balance += credit;
        w.updated_ms = req.reply.now;
        if let Some(qq) = store.quotes.get_mut(&quote_id) {
            qq.used = true;
        }
        *store.owner_fees.entry(quote_cur.to_owned()).or_default() += fee;
        let order_id = store.rng.uuid();
        let now = iso8601(req.reply.now);
        let order = json!({
            "order_id": order_id, "id": order_id, "quote_id": quote_id, "wallet_id": wallet_id, "pair": q.pair,
            "side": q.side, "quantity": dec(q.quantity), "amount": dec(q.amount), "price": dec(q.price),
            "fee": dec(fee), "fee_currency": quote_cur, "status": "COMPLETED", "created_at": now, "updated_at": now,
        });
        let mut tx = order.clone();
        if let Value::Object(m) = &mut tx {
            m.insert("id".into(), Value::from(store.rng.uuid()));
            m.insert("type".into(), Value::from("TRADE"));
            m.insert("user_id".into(), Value::from(uid));
            m.insert("currency".into(), Value::from(base));
        }
        store.push_tx(tx);
        Ok(req.reply.ok(StatusCode::CREATED, order))
    })())
}

// ---- withdrawals and transfers --------------------------------------------------------------

async fn create_withdrawal(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        acting_active_user(&req, &store, &c, &user_id, "withdraw")?;
        let b = req.body(&body)?;
        let currency = match b.get("currency") {
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 10 => {
                s.to_ascii_lowercase()
            }
            _ => return Err(req.bad("currency is required, e.g. btc")),
        };
        let amount = positive_amount(&req, b.get("amount"), "amount")?;
        match b.get("address") {
            Some(Value::String(a)) if !a.trim().is_empty() && a.len() <= 256 => {}
            _ => return Err(req.bad("address is required")),
        }
        match b.get("memo") {
            None | Some(Value::Null) => {}
            Some(Value::String(m)) if m.chars().count() <= 255 => {}
            _ => return Err(req.bad("memo must be a string of at most 255 characters")),
        }
        if !store.wallets.values().any(|w| w.user_id == user_id) {
            return Err(req.reply.err(
                StatusCode::BAD_REQUEST,
                "WALLET_REQUIRED",
                "The user needs a wallet before withdrawing",
            ));
        }
        let fee = fee_setting(&store, "WITHDRAW", None, Some(&currency))
            .map(|s| {
                if s.method == "FEE_FLAT" {
                    s.amount
                } else {
                    (amount * s.amount).round_dp(8)
                }
            })
            .unwrap_or_default();
        let need = amount + fee;
        let wallet_id = store
            .wallets
            .values()
            .filter(|w| w.user_id == user_id)
            .find(|w| {
                w.balances
                    .get(&currency)
                    .is_some_and(|b| b.balance - b.held >= need)
            })
            .map(|w| w.id.clone())
            .ok_or_else(|| {
                req.reply.err(
                    StatusCode::BAD_REQUEST,
                    "INSUFFICIENT_BALANCE",
                    format!("Insufficient {currency} balance for amount plus fees"),
                )
            })?;
        if let Some(w) = store.wallets.get_mut(&wallet_id) {
            w.balances.entry(currency.clone()).or_default().held += need;
        }
        let id = store.rng.uuid();
        store.next_numeric += 1;
        let idem = store.rng.uuid();
        let now = req.reply.now;
        let mut body_out = Map::new();
        for k in ["address", "memo"] {
            if let Some(v) = b.get(k) {
                body_out.insert(k.into(), v.clone());
            }
        }
        let p = Pending {
            id: id.clone(),
            numeric_id: store.next_numeric.to_string(),
            kind: "withdrawal",
            user_id: user_id.clone(),
            wallet_id,
            destination_wallet_id: None,
            currency,
            amount,
            fee,
            status: "PENDING",
            body: body_out,
            idempotency_key: idem,
            created_ms: now,
            updated_ms: now,
        };
        let out = pending_json(&p);
        store.pending.insert(id.clone(), p);
        store.new_code(&id);
        Ok(req.reply.ok(StatusCode::CREATED, out))
    })())
}

fn pending_for<'a>(
    req: &Req,
    store: &'a SovxStore,
    id: &str,
    kind: &str,
    owner_check: impl Fn(&Pending) -> bool,
) -> Result<&'a Pending, Response> {
    let p = store
        .find_pending(id)
        .filter(|p| p.kind == kind && owner_check(p));
    p.ok_or_else(|| {
        req.not_found(
            if kind == "withdrawal" {
                "WITHDRAWAL_NOT_FOUND"
            } else {
                "TRANSFER_NOT_FOUND"
            },
            if kind == "withdrawal" {
                "Withdrawal"
            } else {
                "Transfer"
            },
        )
    })
}

async fn list_withdrawals(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.self_or_owner(&c, &user_id)?;
        live_user(&req, &store, &user_id)?;
        pending_list(&req, &store, |p| {
            p.kind == "withdrawal" && p.user_id == user_id
        })
    })())
}

/// A filtered, paginated list of pending operations (withdrawals or transfers).
fn pending_list(req: &Req, store: &SovxStore, keep: impl Fn(&Pending) -> bool) -> R {
    let q = list_query(&req.uri).map_err(|e| req.bad(e))?;
    let mut items: Vec<Value> = store
        .pending
        .values()
        .filter(|p| keep(p))
        .map(pending_json)
        .collect();
    apply_filters(&mut items, &q);
    Ok(req.reply.list(items, &q))
}

async fn get_withdrawal(
    State(state): State<Shared>,
    Path((user_id, op_id)): Path<(String, String)>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.self_or_owner(&c, &user_id)?;
        live_user(&req, &store, &user_id)?;
        let p = pending_for(&req, &store, &op_id, "withdrawal", |p| p.user_id == user_id)?;
        Ok(req.reply.ok(StatusCode::OK, pending_json(p)))
    })())
}

/// Confirm, resend or cancel a pending operation.
fn pending_action(req: &Req, store: &mut SovxStore, id: &str, action: &str, body: &[u8]) -> R {
    let Some(p) = store.find_pending(id).cloned() else {
        return Err(req.not_found("NOT_FOUND", "Operation"));
    };
    if !["confirm", "resend", "cancel"].contains(&action) {
        return Err(req.reply.err(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!(
                "Unknown action {}",
                action.chars().take(32).collect::<String>()
            ),
        ));
    }
    if p.status != "PENDING" {
        return Err(req.reply.err(
            StatusCode::BAD_REQUEST,
            "INVALID_STATE",
            format!("The operation is {}, not PENDING", p.status),
        ));
    }
    let now = req.reply.now;
    let need = p.amount + p.fee;
    match action {
        "resend" => {
            store.new_code(&p.id);
            Ok(req.reply.ok(StatusCode::OK, json!({"id": p.id, "status": "PENDING", "message": "A new confirmation code has been sent"})))
        }
        "cancel" => {
            if let Some(w) = store.wallets.get_mut(&p.wallet_id) {
                let b = w.balances.entry(p.currency.clone()).or_default();
                b.held = (b.held - need).max(Decimal::ZERO);
            }
            store.codes.remove(&p.id);
            let e = store
                .pending
                .get_mut(&p.id)
                .ok_or_else(|| req.not_found("NOT_FOUND", "Operation"))?;
            e.status = "CANCELLED";
            e.updated_ms = now;
            Ok(req.reply.ok(StatusCode::OK, pending_json(e)))
        }
        _ => {
            let b = req.body(body)?;
            let code = match b.get("code").or_else(|| b.get("otp")) {
                Some(Value::String(s)) => s.trim().to_owned(),
                Some(Value::Number(n)) => format!("{:06}", n.as_u64().unwrap_or(u64::MAX)),
                _ => return Err(req.bad("code is required")),
            };
            if store.codes.get(&p.id) != Some(&code) {
                return Err(req.reply.err(
                    StatusCode::BAD_REQUEST,
                    "INVALID_CODE",
                    "The confirmation code is invalid",
                ));
            }
            if let Some(dest) = &p.destination_wallet_id {
                let ok = store.wallets.contains_key(dest);
                if !ok {
                    return Err(req.not_found("WALLET_NOT_FOUND", "Destination wallet"));
                }
            }
            if let Some(w) = store.wallets.get_mut(&p.wallet_id) {
                let b = w.balances.entry(p.currency.clone()).or_default();
                b.held = (b.held - need).max(Decimal::ZERO);
                b.balance -= need;
                w.updated_ms = now;
            }
            if let Some(dest) = &p.destination_wallet_id
                && let Some(w) = store.wallets.get_mut(dest)
            {
                w.balances.entry(p.currency.clone()).or_default().balance += p.amount;
                w.updated_ms = now;
            }
            if p.fee > Decimal::ZERO {
                *store.owner_fees.entry(p.currency.clone()).or_default() += p.fee;
            }
            store.codes.remove(&p.id);
            let ts = iso8601(now);
            let (kind, dest_user) = if p.kind == "withdrawal" {
                ("WITHDRAWAL", None)
            } else {
                (
                    "TRANSFER_OUT",
                    p.destination_wallet_id
                        .as_ref()
                        .and_then(|d| store.wallets.get(d))
                        .map(|w| w.user_id.clone()),
                )
            };
            let tx_id = store.rng.uuid();
            store.push_tx(json!({
                "id": tx_id, "type": kind, "status": "COMPLETED", "currency": p.currency, "amount": dec(p.amount),
                "fee": dec(p.fee), "wallet_id": p.wallet_id, "user_id": p.user_id, "reference_id": p.id,
                "created_at": ts, "updated_at": ts,
            }));
            if let (Some(dest), Some(du)) = (&p.destination_wallet_id, dest_user) {
                let tx_id = store.rng.uuid();
                store.push_tx(json!({
                    "id": tx_id, "type": "TRANSFER_IN", "status": "COMPLETED", "currency": p.currency,
                    "amount": dec(p.amount), "fee": 0, "wallet_id": dest, "user_id": du, "reference_id": p.id,
                    "created_at": ts, "updated_at": ts,
                }));
            }
            let e = store
                .pending
                .get_mut(&p.id)
                .ok_or_else(|| req.not_found("NOT_FOUND", "Operation"))?;
            e.status = "COMPLETED";
            e.updated_ms = now;
            Ok(req.reply.ok(StatusCode::OK, pending_json(e)))
        }
    }
}

async fn withdrawal_action(
    State(state): State<Shared>,
    Path((user_id, op_id, action)): Path<(String, String, String)>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.self_or_owner(&c, &user_id)?;
        live_user(&req, &store, &user_id)?;
        let id = pending_for(&req, &store, &op_id, "withdrawal", |p| p.user_id == user_id)?
            .id
            .clone();
        pending_action(&req, &mut store, &id, &action, &body)
    })())
}

async fn create_transfer(
    State(state): State<Shared>,
    Path(wallet_id): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        let uid = req.user_only(&c)?;
        active_user_wallet(&req, &store, &c, &wallet_id)?;
        let b = req.body(&body)?;
        let dest = match b.get("destination_wallet_id") {
            Some(Value::String(d)) if is_uuid(d) => d.to_ascii_lowercase(),
            _ => return Err(req.bad("destination_wallet_id must be a UUID")),
        };
        if dest == wallet_id {
            return Err(req.bad("destination_wallet_id must differ from the source wallet"));
        }
        let kind = match b.get("type").and_then(Value::as_str) {
            Some(t @ ("PAYIN" | "PAYOUT")) => t.to_owned(),
            _ => return Err(req.bad("type must be PAYIN or PAYOUT")),
        };
        for (k, max) in [("purpose", 255), ("description", 500)] {
            match b.get(k) {
                Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= max => {}
                _ => return Err(req.bad(format!("{k} is required (at most {max} characters)"))),
            }
        }
        let currency = match b.get("currency") {
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 10 => {
                s.to_ascii_lowercase()
            }
            _ => return Err(req.bad("currency is required (at most 10 characters)")),
        };
        let amount = match b.get("amount").and_then(num) {
            Some(a) if a >= Decimal::new(1, 6) => a,
            _ => return Err(req.bad("amount must be a positive number of at least 0.000001")),
        };
        let dest_ok = store
            .wallets
            .get(&dest)
            .and_then(|w| store.users.get(&w.user_id))
            .is_some_and(|u| u.status == "ACTIVE" && !u.deleted);
        if !store.wallets.contains_key(&dest) {
            return Err(req.not_found("WALLET_NOT_FOUND", "Destination wallet"));
        }
        if !dest_ok {
            return Err(req.reply.err(
                StatusCode::BAD_REQUEST,
                "WALLET_NOT_ACTIVE",
                "The destination wallet is not active",
            ));
        }
        let w = store
            .wallets
            .get_mut(&wallet_id)
            .ok_or_else(|| req.not_found("WALLET_NOT_FOUND", "Wallet"))?;
        let bal = w.balances.entry(currency.clone()).or_default();
        if bal.balance - bal.held < amount {
            return Err(req.reply.err(
                StatusCode::BAD_REQUEST,
                "INSUFFICIENT_BALANCE",
                format!("Insufficient available {currency} balance"),
            ));
        }
        bal.held += amount;
        let id = store.rng.uuid();
        let now = req.reply.now;
        let mut body_out = Map::new();
        body_out.insert("destination_wallet_id".into(), Value::from(dest.clone()));
        body_out.insert("type".into(), Value::from(kind));
        for k in ["purpose", "description"] {
            if let Some(v) = b.get(k) {
                body_out.insert(k.into(), v.clone());
            }
        }
        let idem = store.rng.uuid();
        let p = Pending {
            id: id.clone(),
            numeric_id: id.clone(),
            kind: "transfer",
            user_id: uid,
            wallet_id: wallet_id.clone(),
            destination_wallet_id: Some(dest),
            currency,
            amount,
            fee: Decimal::ZERO,
            status: "PENDING",
            body: body_out,
            idempotency_key: idem,
            created_ms: now,
            updated_ms: now,
        };
        let out = pending_json(&p);
        store.pending.insert(id.clone(), p);
        store.new_code(&id);
        Ok(req.reply.ok(StatusCode::CREATED, out))
    })())
}

fn transfer_wallet_check(
    req: &Req,
    store: &SovxStore,
    c: &Caller,
    wallet_id: &str,
) -> Result<(), Response> {
    req.user_only(c)?;
    wallet_for(req, store, c, wallet_id)?;
    Ok(())
}

async fn list_transfers(
    State(state): State<Shared>,
    Path(wallet_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        transfer_wallet_check(&req, &store, &c, &wallet_id)?;
        pending_list(&req, &store, |p| {
            p.kind == "transfer"
                && (p.wallet_id == wallet_id
                    || p.destination_wallet_id.as_deref() == Some(wallet_id.as_str()))
        })
    })())
}

async fn get_transfer(
    State(state): State<Shared>,
    Path((wallet_id, op_id)): Path<(String, String)>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        transfer_wallet_check(&req, &store, &c, &wallet_id)?;
        let p = pending_for(&req, &store, &op_id, "transfer", |p| {
            p.wallet_id == wallet_id
                || p.destination_wallet_id.as_deref() == Some(wallet_id.as_str())
        })?;
        Ok(req.reply.ok(StatusCode::OK, pending_json(p)))
    })())
}

async fn transfer_action(
    State(state): State<Shared>,
    Path((wallet_id, op_id, action)): Path<(String, String, String)>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        transfer_wallet_check(&req, &store, &c, &wallet_id)?;
        let id = pending_for(&req, &store, &op_id, "transfer", |p| {
            p.wallet_id == wallet_id
        })?
        .id
        .clone();
        pending_action(&req, &mut store, &id, &action, &body)
    })())
}
