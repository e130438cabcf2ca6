//! SovX envelopes: `{success, data, meta}` on success, `{success: false, errors, meta}` on
//! failure.

use http::{HeaderMap, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::decode::{self, sniff};
use crate::{
    ApiError, ApiErrorDetail, BodyKind, DecodeError, DecodeErrorKind, ResponseError, Service,
};

/// The request and response header that carries a trace id.
pub const TRACE_ID_HEADER: &str = "x-trace-id";

/// A successful SovX answer: the envelope's `data` and `meta`.
#[derive(Debug, Clone, PartialEq)]
pub struct SxResponse<T> {
    /// The payload (`data`).
    pub data: T,
    /// The envelope's `meta`.
    pub meta: Meta,
}

impl<T> SxResponse<T> {
    /// Maps the payload, keeping `meta`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> SxResponse<U> {
        SxResponse {
            data: f(self.data),
            meta: self.meta,
        }
    }

    /// The payload, dropping `meta`.
    pub fn into_data(self) -> T {
        self.data
    }
}

/// The envelope's `meta` object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// When the server answered (ISO-8601).
    #[serde(default)]
    pub timestamp: Option<String>,
    /// The API version, `v1`.
    #[serde(default)]
    pub version: Option<String>,
    /// The server's trace id. When the body has none, the `x-trace-id` response header is
    /// used.
    #[serde(default, alias = "traceId")]
    pub trace_id: Option<String>,
    /// Pagination details of list answers. Their field names are not documented, so they are
    /// kept as JSON.
    #[serde(default)]
    pub pagination: Option<Value>,
    /// Members this SDK does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

open_enum! {
    /// An `errors[].code`. The server derives codes from its messages (falling back to one
    /// derived from the HTTP status), so the set is open; only `USER_NOT_FOUND` is confirmed.
    /// Branch on the HTTP status first.
    pub enum ErrorCode {
        /// The user does not exist.
        UserNotFound = "USER_NOT_FOUND",
    }
}

/// The codes of a SovX [`ApiError`], in order (items without a code are skipped).
pub fn error_codes(error: &ApiError) -> Vec<ErrorCode> {
    error
        .errors
        .iter()
        .filter_map(|e| e.code.as_deref())
        .map(ErrorCode::parse)
        .collect()
}

/// Builds the [`ApiError`] for a SovX error answer (any status, including a 2xx whose body
/// says `success: false`).
///
/// Reads the error envelope (`errors[].code`/`message`, `meta.trace_id`), falls back to the
/// `x-trace-id` header, reads `Retry-After`, and keeps the raw body and its [`BodyKind`]
/// (an HTML 502 page from a proxy, plain text or an empty body still give an error with the
/// right status). JSON in another shape with a `message` or `error` member is read too.
pub fn api_error(response: &Response<Vec<u8>>) -> ApiError {
    let headers = response.headers();
    let body = response.body();
    let mut e = ApiError::new(Service::Sx, response.status());
    e.body = body.clone();
    e.retry_after = decode::retry_after(headers);
    e.body_kind = sniff(headers, body);
    if e.body_kind == BodyKind::Json {
        let json = body.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(body);
        match serde_json::from_slice::<Value>(json) {
            Ok(v) => read_error_json(&mut e, &v),
            Err(_) => e.body_kind = BodyKind::OtherJson,
        }
    }
    if e.trace_id.is_none() {
        e.trace_id = header_trace_id(headers);
    }
    e
}

fn read_error_json(e: &mut ApiError, v: &Value) {
    let Some(obj) = v.as_object() else {
        e.body_kind = BodyKind::OtherJson;
        return;
    };
    e.trace_id = obj
        .get("meta")
        .and_then(|m| m.get("trace_id").or_else(|| m.get("traceId")))
        .and_then(Value::as_str)
        .map(str::to_owned);
    match obj.get("errors") {
        Some(Value::Array(items)) => {
            for item in items {
                e.errors.push(detail(item));
            }
        }
        Some(Value::Null) | None => {
            e.body_kind = BodyKind::OtherJson;
            // Another shape (a gateway's `{message}` / `{error}`): keep what it says.
            let message = obj.get("message").filter(|m| !m.is_null());
            let code = obj
                .get("code")
                .or_else(|| obj.get("error"))
                .and_then(Value::as_str);
            match (message, code) {
                (Some(m), c) => e.errors.push(ApiErrorDetail {
                    code: c.map(str::to_owned),
                    message: text(m),
                }),
                (None, Some(c)) => e.errors.push(ApiErrorDetail {
                    code: None,
                    message: c.to_owned(),
                }),
                (None, None) => {}
            }
        }
        Some(other) => e.errors.push(detail(other)),
    }
}

fn detail(item: &Value) -> ApiErrorDetail {
    match item {
        Value::Object(o) => ApiErrorDetail {
            code: o.get("code").and_then(Value::as_str).map(str::to_owned),
            message: o.get("message").map(text).unwrap_or_default(),
        },
        other => ApiErrorDetail {
            code: None,
            message: text(other),
        },
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn header_trace_id(headers: &HeaderMap) -> Option<String> {
    decode::header_str(headers, TRACE_ID_HEADER)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// Parses a SovX answer into [`SxResponse<T>`] or a typed error.
///
/// * Any non-2xx status → [`ResponseError::Api`] via [`api_error`].
/// * A 2xx whose body says `success: false` (or carries `errors` without `success: true`) →
///   [`ResponseError::Api`] too, with the 2xx status.
/// * `{success: true, data, meta}` → `data` decoded as `T` (schema errors report the JSON
///   path from the document root, e.g. `data[0].token`).
/// * An empty 2xx body (e.g. a `204`) → `T` decoded from `null` when it can be (e.g.
///   `serde_json::Value`, `Option<_>`), else [`DecodeErrorKind::Empty`].
/// * A 2xx JSON body without an envelope → the whole body is taken as `data` (tolerance for
///   undocumented answers).
pub fn parse_envelope<T: DeserializeOwned>(
    response: &Response<Vec<u8>>,
) -> Result<SxResponse<T>, ResponseError> {
    let status = response.status();
    if !status.is_success() {
        return Err(api_error(response).into());
    }
    let headers = response.headers();
    let with_header_trace = |mut meta: Meta| {
        if meta.trace_id.is_none() {
            meta.trace_id = header_trace_id(headers);
        }
        meta
    };
    if sniff(headers, response.body()) == BodyKind::Empty {
        return match T::deserialize(Value::Null) {
            Ok(data) => Ok(SxResponse {
                data,
                meta: with_header_trace(Meta::default()),
            }),
            Err(_) => Err(DecodeError::new(status, DecodeErrorKind::Empty, response.body()).into()),
        };
    }
    let value: Value = decode::json(response)?;
    let (data, meta) = match value {
        Value::Object(mut obj) if is_envelope(&obj) => {
            let success = obj.get("success").and_then(Value::as_bool);
            let has_errors = obj.get("errors").is_some_and(|e| !e.is_null());
            if success == Some(false) || (success.is_none() && has_errors) {
                return Err(api_error(response).into());
            }
            let meta = match obj.remove("meta") {
                None | Some(Value::Null) => Meta::default(),
                Some(m) => decode_at::<Meta>(status, response.body(), m, "meta")?,
            };
            (obj.remove("data").unwrap_or(Value::Null), meta)
        }
        other => (other, Meta::default()),
    };
    let data = decode_at::<T>(status, response.body(), data, "data")?;
    Ok(SxResponse {
        data,
        meta: with_header_trace(meta),
    })
}

fn is_envelope(obj: &Map<String, Value>) -> bool {
    obj.contains_key("success")
        || obj.contains_key("errors")
        || (obj.contains_key("data") && (obj.len() == 1 || obj.contains_key("meta")))
}

/// Decodes a part of the document, reporting schema errors with their path from the root.
fn decode_at<T: DeserializeOwned>(
    status: http::StatusCode,
    body: &[u8],
    value: Value,
    root: &str,
) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let path = if inner.is_empty() || inner == "." {
            root.to_owned()
        } else if inner.starts_with('[') {
            format!("{root}{inner}")
        } else {
            format!("{root}.{inner}")
        };
        let message = e.into_inner().to_string();
        DecodeError::new(status, DecodeErrorKind::Schema { path, message }, body)
    })
}

/// The unenveloped answer of `GET /health`: `{status, timestamp, uptime}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// `ok` when the service is up.
    pub status: String,
    /// The server's time (ISO-8601).
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Uptime as the server reports it (a number; the unit is not documented).
    #[serde(default)]
    pub uptime: Option<f64>,
    /// Members this SDK does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Health {
    /// Whether `status` is `ok` (case-insensitive).
    pub fn is_ok(&self) -> bool {
        self.status.eq_ignore_ascii_case("ok")
    }
}

/// Parses the health answer (no envelope; errors as for every SovX endpoint).
pub(crate) fn parse_health(response: &Response<Vec<u8>>) -> Result<Health, ResponseError> {
    if !response.status().is_success() {
        return Err(api_error(response).into());
    }
    Ok(decode::json(response)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn resp(status: u16, ct: &str, body: &str) -> Response<Vec<u8>> {
        Response::builder()
            .status(status)
            .header("content-type", ct)
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Tok {
        token: String,
    }

    #[test]
    fn decodes_success_and_meta() {
        let r = resp(
            201,
            "application/json",
            r#"{"success":true,"data":[{"token":"a"}],"meta":{"timestamp":"t","version":"v1","trace_id":"tr","pagination":{"total":1},"node":"x"}}"#,
        );
        let out: SxResponse<Vec<Tok>> = parse_envelope(&r).unwrap();
        assert_eq!(out.data, vec![Tok { token: "a".into() }]);
        assert_eq!(out.meta.trace_id.as_deref(), Some("tr"));
        assert_eq!(out.meta.pagination, Some(serde_json::json!({"total": 1})));
        assert_eq!(out.meta.extra["node"], "x");
    }

    #[test]
    fn schema_errors_carry_the_root_path() {
        let r = resp(
            200,
            "application/json",
            r#"{"success":true,"data":[{"token":1}],"meta":{}}"#,
        );
        let e = parse_envelope::<Vec<Tok>>(&r).unwrap_err();
        let d = e.as_decode().unwrap();
        assert!(
            matches!(&d.kind, DecodeErrorKind::Schema { path, .. } if path == "data[0].token"),
            "{:?}",
            d.kind
        );
        let r = resp(
            200,
            "application/json",
            r#"{"success":true,"data":{"token":"a"},"meta":{"trace_id":5}}"#,
        );
        let e = parse_envelope::<Tok>(&r).unwrap_err();
        assert!(
            matches!(&e.as_decode().unwrap().kind, DecodeErrorKind::Schema { path, .. } if path == "meta.trace_id")
        );
        let r = resp(200, "application/json", r#"{"success":true,"meta":{}}"#);
        let e = parse_envelope::<Tok>(&r).unwrap_err();
        assert!(
            matches!(&e.as_decode().unwrap().kind, DecodeErrorKind::Schema { path, .. } if path == "data")
        );
    }

    #[test]
    fn error_envelope_with_success_status() {
        let r = resp(
            200,
            "application/json",
            r#"{"success":false,"errors":[{"code":"USER_NOT_FOUND","message":"User not found"}],"meta":{"trace_id":"t1"}}"#,
        );
        let e = parse_envelope::<Value>(&r).unwrap_err();
        let api = e.as_api().unwrap();
        assert_eq!(api.status, StatusCode::OK);
        assert_eq!(api.trace_id.as_deref(), Some("t1"));
        assert_eq!(error_codes(api), vec![ErrorCode::UserNotFound]);
        assert_eq!(api.body_kind, BodyKind::Json);
    }

    #[test]
    fn empty_and_bare_success_bodies() {
        let r = Response::builder()
            .status(204)
            .header("x-trace-id", "h1")
            .body(Vec::new())
            .unwrap();
        let out: SxResponse<Value> = parse_envelope(&r).unwrap();
        assert_eq!(out.data, Value::Null);
        assert_eq!(out.meta.trace_id.as_deref(), Some("h1"));
        let e = parse_envelope::<Tok>(&r).unwrap_err();
        assert_eq!(e.as_decode().unwrap().kind, DecodeErrorKind::Empty);
        let bare: SxResponse<Tok> =
            parse_envelope(&resp(200, "application/json", r#"{"token":"z"}"#)).unwrap();
        assert_eq!(bare.data.token, "z");
    }

    #[test]
    fn other_error_shapes() {
        let e = api_error(&resp(
            503,
            "application/json",
            r#"{"message":"maintenance","error":"Service Unavailable"}"#,
        ));
        assert_eq!(e.body_kind, BodyKind::OtherJson);
        assert_eq!(e.message(), Some("maintenance"));
        assert_eq!(e.errors[0].code.as_deref(), Some("Service Unavailable"));
        let e = api_error(&resp(
            400,
            "application/json",
            r#"{"success":false,"errors":["bad input"],"meta":{"traceId":"c"}}"#,
        ));
        assert_eq!(e.message(), Some("bad input"));
        assert_eq!(e.trace_id.as_deref(), Some("c"));
        let e = api_error(&resp(500, "application/json", "[1,2]"));
        assert_eq!(e.body_kind, BodyKind::OtherJson);
        assert!(e.errors.is_empty());
    }

    #[test]
    fn health_is_unenveloped() {
        let h = parse_health(&resp(
            200,
            "application/json",
            r#"{"status":"ok","timestamp":"t","uptime":12.5}"#,
        ))
        .unwrap();
        assert!(h.is_ok());
        assert_eq!(h.uptime, Some(12.5));
        let e = parse_health(&resp(503, "text/plain", "down")).unwrap_err();
        assert_eq!(e.as_api().unwrap().body_kind, BodyKind::Text);
    }
}
