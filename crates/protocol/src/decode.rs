//! Tolerant JSON decoding shared by every response parser.
//!
//! Every parser goes through [`json`], which classifies failures precisely (empty body, HTML
//! page, not JSON, truncated, malformed, wrong shape with the JSON path) and keeps the raw body.

use std::time::Duration;

use http::{HeaderMap, Response, StatusCode};
use serde::de::DeserializeOwned;

use crate::{BodyKind, DecodeError, DecodeErrorKind};

/// Decodes a JSON body into `T`, classifying every failure.
pub fn json<T: DeserializeOwned>(response: &Response<Vec<u8>>) -> Result<T, DecodeError> {
    json_bytes(response.status(), response.headers(), response.body())
}

/// Like [`json`], from parts.
pub fn json_bytes<T: DeserializeOwned>(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, DecodeError> {
    match sniff(headers, body) {
        BodyKind::Empty => return Err(DecodeError::new(status, DecodeErrorKind::Empty, body)),
        BodyKind::Html => return Err(DecodeError::new(status, DecodeErrorKind::Html, body)),
        BodyKind::Text => {
            return Err(DecodeError::new(
                status,
                DecodeErrorKind::NotJson {
                    content_type: content_type(headers).map(str::to_owned),
                },
                body,
            ));
        }
        BodyKind::Json | BodyKind::OtherJson => {}
    }
    let json = body.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(body);
    let mut de = serde_json::Deserializer::from_slice(json);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        DecodeError::new(status, classify(&inner, path), body)
    })?;
    // Trailing garbage after a complete document is malformed too.
    de.end()
        .map_err(|e| DecodeError::new(status, classify(&e, String::new()), body))?;
    Ok(value)
}

fn classify(e: &serde_json::Error, path: String) -> DecodeErrorKind {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => DecodeErrorKind::Truncated {
            line: e.line(),
            column: e.column(),
        },
        Category::Syntax | Category::Io => DecodeErrorKind::Syntax {
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        },
        Category::Data => DecodeErrorKind::Schema {
            path: if path.is_empty() {
                ".".to_owned()
            } else {
                path
            },
            message: strip_position(&e.to_string()),
        },
    }
}

fn strip_position(s: &str) -> String {
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

/// The `Content-Type` header, if it is valid text.
pub fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// Guesses what a body is from its content type and first bytes.
pub fn sniff(headers: &HeaderMap, body: &[u8]) -> BodyKind {
    let trimmed = trim_ascii_start(body);
    if trimmed.is_empty() {
        return BodyKind::Empty;
    }
    let ct = content_type(headers).unwrap_or("").to_ascii_lowercase();
    let first = trimmed[0];
    if ct.contains("html") || first == b'<' {
        return BodyKind::Html;
    }
    if ct.contains("json") || first == b'{' || first == b'[' || first == b'"' {
        return BodyKind::Json;
    }
    // Bare JSON scalars (numbers, true/false/null) only count when the type says JSON.
    BodyKind::Text
}

fn trim_ascii_start(b: &[u8]) -> &[u8] {
    // A UTF-8 byte-order mark is tolerated.
    let b = b.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(b);
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

/// `Retry-After` as a delay, when it is given in seconds (HTTP dates are ignored: there is no
/// clock in this crate).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(24 * 3600)));
    }
    let secs: f64 = v.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// A header value as text, if present and valid.
pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct T {
        a: u32,
        b: Vec<String>,
    }

    fn resp(ct: Option<&str>, body: &str) -> Response<Vec<u8>> {
        let mut r = Response::builder().status(200);
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        r.body(body.as_bytes().to_vec()).unwrap()
    }

    fn kind(ct: Option<&str>, body: &str) -> DecodeErrorKind {
        json::<T>(&resp(ct, body)).unwrap_err().kind
    }

    #[test]
    fn classifies_failures() {
        assert_eq!(kind(None, ""), DecodeErrorKind::Empty);
        assert_eq!(
            kind(Some("application/json"), "  \n"),
            DecodeErrorKind::Empty
        );
        assert_eq!(
            kind(
                Some("text/html"),
                "<html><body>502 Bad Gateway</body></html>"
            ),
            DecodeErrorKind::Html
        );
        assert_eq!(kind(None, "<!DOCTYPE html>"), DecodeErrorKind::Html);
        assert!(
            matches!(kind(Some("text/plain"), "Service Unavailable"), DecodeErrorKind::NotJson { content_type: Some(ct) } if ct == "text/plain")
        );
        assert!(matches!(
            kind(Some("application/json"), r#"{"a": 1, "b": ["x""#),
            DecodeErrorKind::Truncated { .. }
        ));
        assert!(matches!(
            kind(Some("application/json"), r#"{"a": 1,, }"#),
            DecodeErrorKind::Syntax { .. }
        ));
        assert!(
            matches!(kind(Some("application/json"), r#"{"a": 1, "b": [1]}"#), DecodeErrorKind::Schema { path, .. } if path == "b[0]")
        );
        assert!(
            matches!(kind(Some("application/json"), r#"{"a": -1, "b": []}"#), DecodeErrorKind::Schema { path, .. } if path == "a")
        );
        assert!(matches!(
            kind(Some("application/json"), r#"{"a": 1, "b": []} x"#),
            DecodeErrorKind::Syntax { .. }
        ));
        let ok: T = json(&resp(None, "\u{feff}{\"a\":1,\"b\":[]}")).unwrap();
        assert_eq!(ok.a, 1);
    }

    #[test]
    fn keeps_the_raw_body() {
        let e = json::<T>(&resp(Some("text/html"), "<p>down</p>")).unwrap_err();
        assert_eq!(e.body, b"<p>down</p>");
        assert!(e.to_string().contains("HTML"));
    }

    #[test]
    fn parses_retry_after() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after", "1.5".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", "-3".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }
}
