//! The async HTTP transport of the Sova SDK: the [`AsyncTransport`] trait and its
//! implementation on reqwest, [`ReqwestTransport`].
//!
//! A transport sends one `http::Request<Vec<u8>>` and returns the `http::Response<Vec<u8>>`
//! whatever its status (402, 429 and 5xx are answers, not errors), with the body read in
//! full. It does not retry, follow redirects, pay, or interpret anything: the SDK's call
//! driver does that. A request that produced no response fails with a [`TransportError`]
//! whose [`kind`](TransportError::kind) says whether the server may have received it.
//!
//! ```no_run
//! use std::time::Duration;
//! use sova_protocol::http::Request;
//! use sova_transport_async::{AsyncTransport, ReqwestTransport, Timeouts};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let timeouts = Timeouts::default();
//! let transport = ReqwestTransport::new(&timeouts)?;
//! let request = Request::get("https://api.sova-intel.com/api/v1/health").body(Vec::new())?;
//! let response = transport.send(request, timeouts.attempt).await?;
//! println!("{} {} bytes", response.status(), response.body().len());
//! # Ok(())
//! # }
//! ```
//!
//! **TLS** is rustls with the *ring* crypto provider, given to reqwest as a preconfigured
//! `rustls::ClientConfig`. Certificates are checked against **Mozilla's root program as
//! bundled by `webpki-roots`**, exactly the roots the blocking transport trusts: both
//! clients behave the same on every machine, including containers without a system CA
//! bundle, and the Sova hosts use public CAs. A network that intercepts TLS with a private
//! CA needs a client you build yourself ([`ReqwestTransport::from_client`]). reqwest is
//! built with its `rustls-no-provider` feature, so this crate compiles one crypto library
//! (the one ureq uses too) and installs no process-wide default.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use sova_protocol::http::{HeaderValue, Request, Response, header};

/// The shared transport types, from `sova_protocol::transport`.
pub use sova_protocol::transport as shared;

pub use shared::{
    AsyncTransport, MAX_RESPONSE_BODY, Timeouts, TransportError, TransportErrorKind, async_trait,
};
use shared::{carries_body, error_chain, root_cause, target_label};

/// An [`AsyncTransport`] on a reqwest `Client`: one client, its connection pool reused by
/// every request (cloning the transport shares the pool).
///
/// Built by [`new`](ReqwestTransport::new), it uses rustls (ring) with Mozilla's roots
/// (`webpki-roots`, the same as the blocking transport), HTTP/1.1 (and HTTP/2 over TLS when the `http2` feature is on and the server offers
/// it), the connect timeout of the given [`Timeouts`], and follows **no** redirects: a 3xx
/// is returned as a response, so that no header (API key, payment signature) is ever
/// forwarded to another host. Proxies from the `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY`
/// environment variables are honoured.
#[derive(Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport with its own client, configured from `timeouts` (the connect budget; the
    /// attempt budget is the `timeout` given to each [`send`](AsyncTransport::send)).
    ///
    /// Fails (kind [`TransportErrorKind::Other`]) when the TLS setup or the HTTP client
    /// cannot be built.
    pub fn new(timeouts: &Timeouts) -> Result<Self, TransportError> {
        let tls = tls_config().map_err(|e| {
            TransportError::new(
                TransportErrorKind::Other,
                format!("could not set up TLS: {e}"),
            )
            .with_source(e)
        })?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(timeouts.connect)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                let detail = root_cause(&e);
                TransportError::new(
                    TransportErrorKind::Other,
                    format!("could not build the HTTP client: {detail}"),
                )
                .with_source(e.without_url())
            })?;
        Ok(ReqwestTransport { client })
    }

    /// A transport on a client you configured (proxies, default headers, your own TLS,
    /// redirect policy…). Each request still gets the `timeout` given to
    /// [`send`](AsyncTransport::send); everything else is the client's.
    ///
    /// This crate builds reqwest with `rustls-no-provider`. Unless something else in your
    /// build enables reqwest's `rustls` feature (reqwest's default features do), a client
    /// needs a crypto provider: either give the builder a TLS configuration, as below, or
    /// install a process-wide one first with
    /// `rustls::crypto::ring::default_provider().install_default()`.
    ///
    /// ```no_run
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use sova_transport_async::ReqwestTransport;
    ///
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let tls = rustls::ClientConfig::builder_with_provider(provider)
    ///     .with_safe_default_protocol_versions()?
    ///     .with_root_certificates(rustls::RootCertStore::empty()) // your roots here
    ///     .with_no_client_auth();
    /// let client = reqwest::Client::builder()
    ///     .tls_backend_preconfigured(tls)
    ///     .user_agent("my-app/1.0")
    ///     .build()?;
    /// let transport = ReqwestTransport::from_client(client);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_client(client: reqwest::Client) -> Self {
        ReqwestTransport { client }
    }
}

impl fmt::Debug for ReqwestTransport {
    // The client's own `Debug` lists its default headers; keep them out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqwestTransport").finish_non_exhaustive()
    }
}

#[async_trait]
impl AsyncTransport for ReqwestTransport {
    async fn send(
        &self,
        mut request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        let target = target_label(request.uri());
        if request.body().is_empty()
            && carries_body(request.method(), request.body())
            && !request.headers().contains_key(header::CONTENT_LENGTH)
        {
            // hyper sends no length for an empty body; say it is empty.
            request
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        let mut request =
            reqwest::Request::try_from(request).map_err(|e| classify(e, &target, timeout))?;
        *request.timeout_mut() = Some(timeout);

        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|e| classify(e, &target, timeout))?;

        let status = response.status();
        let version = response.version();
        let headers = std::mem::take(response.headers_mut());

        if response
            .content_length()
            .is_some_and(|length| length > MAX_RESPONSE_BODY)
        {
            return Err(body_too_large(&target));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| classify(e, &target, timeout))?
        {
            if (body.len() + chunk.len()) as u64 > MAX_RESPONSE_BODY {
                return Err(body_too_large(&target));
            }
            body.extend_from_slice(&chunk);
        }

        let mut out = Response::new(body);
        *out.status_mut() = status;
        *out.version_mut() = version;
        *out.headers_mut() = headers;
        Ok(out)
    }
}

/// The rustls configuration of [`ReqwestTransport::new`]: ring, the platform verifier, and
/// ALPN for what reqwest is built to speak.
/// The trust anchors: Mozilla's root program as bundled by `webpki-roots`, the same list
/// the blocking transport (ureq's `rustls` feature) uses.
fn roots() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

fn tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots())
        .with_no_client_auth();
    config.alpn_protocols = if cfg!(feature = "http2") {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(config)
}

fn body_too_large(target: &str) -> TransportError {
    TransportError::describe(
        TransportErrorKind::Other,
        target,
        format_args!(
            "the response body is larger than {} MiB",
            MAX_RESPONSE_BODY / (1024 * 1024)
        ),
    )
}

/// Turns a reqwest error into a [`TransportError`], the reqwest error (without its URL)
/// kept as the source.
fn classify(error: reqwest::Error, target: &str, timeout: Duration) -> TransportError {
    let error = error.without_url();
    let kind = kind_of(&error);
    let detail = match kind {
        TransportErrorKind::Timeout => format!("no complete response within {timeout:?}"),
        _ => root_cause(&error),
    };
    TransportError::describe(kind, target, detail).with_source(error)
}

/// TLS (a rustls error anywhere in the chain, handshake or later) → `Other`, as
/// [`TransportErrorKind`] documents; connect (TCP, DNS, proxy, connect timeout: nothing was
/// sent) → `Connect`; any other timeout → `Timeout`; a connection that broke or closed
/// early, or a body that could not be read → `Io`; anything else (an invalid response, an
/// unusable request) → `Other`.
fn kind_of(error: &reqwest::Error) -> TransportErrorKind {
    if error_chain(error).any(|e| e.is::<rustls::Error>()) {
        return TransportErrorKind::Other;
    }
    if error.is_connect() {
        return TransportErrorKind::Connect;
    }
    if error.is_timeout() {
        return TransportErrorKind::Timeout;
    }
    if error.is_builder() {
        return TransportErrorKind::Other;
    }
    for e in error_chain(error) {
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            // The peer sent something that is not HTTP, or hyper refused our request.
            if h.is_parse() || h.is_parse_status() || h.is_user() {
                return TransportErrorKind::Other;
            }
            // Closed before the message was complete, canceled, broken pipe…
            return TransportErrorKind::Io;
        }
        if e.is::<io::Error>() {
            return TransportErrorKind::Io;
        }
    }
    if error.is_body() || error.is_request() {
        TransportErrorKind::Io
    } else {
        TransportErrorKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusts_the_bundled_mozilla_roots_only() {
        let roots = roots();
        assert_eq!(roots.len(), webpki_roots::TLS_SERVER_ROOTS.len());
        assert!(roots.len() > 100, "the bundle has well over 100 roots");
        assert!(tls_config().is_ok());
    }
}
