//! The money of one call: at most one live payment, and the receipts of settled ones.

use sova_protocol::x402::Settlement;
use sova_x402::PreparedPayment;
use sova_x402::ledger::{Op, Status, Transition};

use crate::call::Receipt;
use crate::error::{Error, PaymentRef, PaymentState};

/// A signed payment that may still be charged.
pub(crate) struct Live {
    payment: Held,
    /// Whether any request carrying it may have reached the server.
    delivered: bool,
    /// Whether the journal already says `sent`.
    journaled_sent: bool,
}

/// The live payment: one this call signed, or one a job handle carried (signed by an earlier
/// call, its budget already counted there), sent again as it is.
enum Held {
    Signed(Box<PreparedPayment>),
    Reused(Box<PaymentRef>),
}

impl Held {
    fn header(&self) -> Option<(&'static str, &str)> {
        match self {
            Held::Signed(p) => Some((p.header_name(), p.header_value())),
            Held::Reused(r) => r.header.as_ref().map(|(n, v)| {
                let name = if n.eq_ignore_ascii_case("x-payment") {
                    "X-PAYMENT"
                } else {
                    "PAYMENT-SIGNATURE"
                };
                (name, v.as_str())
            }),
        }
    }

    /// Its reference in `state`, with the header kept for job handles.
    fn reference(&self, state: PaymentState) -> PaymentRef {
        match self {
            Held::Signed(p) => {
                let mut r = PaymentRef::of(p.record(), state).in_ledger(p.reservation().id());
                r.header = Some((p.header_name().to_owned(), p.header_value().to_owned()));
                r
            }
            Held::Reused(r) => {
                let mut r = (**r).clone();
                r.state = state;
                r
            }
        }
    }

    /// Its id in the ledger, when it has one.
    fn ledger_id(&self) -> Option<&str> {
        match self {
            Held::Signed(p) => Some(p.reservation().id()),
            Held::Reused(r) => r.ledger_id.as_deref(),
        }
    }

    /// Done with: the journal's status (written by the caller) is what holds or frees the
    /// budget; the reservation itself is inert.
    fn drop_reservation(self) {
        if let Held::Signed(p) = self {
            let _ = p.into_parts();
        }
    }
}

/// The payment state of one call, and the journal writes its changes owe the ledger
/// (made durable by the call before it acts on them).
#[derive(Default)]
pub struct Money {
    live: Option<Live>,
    receipts: Vec<Receipt>,
    settled: u64,
    last_transaction: Option<String>,
    ops: Vec<Op>,
    now_ms: u64,
}

impl Money {
    /// The wall-clock time journal writes are stamped with (set by the call before every
    /// step).
    pub(crate) fn set_clock(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
    }

    /// The journal writes queued since the last call, oldest first.
    pub(crate) fn take_ops(&mut self) -> Vec<Op> {
        std::mem::take(&mut self.ops)
    }

    /// Queues a change of `held`'s journal status (nothing without a ledger id).
    fn journal(
        &mut self,
        held: &Held,
        to: Status,
        detail: Option<&str>,
    ) -> Option<&mut Transition> {
        let id = held.ledger_id()?;
        let mut t = Transition::new(id, to, self.now_ms);
        t.detail = detail.map(str::to_owned);
        self.ops.push(Op::Transition(Box::new(t)));
        match self.ops.last_mut() {
            Some(Op::Transition(t)) => Some(t),
            _ => None,
        }
    }

    /// A request carrying the live payment is about to be sent: the journal says `sent`
    /// first (once), so a crash after the send leaves a record to reconcile.
    pub(crate) fn sending(&mut self) {
        let Some(mut live) = self.live.take() else {
            return;
        };
        if !live.journaled_sent {
            live.journaled_sent = true;
            if matches!(live.payment, Held::Signed(_)) {
                self.journal(&live.payment, Status::Sent, None);
            }
        }
        self.live = Some(live);
    }

    /// Whether a payment is live.
    pub fn has_live(&self) -> bool {
        self.live.is_some()
    }

    /// Whether the live payment may have reached the server.
    pub fn live_delivered(&self) -> bool {
        self.live.as_ref().is_some_and(|l| l.delivered)
    }

    /// The live payment's header name and value (`PAYMENT-SIGNATURE`, or `X-PAYMENT` for
    /// an x402 v1 challenge).
    pub(crate) fn header(&self) -> Option<(&'static str, &str)> {
        self.live.as_ref().and_then(|l| l.payment.header())
    }

    /// The live payment's record (`None` for a payment reused from a job handle).
    pub(crate) fn record(&self) -> Option<&sova_x402::PaymentRecord> {
        self.live_payment().map(PreparedPayment::record)
    }

    /// The live payment, when this call signed it.
    pub(crate) fn live_payment(&self) -> Option<&PreparedPayment> {
        match self.live.as_ref().map(|l| &l.payment) {
            Some(Held::Signed(p)) => Some(p),
            _ => None,
        }
    }

    /// The live payment's reference in its current state, when it came from a job handle.
    pub(crate) fn reused(&self) -> Option<PaymentRef> {
        match self.live.as_ref().map(|l| &l.payment) {
            Some(Held::Reused(r)) => Some((**r).clone()),
            _ => None,
        }
    }

    /// Whether the live payment is past its requirement's `maxTimeoutSeconds`.
    pub(crate) fn live_expired(&self, now: std::time::Instant) -> bool {
        self.live_payment().is_some_and(|p| p.is_expired(now))
    }

    /// Sends the payment a job handle carried with this call's requests, as it is (it was
    /// signed and counted by the call that queued the job). Nothing is signed.
    pub(crate) fn reuse(&mut self, payment: PaymentRef) -> Result<(), Error> {
        if self.live.is_some() || payment.header.is_none() {
            return Err(Error::internal(
                "a handle's payment can only be reused alone and with its header",
            ));
        }
        self.live = Some(Live {
            payment: Held::Reused(Box::new(payment)),
            // It left the process when it was first sent.
            delivered: true,
            journaled_sent: true,
        });
        Ok(())
    }

    /// A freshly signed payment becomes live. There is never a second one.
    pub(crate) fn attach(&mut self, payment: Box<PreparedPayment>) -> Result<(), Error> {
        if self.live.is_some() {
            // Unreachable by construction: callers sign only when nothing is live.
            let _ = payment.into_parts();
            return Err(Error::internal(
                "a second payment was signed while one was live; it was released unsent",
            ));
        }
        let held = Held::Signed(payment);
        if let Some(t) = self.journal(&held, Status::Signed, None)
            && let Held::Signed(p) = &held
        {
            t.record = Some(p.record().clone());
            t.transaction = Some(sova_protocol::x402::b64::encode(p.transaction()));
        }
        self.live = Some(Live {
            payment: held,
            delivered: false,
            journaled_sent: false,
        });
        Ok(())
    }

    /// A request carrying the live payment may have reached the server.
    pub(crate) fn mark_delivered(&mut self) {
        if let Some(l) = &mut self.live {
            l.delivered = true;
        }
    }

    /// The server answered with the paid resource or a settlement: the payment is charged.
    /// Its receipt is kept and returned.
    pub(crate) fn settle(&mut self, settlement: Option<&Settlement>) -> Option<Receipt> {
        let live = self.live.take()?;
        let receipt = match &live.payment {
            Held::Signed(p) => receipt(p, settlement),
            Held::Reused(r) => reused_receipt(r, settlement),
        };
        if let Some(t) = self.journal(&live.payment, Status::Settled, None) {
            t.transaction_id.clone_from(&receipt.transaction);
        }
        live.payment.drop_reservation();
        self.settled = self.settled.saturating_add(receipt.amount);
        self.last_transaction = receipt.transaction.clone();
        self.receipts.push(receipt.clone());
        Some(receipt)
    }

    /// The payment can never be charged (proof from our RPC, or it never left): its
    /// budget comes back.
    pub(crate) fn release(&mut self) -> Option<PaymentRef> {
        self.release_as(Status::Released, "never delivered to the server")
    }

    /// The payment can never be charged, as `status` says (`Released`: it never reached
    /// the server; `Expired` / `Failed`: our RPC's proof): the journal records it, and the
    /// budget comes back with it.
    pub(crate) fn release_as(&mut self, status: Status, detail: &str) -> Option<PaymentRef> {
        let live = self.live.take()?;
        let r = live.payment.reference(PaymentState::NotCharged);
        self.journal(&live.payment, status, Some(detail));
        live.payment.drop_reservation();
        Some(r)
    }

    /// The payment may have been (or was) charged and no answer settles it: the budget
    /// keeps it and the call reports it.
    pub(crate) fn keep(&mut self, state: PaymentState) -> Option<PaymentRef> {
        let live = self.live.take()?;
        let r = live.payment.reference(state);
        let (status, detail) = match state {
            PaymentState::Charged => (Status::Landed, "our RPC found it on chain"),
            _ => (
                Status::Uncertain,
                "the call ended without proof; reconcile once its blockhash expires",
            ),
        };
        self.journal(&live.payment, status, Some(detail));
        live.payment.drop_reservation();
        Some(r)
    }

    /// Base units settled in this call.
    pub fn settled_amount(&self) -> u64 {
        self.settled
    }

    /// The last settled transaction.
    pub fn last_transaction(&self) -> Option<String> {
        self.last_transaction.clone()
    }

    /// The first payment settled in this call, as a charged reference.
    pub(crate) fn first_charged(&self) -> Option<PaymentRef> {
        self.receipts.first().map(PaymentRef::charged)
    }

    /// The last payment settled in this call, when more than one was.
    pub(crate) fn later_charged(&self) -> Option<PaymentRef> {
        (self.receipts.len() > 1)
            .then(|| self.receipts.last().map(PaymentRef::charged))
            .flatten()
    }

    /// Receipts of payments settled so far, oldest first.
    pub(crate) fn take_receipts(&mut self) -> Vec<Receipt> {
        std::mem::take(&mut self.receipts)
    }

    /// The end of a call: a live payment that never left is released; one that may have
    /// reached the server is kept and reported on the error.
    pub(crate) fn finish<T>(&mut self, result: Result<T, Error>) -> Result<T, Error> {
        let Some(live) = &self.live else {
            // A payment settled earlier in the call (a charged POST job whose result then
            // failed, say) is reported on the error.
            return match (result, self.receipts.last()) {
                (Err(e), Some(r)) if e.payment().is_none() => {
                    Err(e.with_payment(PaymentRef::charged(r)))
                }
                (other, _) => other,
            };
        };
        if !live.delivered {
            let r = self.release();
            return match (result, r) {
                (Err(e), Some(r)) => Err(e.with_payment(r)),
                (other, _) => other,
            };
        }
        let r = self.keep(PaymentState::MayHaveCharged);
        match (result, r) {
            (Err(e), Some(r)) => Err(e.with_payment(r)),
            (Ok(v), Some(r)) => {
                tracing::warn!(signature = %r.signature, "a call ended with a payment the server holds but has not settled; it may still be charged");
                Ok(v)
            }
            (other, None) => other,
        }
    }
}

fn reused_receipt(r: &PaymentRef, settlement: Option<&Settlement>) -> Receipt {
    Receipt {
        transaction: settlement
            .and_then(Settlement::transaction)
            .map(str::to_owned)
            .or_else(|| r.transaction.clone()),
        amount: r.amount,
        asset: r.asset.clone(),
        pay_to: r.pay_to.clone(),
        network: r.network.clone(),
        payer_signature: r.signature.clone(),
        memo: r.memo.clone(),
        payment_id: None,
        ledger_id: r.ledger_id.clone(),
    }
}

fn receipt(payment: &PreparedPayment, settlement: Option<&Settlement>) -> Receipt {
    let r = payment.record();
    Receipt {
        transaction: settlement
            .and_then(Settlement::transaction)
            .map(str::to_owned)
            .or_else(|| r.transaction_signature.clone()),
        amount: r.amount,
        asset: r.asset.clone(),
        pay_to: r.pay_to.clone(),
        network: r.network.clone(),
        payer_signature: r.payer_signature.clone(),
        memo: r.memo.clone(),
        payment_id: r.payment_id.clone(),
        ledger_id: Some(payment.reservation().id().to_owned()),
    }
}
