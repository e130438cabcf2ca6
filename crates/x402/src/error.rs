//! The crate's error type.

use std::fmt;

use crate::nonce::NonceError;
use crate::policy::PolicyRefusal;
use crate::tx::BuildError;
use crate::verify::Report;

/// Why one payment option (`accepts[index]`) was not paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Position of the option in `accepts`.
    pub index: usize,
    /// The reason.
    pub reason: RefusalReason,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "option {}: {}", self.index, self.reason)
    }
}

/// The rule a payment option broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefusalReason {
    /// Neither x402 v1 nor v2.
    #[error("x402 version {0} requirements are not supported (this SDK pays x402 v1 and v2)")]
    Version(u64),
    /// Not the `exact` scheme.
    #[error("scheme {0:?} is not supported (only \"exact\")")]
    Scheme(String),
    /// Another network.
    #[error("network {network} is not the configured network {configured}")]
    Network {
        /// The requirement's network.
        network: String,
        /// The payer's network.
        configured: String,
    },
    /// The asset is not allowed.
    #[error("asset {0} is not in the asset allowlist")]
    AssetNotAllowed(String),
    /// A field that must hold a Solana address does not.
    #[error("{field} {value:?} is not a Solana address")]
    BadAddress {
        /// The field (`asset`, `payTo`, `extra.feePayer`).
        field: &'static str,
        /// Its value (truncated).
        value: String,
    },
    /// An `extra` member is malformed.
    #[error("extra.{key} is malformed: {problem}")]
    BadExtra {
        /// The key.
        key: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// The server's fee payer is this wallet.
    #[error(
        "extra.feePayer {0} is this wallet; a sponsored payment needs the facilitator's fee payer"
    )]
    FeePayerIsPayer(String),
    /// Self-paid payments are not enabled here.
    #[error(
        "the option has no extra.feePayer, so this wallet would pay the network fee, and self-paid payments are not enabled for {host}"
    )]
    SelfPaidNotAllowed {
        /// The host (or "this payer" when none was given).
        host: String,
    },
    /// The seller memo is too long.
    #[error("extra.memo is {0} bytes; x402 allows at most 256")]
    MemoTooLong(usize),
    /// The minimal layout cannot carry the seller's memo.
    #[error(
        "extra.memo asks for a Memo instruction, which the minimal self-paid layout does not carry"
    )]
    MemoWithMinimalLayout,
    /// The spend policy refused.
    #[error(transparent)]
    Policy(#[from] PolicyRefusal),
}

/// Everything that can go wrong while preparing a payment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No payment option could be paid; each refusal names its rule and figures.
    #[error("{}", RefusalList(.0))]
    Refused(Vec<Refusal>),
    /// The transaction could not be built or signed.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// No nonce could be drawn.
    #[error(transparent)]
    Nonce(#[from] NonceError),
    /// The payment failed its own pre-flight verification; nothing was sent and the
    /// budget was released.
    #[error("the payment failed pre-flight verification, so it was not sent: {0}")]
    Preflight(Box<Report>),
    /// The payment would be byte-identical to an earlier one (same blockhash, amount,
    /// recipient and no nonce); a server would reject it as a replay.
    #[error(
        "this payment would be identical to an earlier one signed over blockhash {blockhash}; fetch a newer blockhash and try again"
    )]
    Duplicate {
        /// The blockhash both would share.
        blockhash: String,
    },
    /// The payer is misconfigured.
    #[error("the payer is misconfigured: {0}")]
    Config(String),
}

struct RefusalList<'a>(&'a [Refusal]);

impl fmt::Display for RefusalList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => f.write_str("the 402 offers no payment options"),
            [one] => write!(f, "the payment cannot be made: {}", one.reason),
            many => {
                write!(
                    f,
                    "none of the {} payment options can be paid: ",
                    many.len()
                )?;
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

impl Error {
    /// The refusals, when the error is [`Error::Refused`].
    pub fn refusals(&self) -> &[Refusal] {
        match self {
            Error::Refused(r) => r,
            _ => &[],
        }
    }
}
