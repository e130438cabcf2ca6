//! Classification of payment failure messages and reason codes.

/// Why a payment was not accepted, from Sova's message strings or x402 reason codes
/// (`reference/x402-solana.md` §3.12). Unknown reasons stay opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureReason {
    /// `transfer destination does not match treasury ATA` / `…_recipient_mismatch`.
    DestinationMismatch,
    /// `USDC amount N < required M` / `…_amount_mismatch` / `…_amount_insufficient`.
    AmountTooLow {
        /// What the transaction paid, when the message says.
        paid: Option<u64>,
        /// What the server required, when the message says.
        required: Option<u64>,
    },
    /// `transaction already used (replay attack)` / `duplicate_settlement`.
    Replay,
    /// `transaction confirmation failed` (expired blockhash or RPC error).
    ConfirmationFailed,
    /// `settlement_pending`: broadcast, not yet confirmed. Do not pay again.
    SettlementPending,
    /// The accepted requirement did not match (`No matching payment requirements`).
    RequirementMismatch,
    /// The payment was verified and refused before anything reached the chain.
    Invalid(String),
    /// Settlement failed on chain (`transaction_failed`).
    TransactionFailed,
    /// Anything else, verbatim.
    Other(String),
}

impl FailureReason {
    /// Classifies a message or reason code.
    ///
    /// ```
    /// use sova_protocol::x402::FailureReason;
    /// assert_eq!(
    ///     FailureReason::classify("USDC amount 100 < required 15000"),
    ///     FailureReason::AmountTooLow { paid: Some(100), required: Some(15000) }
    /// );
    /// ```
    pub fn classify(message: &str) -> FailureReason {
        let m = message.trim();
        let lower = m.to_ascii_lowercase();
        if lower.contains("destination does not match") || lower.ends_with("recipient_mismatch") {
            return FailureReason::DestinationMismatch;
        }
        if let Some(rest) = m.strip_prefix("USDC amount ") {
            let mut parts = rest.split(" < required ");
            let paid = parts.next().and_then(|p| p.trim().parse().ok());
            let required = parts.next().and_then(|p| p.trim().parse().ok());
            return FailureReason::AmountTooLow { paid, required };
        }
        if lower.ends_with("amount_mismatch") || lower.ends_with("amount_insufficient") {
            return FailureReason::AmountTooLow {
                paid: None,
                required: None,
            };
        }
        if lower.contains("already used")
            || lower.contains("replay")
            || lower == "duplicate_settlement"
        {
            return FailureReason::Replay;
        }
        if lower.contains("confirmation failed")
            || lower.ends_with("transaction_confirmation_failed")
        {
            return FailureReason::ConfirmationFailed;
        }
        if lower == "settlement_pending" {
            return FailureReason::SettlementPending;
        }
        if lower.contains("no matching payment requirements")
            || lower == "accepted_requirements_mismatch"
        {
            return FailureReason::RequirementMismatch;
        }
        if lower == "transaction_failed" || lower == "post_settlement_transfer_not_confirmed" {
            return FailureReason::TransactionFailed;
        }
        if lower.starts_with("invalid_")
            || lower == "unsupported_scheme"
            || lower == "network_mismatch"
            || lower == "transaction_simulation_failed"
        {
            return FailureReason::Invalid(m.to_owned());
        }
        FailureReason::Other(m.to_owned())
    }

    /// Whether the server, by this reason, *claims* that no funds moved: verification refused
    /// the payment before settlement. Ambiguous or unknown reasons answer `false`.
    ///
    /// This is the server's word, not proof: a server still holds the signed transaction
    /// and could submit it until its blockhash expires. The `sova` SDK pays again only after
    /// its own RPC proves the first payment can never land.
    ///
    /// A replay refusal is ambiguous: it may answer a resend of a payment that the server
    /// already settled (the first answer was lost), so it does not count as "nothing charged".
    pub fn nothing_charged(&self) -> bool {
        matches!(
            self,
            FailureReason::DestinationMismatch
                | FailureReason::AmountTooLow { .. }
                | FailureReason::RequirementMismatch
                | FailureReason::Invalid(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_sova_strings() {
        assert_eq!(
            FailureReason::classify("transfer destination does not match treasury ATA"),
            FailureReason::DestinationMismatch
        );
        assert_eq!(
            FailureReason::classify("transaction already used (replay attack)"),
            FailureReason::Replay
        );
        assert_eq!(
            FailureReason::classify("transaction confirmation failed"),
            FailureReason::ConfirmationFailed
        );
        assert_eq!(
            FailureReason::classify("settlement_pending"),
            FailureReason::SettlementPending
        );
        assert!(!FailureReason::SettlementPending.nothing_charged());
        assert!(!FailureReason::Replay.nothing_charged());
        assert!(!FailureReason::ConfirmationFailed.nothing_charged());
        assert!(
            FailureReason::classify("invalid_exact_svm_payload_mint_mismatch").nothing_charged()
        );
        assert_eq!(
            FailureReason::classify("weird"),
            FailureReason::Other("weird".into())
        );
        assert_eq!(
            FailureReason::classify("USDC amount x < required"),
            FailureReason::AmountTooLow {
                paid: None,
                required: None
            }
        );
    }
}
