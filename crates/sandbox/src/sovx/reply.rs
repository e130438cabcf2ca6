//! Envelopes: `{success, data, meta}` answers, list pagination, error envelopes and trace ids.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::clock::iso8601;
use crate::respond::{header_str, json_response, set_header};
use crate::rng::Rng;

use super::query::ListQuery;

fn trace_id(headers: &HeaderMap, rng_seed: u64) -> String {
    match header_str(headers, "x-trace-id").map(str::trim) {
        Some(t) if !t.is_empty() && t.len() <= 128 && t.bytes().all(|b| b.is_ascii_graphic()) => {
            t.to_owned()
        }
        _ => Rng::new(rng_seed ^ crate::rng::fnv1a(headers.len().to_string().as_bytes())).uuid(),
    }
}

pub(super) struct Reply {
    pub(super) trace: String,
    pub(super) now: i64,
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

    pub(super) fn ok(&self, status: StatusCode, data: Value) -> Response {
        self.finish(
            status,
            json!({"success": true, "data": data, "meta": Value::Object(self.meta())}),
        )
    }

    pub(super) fn list(&self, items: Vec<Value>, query: &ListQuery) -> Response {
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

    pub(super) fn err(
        &self,
        status: StatusCode,
        code: &str,
        message: impl Into<String>,
    ) -> Response {
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

pub(super) type R = Result<Response, Response>;

pub(super) fn done(r: R) -> Response {
    r.unwrap_or_else(|e| e)
}

pub(super) fn dec(d: Decimal) -> Value {
    let s = d.normalize().to_string();
    s.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::from(0))
}
