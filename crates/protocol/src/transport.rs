//! What every transport shares: timeouts and a classified error. The transports
//! (`sova-transport-async`, `sova-transport-blocking`) implement their traits with these, so
//! no HTTP-client type reaches the SDK's public API.

use std::fmt;
use std::time::Duration;

pub use crate::retry::TransportErrorKind;

/// Timeouts, on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection. Default 10 s.
    pub connect: Duration,
    /// One attempt, from sending to the last body byte. Default 60 s: Sova Intel may hold a
    /// wallet GET ~30 s, and x402 settlement adds confirmation time.
    pub attempt: Duration,
    /// The whole call: retries, payment and job follow-ups included. Default 180 s.
    pub call: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            attempt: Duration::from_secs(60),
            call: Duration::from_secs(180),
        }
    }
}

impl Timeouts {
    /// Sets the connect timeout.
    pub fn connect(mut self, d: Duration) -> Self {
        self.connect = d;
        self
    }
    /// Sets the per-attempt timeout.
    pub fn attempt(mut self, d: Duration) -> Self {
        self.attempt = d;
        self
    }
    /// Sets the whole-call budget.
    pub fn call(mut self, d: Duration) -> Self {
        self.call = d;
        self
    }
}

/// A transport failure, classified, with the client library's error kept as `source()`.
///
/// Its message never contains header values (credentials travel in headers).
#[derive(Debug)]
pub struct TransportError {
    /// How it failed.
    pub kind: TransportErrorKind,
    /// A sentence describing it.
    pub message: String,
    /// The underlying error.
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TransportError {
    /// A new error.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        TransportError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}
