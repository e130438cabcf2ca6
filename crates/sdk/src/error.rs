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

/// What is known about whether a payment was charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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

/// A reference to a payment the SDK signed, for reconciliation and support.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PaymentRef {
    /// The payer's transaction signature (base58): in self-paid mode the transaction id; in
    /// sponsored mode the client's signature (slot 1), the fee payer's comes from the server.
    pub signature: String,
    /// The memo nonce carried by the transaction, when there is one.
    pub memo: Option<String>,
    /// Atomic units paid.
    pub amount: u64,
    /// The mint.
    pub asset: String,
    /// The recipient wallet.
    pub pay_to: String,
    /// Whether it was charged.
    pub state: PaymentState,
    /// Its id in the payment ledger (`pay_…`), to reconcile or look it up
    /// (`sova payments show`).
    pub ledger_id: Option<String>,
    /// The blockhash it was signed over (base58): it can land only until our RPC's block
    /// height passes `last_valid_block_height`.
    pub blockhash: Option<String>,
    /// The last block height at which it can land, as our RPC reported it.
    pub last_valid_block_height: Option<u64>,
    /// The slot at which our RPC reported the blockhash.
    pub blockhash_slot: Option<u64>,
    /// The payer's token account (the transfer's source).
    pub source: Option<String>,
}

impl PaymentRef {
    /// The reference of a settled payment (state [`PaymentState::Charged`]).
    pub(crate) fn charged(r: &crate::call::Receipt) -> PaymentRef {
        PaymentRef {
            signature: r.payer_signature.clone(),
            memo: r.memo.clone(),
            amount: r.amount,
            asset: r.asset.clone(),
            pay_to: r.pay_to.clone(),
            state: PaymentState::Charged,
            ledger_id: r.ledger_id.clone(),
            blockhash: None,
            last_valid_block_height: None,
            blockhash_slot: None,
            source: None,
        }
    }

    /// The same reference, with its ledger id.
    pub(crate) fn in_ledger(mut self, id: &str) -> PaymentRef {
        self.ledger_id = Some(id.to_owned());
        self
    }

    pub(crate) fn of(r: &sova_x402::PaymentRecord, state: PaymentState) -> PaymentRef {
        PaymentRef {
            signature: r.payer_signature.clone(),
            memo: r.memo.clone(),
            amount: r.amount,
            asset: r.asset.clone(),
            pay_to: r.pay_to.clone(),
            state,
            ledger_id: None,
            blockhash: Some(r.blockhash.clone()),
            last_valid_block_height: r.last_valid_block_height,
            blockhash_slot: r.blockhash_slot,
            source: Some(r.source.clone()),
        }
    }
}

impl fmt::Display for PaymentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} base units of {} to {} (signature {}",
            self.amount, self.asset, self.pay_to, self.signature
        )?;
        if let Some(m) = &self.memo {
            write!(f, ", memo {m}")?;
        }
        f.write_str(match self.state {
            PaymentState::NotCharged => "; not charged)",
            PaymentState::MayHaveCharged => "; may have been charged)",
            PaymentState::Charged => "; charged)",
        })
    }
}

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
    /// An invariant of the SDK broke (a bug): the call stopped. Whether a request was sent
    /// is not known here; a payment attached to the call is reported on its own.
    #[error("internal error in the SDK (please report it): {0}")]
    Internal(String),
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
            | Error::Payment(_)
            | Error::Rpc(_) => Reached::No,
            Error::Transport { reached, .. } => *reached,
            Error::Ledger { .. } | Error::Internal(_) => Reached::Maybe,
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
            | Error::ResultExpired { payment, .. } => payment.as_deref(),
            Error::PaymentUncertain { payment, .. } => Some(payment),
            _ => None,
        }
    }

    /// Whether a payment of this call may have been charged although the call failed:
    /// always for [`Error::PaymentUncertain`], and for any error whose payment is not
    /// proven uncharged (e.g. a paid answer that could not be parsed, or a paid job that
    /// failed). Do not pay again for the same thing before reconciling.
    pub fn may_have_charged(&self) -> bool {
        match self {
            Error::PaymentUncertain { .. } => true,
            Error::JobFailed { retry: Some(r), .. } if r.may_have_charged() => true,
            _ => self
                .payment()
                .is_some_and(|p| p.state != PaymentState::NotCharged),
        }
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
            } => Error::JobPending {
                waited,
                handle,
                payment: slot(payment),
            },
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
            other => Error::Config(other.to_string()),
        }
    }
}

impl From<BuildError> for Error {
    fn from(e: BuildError) -> Self {
        Error::Build(e)
    }
}
