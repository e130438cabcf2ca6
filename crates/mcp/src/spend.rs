//! What this server paid: every receipt of the session, and every payment whose outcome is
//! unknown, in order.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};
use sova::PaymentRef;
use sova::call::Receipt;

use crate::usdc;

/// One settled x402 payment made by this server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpendEntry {
    /// The tool that paid.
    pub tool: String,
    /// The API operation paid for (e.g. `intel.wallet_hud`).
    pub endpoint: String,
    /// USDC base units paid (serialized as `{"baseUnits": …, "usdc": "…"}`, as everywhere).
    #[serde(serialize_with = "amount_json")]
    pub amount: u64,
    /// The settled transaction's signature, as the server reported it; `None` for a payment
    /// charged by a call that failed (no receipt came back: see `payer_signature`).
    pub transaction: Option<String>,
    /// The payer's own signature (base58).
    pub payer_signature: String,
    /// The paying wallet (base58).
    pub payer: String,
    /// The mint paid.
    pub asset: String,
    /// The recipient.
    pub pay_to: String,
    /// CAIP-2 network.
    pub network: String,
    /// When the payment was received, RFC 3339 UTC.
    pub time: String,
    /// Whether the user approved this payment through an elicitation.
    pub user_approved: bool,
    #[serde(skip)]
    pub(crate) at: Option<Instant>,
}

/// A payment that was signed and sent whose outcome is unknown: it may have been charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UncertainEntry {
    /// The tool that paid.
    pub tool: String,
    /// The API operation.
    pub endpoint: String,
    /// USDC base units (serialized as `{"baseUnits": …, "usdc": "…"}`).
    #[serde(serialize_with = "amount_json")]
    pub amount: u64,
    /// The payer's signature (the reference to reconcile with).
    pub payer_signature: String,
    /// The recipient.
    pub pay_to: String,
    /// What happened.
    pub reason: String,
    /// When, RFC 3339 UTC.
    pub time: String,
}

/// An amount as every result shows it: `{"baseUnits": 15000, "usdc": "0.015000"}`.
fn amount_json<S: serde::Serializer>(amount: &u64, s: S) -> Result<S::Ok, S::Error> {
    usdc::json(*amount).serialize(s)
}

/// The session's payments.
#[derive(Debug, Default)]
pub(crate) struct SpendLog {
    pub settled: Vec<SpendEntry>,
    pub uncertain: Vec<UncertainEntry>,
}

impl SpendLog {
    pub(crate) fn record(
        &mut self,
        tool: &str,
        endpoint: &str,
        payer: &str,
        r: &Receipt,
        user_approved: bool,
    ) -> SpendEntry {
        let e = SpendEntry {
            tool: tool.to_owned(),
            endpoint: endpoint.to_owned(),
            amount: r.amount,
            transaction: r.transaction.clone(),
            payer_signature: r.payer_signature.clone(),
            payer: payer.to_owned(),
            asset: r.asset.clone(),
            pay_to: r.pay_to.clone(),
            network: r.network.clone(),
            time: rfc3339(SystemTime::now()),
            user_approved,
            at: Some(Instant::now()),
        };
        self.settled.push(e.clone());
        e
    }

    /// A payment the SDK reports as charged with a failed call: no receipt came back, so the
    /// transaction is known by the payer's signature only.
    pub(crate) fn record_charged(
        &mut self,
        tool: &str,
        endpoint: &str,
        payer: &str,
        network: &str,
        p: &PaymentRef,
        user_approved: bool,
    ) -> SpendEntry {
        let e = SpendEntry {
            tool: tool.to_owned(),
            endpoint: endpoint.to_owned(),
            amount: p.amount,
            transaction: None,
            payer_signature: p.signature.clone(),
            payer: payer.to_owned(),
            asset: p.asset.clone(),
            pay_to: p.pay_to.clone(),
            network: network.to_owned(),
            time: rfc3339(SystemTime::now()),
            user_approved,
            at: Some(Instant::now()),
        };
        self.settled.push(e.clone());
        e
    }

    pub(crate) fn record_uncertain(
        &mut self,
        tool: &str,
        endpoint: &str,
        p: &PaymentRef,
        reason: &str,
    ) {
        self.uncertain.push(UncertainEntry {
            tool: tool.to_owned(),
            endpoint: endpoint.to_owned(),
            amount: p.amount,
            payer_signature: p.signature.clone(),
            pay_to: p.pay_to.clone(),
            reason: reason.to_owned(),
            time: rfc3339(SystemTime::now()),
        });
    }
}

/// A receipt as the x402 `PAYMENT-RESPONSE` reads, with the payer's references: the value of
/// `_meta["x402/payment-response"]`. Its amount has the shape of every amount of this server
/// (`{"baseUnits", "usdc"}`), as in `spend_report`.
pub(crate) fn receipt_json(e: &SpendEntry) -> Value {
    json!({
        "success": true,
        "transaction": e.transaction,
        "network": e.network,
        "payer": e.payer,
        "amount": usdc::json(e.amount),
        "asset": e.asset,
        "payTo": e.pay_to,
        "payerSignature": e.payer_signature,
        "endpoint": e.endpoint,
        "time": e.time,
    })
}

/// One sentence about a payment, for the text the model reads.
pub(crate) fn receipt_sentence(e: &SpendEntry) -> String {
    format!(
        "Paid {} USDC ({} base units) with x402 for {}{}; transaction {}.",
        usdc::format(e.amount),
        e.amount,
        e.endpoint,
        if e.user_approved {
            " (approved by the user)"
        } else {
            ""
        },
        e.transaction.as_deref().unwrap_or(&e.payer_signature),
    )
}

/// Unix milliseconds as RFC 3339 in UTC with milliseconds.
pub(crate) fn rfc3339_ms(ms: u64) -> String {
    sova_protocol::time::iso8601_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// `time` as RFC 3339 in UTC with milliseconds (`2026-11-23T11:39:14.123Z`).
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let ms = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    sova_protocol::time::iso8601_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_001_954_123);
        assert_eq!(rfc3339(t), "2026-11-18T11:39:14.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }
}
