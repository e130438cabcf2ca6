//! The one orchestration of a call, as a sans-IO state machine.
//!
//! [`CallMachine`] returns [`Action`]s (send this request, sleep this long, done) and takes
//! the results (a response, a transport error, a wake-up). The async and blocking clients are
//! each a short loop that executes those actions; nothing about a call's semantics is written
//! twice. Time is an input (`now`), so the machine is tested without a clock or a network.

use std::time::{Duration, Instant};

use sova_protocol::http::{HeaderMap, Request, Response};
use sova_protocol::retry::{Decision, Outcome, RequestTraits, RetryPolicy, SplitMix, TransportErrorKind};
use sova_protocol::{BaseUrl, Credential, Endpoint, decode};

use crate::error::Error;

/// Per-request overrides of the client's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// Timeout of one attempt (overrides the client's `Timeouts::attempt`).
    pub attempt_timeout: Option<Duration>,
    /// Budget of the whole call, retries included (overrides `Timeouts::call`).
    pub call_timeout: Option<Duration>,
    /// Retry policy (overrides the client's).
    pub retry: Option<RetryPolicy>,
}

impl CallOptions {
    /// Sets the per-attempt timeout.
    pub fn attempt_timeout(mut self, d: Duration) -> Self {
        self.attempt_timeout = Some(d);
        self
    }
    /// Sets the whole-call budget.
    pub fn call_timeout(mut self, d: Duration) -> Self {
        self.call_timeout = Some(d);
        self
    }
    /// Sets the retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
}

/// What the driver must do next.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // short-lived; boxing the request would cost an allocation per send
pub enum Action {
    /// Send this request with this timeout, then call [`CallMachine::on_response`] or
    /// [`CallMachine::on_transport_error`].
    Send {
        /// The request.
        request: Request<Vec<u8>>,
        /// The attempt timeout.
        timeout: Duration,
    },
    /// Sleep, then call [`CallMachine::on_wake`].
    Sleep(Duration),
    /// Finished: take the result with [`CallMachine::into_result`].
    Done,
}

/// Attaches credentials to a request; implemented by each client's auth configuration.
pub trait Authorizer {
    /// Adds the headers `credential` needs, or refuses (nothing is sent then).
    fn authorize(&self, credential: Credential, headers: &mut HeaderMap) -> Result<(), Error>;
}

/// Settings the machine needs from the client.
#[derive(Debug, Clone)]
pub struct CallSettings {
    /// Per-attempt timeout.
    pub attempt_timeout: Duration,
    /// Whole-call budget.
    pub call_timeout: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Seed for backoff jitter.
    pub jitter_seed: u64,
}

/// The state machine of one logical call.
pub struct CallMachine<'e, E: Endpoint> {
    endpoint: &'e E,
    request: Request<Vec<u8>>,
    traits: RequestTraits,
    retry: RetryPolicy,
    attempt: u32,
    attempt_timeout: Duration,
    call_timeout: Duration,
    deadline: Instant,
    jitter: SplitMix,
    result: Option<Result<E::Output, Error>>,
}

impl<'e, E: Endpoint> CallMachine<'e, E> {
    /// Builds the request (nothing is sent yet). Fails without side effects on bad input or
    /// missing credentials.
    pub fn new(
        endpoint: &'e E,
        base: &BaseUrl,
        auth: &dyn Authorizer,
        settings: &CallSettings,
        now: Instant,
    ) -> Result<Self, Error> {
        let mut request = endpoint.to_request(base)?;
        auth.authorize(endpoint.credential(), request.headers_mut())?;
        Ok(CallMachine {
            traits: RequestTraits {
                idempotent: endpoint.idempotent(),
                paid: false,
            },
            endpoint,
            request,
            retry: settings.retry.clone(),
            attempt: 0,
            attempt_timeout: settings.attempt_timeout,
            call_timeout: settings.call_timeout,
            deadline: now + settings.call_timeout,
            jitter: SplitMix(settings.jitter_seed),
            result: None,
        })
    }

    /// The endpoint's name (for spans).
    pub fn name(&self) -> &'static str {
        self.endpoint.name()
    }

    /// The attempt count so far.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// The first action.
    pub fn start(&mut self, now: Instant) -> Action {
        self.send(now)
    }

    fn send(&mut self, now: Instant) -> Action {
        let left = self.deadline.saturating_duration_since(now);
        if left.is_zero() {
            return self.finish(Err(Error::CallTimeout {
                after: self.call_timeout,
                payment: None,
            }));
        }
        self.attempt += 1;
        Action::Send {
            request: clone_request(&self.request),
            timeout: self.attempt_timeout.min(left),
        }
    }

    fn finish(&mut self, r: Result<E::Output, Error>) -> Action {
        self.result = Some(r);
        Action::Done
    }

    /// The server answered.
    pub fn on_response(&mut self, response: Response<Vec<u8>>, now: Instant) -> Action {
        let outcome = Outcome::Status {
            status: response.status(),
            retry_after: decode::retry_after(response.headers()),
        };
        if !response.status().is_success()
            && let Some(action) = self.maybe_retry(&outcome, now)
        {
            return action;
        }
        let parsed = self.endpoint.parse(&response).map_err(|e| Error::from_response(e, None));
        self.finish(parsed)
    }

    /// The transport failed.
    pub fn on_transport_error(
        &mut self,
        kind: TransportErrorKind,
        message: String,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
        now: Instant,
    ) -> Action {
        if let Some(action) = self.maybe_retry(&Outcome::Transport(kind), now) {
            return action;
        }
        self.finish(Err(Error::Transport {
            kind,
            message,
            payment: None,
            source,
        }))
    }

    /// The sleep requested by [`Action::Sleep`] is over.
    pub fn on_wake(&mut self, now: Instant) -> Action {
        self.send(now)
    }

    fn maybe_retry(&mut self, outcome: &Outcome, now: Instant) -> Option<Action> {
        match self.retry.decide(self.attempt, outcome, self.traits, &mut self.jitter) {
            Decision::Retry(delay) => {
                let left = self.deadline.saturating_duration_since(now);
                // Do not sleep past the deadline: stop with the last answer instead.
                (delay < left).then_some(Action::Sleep(delay))
            }
            Decision::Stop(_) => None,
        }
    }

    /// The result, once [`Action::Done`] was returned.
    pub fn into_result(self) -> Result<E::Output, Error> {
        self.result
            .unwrap_or_else(|| Err(Error::Config("the call was not driven to completion".into())))
    }
}

fn clone_request(r: &Request<Vec<u8>>) -> Request<Vec<u8>> {
    let mut out = Request::new(r.body().clone());
    *out.method_mut() = r.method().clone();
    *out.uri_mut() = r.uri().clone();
    *out.headers_mut() = r.headers().clone();
    *out.version_mut() = r.version();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sova_protocol::http::StatusCode;
    use sova_protocol::intel::{Fetched, JobStatusRequest, WalletHudRequest};

    struct NoAuth;
    impl Authorizer for NoAuth {
        fn authorize(&self, _: Credential, _: &mut HeaderMap) -> Result<(), Error> {
            Ok(())
        }
    }

    fn settings() -> CallSettings {
        CallSettings {
            attempt_timeout: Duration::from_secs(30),
            call_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            jitter_seed: 1,
        }
    }

    fn resp(status: u16, body: &str) -> Response<Vec<u8>> {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    const ADDR: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";

    #[test]
    fn retries_503_then_succeeds_counting_sends() {
        let base = BaseUrl::parse("http://127.0.0.1:1/api/v1").unwrap();
        let ep = JobStatusRequest::new("job-1");
        let t0 = Instant::now();
        let mut m = CallMachine::new(&ep, &base, &NoAuth, &settings(), t0).unwrap();
        let mut sends = 0;
        let mut now = t0;
        let mut action = m.start(now);
        let answers = [resp(503, "{}"), resp(502, "<html>bad gateway</html>"), resp(200, r#"{"status":"completed","progress":100}"#)];
        let mut answers = answers.into_iter();
        loop {
            match action {
                Action::Send { request, .. } => {
                    sends += 1;
                    assert_eq!(request.uri().path(), "/api/v1/jobs/job-1");
                    action = m.on_response(answers.next().unwrap(), now);
                }
                Action::Sleep(d) => {
                    now += d;
                    action = m.on_wake(now);
                }
                Action::Done => break,
            }
        }
        assert_eq!(sends, 3);
        assert!(m.into_result().is_ok());
    }

    #[test]
    fn gives_up_when_the_call_budget_is_spent() {
        let base = BaseUrl::parse("http://127.0.0.1:1/api/v1").unwrap();
        let ep = WalletHudRequest::new(ADDR);
        let t0 = Instant::now();
        let mut m = CallMachine::new(&ep, &base, &NoAuth, &settings(), t0).unwrap();
        let Action::Send { .. } = m.start(t0) else { panic!() };
        // The attempt took the whole budget; the 503 is final.
        let a = m.on_response(resp(503, r#"{"message":"busy","statusCode":503}"#), t0 + Duration::from_secs(61));
        assert!(matches!(a, Action::Done));
        let e = m.into_result().unwrap_err();
        assert_eq!(e.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    }

    #[test]
    fn connect_errors_retry_and_report_kind() {
        let base = BaseUrl::parse("http://127.0.0.1:1/api/v1").unwrap();
        let ep = WalletHudRequest::new(ADDR);
        let t0 = Instant::now();
        let mut m = CallMachine::new(&ep, &base, &NoAuth, &settings(), t0).unwrap();
        let mut action = m.start(t0);
        let mut sends = 0;
        let mut now = t0;
        loop {
            match action {
                Action::Send { .. } => {
                    sends += 1;
                    action = m.on_transport_error(TransportErrorKind::Connect, "connection refused".into(), None, now);
                }
                Action::Sleep(d) => {
                    now += d;
                    action = m.on_wake(now);
                }
                Action::Done => break,
            }
        }
        assert_eq!(sends, RetryPolicy::default().max_attempts);
        let e = m.into_result().unwrap_err();
        assert_eq!(e.reached(), crate::Reached::No);
        assert!(e.to_string().contains("could not connect"), "{e}");
    }

    #[test]
    fn a_202_fallback_is_an_answer_not_an_error() {
        let base = BaseUrl::parse("http://127.0.0.1:1/api/v1").unwrap();
        let ep = WalletHudRequest::new(ADDR);
        let t0 = Instant::now();
        let mut m = CallMachine::new(&ep, &base, &NoAuth, &settings(), t0).unwrap();
        m.start(t0);
        let body = r#"{"status":"queued","walletAddress":"x","jobId":"j1","prepaidJobId":"p1","monitoringUrl":"/api/v1/jobs/j1","message":"queued"}"#;
        assert!(matches!(m.on_response(resp(202, body), t0), Action::Done));
        match m.into_result().unwrap() {
            Fetched::Queued(q) => assert_eq!(q.prepaid_id(), "p1"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_input_fails_before_sending() {
        let base = BaseUrl::parse("http://127.0.0.1:1/api/v1").unwrap();
        let ep = WalletHudRequest::new("not-base58-0OIl");
        let e = CallMachine::new(&ep, &base, &NoAuth, &settings(), Instant::now()).err().unwrap();
        assert_eq!(e.reached(), crate::Reached::No);
    }
}
