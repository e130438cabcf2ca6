//! What every Sova transport shares: the two transport traits, [`AsyncTransport`] and
//! [`BlockingTransport`], the [`Timeouts`] of a call and the [`TransportError`] a transport
//! returns.
//!
//! The traits live here, in the sans-IO crate, so that a test double or an adapter for
//! another HTTP client depends on `sova-protocol` only (no reqwest, no ureq). The SDK
//! re-exports this module as `sova::transport`; `sova-transport-async` (reqwest) and
//! `sova-transport-blocking` (ureq) implement the traits.
//!
//! A transport sends one `http::Request<Vec<u8>>` and returns the `http::Response<Vec<u8>>`
//! whatever its status (402, 429 and 5xx are answers, not errors), with the body read in
//! full. It does not retry, follow redirects, pay, or interpret anything.
//!
//! ```
//! use std::time::Duration;
//! use sova_protocol::http::{Request, Response};
//! use sova_protocol::transport::{async_trait, AsyncTransport, BlockingTransport, TransportError};
//!
//! /// Answers every request with `204 No Content`.
//! struct Canned;
//!
//! impl BlockingTransport for Canned {
//!     fn send(&self, _: Request<Vec<u8>>, _: Duration) -> Result<Response<Vec<u8>>, TransportError> {
//!         Ok(Response::builder().status(204).body(Vec::new()).unwrap())
//!     }
//! }
//!
//! #[async_trait]
//! impl AsyncTransport for Canned {
//!     async fn send(&self, r: Request<Vec<u8>>, t: Duration) -> Result<Response<Vec<u8>>, TransportError> {
//!         BlockingTransport::send(self, r, t)
//!     }
//! }
//!
//! let request = Request::get("http://127.0.0.1/").body(Vec::new()).unwrap();
//! let response = BlockingTransport::send(&Canned, request, Duration::from_secs(1)).unwrap();
//! assert_eq!(response.status(), 204);
//! ```

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::http::{Method, Request, Response, Uri};
pub use crate::retry::TransportErrorKind;
/// The attribute that implements [`AsyncTransport`] with an `async fn` (the `async-trait`
/// crate, re-exported so that an implementation needs no dependency of its own).
pub use async_trait::async_trait;

/// Sends one HTTP request and reads the whole response, blocking the calling thread.
///
/// Implementations return every response the server gives, whatever its status, with its
/// headers and its whole body, and fail only when there is no response. They must not retry
/// or follow redirects on their own: the caller decides (a retry may resend a payment).
pub trait BlockingTransport: Send + Sync {
    /// Sends `request` and returns the response, the body read in full, or fails after
    /// `timeout` (connecting, sending and reading the body included).
    fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, TransportError>;
}

impl<T: BlockingTransport + ?Sized> BlockingTransport for Arc<T> {
    fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        (**self).send(request, timeout)
    }
}

impl<T: BlockingTransport + ?Sized> BlockingTransport for Box<T> {
    fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        (**self).send(request, timeout)
    }
}

/// Sends one HTTP request and reads the whole response, asynchronously.
///
/// The same contract as [`BlockingTransport`]: every response is returned whatever its
/// status, the body read in full; only a request without a response fails; no retries, no
/// redirects. Implement it with [`macro@async_trait`]; the trait is object safe
/// (`Arc<dyn AsyncTransport>`), and its futures are `Send`.
#[async_trait]
pub trait AsyncTransport: Send + Sync {
    /// Sends `request` and returns the response, the body read in full, or fails after
    /// `timeout` (connecting, sending and reading the body included).
    async fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, TransportError>;
}

#[async_trait]
impl<T: AsyncTransport + ?Sized> AsyncTransport for Arc<T> {
    async fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        (**self).send(request, timeout).await
    }
}

#[async_trait]
impl<T: AsyncTransport + ?Sized> AsyncTransport for Box<T> {
    async fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        (**self).send(request, timeout).await
    }
}

/// The largest response body a transport reads (64 MiB); a longer body is an error of kind
/// [`TransportErrorKind::Other`]. Sova answers are JSON documents far below this.
pub const MAX_RESPONSE_BODY: u64 = 64 * 1024 * 1024;

/// How long a call may take.
///
/// Three budgets, all on by default:
///
/// - [`connect`](Timeouts::connect): establishing one connection (TCP and TLS), 10 s;
/// - [`attempt`](Timeouts::attempt): one attempt, from connecting until the whole response
///   body is read, 60 s (Intel GETs may hold the request about 30 s, and an x402 settlement
///   adds to that);
/// - [`call`](Timeouts::call): the whole call, retries, back-off and payments included,
///   180 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Timeouts {
    /// Establishing one connection (TCP connect and TLS handshake). Default 10 s.
    pub connect: Duration,
    /// One attempt, from connecting until the whole response body is read. Default 60 s.
    pub attempt: Duration,
    /// The whole call, retries, back-off sleeps and payments included. Default 180 s.
    pub call: Duration,
}

impl Timeouts {
    /// The default connect budget: 10 s.
    pub const DEFAULT_CONNECT: Duration = Duration::from_secs(10);
    /// The default attempt budget: 60 s.
    pub const DEFAULT_ATTEMPT: Duration = Duration::from_secs(60);
    /// The default call budget: 180 s.
    pub const DEFAULT_CALL: Duration = Duration::from_secs(180);

    /// The defaults (10 s, 60 s, 180 s).
    pub const fn new() -> Self {
        Timeouts {
            connect: Self::DEFAULT_CONNECT,
            attempt: Self::DEFAULT_ATTEMPT,
            call: Self::DEFAULT_CALL,
        }
    }

    /// Sets the connect budget.
    #[must_use]
    pub const fn with_connect(mut self, connect: Duration) -> Self {
        self.connect = connect;
        self
    }

    /// Sets the budget of one attempt.
    #[must_use]
    pub const fn with_attempt(mut self, attempt: Duration) -> Self {
        self.attempt = attempt;
        self
    }

    /// Sets the budget of the whole call.
    #[must_use]
    pub const fn with_call(mut self, call: Duration) -> Self {
        self.call = call;
        self
    }

    /// The timeout to give the next attempt when `elapsed` of the call is spent: the attempt
    /// budget, cut to what is left of the call budget; `None` once the call budget is spent.
    /// With the defaults: 60 s at first, 30 s after 150 s, `None` after 180 s.
    pub fn next_attempt(&self, elapsed: Duration) -> Option<Duration> {
        let left = self.call.checked_sub(elapsed)?;
        if left.is_zero() {
            None
        } else {
            Some(left.min(self.attempt))
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::new()
    }
}

/// A request that did not produce a response: the connection could not be made, timed out,
/// broke, or failed otherwise.
///
/// [`kind`](TransportError::kind) says which, and so whether the server may have received
/// the request ([`may_have_been_sent`](TransportError::may_have_been_sent)). `Display` is a
/// sentence naming the host (never the path, the query, user info or any header: secrets
/// travel in headers); the HTTP client's own error is kept as the
/// [`source`](std::error::Error::source).
pub struct TransportError {
    kind: TransportErrorKind,
    message: String,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl TransportError {
    /// An error of this kind with this message (shown as is by `Display`).
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        TransportError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The standard sentence for a failed request to `target` (a host, see
    /// [`target_label`]), with `detail` saying what went wrong:
    ///
    /// - `Connect`: "could not connect to {target}: {detail}"
    /// - `Timeout`: "request to {target} timed out: {detail}"
    /// - `Io`: "connection to {target} broke: {detail}"
    /// - otherwise: "request to {target} failed: {detail}"
    pub fn describe(kind: TransportErrorKind, target: &str, detail: impl fmt::Display) -> Self {
        let message = match kind {
            TransportErrorKind::Connect => format!("could not connect to {target}: {detail}"),
            TransportErrorKind::Timeout => format!("request to {target} timed out: {detail}"),
            TransportErrorKind::Io => format!("connection to {target} broke: {detail}"),
            _ => format!("request to {target} failed: {detail}"),
        };
        TransportError::new(kind, message)
    }

    /// Keeps `source` (usually the HTTP client's error) as the cause.
    #[must_use]
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// How the transport failed.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// The message, as shown by `Display`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the server may have received the request (everything but
    /// [`TransportErrorKind::Connect`]).
    pub fn may_have_been_sent(&self) -> bool {
        self.kind.may_have_been_sent()
    }

    /// The cause, taken out of the error.
    pub fn into_source(self) -> Option<Box<dyn StdError + Send + Sync + 'static>> {
        self.source
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for TransportError {
    // Written by hand so that the cause is shown by its `Display` (one line, no request
    // internals) rather than by whatever its `Debug` holds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("source", &self.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl StdError for TransportError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// Whether a request is sent with a body, and so a `Content-Length`: when the body is not
/// empty, and for POST, PUT and PATCH even when it is (`Content-Length: 0`, which servers and
/// proxies may require of them: 411 Length Required). A GET, HEAD, DELETE… with an empty
/// body is sent without one.
pub fn carries_body(method: &Method, body: &[u8]) -> bool {
    !body.is_empty() || matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

/// The host (and explicit port) of `uri`, as error messages name it: `127.0.0.1:9`,
/// `api.sova-intel.com`. Never the user info, the path or the query.
pub fn target_label(uri: &Uri) -> String {
    match (uri.host(), uri.port_u16()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => "the server (no host in the URL)".to_owned(),
    }
}

/// `error` and its causes, outermost first. Unlike a plain walk of
/// [`source`](std::error::Error::source), it steps into the error an [`io::Error`] wraps
/// (whose own `source` skips it), so that a TLS error inside an I/O error is found.
pub fn error_chain<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |&e: &&'a (dyn StdError + 'static)| {
        if let Some(inner) = e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            return Some(inner as &(dyn StdError + 'static));
        }
        e.source()
    })
}

/// The innermost cause of `error` (see [`error_chain`]) as a short phrase: `connection
/// refused` rather than `Connection refused (os error 111)`.
pub fn root_cause(error: &(dyn StdError + 'static)) -> String {
    let Some(innermost) = error_chain(error).last() else {
        return error.to_string();
    };
    match innermost.downcast_ref::<io::Error>() {
        Some(io_error) => io_phrase(io_error),
        None => innermost.to_string(),
    }
}

/// An I/O error as a short phrase: an operating-system error without its
/// `(os error N)` suffix and starting in lower case.
pub fn io_phrase(error: &io::Error) -> String {
    let text = error.to_string();
    if error.raw_os_error().is_none() {
        return text;
    }
    let text = match text.rfind(" (os error ") {
        Some(at) => &text[..at],
        None => text.as_str(),
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_defaults_and_setters() {
        let t = Timeouts::default();
        assert_eq!(t.connect, Duration::from_secs(10));
        assert_eq!(t.attempt, Duration::from_secs(60));
        assert_eq!(t.call, Duration::from_secs(180));
        let t = t
            .with_connect(Duration::from_secs(1))
            .with_attempt(Duration::from_secs(2))
            .with_call(Duration::from_secs(3));
        assert_eq!(
            (t.connect, t.attempt, t.call),
            (
                Duration::from_secs(1),
                Duration::from_secs(2),
                Duration::from_secs(3)
            )
        );
    }

    #[test]
    fn next_attempt_is_cut_to_the_call_budget() {
        let d = Timeouts::default();
        assert_eq!(
            d.next_attempt(Duration::ZERO),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            d.next_attempt(Duration::from_secs(150)),
            Some(Duration::from_secs(30))
        );
        assert_eq!(d.next_attempt(Duration::from_secs(180)), None);
        let t = Timeouts::default()
            .with_attempt(Duration::from_secs(60))
            .with_call(Duration::from_secs(100));
        assert_eq!(
            t.next_attempt(Duration::from_secs(10)),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            t.next_attempt(Duration::from_secs(70)),
            Some(Duration::from_secs(30))
        );
        assert_eq!(t.next_attempt(Duration::from_secs(100)), None);
        assert_eq!(t.next_attempt(Duration::from_secs(1000)), None);
    }

    #[test]
    fn error_display_source_and_kind() {
        let cause = io::Error::from(io::ErrorKind::ConnectionRefused);
        let err = TransportError::describe(
            TransportErrorKind::Connect,
            "127.0.0.1:9",
            "connection refused",
        )
        .with_source(cause);
        assert_eq!(
            err.to_string(),
            "could not connect to 127.0.0.1:9: connection refused"
        );
        assert_eq!(err.kind(), TransportErrorKind::Connect);
        assert!(!err.may_have_been_sent());
        let source = StdError::source(&err).map(|s| s.to_string());
        assert_eq!(source.as_deref(), Some("connection refused"));
        assert!(format!("{err:?}").contains("Connect"));

        let err =
            TransportError::describe(TransportErrorKind::Timeout, "h", "no response within 1s");
        assert_eq!(
            err.to_string(),
            "request to h timed out: no response within 1s"
        );
        assert!(err.may_have_been_sent());
        assert!(StdError::source(&err).is_none());
        assert_eq!(
            TransportError::describe(TransportErrorKind::Io, "h", "x").to_string(),
            "connection to h broke: x"
        );
        assert_eq!(
            TransportError::describe(TransportErrorKind::Other, "h", "x").to_string(),
            "request to h failed: x"
        );
    }

    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static + StdError>() {}
        check::<TransportError>();
    }

    #[test]
    fn which_requests_carry_a_body() {
        assert!(carries_body(&Method::POST, b""));
        assert!(carries_body(&Method::PUT, b""));
        assert!(carries_body(&Method::PATCH, b""));
        assert!(!carries_body(&Method::GET, b""));
        assert!(!carries_body(&Method::DELETE, b""));
        assert!(carries_body(&Method::DELETE, b"{}"));
        assert!(carries_body(&Method::GET, b"x"));
    }

    #[test]
    fn target_label_names_only_the_host() {
        let uri: Uri = "https://user:secret@api.sova-intel.com/api/v1/x?key=ak_1"
            .parse()
            .unwrap();
        assert_eq!(target_label(&uri), "api.sova-intel.com");
        let uri: Uri = "http://127.0.0.1:9/x".parse().unwrap();
        assert_eq!(target_label(&uri), "127.0.0.1:9");
        assert_eq!(
            target_label(&Uri::from_static("/relative")),
            "the server (no host in the URL)"
        );
    }

    #[test]
    fn root_cause_walks_the_chain_and_shortens_os_errors() {
        let os = io::Error::from_raw_os_error(111);
        let phrase = io_phrase(&os);
        assert!(!phrase.contains("os error"), "{phrase}");
        assert!(phrase.starts_with(|c: char| !c.is_uppercase()), "{phrase}");
        let outer = TransportError::new(TransportErrorKind::Io, "outer")
            .with_source(io::Error::other("inner cause"));
        assert_eq!(root_cause(&outer), "inner cause");
        // The error an io::Error wraps is part of the chain.
        let wrapped = io::Error::new(
            io::ErrorKind::InvalidData,
            TransportError::new(TransportErrorKind::Other, "tls"),
        );
        let chain: Vec<String> = error_chain(&wrapped).map(|e| e.to_string()).collect();
        assert_eq!(chain, ["tls", "tls"]);
        assert!(error_chain(&wrapped).any(|e| e.is::<TransportError>()));
    }
}
