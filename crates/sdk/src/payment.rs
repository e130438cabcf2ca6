//! The reference of a payment the SDK signed, as errors, receipts and job handles report it.

use std::fmt;

use sova_protocol::jobs::HandlePayment;

use crate::error::PaymentState;

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
    /// CAIP-2 network.
    pub network: String,
    /// The settled transaction id, when known (from the settlement, the chain, or, in
    /// self-paid mode, the payer's own signature).
    pub transaction: Option<String>,
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
    /// The payment header that carried it (name, value), kept so a job handle can send the
    /// same signed payment again instead of a new one. Never displayed.
    pub(crate) header: Option<(String, String)>,
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
            network: r.network.clone(),
            transaction: r.transaction.clone(),
            state: PaymentState::Charged,
            ledger_id: r.ledger_id.clone(),
            blockhash: None,
            last_valid_block_height: None,
            blockhash_slot: None,
            source: None,
            header: None,
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
            network: r.network.clone(),
            transaction: r.transaction_signature.clone(),
            state,
            ledger_id: None,
            blockhash: Some(r.blockhash.clone()),
            last_valid_block_height: r.last_valid_block_height,
            blockhash_slot: r.blockhash_slot,
            source: Some(r.source.clone()),
            header: None,
        }
    }

    /// The reference of a payment carried by a job handle.
    pub fn from_handle(p: &HandlePayment) -> PaymentRef {
        PaymentRef {
            signature: p.signature.clone(),
            memo: None,
            amount: p.amount,
            asset: p.asset.clone(),
            pay_to: p.pay_to.clone(),
            network: p.network.clone(),
            transaction: p.transaction.clone(),
            state: p.state,
            ledger_id: None,
            blockhash: None,
            last_valid_block_height: None,
            blockhash_slot: None,
            source: None,
            header: p.header_name.clone().zip(p.header_value.clone()),
        }
    }

    /// The payment as a job handle carries it (with the signed header when it is known and
    /// the payment is not proven uncharged, so a resume can send it again).
    pub fn to_handle_payment(&self) -> HandlePayment {
        let mut h = HandlePayment::new(self.state, &self.signature, self.amount, &self.asset);
        h.pay_to = self.pay_to.clone();
        h.network = self.network.clone();
        h.transaction = self.transaction.clone();
        if self.state != PaymentState::NotCharged
            && let Some((name, value)) = &self.header
        {
            h.header_name = Some(name.clone());
            h.header_value = Some(value.clone());
        }
        h
    }

    /// The amount for people: `0.015000 USDC (15000 base units)` for USDC, else
    /// `15000 base units of <mint>`.
    pub fn amount_text(&self) -> String {
        if is_usdc(&self.asset) {
            format!(
                "{} USDC ({} base units)",
                sova_protocol::units::format_units(self.amount, 6),
                self.amount
            )
        } else {
            format!("{} base units of {}", self.amount, self.asset)
        }
    }
}

/// Whether a mint is USDC (mainnet or devnet).
fn is_usdc(asset: &str) -> bool {
    asset == sova_protocol::x402::USDC_MAINNET_MINT
        || asset == "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU"
}

impl fmt::Display for PaymentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} to {} (signature {}",
            self.amount_text(),
            self.pay_to,
            self.signature
        )?;
        if let Some(t) = self.transaction.as_ref().filter(|t| **t != self.signature) {
            write!(f, ", transaction {t}")?;
        }
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
