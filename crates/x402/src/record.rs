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
    /// The client nonce that makes the payment unique: the memo itself (hex) when the memo
    /// is ours, or `cu+N` (added to the compute-unit limit) when the memo is the seller's.
    pub nonce: Option<String>,
    /// The blockhash (base58).
    pub blockhash: String,
    /// Where the blockhash came from.
    pub blockhash_source: BlockhashSource,
    /// Last block height at which the transaction can land, when known.
    pub last_valid_block_height: Option<u64>,
    /// The slot at which our RPC reported the blockhash, when known: the transaction can
    /// only land at this slot or later.
    #[serde(default)]
    pub blockhash_slot: Option<u64>,
    /// The payer's signature (base58).
    pub payer_signature: String,
    /// The transaction id when known in advance: the payer's signature when the payer is
    /// the fee payer. A sponsored transaction's id is the facilitator's signature.
    pub transaction_signature: Option<String>,
    /// The `payment-identifier` extension id sent with the payment, when the server
    /// advertised the extension.
    #[serde(default)]
    pub payment_id: Option<String>,
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
    /// Not found, and our own RPC's block height is past the last valid height that our RPC
    /// reported for the blockhash: it can never land. Paying again is safe.
    Expired,
    /// Not found yet, and it may still land (or the evidence is incomplete, or a transaction
    /// that might be ours was found but cannot be told apart from another one). Do not pay
    /// again.
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

/// Entries asked for per `getSignaturesForAddress` page during reconciliation.
pub const SIGNATURE_PAGE: u16 = 100;

/// Pages of `getSignaturesForAddress` read at most before the search counts as
/// inconclusive ([`Reconciliation::Pending`]).
pub const MAX_SIGNATURE_PAGES: usize = 20;

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
    /// When it is not (sponsored): the first page of signatures on the payer's token
    /// account, whose memos are matched exactly against the payment's memo. Further pages
    /// come from [`PaymentRecord::next_signature_page`].
    pub signatures: Option<GetSignaturesForAddress>,
    /// The current block height, to tell whether the blockhash expired.
    pub block_height: GetBlockHeight,
}

/// Answers to [`ReconcileCalls`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence<'a> {
    /// The `getSignatureStatuses` answer.
    pub statuses: Option<&'a [Option<SignatureStatus>]>,
    /// The `getSignaturesForAddress` answers, every page read, newest first.
    pub signatures: Option<&'a [SignatureInfo]>,
    /// Whether the pages in `signatures` reach the end of the address's history (the last
    /// page was shorter than asked). An incomplete search cannot prove absence.
    pub signatures_complete: bool,
    /// The `getBlockHeight` answer, read **before** the lookups.
    pub block_height: Option<u64>,
    /// The slot the block height was read at (`getEpochInfo`), when known.
    pub height_slot: Option<u64>,
    /// The slot the status lookup was answered at (its `context.slot`), when known. A lookup
    /// answered at a slot before `height_slot` came from a node behind the one that read the
    /// height: it cannot prove absence.
    pub statuses_slot: Option<u64>,
}

/// Whether a commitment is `confirmed` or `finalized` (an absent one: the node's default,
/// the commitment asked for, `confirmed`).
fn at_least_confirmed(status: Option<&str>) -> bool {
    matches!(status, None | Some("confirmed") | Some("finalized"))
}

/// Whether a node's memo text (`"[len] text"`, several joined by `"; "`) holds exactly
/// `memo` as one of its memos.
pub fn memo_matches(reported: &str, memo: &str) -> bool {
    if reported == memo {
        return true;
    }
    // Each memo is reported as "[len] text" where len is the text's byte length; walk the
    // list by lengths so a "; " inside a memo cannot split it.
    let mut rest = reported;
    loop {
        let Some(after_bracket) = rest.strip_prefix('[') else {
            return false;
        };
        let Some((len, tail)) = after_bracket.split_once("] ") else {
            return false;
        };
        let Ok(len) = len.parse::<usize>() else {
            return false;
        };
        let (Some(text), Some(next)) = (tail.get(..len), tail.get(len..)) else {
            return false;
        };
        if text == memo {
            return true;
        }
        match next.strip_prefix("; ") {
            Some(n) => rest = n,
            None => return false,
        }
    }
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
            (None, Ok(source)) => Some(GetSignaturesForAddress::new(source, SIGNATURE_PAGE)),
            _ => None,
        };
        ReconcileCalls {
            statuses,
            signatures,
            block_height: GetBlockHeight,
        }
    }

    /// Whether a search that read `page` last has reached back past every slot at which
    /// this payment could have landed: the page was shorter than asked (the end of the
    /// history), or its oldest entry is older than the slot of our blockhash.
    pub fn signature_search_complete(&self, page: &[SignatureInfo]) -> bool {
        if page.len() < usize::from(SIGNATURE_PAGE) {
            return true;
        }
        match (self.blockhash_slot, page.last()) {
            (Some(slot), Some(oldest)) => oldest.slot < slot,
            _ => false,
        }
    }

    /// The next `getSignaturesForAddress` page after `page` (the previous answer), or `None`
    /// when the search is complete (see [`Self::signature_search_complete`]) or the page
    /// limit is reached.
    pub fn next_signature_page(
        &self,
        page: &[SignatureInfo],
        pages_read: usize,
    ) -> Option<GetSignaturesForAddress> {
        if self.signature_search_complete(page) || pages_read >= MAX_SIGNATURE_PAGES {
            return None;
        }
        let mut call = self.reconcile_calls().signatures?;
        call.before = Some(page.last()?.signature.clone());
        Some(call)
    }

    /// Whether the blockhash's last valid height came from the payer's own RPC (the cache or
    /// a `getLatestBlockhash` answer), not from the server's `extra.lastValidBlockHeight`.
    /// Only such a height can prove that a payment can never land.
    pub fn trusted_last_valid_height(&self) -> Option<u64> {
        match self.blockhash_source {
            BlockhashSource::Requirement => None,
            _ => self.last_valid_block_height,
        }
    }

    /// Decides from the answers.
    ///
    /// * A status (self-paid) or an exact memo match on a payment whose memo is our own nonce
    ///   (sponsored) is the transaction: [`Landed`](Reconciliation::Landed) or
    ///   [`FailedOnChain`](Reconciliation::FailedOnChain).
    /// * A match on a seller-supplied memo might be another payment with the same memo: it
    ///   stays [`Pending`](Reconciliation::Pending).
    /// * Nothing found proves [`Expired`](Reconciliation::Expired) only when the lookup was
    ///   complete and the block height, read before it, is past the last valid height that
    ///   our own RPC reported. Otherwise [`Pending`](Reconciliation::Pending).
    pub fn reconcile(&self, evidence: &Evidence<'_>) -> Reconciliation {
        let mut searched = false;
        if let (Some(sig), Some(statuses)) = (&self.transaction_signature, evidence.statuses) {
            // Slot-consistent evidence: the lookup must come from a node at least as far as
            // the one that read the height.
            searched = match (evidence.height_slot, evidence.statuses_slot) {
                (Some(h), Some(s)) => s >= h,
                _ => true,
            };
            if let Some(Some(st)) = statuses.first() {
                return match &st.err {
                    // A failure counts only at `confirmed` or better: a processed one may
                    // still be dropped from a minority fork.
                    Some(e)
                        if !e.is_null()
                            && !at_least_confirmed(st.confirmation_status.as_deref()) =>
                    {
                        Reconciliation::Pending
                    }
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
        }
        if self.transaction_signature.is_none()
            && let Some(list) = evidence.signatures
        {
            let Some(memo) = &self.memo else {
                // Nothing to recognise the transaction by.
                return Reconciliation::Pending;
            };
            if let Some(found) = list
                .iter()
                .find(|s| s.memo.as_deref().is_some_and(|m| memo_matches(m, memo)))
            {
                if self.nonce.is_none() || self.nonce != self.memo {
                    // A seller memo is shared by every payment to this seller.
                    return Reconciliation::Pending;
                }
                return match &found.err {
                    Some(e)
                        if !e.is_null()
                            && !at_least_confirmed(found.confirmation_status.as_deref()) =>
                    {
                        Reconciliation::Pending
                    }
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
            searched = evidence.signatures_complete;
        }
        match (self.trusted_last_valid_height(), evidence.block_height) {
            (Some(last), Some(now)) if searched && now > last => Reconciliation::Expired,
            _ => Reconciliation::Pending,
        }
    }
}
