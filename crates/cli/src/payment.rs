//! What a failed call did with the user's money: the state of every payment it carried, as
//! `--json` (`error.payment`) and as lines on stderr. The payment state outranks every other
//! outcome: a call whose payment is not proven uncharged exits 6, whatever else went wrong.

use serde_json::{Value, json};
use sova::{PaymentRef, PaymentState};

use crate::amount;

/// What is known about the money of a failed call, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum State {
    /// Proven not charged (it never left the process, or our RPC proved it can never land).
    NotCharged,
    /// Not proven either way: it may still land.
    MayHaveCharged,
    /// Charged.
    Charged,
}

impl State {
    /// The state of one payment. A state this version does not know is reported as "may
    /// have charged": only proof makes a payment uncharged.
    pub(crate) fn of(p: &PaymentRef) -> State {
        match p.state {
            PaymentState::NotCharged => State::NotCharged,
            PaymentState::Charged => State::Charged,
            _ => State::MayHaveCharged,
        }
    }

    /// The `--json` name: `charged`, `may_have_charged` or `not_charged`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::NotCharged => "not_charged",
            State::MayHaveCharged => "may_have_charged",
            State::Charged => "charged",
        }
    }

    /// For people: `charged`, `may have been charged`, `not charged`.
    pub(crate) fn words(self) -> &'static str {
        match self {
            State::NotCharged => "not charged",
            State::MayHaveCharged => "may have been charged",
            State::Charged => "charged",
        }
    }
}

/// Every payment an SDK error carries: its own, then those of a retry it reports.
pub(crate) fn all(e: &sova::Error) -> Vec<&PaymentRef> {
    let mut out: Vec<&PaymentRef> = Vec::new();
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(p) = e.payment()
            && !out.iter().any(|q| q.signature == p.signature)
        {
            out.push(p);
        }
        next = match e {
            sova::Error::JobFailed { retry: Some(r), .. } => Some(r),
            _ => None,
        };
    }
    out
}

/// The state of the whole call: the worst of its payments, and "may have charged" when the
/// SDK says so although no payment says more.
pub(crate) fn state(e: &sova::Error, payments: &[&PaymentRef]) -> Option<State> {
    let worst = payments.iter().map(|p| State::of(p)).max();
    if e.may_have_charged() {
        return Some(
            worst
                .unwrap_or(State::MayHaveCharged)
                .max(State::MayHaveCharged),
        );
    }
    worst
}

/// One payment as `--json`: `{state, amount, amountUsdc, signature, transaction, …}`.
///
/// `transaction` is the settled transaction's id when it is known: the SDK's payment
/// reference does not carry it yet, so it is `null` here and the signature identifies the
/// payment (in Sova's self-paid form it is the transaction id).
pub(crate) fn to_json(p: &PaymentRef) -> Value {
    json!({
        "state": State::of(p).as_str(),
        "amount": p.amount,
        "amountUsdc": amount::fmt_units(p.amount, amount::USDC_DECIMALS),
        "signature": p.signature,
        "transaction": Value::Null,
        "memo": p.memo,
        "asset": p.asset,
        "payTo": p.pay_to,
    })
}

/// The stderr lines of one payment: the amount in USDC with base units, then the signature
/// on a line of its own.
pub(crate) fn lines(p: &Value) -> String {
    let state = match p["state"].as_str() {
        Some("charged") => State::Charged,
        Some("not_charged") => State::NotCharged,
        _ => State::MayHaveCharged,
    };
    let Some(units) = p["amount"].as_u64() else {
        return format!("payment: {}\n", state.words());
    };
    let to = p["payTo"].as_str().unwrap_or("?");
    let sig = p["signature"].as_str().unwrap_or("?");
    format!(
        "payment: {} {} ({units} base units) to {to}\nsignature: {sig}\n",
        state.words(),
        amount::usdc(units),
    )
}

/// Removes the SDK's own description of a payment from an error message (the payment is
/// reported on its own lines, with its state as the command line words it).
pub(crate) fn strip(message: &str, payments: &[&PaymentRef]) -> String {
    let mut m = message.to_owned();
    for p in payments {
        for cut in [
            format!(" (a payment was attached: {p})"),
            format!("; payment {p}"),
            format!(" ({p})"),
            format!(" {p}"),
        ] {
            m = m.replace(&cut, "");
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_order_worst_last_and_lines_show_usdc_and_the_signature() {
        assert!(State::Charged > State::MayHaveCharged);
        assert!(State::MayHaveCharged > State::NotCharged);
        let v = json!({"state": "charged", "amount": 15_000, "payTo": "T", "signature": "S"});
        assert_eq!(
            lines(&v),
            "payment: charged 0.015000 USDC (15000 base units) to T\nsignature: S\n"
        );
    }
}
