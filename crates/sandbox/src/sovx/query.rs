//! Reading a request: the caller (owner key or user token), the JSON body, list filters
//! (`filter[limit]`, `filter[skip]`, `filter[sort]`, `filter[where][field]`) and values.

use std::str::FromStr;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::respond::{Ctx, header_str, query_pairs};
use crate::state::Shared;

use super::reply::{Reply, request_trace};
use super::store::SovxStore;

pub(super) fn num(v: &Value) -> Option<Decimal> {
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

pub(super) fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

pub(super) enum Caller {
    Owner,
    User(String),
}

pub(super) struct ListQuery {
    pub(super) limit: usize,
    pub(super) skip: usize,
    pub(super) sort: Option<(String, bool)>,
    pub(super) filters: Vec<Cond>,
}

/// The `filter[where]` operators the sandbox understands (LoopBack names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    /// One of a comma-separated list.
    Inq,
}

/// One `filter[where]` condition.
pub(super) struct Cond {
    pub(super) field: String,
    pub(super) op: Op,
    pub(super) value: String,
}

fn cond(field: &str, op: Option<&str>, value: String) -> Result<Cond, String> {
    if field.is_empty() || field.contains(['[', ']']) {
        return Err(format!("filter[where] has an invalid field name {field:?}"));
    }
    let op = match op {
        None | Some("eq") => Op::Eq,
        Some("neq") => Op::Neq,
        Some("gt") => Op::Gt,
        Some("gte") => Op::Gte,
        Some("lt") => Op::Lt,
        Some("lte") => Op::Lte,
        Some("inq") => Op::Inq,
        Some(other) => {
            return Err(format!(
                "filter[where][{field}][{}]: unsupported operator; use eq, neq, gt, gte, lt, lte or inq",
                other.chars().take(32).collect::<String>()
            ));
        }
    };
    Ok(Cond {
        field: field.to_owned(),
        op,
        value,
    })
}

fn text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

pub(super) fn list_query(uri: &axum::http::Uri) -> Result<ListQuery, String> {
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
                            match wv {
                                Value::Object(ops) => {
                                    for (op, ov) in ops {
                                        q.filters.push(cond(&wk, Some(&op), text(ov))?);
                                    }
                                }
                                other => q.filters.push(cond(&wk, None, text(other))?),
                            }
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
            let Some(inner) = w.strip_suffix(']') else {
                return Err(format!("{k}: unbalanced brackets"));
            };
            match inner.split_once("][") {
                None => q.filters.push(cond(inner, None, v)?),
                Some((field, op)) => q.filters.push(cond(field, Some(op), v)?),
            }
        } else {
            set(&mut q, rest.trim_end_matches(']'), &v)?;
        }
    }
    Ok(q)
}

/// Whether `have` equals the query text `want` (strings case-insensitively).
fn equals(have: Option<&Value>, want: &str) -> bool {
    match have {
        Some(Value::String(s)) => s.eq_ignore_ascii_case(want),
        Some(Value::Null) | None => want == "null",
        Some(other) => serde_json::from_str::<Value>(want).ok().as_ref() == Some(other),
    }
}

/// Orders `have` against the query text `want`: numbers numerically, strings as text (the
/// sandbox's timestamps are all UTC `…Z`, so text order is time order). Missing or
/// mismatched values do not compare.
fn compare(have: Option<&Value>, want: &str) -> Option<std::cmp::Ordering> {
    match have? {
        Value::Number(n) => {
            let have = num(&Value::Number(n.clone()))?;
            let want = Decimal::from_str(want.trim()).ok()?;
            Some(have.cmp(&want))
        }
        Value::String(s) => Some(s.as_str().cmp(want)),
        _ => None,
    }
}

fn holds(item: &Value, c: &Cond) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let have = item.get(&c.field);
    match c.op {
        Op::Eq => equals(have, &c.value),
        Op::Neq => !equals(have, &c.value),
        Op::Inq => c.value.split(',').any(|w| equals(have, w.trim())),
        Op::Gt => compare(have, &c.value) == Some(Greater),
        Op::Gte => matches!(compare(have, &c.value), Some(Greater | Equal)),
        Op::Lt => compare(have, &c.value) == Some(Less),
        Op::Lte => matches!(compare(have, &c.value), Some(Less | Equal)),
    }
}

pub(super) fn apply_filters(items: &mut Vec<Value>, q: &ListQuery) {
    items.retain(|item| q.filters.iter().all(|c| holds(item, c)));
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
pub(super) struct Req {
    pub(super) reply: Reply,
    pub(super) headers: HeaderMap,
    pub(super) uri: axum::http::Uri,
}

impl Req {
    pub(super) fn new(state: &Shared, ctx: Ctx) -> Req {
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

    pub(super) fn caller(&self, store: &SovxStore) -> Result<Caller, Response> {
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

    pub(super) fn owner_only(&self, c: &Caller) -> Result<(), Response> {
        match c {
            Caller::Owner => Ok(()),
            Caller::User(_) => Err(self.reply.err(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "This operation requires the owner API key",
            )),
        }
    }

    pub(super) fn user_only(&self, c: &Caller) -> Result<String, Response> {
        match c {
            Caller::User(u) => Ok(u.clone()),
            Caller::Owner => Err(self.reply.err(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "This operation requires a user token",
            )),
        }
    }

    pub(super) fn self_or_owner(&self, c: &Caller, user_id: &str) -> Result<(), Response> {
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

    pub(super) fn body(&self, body: &[u8]) -> Result<Map<String, Value>, Response> {
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

    pub(super) fn bad(&self, message: impl Into<String>) -> Response {
        self.reply
            .err(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    pub(super) fn not_found(&self, code: &str, what: &str) -> Response {
        self.reply
            .err(StatusCode::NOT_FOUND, code, format!("{what} not found"))
    }
}
