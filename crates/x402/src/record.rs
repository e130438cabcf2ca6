//! What was paid, and reconciliation of an ambiguous outcome against the chain.

use serde::{Deserialize, Serialize};
use solana_pubkey::Pubkey;

use crate::blockhash::BlockhashSource;
use crate::rpc::{
    GetBlockHeight, GetSignatureStatuses, GetSignaturesForAddress, SignatureInfo, SignatureStatus,
};

/// How a payment's fee was paid and its transaction laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PaymentMode {
    /// A facilitator pays the fee and co-signs.
    Sponsored,
    /// The payer pays its fee; v0 with compute budget and Memo nonce.
    SelfPaid,
    /// The payer pays its fee; legacy, one `TransferChecked`.
    Minimal,
}

/// A record of a signed payment: enough to show the user what was paid and to find the
/// transaction on chain later. Serializable, so it can be stored before the payment is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PaymentRecord {
    /// CAIP-2 network.
    pub network: String,
    /// The mint paid.
    pub asset: String,
    /// Amount in base units.
    pub amount: u64,
    /// Decimals of the mint.
    pub decimals: u8,
    /// The recipient wallet.
    pub pay_to: String,
    /// The recipient's token account (the transfer destination).
    pub destination: String,
    /// The payer's token account.
    pub source: String,
    /// The paying wallet (token authority).
    pub payer: String,
    /// The fee payer (the facilitator when sponsored, else the payer).
    pub fee_payer: String,
    /// Fee mode and layout.
    pub mode: PaymentMode,
    /// The memo written in the transaction, if any.
    pub memo: Option<String>,
    /// The random nonce (hex) when the memo is ours rather than the seller's.
    pub nonce: Option<String>,
    /// The blockhash (base58).
    pub blockhash: String,
    /// Where the blockhash came from.
    pub blockhash_source: BlockhashSource,
    /// Last block height at which the transaction can land, when known.
    pub last_valid_block_height: Option<u64>,
    /// The payer's signature (base58).
    pub payer_signature: String,
    /// The transaction id when known in advance: the payer's signature when the payer is
    /// the fee payer. A sponsored transaction's id is the facilitator's signature.
    pub transaction_signature: Option<String>,
}

/// What the chain says about a payment whose outcome was unclear.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reconciliation {
    /// The transaction landed and succeeded: the payment was made. Do not pay again.
    Landed {
        /// Its signature.
        signature: String,
        /// Its slot.
        slot: u64,
    },
    /// The transaction landed and failed: no tokens moved. Paying again is safe.
    FailedOnChain {
        /// Its signature.
        signature: String,
        /// The runtime's error, as JSON text.
        error: String,
    },
    /// Not found, and the blockhash has expired: it can never land. Paying again is safe.
    Expired,
    /// Not found yet, and it may still land. Do not pay again yet.
    Pending,
}

impl Reconciliation {
    /// Whether a new payment cannot double-pay.
    pub fn safe_to_pay_again(&self) -> bool {
        matches!(
            self,
            Reconciliation::FailedOnChain { .. } | Reconciliation::Expired
        )
    }
}

/// The RPC calls that reconcile a payment.
///
/// Run `block_height` **before** the others: a transaction cannot land after its blockhash
/// expired, so a height past `last_valid_block_height` followed by a lookup that finds
/// nothing proves the payment never happened. (The other order leaves a window in which the
/// transaction lands between the two answers.)
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconcileCalls {
    /// When the transaction id is known (self-paid): its status.
    pub statuses: Option<GetSignatureStatuses>,
    /// When it is not (sponsored): recent signatures on the payer's token account, whose
    /// memos are matched against the payment's memo.
    pub signatures: Option<GetSignaturesForAddress>,
    /// The current block height, to tell whether the blockhash expired.
    pub block_height: GetBlockHeight,
}

/// Answers to [`ReconcileCalls`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence<'a> {
    /// The `getSignatureStatuses` answer.
    pub statuses: Option<&'a [Option<SignatureStatus>]>,
    /// The `getSignaturesForAddress` answer.
    pub signatures: Option<&'a [SignatureInfo]>,
    /// The `getBlockHeight` answer.
    pub block_height: Option<u64>,
}

impl PaymentRecord {
    /// The calls whose answers [`reconcile`](Self::reconcile) needs.
    pub fn reconcile_calls(&self) -> ReconcileCalls {
        let statuses = self
            .transaction_signature
            .as_ref()
            .map(|s| GetSignatureStatuses {
                signatures: vec![s.clone()],
            });
        let signatures = match (&self.transaction_signature, self.source.parse::<Pubkey>()) {
            (None, Ok(source)) => Some(GetSignaturesForAddress::new(source, 100)),
            _ => None,
        };
        ReconcileCalls {
            statuses,
            signatures,
            block_height: GetBlockHeight,
        }
    }

    /// Decides from the answers. Without a known `last_valid_block_height`, a transaction
    /// that is not found stays [`Reconciliation::Pending`] (blockhashes live about 60–90 s).
    pub fn reconcile(&self, evidence: &Evidence<'_>) -> Reconciliation {
        if let (Some(sig), Some(statuses)) = (&self.transaction_signature, evidence.statuses)
            && let Some(Some(st)) = statuses.first()
        {
            return match &st.err {
                Some(e) if !e.is_null() => Reconciliation::FailedOnChain {
                    signature: sig.clone(),
                    error: e.to_string(),
                },
                _ => Reconciliation::Landed {
                    signature: sig.clone(),
                    slot: st.slot,
                },
            };
        }
        if let (Some(memo), Some(list)) = (&self.memo, evidence.signatures) {
            // Nodes report memos as "[len] text", several joined by "; ".
            let needle = format!("] {memo}");
            if let Some(found) = list.iter().find(|s| {
                s.memo
                    .as_deref()
                    .is_some_and(|m| m.contains(&needle) || m == memo)
            }) {
                return match &found.err {
                    Some(e) if !e.is_null() => Reconciliation::FailedOnChain {
                        signature: found.signature.clone(),
                        error: e.to_string(),
                    },
                    _ => Reconciliation::Landed {
                        signature: found.signature.clone(),
                        slot: found.slot,
                    },
                };
            }
        }
        match (self.last_valid_block_height, evidence.block_height) {
            (Some(last), Some(now)) if now > last => Reconciliation::Expired,
            _ => Reconciliation::Pending,
        }
    }
}
