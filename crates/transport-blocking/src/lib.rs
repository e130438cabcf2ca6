//! The blocking HTTP transport of the Sova SDK: the [`BlockingTransport`] trait and its
//! implementation on ureq, [`UreqTransport`].
//!
//! A transport sends one `http::Request<Vec<u8>>` and returns the `http::Response<Vec<u8>>`
//! whatever its status (402, 429 and 5xx are answers, not errors), with the body read in
//! full. It does not retry, follow redirects, pay, or interpret anything: the SDK's call
//! driver does that. A request that produced no response fails with a [`TransportError`]
//! whose [`kind`](TransportError::kind) says whether the server may have received it.
//!
//! ureq is truly blocking: there is no async runtime inside, so a [`UreqTransport`] may be
//! called from any thread, a tokio worker included (it blocks that thread while it waits).
//!
//! ```no_run
//! use sova_protocol::http::Request;
//! use sova_transport_blocking::{BlockingTransport, Timeouts, UreqTransport};
//!
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let timeouts = Timeouts::default();
//! let transport = UreqTransport::new(&timeouts);
//! let request = Request::get("https://api.sova-intel.com/api/v1/health").body(Vec::new())?;
//! let response = transport.send(request, timeouts.attempt)?;
//! println!("{} {} bytes", response.status(), response.body().len());
//! # Ok(())
//! # }
//! ```
//!
//! **TLS** is rustls with the *ring* crypto provider and **Mozilla's root program as bundled
//! by `webpki-roots`** (ureq's `rustls` feature), exactly the roots the async transport
//! trusts: both clients behave the same on every machine, including containers without a
//! system CA bundle. A network that intercepts TLS with a private CA needs an agent you
//! configure yourself ([`UreqTransport::from_agent`]).
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use std::fmt;
use std::io;
use std::time::Duration;

use sova_protocol::http::{Extensions, Request, Response, header};
use ureq::Agent;

/// The shared transport types, from `sova_protocol::transport`.
pub use sova_protocol::transport as shared;

pub use shared::{
    BlockingTransport, MAX_RESPONSE_BODY, Timeouts, TransportError, TransportErrorKind,
};
use shared::{carries_body, io_phrase, root_cause, target_label};

/// A [`BlockingTransport`] on a ureq `Agent`: one agent, its connection pool reused by every
/// request (cloning the transport shares the pool).
///
/// Built by [`new`](UreqTransport::new), it uses rustls (ring) with the `webpki-roots`
/// trust anchors, HTTP/1.1, the connect timeout of the given [`Timeouts`], and follows
/// **no** redirects: a 3xx is returned as a response, so that no header (API key, payment
/// signature) is ever forwarded to another host. Proxies from the `HTTP_PROXY`/`HTTPS_PROXY`/
/// `ALL_PROXY`/`NO_PROXY` environment variables are honoured.
#[derive(Clone)]
pub struct UreqTransport {
    agent: Agent,
}

impl UreqTransport {
    /// A transport with its own agent, configured from `timeouts` (the connect budget; the
    /// attempt budget is the `timeout` given to each [`send`](BlockingTransport::send)).
    pub fn new(timeouts: &Timeouts) -> Self {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(timeouts.connect))
            .timeout_global(Some(timeouts.attempt))
            // Mozilla's roots as bundled by `webpki-roots` (ureq's default, set here so the
            // choice is visible): the same anchors the async transport trusts.
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::WebPki)
                    .build(),
            )
            .build();
        UreqTransport {
            agent: Agent::new_with_config(config),
        }
    }

    /// A transport on an agent you configured (proxy, TLS, user agent, redirects…). Each
    /// request still gets the `timeout` given to [`send`](BlockingTransport::send) as its
    /// global timeout, and 4xx/5xx statuses are always returned as responses (the agent's
    /// `http_status_as_error` is overridden per request); everything else is the agent's.
    ///
    /// ```no_run
    /// use sova_transport_blocking::UreqTransport;
    ///
    /// let agent = ureq::Agent::config_builder().user_agent("my-app/1.0").build().new_agent();
    /// let transport = UreqTransport::from_agent(agent);
    /// ```
    pub fn from_agent(agent: Agent) -> Self {
        UreqTransport { agent }
    }

    fn run<S: ureq::AsSendBody>(
        &self,
        request: Request<S>,
        timeout: Duration,
    ) -> Result<Response<ureq::Body>, ureq::Error> {
        let request = self
            .agent
            .configure_request(request)
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build();
        self.agent.run(request)
    }
}

impl fmt::Debug for UreqTransport {
    // Keep the agent's configuration (proxy credentials, headers) out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UreqTransport").finish_non_exhaustive()
    }
}

impl BlockingTransport for UreqTransport {
    fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        let target = target_label(request.uri());
        let fail = |e: ureq::Error| classify(e, &target, timeout);

        let response = if carries_body(request.method(), request.body()) {
            self.run(request, timeout)
        } else {
            // An empty `Vec` would be sent as `Content-Length: 0`; send no body at all.
            let (parts, _) = request.into_parts();
            self.run(Request::from_parts(parts, ()), timeout)
        }
        .map_err(fail)?;

        let (mut parts, mut body) = response.into_parts();
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > MAX_RESPONSE_BODY) {
            return Err(body_too_large(&target));
        }
        let body = body
            .with_config()
            .limit(MAX_RESPONSE_BODY)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => body_too_large(&target),
                e => fail(e),
            })?;
        // ureq's own bookkeeping (the final URI…) is not part of the answer.
        parts.extensions = Extensions::new();
        Ok(Response::from_parts(parts, body))
    }
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

/// Turns a ureq error into a [`TransportError`], the ureq error kept as the source.
fn classify(error: ureq::Error, target: &str, timeout: Duration) -> TransportError {
    let kind = kind_of(&error);
    let detail = match (&error, kind) {
        (_, TransportErrorKind::Timeout) => format!("no complete response within {timeout:?}"),
        (ureq::Error::Timeout(_), TransportErrorKind::Connect) => {
            "no connection within the connect timeout".to_owned()
        }
        (ureq::Error::Io(io_error), _) if io_error.kind() == io::ErrorKind::UnexpectedEof => {
            "the server closed the connection before the response was complete".to_owned()
        }
        (ureq::Error::Io(io_error), _) => match io_error.get_ref() {
            Some(_) => root_cause(io_error),
            None => io_phrase(io_error),
        },
        (ureq::Error::Rustls(tls), _) => tls.to_string(),
        (e, _) => e.to_string(),
    };
    TransportError::describe(kind, target, detail).with_source(error)
}

/// TLS (a rustls error, in the handshake or later) → `Other`, as [`TransportErrorKind`]
/// documents; no connection (host not found, refused, unreachable, connect or resolve
/// timeout, proxy refused: nothing was sent) → `Connect`; any other timeout → `Timeout`; a
/// connection that broke or closed early → `Io`; anything else (an invalid response, an
/// unusable request) → `Other`.
fn kind_of(error: &ureq::Error) -> TransportErrorKind {
    use ureq::Error as E;
    use ureq::Timeout as T;
    match error {
        E::HostNotFound | E::ConnectionFailed | E::ConnectProxyFailed(_) => {
            TransportErrorKind::Connect
        }
        E::Timeout(T::Connect | T::Resolve) => TransportErrorKind::Connect,
        E::Timeout(_) => TransportErrorKind::Timeout,
        E::Io(e) => {
            if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
                return TransportErrorKind::Other;
            }
            match e.kind() {
                // Only a connect gives these: the request was not sent.
                io::ErrorKind::ConnectionRefused
                | io::ErrorKind::HostUnreachable
                | io::ErrorKind::NetworkUnreachable
                | io::ErrorKind::AddrNotAvailable => TransportErrorKind::Connect,
                io::ErrorKind::TimedOut => TransportErrorKind::Timeout,
                _ => TransportErrorKind::Io,
            }
        }
        E::BodyStalled => TransportErrorKind::Io,
        _ => TransportErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusts_the_bundled_mozilla_roots() {
        let t = UreqTransport::new(&Timeouts::default());
        assert!(matches!(
            t.agent.config().tls_config().root_certs(),
            ureq::tls::RootCerts::WebPki
        ));
    }
}
