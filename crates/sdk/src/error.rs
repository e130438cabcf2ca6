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

/// A reference to a payment the SDK signed, for reconciliation and support.
#[derive(Debug, Clone, PartialEq, Eq)]
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
        f.write_str(")")
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
    #[error("payment refused: {}", RefusalText(.0))]
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
    /// A job failed on the server.
    #[error("the job {job_id} failed{}", .reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    JobFailed {
        /// The job.
        job_id: String,
        /// The server's reason.
        reason: Option<String>,
    },
    /// Waiting for a job ran out of time; resume it later with the handle.
    #[error("the job is still running after {waited:?}; resume it with handle {handle}")]
    JobPending {
        /// How long the client waited.
        waited: Duration,
        /// The encoded [`sova_protocol::jobs::JobHandle`].
        handle: String,
    },
    /// A job's result is gone (the 15-minute TTL passed).
    #[error("the result {key} expired (results are kept 15 minutes)")]
    ResultExpired {
        /// The result key.
        key: String,
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
            Error::Transport { kind, .. } => {
                if kind.may_have_been_sent() {
                    Reached::Maybe
                } else {
                    Reached::No
                }
            }
            Error::CallTimeout { .. } | Error::PaymentUncertain { .. } => Reached::Maybe,
            Error::Api { .. }
            | Error::Decode { .. }
            | Error::PaymentRequired(_)
            | Error::JobFailed { .. }
            | Error::JobPending { .. }
            | Error::ResultExpired { .. } => Reached::Yes,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { error, .. } | Error::PaymentRequired(error) => Some(error.status),
            Error::Decode { error, .. } => Some(error.status),
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
            | Error::Decode { payment, .. } => payment.as_deref(),
            Error::PaymentUncertain { payment, .. } => Some(payment),
            _ => None,
        }
    }

    /// Whether a payment may have been charged without the call completing.
    pub fn may_have_charged(&self) -> bool {
        matches!(self, Error::PaymentUncertain { .. })
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
