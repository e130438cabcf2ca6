//! The one orchestration of a logical request, as sans-IO state machines.
//!
//! A logical request (a typed method such as `wallet_hud`, including its `202` fallback,
//! job polling, re-call and pricing fallback) is one [`Call`]: a state machine that returns
//! [`Action`]s — send this request to the API or to our Solana RPC, sleep, done — and takes
//! their results. Time is an input, so every path is tested without a clock or a network.
//! The async and blocking runners (`crate::runner`) are the only places where the two
//! clients differ: each is a short loop executing actions.
//!
//! Machines compose: a [`Call`] owns a top-level machine (e.g. [`intel::wallet_get`]) that
//! runs sub-machines ([`Exchange`] for one endpoint, [`JobWait`], [`ResultFetch`]) one phase
//! at a time, each phase an enum variant holding exactly the state it needs. All of them
//! share the call's [`Ctx`], which holds the call's money: at most one live payment.
//!
//! # Money rules
//!
//! * The spend policy is asked before anything is signed.
//! * A signed payment is **live** until the server answers with the paid resource or a
//!   settlement (charged), or our own RPC proves it can never land. A live payment rides on
//!   every resend of the same request and on the documented re-call after a free `202`
//!   (that the same payment goes with the re-call is the SDK's reading; Sova does not say how
//!   an x402 payment reaches it); no second payment is signed while one is live.
//! * A payment is released (its budget returned) only on proof: it never left this process,
//!   or our RPC's block height — read before the signature lookup — is past the last valid
//!   height that our RPC reported for the blockhash we signed over, and the lookup found
//!   nothing (or found the transaction failed). The server's word that "nothing was charged"
//!   is never proof.
//! * Every attempt's outcome counts: if any attempt may have delivered the payment, the
//!   call's error says so ([`crate::Error::may_have_charged`]).

mod call;
mod combine;
mod exchange;
pub mod intel;
mod jobs;
mod journal;
mod money;
mod reconcile;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use sova_protocol::BaseUrl;
use sova_protocol::http::{Request, Response};
use sova_protocol::jobs::PollConfig;
use sova_protocol::retry::{SplitMix, TransportErrorKind};

use sova_x402::ledger::{Ledger, LedgerError, Op, Reply};

use crate::call::{Authorizer, CallSettings, Payments};
use crate::error::{Error, Reached};

pub use call::Call;
pub use combine::{Boxed, MachineExt, Ready, Then, ready};
pub use exchange::Exchange;
pub(crate) use jobs::result_error;
pub use jobs::{JobWait, ResultFetch};
pub use journal::{ReconcileJournal, Reconciled, Resolved};

/// The current wall-clock time as Unix seconds, for [`Ctx::with_wall_clock`] (the runners'
/// clock; the flows never read it themselves).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
pub use money::Money;

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The API (Sova Intel or SovX).
    Api,
    /// Our Solana JSON-RPC endpoint (blockhash, mint, reconciliation).
    Rpc,
}

/// What the runner must do next.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // short-lived; boxing the request would cost an allocation per send
pub enum Action {
    /// Send this request with this timeout, then report the response or the failure.
    Send {
        /// API or RPC.
        target: Target,
        /// The request.
        request: Request<Vec<u8>>,
        /// The attempt timeout.
        timeout: Duration,
    },
    /// Sleep, then report the wake-up.
    Sleep(Duration),
    /// Apply these operations to the payment ledger and report the replies with
    /// [`Call::on_ledger`]. The async runner awaits them (the ledger's own thread does the
    /// I/O; the executor is never blocked); the blocking runner waits.
    Ledger {
        /// The ledger.
        ledger: Ledger,
        /// The operations, applied in order and atomically.
        ops: Vec<Op>,
    },
    /// Finished: take the result with [`Call::finish`].
    Done,
}

/// A transport failure, as the runner reports it.
pub struct Failure {
    /// How it failed.
    pub kind: TransportErrorKind,
    /// The transport's description.
    pub message: String,
    /// The underlying error.
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// What a machine does next: I/O, or its result.
#[allow(clippy::large_enum_variant)]
pub enum Step<T> {
    /// Send a request.
    Send {
        /// API or RPC.
        target: Target,
        /// The request.
        request: Request<Vec<u8>>,
        /// The attempt timeout.
        timeout: Duration,
    },
    /// Sleep.
    Sleep(Duration),
    /// Apply operations to the payment ledger (answered by [`Machine::on_ledger`]).
    Ledger(Vec<Op>),
    /// The machine's result.
    Done(T),
}

impl<T> Step<T> {
    /// The same I/O step for a machine of another output type; `Done` is not I/O.
    fn io<U>(self) -> Result<Step<U>, T> {
        match self {
            Step::Send {
                target,
                request,
                timeout,
            } => Ok(Step::Send {
                target,
                request,
                timeout,
            }),
            Step::Sleep(d) => Ok(Step::Sleep(d)),
            Step::Ledger(ops) => Ok(Step::Ledger(ops)),
            Step::Done(t) => Err(t),
        }
    }
}

/// Counters of one call, for tracing and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// API requests sent (every attempt).
    pub api: u32,
    /// RPC requests sent.
    pub rpc: u32,
    /// Payments signed.
    pub payments: u32,
    /// Base units settled (charged with a receipt).
    pub paid: u64,
    /// The last settled transaction, when the server or our record names it.
    pub transaction: Option<String>,
}

/// The progress callback of job waits.
pub type ProgressFn = std::sync::Arc<dyn Fn(&crate::intel::Progress) + Send + Sync>;

/// What every machine of a call shares: settings, the clock budget, the money and counters.
pub struct Ctx<'a> {
    /// The API's base URL.
    pub base: &'a BaseUrl,
    /// Its host (requirement cache keys, pinned payTo, self-paid rules).
    pub host: String,
    /// Credentials.
    pub auth: &'a dyn Authorizer,
    /// x402, when the client pays per call.
    pub payments: Option<&'a Payments>,
    /// Timeouts, retry policy, per-call cap.
    pub settings: CallSettings,
    /// When the call's budget runs out.
    pub deadline: Instant,
    /// Backoff jitter.
    pub jitter: SplitMix,
    /// Job polling.
    pub poll: PollConfig,
    /// Job progress callback.
    pub progress: Option<ProgressFn>,
    /// Whether a failed job is retried once, as the docs say (default true). Covers the
    /// free retry only (a wallet GET, resent with the same unsettled payment); see
    /// [`Ctx::requeue_paid_jobs`].
    pub retry_failed_jobs: bool,
    /// Whether a failed POST job is queued again, which signs a second payment for the
    /// logical request (default false: one payment per logical request; the failed job's
    /// charge is reported with the error).
    pub requeue_paid_jobs: bool,
    /// The call's payment state.
    pub money: Money,
    /// Counters.
    pub stats: Stats,
    /// Whether any attempt may have reached the server.
    pub reached: Reached,
    /// Wall-clock time (Unix seconds) at `started`, when the runner supplied one: the flows
    /// have no clock of their own ([`Ctx::with_wall_clock`]).
    pub unix_at_start: Option<u64>,
    /// The instant `unix_at_start` was read.
    pub started: Instant,
    /// The time of the event being handled (set by [`Call`] before every step).
    pub now: Instant,
    /// The logical request's id, written with its payments in the ledger.
    pub request_id: String,
    /// Wall-clock Unix milliseconds at `started`, when the runner supplied them.
    pub unix_ms_at_start: Option<u64>,
}

/// Far enough in the future to stand for "no deadline" without overflowing `Instant`.
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl<'a> Ctx<'a> {
    /// A call's context, starting at `now`.
    pub fn new(
        base: &'a BaseUrl,
        auth: &'a dyn Authorizer,
        payments: Option<&'a Payments>,
        settings: CallSettings,
        now: Instant,
    ) -> Self {
        let deadline = now
            .checked_add(settings.call_timeout)
            .or_else(|| now.checked_add(FAR))
            .unwrap_or(now);
        let host = base_host(base);
        Ctx {
            base,
            host,
            auth,
            payments,
            jitter: SplitMix(settings.jitter_seed),
            settings,
            deadline,
            poll: PollConfig::default(),
            progress: None,
            retry_failed_jobs: true,
            requeue_paid_jobs: false,
            money: Money::default(),
            stats: Stats::default(),
            reached: Reached::No,
            unix_at_start: None,
            started: now,
            now,
            request_id: sova_x402::ledger::new_id("req_"),
            unix_ms_at_start: None,
        }
    }

    /// The wall-clock time of the event being handled, Unix milliseconds: from the runner's
    /// clock when it gave one ([`Ctx::with_wall_clock`]), else from the spend policy's.
    pub fn now_ms(&self) -> u64 {
        let elapsed = self.now.saturating_duration_since(self.started);
        let elapsed = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        match (self.unix_ms_at_start, self.unix_at_start, self.payments) {
            (Some(ms), _, _) => ms.saturating_add(elapsed),
            (None, Some(s), _) => s.saturating_mul(1000).saturating_add(elapsed),
            (None, None, Some(p)) => p.payer.policy().wall_ms(self.now),
            (None, None, None) => sova_x402::ledger::unix_ms(),
        }
    }

    /// The payment ledger of this call's payer, when it pays.
    pub fn ledger(&self) -> Option<&Ledger> {
        self.payments.map(|p| p.payer.policy().ledger())
    }

    /// The wall-clock time at the `now` given to [`Ctx::new`], as Unix seconds: job handles
    /// are stamped with the time their job was accepted, so a later resume can tell an
    /// expired result (15-minute TTL) from one that is not ready.
    pub fn with_wall_clock(mut self, unix_at_start: u64) -> Self {
        self.unix_at_start = Some(unix_at_start);
        self
    }

    /// The wall-clock time of the event being handled (Unix seconds), when known.
    pub fn unix_now(&self) -> Option<u64> {
        let elapsed = self.now.saturating_duration_since(self.started).as_secs();
        self.unix_at_start.map(|u| u.saturating_add(elapsed))
    }

    /// The wall-clock time at the `now` given to [`Ctx::new`], as Unix milliseconds
    /// (see [`Ctx::with_wall_clock`]).
    pub fn with_wall_clock_ms(mut self, unix_ms_at_start: u64) -> Self {
        self.unix_at_start = Some(unix_ms_at_start / 1000);
        self.unix_ms_at_start = Some(unix_ms_at_start);
        self
    }

    /// Job polling settings and progress callback.
    pub fn with_poll(mut self, poll: PollConfig, progress: Option<ProgressFn>) -> Self {
        self.poll = poll;
        self.progress = progress;
        self
    }

    /// Time left before the call's deadline.
    pub fn left(&self, now: Instant) -> Duration {
        self.deadline.saturating_duration_since(now)
    }

    /// Records that an attempt reached (or may have reached) the server.
    pub(crate) fn mark_reached(&mut self, r: Reached) {
        self.reached = match (self.reached, r) {
            (Reached::Yes, _) | (_, Reached::Yes) => Reached::Yes,
            (Reached::Maybe, _) | (_, Reached::Maybe) => Reached::Maybe,
            _ => Reached::No,
        };
    }
}

/// The host of the base URL, read from the origin `BaseUrl` already holds (no URL is
/// built or parsed on the call path).
fn base_host(base: &BaseUrl) -> String {
    let origin = base.origin();
    let authority = origin.split_once("://").map_or(origin, |(_, a)| a);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match authority.find(']') {
        Some(end) if authority.starts_with('[') => &authority[..=end],
        _ => authority.split(':').next().unwrap_or(authority),
    };
    host.to_owned()
}

#[cfg(test)]
#[test]
fn base_host_matches_the_uri_host() {
    for url in [
        "http://127.0.0.1:8080/api/v1",
        "https://api.sova-intel.com/api/v1",
        "http://[::1]:9000/api/v1",
    ] {
        let base = BaseUrl::parse(url).unwrap();
        let via_uri = base
            .as_str()
            .parse::<sova_protocol::http::Uri>()
            .unwrap()
            .host()
            .unwrap()
            .to_owned();
        assert_eq!(base_host(&base), via_uri, "{url}");
    }
}

/// A state machine run inside a [`Call`].
pub trait Machine: Send {
    /// What it produces.
    type Value: Send;
    /// The first step.
    fn start(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Step<Result<Self::Value, Error>>;
    /// A response to the last `Send`.
    fn on_response(
        &mut self,
        cx: &mut Ctx<'_>,
        response: Response<Vec<u8>>,
        now: Instant,
    ) -> Step<Result<Self::Value, Error>>;
    /// A transport failure of the last `Send`.
    fn on_failure(
        &mut self,
        cx: &mut Ctx<'_>,
        failure: Failure,
        now: Instant,
    ) -> Step<Result<Self::Value, Error>>;
    /// The end of the last `Sleep`.
    fn on_wake(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Step<Result<Self::Value, Error>>;
    /// The ledger's replies to the last `Ledger` step (only machines that emit one get it).
    fn on_ledger(
        &mut self,
        cx: &mut Ctx<'_>,
        replies: Result<Vec<Reply>, LedgerError>,
        now: Instant,
    ) -> Step<Result<Self::Value, Error>> {
        let _ = (cx, replies, now);
        Step::Done(Err(Error::internal(
            "a ledger answer arrived when none was expected",
        )))
    }
}
