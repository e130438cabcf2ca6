//! Response helpers: JSON bodies, the Intel (NestJS-style) error shape, connection control.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Sova Intel error body: `{statusCode, message, error}`.
pub(crate) fn intel_error(status: StatusCode, message: impl Into<String>) -> Response {
    json_response(status, &intel_error_body(status, message))
}

/// The Intel error body value.
pub(crate) fn intel_error_body(status: StatusCode, message: impl Into<String>) -> Value {
    json!({
        "statusCode": status.as_u16(),
        "message": message.into(),
        "error": status.canonical_reason().unwrap_or("Error"),
    })
}

/// Adds a header when the value is valid.
pub(crate) fn set_header(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

/// A header as text (first value), if present and visible ASCII.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Per-connection control: a handler can ask the server to drop the connection unanswered,
/// or to stop the listening socket that accepted it for a while.
#[derive(Clone, Default)]
pub(crate) struct ConnControl {
    /// Notified to close the connection.
    pub kill: Arc<Notify>,
    /// Asks the accept loop of this connection's listener to close its socket for a while.
    pub refuse: Option<tokio::sync::mpsc::UnboundedSender<std::time::Duration>>,
}

impl ConnControl {
    /// Closes the connection without an answer. The returned future never completes: the
    /// connection task drops it together with the connection.
    pub(crate) async fn drop_connection(&self) -> Response {
        self.kill.notify_one();
        std::future::pending::<()>().await;
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }

    /// Closes the listening socket that accepted this connection for `d` (new connections are
    /// refused), then binds it again on the same port.
    pub(crate) fn refuse_connections(&self, d: std::time::Duration) {
        if let Some(tx) = &self.refuse {
            let _ = tx.send(d);
        }
    }
}

/// The request's URI as the client sent it (before nested routers strip their prefix).
#[derive(Clone)]
pub(crate) struct FullUri(pub axum::http::Uri);

/// What most handlers need from the request head; never rejects.
pub(crate) struct Ctx {
    pub headers: HeaderMap,
    /// The full URI (with the `/api/v1` or `/sovx/v1` prefix).
    pub uri: axum::http::Uri,
    pub conn: ConnControl,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Ctx {
            headers: parts.headers.clone(),
            uri: parts
                .extensions
                .get::<FullUri>()
                .map(|u| u.0.clone())
                .unwrap_or_else(|| parts.uri.clone()),
            conn: parts
                .extensions
                .get::<ConnControl>()
                .cloned()
                .unwrap_or_default(),
        })
    }
}

/// Parses a query string into (key, value) pairs (percent-decoded, `+` as space).
pub(crate) fn query_pairs(uri: &axum::http::Uri) -> Vec<(String, String)> {
    let Some(q) = uri.query() else { return vec![] };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
