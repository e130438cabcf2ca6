//! Errors of request building and response parsing.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::x402::{PaymentRequired, Settlement};

/// Which API produced an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Service {
    /// Sova Intel.
    Intel,
    /// Sovera SovX.
    Sx,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Intel => "Sova Intel",
            Service::Sx => "Sovera SovX",
        })
    }
}

/// A request could not be built; nothing was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The base URL is not usable.
    #[error("invalid base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// An input value is outside what the API accepts.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The parameter that was refused.
        field: &'static str,
        /// Why, in a sentence.
        reason: String,
    },
    /// The request body could not be serialized.
    #[error("could not encode the request body: {0}")]
    Body(#[source] serde_json::Error),
    /// A header value contains characters HTTP does not allow.
    #[error("the value for header {name} contains characters HTTP headers cannot carry")]
    HeaderValue {
        /// The header name.
        name: &'static str,
    },
}

impl BuildError {
    pub(crate) fn input(field: &'static str, reason: impl Into<String>) -> Self {
        BuildError::InvalidInput {
            field,
            reason: reason.into(),
        }
    }
}

/// A response could not be turned into the endpoint's output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The server answered with an error status.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The server answered with a success status, but the body could not be read.
    #[error(transparent)]
    Decode(Box<DecodeError>),
}

impl ResponseError {
    /// The HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        match self {
            ResponseError::Api(e) => e.status,
            ResponseError::Decode(e) => e.status,
        }
    }

    /// The API error, when the server answered with an error status.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            ResponseError::Api(e) => Some(e),
            ResponseError::Decode(_) => None,
        }
    }

    /// The decode error, when a success body could not be read.
    pub fn as_decode(&self) -> Option<&DecodeError> {
        match self {
            ResponseError::Decode(e) => Some(e),
            ResponseError::Api(_) => None,
        }
    }
}

impl From<ApiError> for ResponseError {
    fn from(e: ApiError) -> Self {
        ResponseError::Api(Box::new(e))
    }
}

impl From<DecodeError> for ResponseError {
    fn from(e: DecodeError) -> Self {
        ResponseError::Decode(Box::new(e))
    }
}

/// What an error body looked like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyKind {
    /// No body (or only whitespace).
    Empty,
    /// JSON that matched the documented error shape.
    Json,
    /// JSON in another shape.
    OtherJson,
    /// An HTML page (typically from a proxy or load balancer).
    Html,
    /// Anything else.
    Text,
}

/// One `{code, message}` item of an error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiErrorDetail {
    /// A machine-readable code (SovX `errors[].code`, Intel `error`), when the server gave one.
    pub code: Option<String>,
    /// The human-readable message.
    pub message: String,
}

/// The server answered with an error status (4xx/5xx, or 402).
///
/// The request reached the server. Branch on [`ApiError::status`] first, then on the codes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// Which API answered.
    pub service: Service,
    /// The HTTP status.
    pub status: StatusCode,
    /// Codes and messages from the body, in order.
    pub errors: Vec<ApiErrorDetail>,
    /// The server's trace id (`meta.trace_id` or the `x-trace-id` header), for support requests.
    pub trace_id: Option<String>,
    /// Sova Intel `skipReason` (422 for system or program wallets, e.g. `known-wallet`).
    pub skip_reason: Option<String>,
    /// Sova Intel 402 body: credits the endpoint needs.
    pub required_credits: Option<u64>,
    /// A decoded `PAYMENT-REQUIRED` header (or v1 body), when the server asked for payment.
    pub payment_required: Option<PaymentRequired>,
    /// A decoded `PAYMENT-RESPONSE` / `X-Payment-Response` header (settlement failure).
    pub settlement: Option<Settlement>,
    /// `Retry-After`, when given in seconds.
    pub retry_after: Option<Duration>,
    /// What the body looked like.
    pub body_kind: BodyKind,
    /// The raw body, kept whole so nothing is lost.
    pub body: Vec<u8>,
}

impl ApiError {
    /// A new error with only a status; the parsers fill in the rest.
    pub fn new(service: Service, status: StatusCode) -> Self {
        ApiError {
            service,
            status,
            errors: Vec::new(),
            trace_id: None,
            skip_reason: None,
            required_credits: None,
            payment_required: None,
            settlement: None,
            retry_after: None,
            body_kind: BodyKind::Empty,
            body: Vec::new(),
        }
    }

    /// The first message, if any.
    pub fn message(&self) -> Option<&str> {
        self.errors.first().map(|e| e.message.as_str())
    }

    /// Whether any error item carries this code (case-sensitive).
    pub fn has_code(&self, code: &str) -> bool {
        self.errors.iter().any(|e| e.code.as_deref() == Some(code))
    }

    /// The body as text (lossy UTF-8).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered {}", self.service, self.status)?;
        let mut first = true;
        for e in &self.errors {
            f.write_str(if first { ": " } else { "; " })?;
            first = false;
            match &e.code {
                Some(c) if !e.message.is_empty() => write!(f, "{} ({c})", e.message)?,
                Some(c) => f.write_str(c)?,
                None => f.write_str(&e.message)?,
            }
        }
        if first {
            match self.body_kind {
                BodyKind::Html => f.write_str(" with an HTML page instead of JSON")?,
                BodyKind::Empty => f.write_str(" with an empty body")?,
                BodyKind::Text | BodyKind::OtherJson => {
                    f.write_str(" with an unrecognized body")?
                }
                BodyKind::Json => {}
            }
        }
        if let Some(n) = self.required_credits {
            write!(f, " ({n} credits required)")?;
        }
        if let Some(p) = &self.payment_required
            && let Some(a) = p.accepts.first()
        {
            write!(
                f,
                " (payment of {} base units of {} requested)",
                a.amount, a.asset
            )?;
        }
        if let Some(t) = &self.trace_id {
            write!(f, " [trace id {t}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Why a success body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The body is empty.
    Empty,
    /// The body is an HTML page.
    Html,
    /// The body is not JSON (the content type is given when there was one).
    NotJson {
        /// The `Content-Type` header.
        content_type: Option<String>,
    },
    /// The JSON ends before it is complete.
    Truncated {
        /// 1-based line of the end of input.
        line: usize,
        /// 1-based column of the end of input.
        column: usize,
    },
    /// The JSON is malformed.
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's description.
        message: String,
    },
    /// Valid JSON in an unexpected shape.
    Schema {
        /// Where in the document the mismatch is (e.g. `data[0].token`).
        path: String,
        /// What was expected.
        message: String,
    },
    /// A status this endpoint does not document for success.
    UnexpectedStatus,
}

/// A success answer whose body could not be decoded. The request reached the server and may
/// have had effects (and, for paid calls, may have been charged).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DecodeError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong.
    pub kind: DecodeErrorKind,
    /// The raw body, kept whole.
    pub body: Vec<u8>,
}

impl DecodeError {
    /// A new decode error.
    pub fn new(status: StatusCode, kind: DecodeErrorKind, body: &[u8]) -> Self {
        DecodeError {
            status,
            kind,
            body: body.to_vec(),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not read the {} response: ", self.status)?;
        match &self.kind {
            DecodeErrorKind::Empty => f.write_str("the body is empty"),
            DecodeErrorKind::Html => {
                f.write_str("the body is an HTML page, not JSON (a proxy or wrong base URL?)")
            }
            DecodeErrorKind::NotJson { content_type } => match content_type {
                Some(ct) => write!(f, "the body is not JSON (content type {ct})"),
                None => f.write_str("the body is not JSON"),
            },
            DecodeErrorKind::Truncated { line, column } => {
                write!(f, "the JSON is truncated at line {line}, column {column}")
            }
            DecodeErrorKind::Syntax {
                line,
                column,
                message,
            } => {
                write!(
                    f,
                    "malformed JSON at line {line}, column {column}: {message}"
                )
            }
            DecodeErrorKind::Schema { path, message } => {
                write!(f, "unexpected JSON at `{path}`: {message}")
            }
            DecodeErrorKind::UnexpectedStatus => {
                f.write_str("this status is not documented for this endpoint")
            }
        }
    }
}

impl std::error::Error for DecodeError {}
