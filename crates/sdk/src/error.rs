//! The SDK error: what went wrong, and whether the request may have reached the server.

use std::fmt;
use std::time::Duration;

use sova_protocol::http::StatusCode;
use sova_protocol::retry::TransportErrorKind;
use sova_protocol::{ApiError, BuildError, DecodeError, ResponseError};

/// Whether a failed request may have reached the server (and so had effects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reached {
    /// Nothing was sent: construction, configuration or the spend policy stopped it.
    No,
    /// It may have been sent (dispatch failed or timed out after the connection was made).
    Maybe,
    /// The server answered.
    Yes,
}

pub use sova_protocol::jobs::PaymentState;

pub use crate::payment::PaymentRef;

/// Errors of the Sova clients.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client or a request is misconfigured; nothing was sent.
    #[error("configuration error: {0}")]
    Config(String),
    /// The request could not be built; nothing was sent.
    #[error("could not build the request: {0}")]
    Build(#[source] BuildError),
    /// The transport failed.
    #[error("{}{}", transport_message(.kind, .message), payment_suffix(.payment.as_deref()))]
    Transport {
        /// How it failed.
        kind: TransportErrorKind,
        /// The transport's description.
        message: String,
        /// The payment attached to the request, if any.
        payment: Option<Box<PaymentRef>>,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
        /// Whether any attempt of the call may have reached the server (an earlier attempt
        /// may have timed out after sending, even when the last one could not connect).
        reached: Reached,
    },
    /// The whole call took longer than its budget.
    #[error("the call did not finish within {after:?}{}", payment_suffix(.payment.as_deref()))]
    CallTimeout {
        /// The budget that ran out.
        after: Duration,
        /// The payment attached, if any.
        payment: Option<Box<PaymentRef>>,
    },
    /// The server answered with an error status.
    #[error("{error}{}", payment_suffix(.payment.as_deref()))]
    Api {
        /// The server's error.
        error: Box<ApiError>,
        /// The payment attached, if any.
        payment: Option<Box<PaymentRef>>,
    },
    /// The server answered with success but the body could not be read.
    #[error("{error}{}", payment_suffix(.payment.as_deref()))]
    Decode {
        /// What could not be read.
        error: Box<DecodeError>,
        /// The payment attached, if any.
        payment: Option<Box<PaymentRef>>,
    },
    /// No payment option could be paid (the spend policy or the payer's rules refused each
    /// one, naming the rule and the figures); nothing was signed.
    #[error("payment refused by the spend policy: {}", RefusalText(.0))]
    PaymentRefused(Vec<sova_x402::Refusal>),
    /// The server asked for payment and this client cannot pay (no x402 signer, or no
    /// acceptable payment option).
    #[error("payment required: {0}")]
    PaymentRequired(Box<ApiError>),
    /// A payment was signed and sent, and the outcome is unknown: it **may have been
    /// charged**. The SDK does not pay again; reconcile with the reference.
    #[error(
        "a payment may have been charged but the call did not complete: {reason}; payment {payment}"
    )]
    PaymentUncertain {
        /// What happened.
        reason: String,
        /// The payment.
        payment: Box<PaymentRef>,
    },
    /// The server's payment options do not match this client: another network, scheme or
    /// x402 version, or an asset this payer does not pay with. Each refusal names what was
    /// offered and what this client expects. Nothing was signed; no budget or cap would help.
    #[error("the server asks for a payment this client does not make: {}", RefusalText(.0))]
    PaymentMismatch(Vec<sova_x402::Refusal>),
    /// The server broke the protocol: a malformed or hostile `PAYMENT-REQUIRED` challenge,
    /// or an answer that contradicts the x402 exchange. The server is at fault, not the
    /// client's configuration. A payment attached to the call is reported with its state.
    #[error("the server broke the payment protocol: {reason}{}", payment_suffix(.payment.as_deref()))]
    Protocol {
        /// What the server did wrong.
        reason: String,
        /// The HTTP status of the offending answer, when there was one.
        status: Option<StatusCode>,
        /// The payment attached, if any.
        payment: Option<Box<PaymentRef>>,
    },
    /// An internal invariant of the SDK failed (a bug). The request may have been sent; a
    /// payment attached to the call is reported with its state.
    #[error("internal error in the Sova SDK (please report it): {reason}{}", payment_suffix(.payment.as_deref()))]
    Internal {
        /// What went wrong.
        reason: String,
        /// The payment attached, if any.
        payment: Option<Box<PaymentRef>>,
    },
    /// Resuming a job would pay again for a request that was already paid (or may have
    /// been), or the handle cannot be resumed: nothing new was signed. `reason` says why;
    /// `payment` is the payment the handle carries.
    #[error("{reason}{}", payment_suffix(.payment.as_deref()))]
    ResumeRefused {
        /// Why the resume stopped.
        reason: String,
        /// The payment that rode on the job, if the handle records one.
        payment: Option<Box<PaymentRef>>,
    },
    /// Building or signing a payment failed; nothing was sent.
    #[error("could not build the payment: {0}")]
    Payment(#[source] sova_x402::Error),
    /// The Solana RPC needed to build a payment (blockhash, mint) failed; nothing was paid.
    #[error("could not reach the Solana RPC to build the payment: {0}")]
    Rpc(String),
    /// A job failed on the server (after the one documented retry, when it was made).
    #[error("the job {job_id} failed{}{}{}", .reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default(), payment_suffix(.payment.as_deref()), retry_suffix(.retry.as_deref()))]
    JobFailed {
        /// The job.
        job_id: String,
        /// The server's reason.
        reason: Option<String>,
        /// The payment of the call that queued it, if any: the **first** charged payment.
        payment: Option<Box<PaymentRef>>,
        /// How the one retry ended ("On failed: retry once, then report the error",
        /// reference §5.10), when one was made: for a POST job a new, charged job (its own
        /// payment on this error), for a wallet GET the same request again with the same
        /// payment. `None` when no retry was made.
        retry: Option<Box<Error>>,
    },
    /// Waiting for a job ran out of time; resume it later with the handle.
    #[error("the job is still running after {waited:?}; resume it with handle {handle}{}", payment_suffix(.payment.as_deref()))]
    JobPending {
        /// How long the client waited.
        waited: Duration,
        /// The encoded [`sova_protocol::jobs::JobHandle`].
        handle: String,
        /// The payment of the call that queued it, if any.
        payment: Option<Box<PaymentRef>>,
    },
    /// A stored result (`GET /jobs/result/by-key`) needs an API key, which this client does
    /// not have (or the server refused it with `401`/`402`). The endpoint requires
    /// authentication and an x402 payment is not documented as a way to pass it, so the SDK
    /// never sends it without a key and never pays for it: the job was already paid when it
    /// was queued. Read the result with a client that has an API key
    /// ([`crate::intel::ClientBuilder::api_key`] or
    /// [`crate::intel::ClientBuilder::results_api_key`]) by resuming `handle` within the
    /// 15-minute result TTL.
    #[error("{}", result_auth_message(.key, .job_id.as_deref(), .handle.as_deref(), .refused.as_deref(), .payment.as_deref()))]
    ResultAuthRequired {
        /// The result key.
        key: String,
        /// The job that produced it, when known.
        job_id: Option<String>,
        /// The encoded [`sova_protocol::jobs::JobHandle`] to resume with, when known.
        handle: Option<String>,
        /// The server's refusal (`401`/`402`), when it was asked; `None` when the SDK stopped
        /// before sending.
        refused: Option<Box<ApiError>>,
        /// The payment that queued the job in this call, if any (charged).
        payment: Option<Box<PaymentRef>>,
    },
    /// The server answered `206 Partial Content`: one of the jobs of a bundle (the deep
    /// analysis) failed. Sova documents it as "0cr charged, retry individually": queue the
    /// holder profiles and the similarity separately. The body is not documented and is kept
    /// whole. An x402 payment attached to the request is reported as the chain shows it: a
    /// settled one is charged whatever the server's word.
    #[error("{}{}", partial_message(.partial), payment_suffix(.payment.as_deref()))]
    PartialSuccess {
        /// The answer.
        partial: Box<sova_protocol::intel::PartialSuccess>,
        /// The payment attached, if any.
        payment: Option<Box<PaymentRef>>,
    },
    /// The wallet does not hold enough USDC for the payment the server asks: nothing was
    /// signed or sent.
    #[error("no USDC to pay with in {address}: it holds {} USDC, the price is {} USDC; nothing was signed", sova_protocol::units::format_units(*.held, 6), sova_protocol::units::format_units(*.needed, 6))]
    Unfunded {
        /// The wallet.
        address: String,
        /// USDC held, base units.
        held: u64,
        /// The price, base units.
        needed: u64,
    },
    /// The payment ledger could not be read or written (or refused a change of a payment's
    /// state, because another process resolved it). The action it guarded did not happen:
    /// a payment that was not yet journaled as sent was never sent.
    #[error("the payment ledger failed: {message}{}", payment_suffix(.payment.as_deref()))]
    Ledger {
        /// What failed.
        message: String,
        /// The payment attached, if any.
        payment: Option<Box<PaymentRef>>,
    },
    /// A job's result is gone (the 15-minute TTL passed).
    #[error("the result {key} expired (results are kept 15 minutes){}", payment_suffix(.payment.as_deref()))]
    ResultExpired {
        /// The result key.
        key: String,
        /// The payment of the call that queued it, if any.
        payment: Option<Box<PaymentRef>>,
    },
}

fn transport_message(kind: &TransportErrorKind, message: &str) -> String {
    let what = match kind {
        TransportErrorKind::Connect => "could not connect",
        TransportErrorKind::Timeout => "the request timed out",
        TransportErrorKind::Io => "the connection failed",
        TransportErrorKind::Other => "the HTTP exchange failed",
        _ => "the HTTP exchange failed",
    };
    if message.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {message}")
    }
}

fn result_auth_message(
    key: &str,
    job_id: Option<&str>,
    handle: Option<&str>,
    refused: Option<&ApiError>,
    payment: Option<&PaymentRef>,
) -> String {
    let what = if key.is_empty() {
        "the stored result".to_owned()
    } else {
        format!("the result {key}")
    };
    let job = job_id.map(|j| format!(" of job {j}")).unwrap_or_default();
    let why = match refused {
        Some(e) => format!(
            "the server refused to hand over {what}{job} ({}: {e})",
            e.status.as_u16()
        ),
        None => format!(
            "{what}{job} can only be read with an API key (GET /jobs/result/by-key requires authentication) and this client has none; nothing was sent"
        ),
    };
    let paid = match payment {
        Some(p) => format!("; the job was already paid ({p}) and is not paid again"),
        None => "; the job was paid when it was queued and is not paid again".to_owned(),
    };
    let next = match handle {
        Some(h) => format!(
            "; resume handle {h} with a client that has an API key within 15 minutes of the job completing"
        ),
        None => {
            "; read it with a client that has an API key within 15 minutes of the job completing"
                .to_owned()
        }
    };
    format!("{why}{paid}{next}")
}

fn partial_message(p: &sova_protocol::intel::PartialSuccess) -> String {
    let said = p
        .message
        .as_deref()
        .map(|m| format!(" ({m})"))
        .unwrap_or_default();
    format!(
        "partial success (206): one of the bundled jobs failed{said}; Sova charges 0 credits for it; queue the parts individually"
    )
}

struct RefusalText<'a>(&'a [sova_x402::Refusal]);

impl fmt::Display for RefusalText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => f.write_str("the 402 offers no payment options"),
            [one] => write!(f, "{}", one.reason),
            many => {
                for (i, r) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{r}")?;
                }
                Ok(())
            }
        }
    }
}

fn retry_suffix(e: Option<&Error>) -> String {
    match e {
        Some(e) => format!("; retried once, and the retry failed too: {e}"),
        None => String::new(),
    }
}

fn payment_suffix(p: Option<&PaymentRef>) -> String {
    match p {
        Some(p) => format!(" (a payment was attached: {p})"),
        None => String::new(),
    }
}

impl Error {
    /// Whether the request may have reached the server.
    pub fn reached(&self) -> Reached {
        match self {
            Error::Config(_)
            | Error::Build(_)
            | Error::PaymentRefused(_)
            | Error::PaymentMismatch(_)
            | Error::Payment(_)
            | Error::Rpc(_) => Reached::No,
            Error::Internal { .. } => Reached::Maybe,
            Error::Protocol { .. } => Reached::Yes,
            Error::ResumeRefused { payment, .. } => {
                if payment.is_some() {
                    Reached::Yes
                } else {
                    Reached::No
                }
            }
            Error::Transport { reached, .. } => *reached,
            Error::Ledger { .. } => Reached::Maybe,
            Error::Unfunded { .. } => Reached::No,
            Error::CallTimeout { .. } | Error::PaymentUncertain { .. } => Reached::Maybe,
            Error::Api { .. }
            | Error::Decode { .. }
            | Error::PaymentRequired(_)
            | Error::JobFailed { .. }
            | Error::JobPending { .. }
            | Error::PartialSuccess { .. }
            | Error::ResultExpired { .. } => Reached::Yes,
            Error::ResultAuthRequired { refused, .. } => {
                if refused.is_some() {
                    Reached::Yes
                } else {
                    Reached::No
                }
            }
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { error, .. } | Error::PaymentRequired(error) => Some(error.status),
            Error::Decode { error, .. } => Some(error.status),
            Error::ResultAuthRequired {
                refused: Some(e), ..
            } => Some(e.status),
            Error::PartialSuccess { .. } => Some(StatusCode::PARTIAL_CONTENT),
            _ => None,
        }
    }

    /// The API error, when the server answered with an error status.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api { error, .. } | Error::PaymentRequired(error) => Some(error),
            _ => None,
        }
    }

    /// The payment involved, if one was signed for this call.
    pub fn payment(&self) -> Option<&PaymentRef> {
        match self {
            Error::Transport { payment, .. }
            | Error::CallTimeout { payment, .. }
            | Error::Api { payment, .. }
            | Error::Decode { payment, .. }
            | Error::JobFailed { payment, .. }
            | Error::JobPending { payment, .. }
            | Error::ResultAuthRequired { payment, .. }
            | Error::PartialSuccess { payment, .. }
            | Error::Ledger { payment, .. }
            | Error::ResultExpired { payment, .. }
            | Error::Protocol { payment, .. }
            | Error::Internal { payment, .. }
            | Error::ResumeRefused { payment, .. } => payment.as_deref(),
            Error::PaymentUncertain { payment, .. } => Some(payment),
            _ => None,
        }
    }

    /// Every payment this error reports, the call's first: its own, then (for a failed job
    /// that was queued again) the retry's.
    pub fn payments(&self) -> Vec<&PaymentRef> {
        let mut out: Vec<&PaymentRef> = self.payment().into_iter().collect();
        if let Error::JobFailed { retry: Some(r), .. } = self {
            out.extend(r.payments());
        }
        out
    }

    /// The payment state of the call, for every variant: [`PaymentState::Charged`] when a
    /// payment of the call was charged, else [`PaymentState::MayHaveCharged`] when one is not
    /// proven uncharged (always for [`Error::PaymentUncertain`]), else
    /// [`PaymentState::NotCharged`] (no payment, or every payment proven uncharged). It
    /// agrees with [`Error::payment`] and [`Error::may_have_charged`]:
    /// `may_have_charged() == (payment_state() != NotCharged)`. When two payments differ
    /// (a failed job queued again), [`Error::payments`] lists each.
    pub fn payment_state(&self) -> PaymentState {
        let mut state = PaymentState::NotCharged;
        for p in self.payments() {
            state = match (state, p.state) {
                (PaymentState::Charged, _) | (_, PaymentState::Charged) => PaymentState::Charged,
                (PaymentState::MayHaveCharged, _) | (_, PaymentState::MayHaveCharged) => {
                    PaymentState::MayHaveCharged
                }
                _ => PaymentState::NotCharged,
            };
        }
        if state == PaymentState::NotCharged && matches!(self, Error::PaymentUncertain { .. }) {
            state = PaymentState::MayHaveCharged;
        }
        state
    }

    /// An internal invariant failed (see [`Error::Internal`]).
    pub(crate) fn internal(reason: impl Into<String>) -> Error {
        Error::Internal {
            reason: reason.into(),
            payment: None,
        }
    }

    /// The server broke the protocol (see [`Error::Protocol`]).
    pub(crate) fn protocol(reason: impl Into<String>, status: Option<StatusCode>) -> Error {
        Error::Protocol {
            reason: reason.into(),
            status,
            payment: None,
        }
    }

    /// The refusals of a payment that could not be made: a budget or cap problem
    /// ([`Error::PaymentRefused`]) when any refusal is the spend policy's, else a mismatch
    /// between the server's offer and this client ([`Error::PaymentMismatch`]), or the
    /// server's malformed challenge ([`Error::Protocol`]).
    pub(crate) fn from_refusals(list: Vec<sova_x402::Refusal>) -> Error {
        use sova_x402::RefusalReason as R;
        if list.is_empty() || list.iter().any(|r| matches!(r.reason, R::Policy(_))) {
            return Error::PaymentRefused(list);
        }
        let malformed = list.iter().all(|r| {
            matches!(
                r.reason,
                R::BadAddress { .. } | R::BadExtra { .. } | R::MemoTooLong(_)
            )
        });
        if malformed {
            return Error::protocol(
                format!("its payment challenge is malformed: {}", RefusalText(&list)),
                Some(StatusCode::PAYMENT_REQUIRED),
            );
        }
        Error::PaymentMismatch(list)
    }

    /// Whether a payment of this call may have been charged although the call failed:
    /// always for [`Error::PaymentUncertain`], and for any error whose payment is not
    /// proven uncharged (e.g. a paid answer that could not be parsed, or a paid job that
    /// failed). Do not pay again for the same thing before reconciling.
    pub fn may_have_charged(&self) -> bool {
        self.payment_state() != PaymentState::NotCharged
    }

    /// Attaches the call's payment to an error that has none yet. An error that cannot
    /// carry one becomes [`Error::PaymentUncertain`] when the payment may have been charged.
    pub(crate) fn with_payment(self, p: PaymentRef) -> Error {
        let slot = |payment: Option<Box<PaymentRef>>| payment.or_else(|| Some(Box::new(p.clone())));
        match self {
            Error::Transport {
                kind,
                message,
                payment,
                source,
                reached,
            } => Error::Transport {
                kind,
                message,
                payment: slot(payment),
                source,
                reached,
            },
            Error::CallTimeout { after, payment } => Error::CallTimeout {
                after,
                payment: slot(payment),
            },
            Error::Api { error, payment } => Error::Api {
                error,
                payment: slot(payment),
            },
            Error::Decode { error, payment } => Error::Decode {
                error,
                payment: slot(payment),
            },
            Error::JobFailed {
                job_id,
                reason,
                payment,
                retry,
            } => Error::JobFailed {
                job_id,
                reason,
                payment: slot(payment),
                retry,
            },
            Error::JobPending {
                waited,
                handle,
                payment,
            } => {
                let payment = slot(payment);
                Error::JobPending {
                    waited,
                    handle: stamp_handle(handle, payment.as_deref()),
                    payment,
                }
            }
            Error::ResultExpired { key, payment } => Error::ResultExpired {
                key,
                payment: slot(payment),
            },
            Error::Ledger { message, payment } => Error::Ledger {
                message,
                payment: slot(payment),
            },
            Error::ResultAuthRequired {
                key,
                job_id,
                handle,
                refused,
                payment,
            } => Error::ResultAuthRequired {
                key,
                job_id,
                handle,
                refused,
                payment: slot(payment),
            },
            Error::PartialSuccess { partial, payment } => Error::PartialSuccess {
                partial,
                payment: slot(payment),
            },
            Error::Protocol {
                reason,
                status,
                payment,
            } => Error::Protocol {
                reason,
                status,
                payment: slot(payment),
            },
            Error::Internal { reason, payment } => Error::Internal {
                reason,
                payment: slot(payment),
            },
            Error::ResumeRefused { reason, payment } => Error::ResumeRefused {
                reason,
                payment: slot(payment),
            },
            e @ Error::PaymentUncertain { .. } => e,
            other if p.state != PaymentState::NotCharged => Error::PaymentUncertain {
                reason: other.to_string(),
                payment: Box::new(p),
            },
            other => other,
        }
    }

    pub(crate) fn from_response(e: ResponseError, payment: Option<Box<PaymentRef>>) -> Error {
        match e {
            ResponseError::Api(error) => Error::Api { error, payment },
            ResponseError::Decode(error) => Error::Decode { error, payment },
            other => Error::protocol(other.to_string(), None).with_boxed(payment),
        }
    }

    fn with_boxed(self, payment: Option<Box<PaymentRef>>) -> Error {
        match payment {
            Some(p) => self.with_payment(*p),
            None => self,
        }
    }
}

/// The encoded handle with the payment that rode on its job (unless it already has one).
pub(crate) fn stamp_handle(handle: String, payment: Option<&PaymentRef>) -> String {
    let Some(p) = payment else { return handle };
    match sova_protocol::jobs::JobHandle::decode(&handle) {
        Ok(mut h) if h.payment.is_none() => {
            h.payment = Some(p.to_handle_payment());
            h.encode()
        }
        _ => handle,
    }
}

impl From<BuildError> for Error {
    fn from(e: BuildError) -> Self {
        Error::Build(e)
    }
}
