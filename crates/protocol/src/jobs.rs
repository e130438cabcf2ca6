//! Pure job follow-up decisions for Sova Intel's two async patterns.
//!
//! * [`FollowUp::PrepaidRecall`] — pattern A (GET fallback): poll `/jobs/{id}` until
//!   completed, then call the same GET again with `X-Prepaid-Job-Id`. One charge in total.
//! * [`FollowUp::FetchResult`] — pattern B (POST jobs): poll, then fetch
//!   `/jobs/result/by-key` within the 15-minute TTL.
//! * [`FollowUp::PollResultKey`] — the deep bundle's similarity half: poll the result key
//!   until it stops answering 404.
//!
//! [`Poller`] decides, from each status read and the elapsed time the caller measures, whether
//! to poll again, proceed, or give up with a resumable [`JobHandle`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::x402::b64;

/// The result TTL of Sova Intel async jobs.
pub const RESULT_TTL: Duration = Duration::from_secs(15 * 60);

/// The documented poll interval.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// The documented polling budget (60 × 5 s).
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(300);

/// A job state reduced to what matters for the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobState {
    /// `waiting`, `active`, `delayed`, `paused`, or a status this SDK does not know.
    Pending,
    /// `completed`.
    Completed,
    /// `failed`, with the server's reason when it gave one.
    Failed(Option<String>),
}

impl JobState {
    /// Maps a `/jobs/{id}` status string. Unknown statuses count as pending: the job is
    /// neither done nor failed as far as the client can tell.
    pub fn from_status(status: &str) -> JobState {
        match status.to_ascii_lowercase().as_str() {
            "completed" | "complete" | "succeeded" | "done" => JobState::Completed,
            "failed" | "error" => JobState::Failed(None),
            _ => JobState::Pending,
        }
    }
}

/// What to do after a job status read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PollDecision {
    /// Read the status again after this delay.
    PollAgain(Duration),
    /// The job completed: run the follow-up.
    Proceed,
    /// The job failed.
    Failed(Option<String>),
    /// The wait budget is spent; return the handle so the caller can resume later.
    GiveUp,
}

/// Poll settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollConfig {
    /// Delay between status reads. Default 5 s.
    pub interval: Duration,
    /// Longest total wait. Default 300 s.
    pub max_wait: Duration,
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            interval: DEFAULT_POLL_INTERVAL,
            max_wait: DEFAULT_MAX_WAIT,
        }
    }
}

/// The poll decision, as a pure function of the state and the time waited so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Poller {
    /// Settings.
    pub config: PollConfig,
}

impl Poller {
    /// A poller with `config`.
    pub fn new(config: PollConfig) -> Self {
        Poller { config }
    }

    /// Decides after a status read that found `state`, `waited` after the job was queued.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sova_protocol::jobs::*;
    /// let p = Poller::default();
    /// assert_eq!(p.on_status(&JobState::from_status("active"), Duration::ZERO), PollDecision::PollAgain(Duration::from_secs(5)));
    /// assert_eq!(p.on_status(&JobState::from_status("completed"), Duration::ZERO), PollDecision::Proceed);
    /// ```
    pub fn on_status(&self, state: &JobState, waited: Duration) -> PollDecision {
        match state {
            JobState::Completed => PollDecision::Proceed,
            JobState::Failed(r) => PollDecision::Failed(r.clone()),
            JobState::Pending => self.again(waited),
        }
    }

    /// Decides after a result read answered 404 (not ready yet, or expired), `waited` after
    /// the job was queued. Past the TTL, a 404 means the result expired.
    pub fn on_result_missing(&self, waited: Duration) -> ResultDecision {
        if waited >= RESULT_TTL {
            return ResultDecision::Expired;
        }
        match self.again(waited) {
            PollDecision::PollAgain(d) => ResultDecision::PollAgain(d),
            _ => ResultDecision::GiveUp,
        }
    }

    fn again(&self, waited: Duration) -> PollDecision {
        if waited >= self.config.max_wait {
            return PollDecision::GiveUp;
        }
        let left = self.config.max_wait - waited;
        PollDecision::PollAgain(self.config.interval.min(left))
    }
}

/// What to do after a result read answered 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResultDecision {
    /// Not ready yet: read again after this delay.
    PollAgain(Duration),
    /// The 15-minute TTL has passed: the result is gone.
    Expired,
    /// The wait budget is spent.
    GiveUp,
}

/// How a job's result is obtained once it completes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FollowUp {
    /// Pattern A: call the same GET again with `X-Prepaid-Job-Id`.
    PrepaidRecall {
        /// `wallet_profile` or `wallet_hud`.
        endpoint: String,
        /// The wallet address.
        address: String,
        /// The id for `X-Prepaid-Job-Id`.
        prepaid_job_id: String,
    },
    /// Pattern B: `GET /jobs/result/by-key?key=…`.
    FetchResult {
        /// The result key.
        result_key: String,
    },
    /// Deep bundle, similarity half: poll the result key until it stops answering 404.
    PollResultKey {
        /// The result key.
        result_key: String,
    },
}

/// What is known about whether a payment was charged. The SDK's errors, the job handles and
/// the CLI and MCP outputs all use this one type (serialized as `not_charged`,
/// `may_have_charged`, `charged`). These three states are the whole domain, so the enum is
/// exhaustive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Not charged, and it never will be: the signed transaction never left this process,
    /// or our own RPC proved it can never land (its blockhash expired, read before a lookup
    /// that found nothing). Its budget was released.
    NotCharged,
    /// It may have been charged: the server had it and nothing proves it cannot land. The
    /// budget keeps it; reconcile with the signature before paying again.
    MayHaveCharged,
    /// Charged: the server answered with the paid resource or a settlement, or the chain
    /// shows the transaction.
    Charged,
}

impl PaymentState {
    /// `not_charged`, `may_have_charged` or `charged`.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::NotCharged => "not_charged",
            PaymentState::MayHaveCharged => "may_have_charged",
            PaymentState::Charged => "charged",
        }
    }

    /// Whether the payment is not proven uncharged (charged, or may have been).
    pub fn may_have_charged(self) -> bool {
        self != PaymentState::NotCharged
    }
}

/// The payment that rode on a job's request, carried by its [`JobHandle`] so a resume never
/// pays twice for one logical request: it reuses this payment (`header`) or refuses to pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HandlePayment {
    /// Whether it was charged when the handle was made.
    pub state: PaymentState,
    /// The payer's transaction signature (base58).
    pub signature: String,
    /// Base units paid.
    pub amount: u64,
    /// The mint.
    pub asset: String,
    /// The recipient wallet.
    #[serde(default)]
    pub pay_to: String,
    /// CAIP-2 network.
    #[serde(default)]
    pub network: String,
    /// The settled transaction id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
    /// The payment header (`PAYMENT-SIGNATURE` or `X-PAYMENT`) that carried it, to send the
    /// same signed payment again on the resumed request (the same transaction can land at
    /// most once), when it is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_name: Option<String>,
    /// The header's value (the signed payment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_value: Option<String>,
}

impl HandlePayment {
    /// A payment reference for a handle (no header).
    pub fn new(
        state: PaymentState,
        signature: impl Into<String>,
        amount: u64,
        asset: impl Into<String>,
    ) -> Self {
        HandlePayment {
            state,
            signature: signature.into(),
            amount,
            asset: asset.into(),
            pay_to: String::new(),
            network: String::new(),
            transaction: None,
            header_name: None,
            header_value: None,
        }
    }
}

/// A resumable handle on a queued job: what to poll and how to get the result. It encodes to
/// a compact, URL-safe string for command lines and storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobHandle {
    /// The job to poll (`/jobs/{job_id}`); absent when only a result key is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// What to do once it completes.
    pub follow_up: FollowUp,
    /// Extra result keys to fetch (the deep bundle's holder result, full-shape keys).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
    /// When it was queued, as Unix seconds, if the caller recorded it (for the TTL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_at_unix: Option<u64>,
    /// The payment that rode on the job's request, when one did (x402). A resume reuses it
    /// or refuses to pay; it never signs a second payment for the same logical request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<HandlePayment>,
    /// The origin (`scheme://host:port`) of the server that accepted the job, when the
    /// client recorded it: the job exists only there, so a resume against another server
    /// (or an embedded sandbox that is gone) is refused before anything is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// A handle string that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a job handle: {0}")]
pub struct HandleError(String);

impl JobHandle {
    /// Encodes as `job1.<base64url JSON>`.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let b = b64::encode(&json)
            .trim_end_matches('=')
            .replace('+', "-")
            .replace('/', "_");
        format!("job1.{b}")
    }

    /// The same handle, recorded as queued at `unix` (seconds), unless it already has a
    /// time.
    pub fn queued_at(mut self, unix: Option<u64>) -> JobHandle {
        if self.queued_at_unix.is_none() {
            self.queued_at_unix = unix;
        }
        self
    }

    /// The same handle, recorded as accepted by the server at `origin`, unless it already
    /// names one.
    pub fn from_origin(mut self, origin: &str) -> JobHandle {
        if self.origin.is_none() {
            self.origin = Some(origin.to_owned());
        }
        self
    }

    /// How long ago the job was queued, at `now_unix`; `None` when the time is unknown.
    pub fn age(&self, now_unix: u64) -> Option<Duration> {
        self.queued_at_unix
            .map(|at| Duration::from_secs(now_unix.saturating_sub(at)))
    }

    /// Whether the result can no longer be there at `now_unix`: more than the 15-minute TTL
    /// has passed since the job was queued. Results expire 15 minutes after the job
    /// *completes*, which is later than its queueing, so a `false` here proves nothing; a
    /// `true` is read together with a `404`.
    pub fn past_ttl(&self, now_unix: u64) -> bool {
        self.age(now_unix).is_some_and(|a| a >= RESULT_TTL)
    }

    /// Decodes a handle made by [`JobHandle::encode`].
    pub fn decode(s: &str) -> Result<JobHandle, HandleError> {
        let body = s
            .trim()
            .strip_prefix("job1.")
            .ok_or_else(|| HandleError("it does not start with job1.".into()))?;
        let bytes = b64::decode(body).map_err(|e| HandleError(e.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|e| HandleError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_statuses() {
        assert_eq!(JobState::from_status("waiting"), JobState::Pending);
        assert_eq!(JobState::from_status("delayed"), JobState::Pending);
        assert_eq!(JobState::from_status("paused"), JobState::Pending);
        assert_eq!(JobState::from_status("brand_new"), JobState::Pending);
        assert_eq!(JobState::from_status("COMPLETED"), JobState::Completed);
        assert_eq!(JobState::from_status("failed"), JobState::Failed(None));
    }

    #[test]
    fn polls_until_the_budget_then_gives_up() {
        let p = Poller::new(PollConfig {
            interval: Duration::from_secs(5),
            max_wait: Duration::from_secs(12),
        });
        let pending = JobState::Pending;
        assert_eq!(
            p.on_status(&pending, Duration::ZERO),
            PollDecision::PollAgain(Duration::from_secs(5))
        );
        assert_eq!(
            p.on_status(&pending, Duration::from_secs(10)),
            PollDecision::PollAgain(Duration::from_secs(2))
        );
        assert_eq!(
            p.on_status(&pending, Duration::from_secs(12)),
            PollDecision::GiveUp
        );
        assert_eq!(
            p.on_status(&JobState::Failed(Some("boom".into())), Duration::ZERO),
            PollDecision::Failed(Some("boom".into()))
        );
    }

    #[test]
    fn result_404_after_ttl_is_expiry() {
        let p = Poller::new(PollConfig {
            interval: Duration::from_secs(5),
            max_wait: Duration::from_secs(3600),
        });
        assert_eq!(
            p.on_result_missing(Duration::from_secs(60)),
            ResultDecision::PollAgain(Duration::from_secs(5))
        );
        assert_eq!(p.on_result_missing(RESULT_TTL), ResultDecision::Expired);
        let short = Poller::new(PollConfig {
            interval: Duration::from_secs(5),
            max_wait: Duration::from_secs(30),
        });
        assert_eq!(
            short.on_result_missing(Duration::from_secs(30)),
            ResultDecision::GiveUp
        );
    }

    #[test]
    fn handles_round_trip() {
        let h = JobHandle {
            job_id: Some("intel-holders-abc123".into()),
            follow_up: FollowUp::FetchResult {
                result_key: "holder-profiles:result:intel-holders-abc123".into(),
            },
            also: vec![],
            queued_at_unix: Some(1_700_000_000),
            origin: None,
            payment: None,
        };
        let s = h.encode();
        assert!(s.starts_with("job1.") && !s.contains('=') && !s.contains('+') && !s.contains('/'));
        assert_eq!(JobHandle::decode(&s).unwrap(), h);
        assert!(JobHandle::decode("job2.xxx").is_err());
        assert!(JobHandle::decode("job1.!!!").is_err());
        assert!(JobHandle::decode("job1.e30").is_err());
        // A handle with its payment round-trips, state included.
        let mut p = HandlePayment::new(PaymentState::Charged, "sig", 15_000, "mint");
        p.header_name = Some("PAYMENT-SIGNATURE".into());
        p.header_value = Some("eyJ4".into());
        let h = JobHandle {
            payment: Some(p),
            ..h
        };
        let back = JobHandle::decode(&h.encode()).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.payment.map(|p| p.state.as_str()), Some("charged"));
    }

    #[test]
    fn the_queue_time_gives_the_age() {
        let h = JobHandle {
            job_id: Some("j".into()),
            follow_up: FollowUp::FetchResult {
                result_key: "k".into(),
            },
            also: vec![],
            queued_at_unix: None,
            origin: None,
            payment: None,
        };
        assert_eq!(h.age(2_000), None);
        assert!(!h.past_ttl(u64::MAX));
        let h = h.queued_at(Some(1_000));
        // A time already recorded is kept.
        assert_eq!(h.clone().queued_at(Some(5)).queued_at_unix, Some(1_000));
        assert_eq!(h.age(1_060), Some(Duration::from_secs(60)));
        assert_eq!(h.age(10), Some(Duration::ZERO));
        assert!(!h.past_ttl(1_000 + 899));
        assert!(h.past_ttl(1_000 + 900));
    }
}
