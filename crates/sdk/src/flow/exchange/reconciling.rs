//! Reconciling a doubtful payment through our own RPC, and deciding on the verdict: charged,
//! released (and perhaps paid once more, on proof), or possibly charged.

use super::*;

impl<E: Endpoint + Send> Exchange<E>
where
    E::Output: Send,
{
    // ---- reconciling -------------------------------------------------------------------

    pub(super) fn reconcile(&mut self, cx: &mut Ctx<'_>, doubt: Doubt, now: Instant) -> Out<E> {
        if let Some(reused) = cx.money.reused() {
            return self.doubt_reused(cx, reused, doubt);
        }
        let (Some(p), Some(record)) = (cx.payments, cx.money.record().cloned()) else {
            return self.fail(Error::internal(doubt.why));
        };
        // Whatever the verdict, later payments should not reuse this blockhash.
        if let Some(h) = sova_x402::LatestBlockhash::parse(&record.blockhash) {
            p.payer.blockhash_cache().invalidate_hash(&h);
        }
        let (rec, step) = Reconcile::start(record, &p.rpc_url);
        self.phase = Phase::Reconciling {
            rec: Box::new(rec),
            doubt: Box::new(doubt),
        };
        self.rec_step(cx, step, now)
    }

    pub(super) fn rec_step(&mut self, cx: &mut Ctx<'_>, step: RecStep, now: Instant) -> Out<E> {
        match step {
            RecStep::Ask(request) => self.send_rpc(cx, Ok(request)),
            RecStep::Verdict(v) => {
                let Phase::Reconciling { doubt, .. } =
                    std::mem::replace(&mut self.phase, Phase::Over)
                else {
                    return self.fail(Error::internal("reconciliation lost its state"));
                };
                self.decide(cx, v, *doubt, now)
            }
        }
    }

    pub(super) fn decide(
        &mut self,
        cx: &mut Ctx<'_>,
        verdict: Reconciliation,
        doubt: Doubt,
        now: Instant,
    ) -> Out<E> {
        if doubt.recall_202
            && let Some(answer) = doubt.answer
        {
            // The re-call answered 202 again. Landed: the payment is charged, and the job
            // handle says so. Proven never to land: released (a resume may pay once). Else it
            // stays live and the call's end reports it as possibly charged.
            let receipt = match &verdict {
                Reconciliation::Landed { .. } => cx.money.settle(None),
                v if v.safe_to_pay_again() => {
                    cx.money.release();
                    None
                }
                _ => None,
            };
            return self.parse_final(cx, answer, receipt);
        }
        match verdict {
            Reconciliation::Landed { signature, .. } => {
                let payment = cx.money.keep(PaymentState::Charged);
                if let (Some(p), Some(answer)) = (&payment, &doubt.answer)
                    && answer.status() == StatusCode::PARTIAL_CONTENT
                    && let Some(partial) =
                        sova_protocol::intel::PartialSuccess::from_response(answer)
                {
                    // The server said 0 credits; the chain says the payment landed.
                    return self.fail(Error::PartialSuccess {
                        partial: Box::new(partial),
                        payment: Some(Box::new(p.clone())),
                    });
                }
                match payment {
                    Some(payment) => self.fail(Error::PaymentUncertain {
                        reason: format!(
                            "{}; the payment landed on chain (transaction {signature}) but no answer was delivered",
                            doubt.why
                        ),
                        payment: Box::new(payment),
                    }),
                    None => self.fail(Error::internal(doubt.why)),
                }
            }
            v if v.safe_to_pay_again() => {
                // Proof from our own RPC: the payment can never land. Its budget comes back.
                let fall_back = doubt.refused_before_settlement
                    && doubt
                        .challenge
                        .as_ref()
                        .is_some_and(|c| self.may_fall_back(cx, c));
                let released = match &v {
                    Reconciliation::FailedOnChain { signature, .. } => cx.money.release_as(
                        sova_x402::ledger::Status::Failed,
                        &format!("our RPC found transaction {signature} failed on chain"),
                    ),
                    _ => cx.money.release_as(
                        sova_x402::ledger::Status::Expired,
                        "our RPC proved its blockhash expired and found nothing",
                    ),
                };
                if let Some(challenge) = doubt.challenge
                    && self.signed < MAX_PAYMENTS
                {
                    if fall_back {
                        tracing::info!(host = %cx.host, "the server refused the payment before settlement and it is proven uncharged; paying once more in the documented form");
                        self.fallback = true;
                    }
                    return self.prepare(cx, challenge, None, now);
                }
                match doubt.answer {
                    Some(answer) => {
                        let step = self.parse_final(cx, answer, None);
                        match (step, released) {
                            (Step::Done(Err(e)), Some(r)) => Step::Done(Err(e.with_payment(r))),
                            (other, _) => other,
                        }
                    }
                    None => match (doubt.error, released) {
                        (Some(e), Some(r)) => self.fail(e.with_payment(r)),
                        (Some(e), None) => self.fail(e),
                        (None, released) => self.fail(Error::Api {
                            error: Box::new(not_charged_error(&doubt.why)),
                            payment: released.map(Box::new),
                        }),
                    },
                }
            }
            _ => {
                let Some(payment) = cx.money.keep(PaymentState::MayHaveCharged) else {
                    return self.fail(Error::internal(doubt.why));
                };
                match doubt.answer {
                    // Keep the server's own error (status, code, message), marked as
                    // possibly charged, unless it is the 402 that the server used to say so.
                    Some(answer) if answer.status() != StatusCode::PAYMENT_REQUIRED => {
                        match self.parse_final(cx, answer, None) {
                            Step::Done(Err(e)) => Step::Done(Err(e.with_payment(payment))),
                            Step::Done(Ok(_))
                            | Step::Send { .. }
                            | Step::Sleep(_)
                            | Step::Ledger(_) => self.fail(Error::PaymentUncertain {
                                reason: doubt.why,
                                payment: Box::new(payment),
                            }),
                        }
                    }
                    _ => self.fail(Error::PaymentUncertain {
                        reason: format!(
                            "{}; the transaction is not on chain yet and may still land",
                            doubt.why
                        ),
                        payment: Box::new(payment),
                    }),
                }
            }
        }
    }

    /// A doubt about a payment reused from a job handle: it is not reconciled here (its
    /// record stayed with the call that signed it). A `202` again leaves it live (the call's
    /// end reports it on the new handle); a `402` is a refusal to deliver for it, and
    /// nothing new is signed; anything else reports it as possibly charged.
    pub(super) fn doubt_reused(
        &mut self,
        cx: &mut Ctx<'_>,
        reused: PaymentRef,
        doubt: Doubt,
    ) -> Out<E> {
        if doubt.recall_202
            && let Some(answer) = doubt.answer
        {
            return self.parse_final(cx, answer, None);
        }
        let state = match reused.state {
            PaymentState::Charged => PaymentState::Charged,
            _ => PaymentState::MayHaveCharged,
        };
        let payment = cx.money.keep(state).unwrap_or(reused);
        if doubt
            .answer
            .as_ref()
            .is_some_and(|a| a.status() == StatusCode::PAYMENT_REQUIRED)
        {
            return self.fail(Error::ResumeRefused {
                reason: format!(
                    "{}, when the job's payment (signature {}) was sent again to resume it; the SDK does not sign a second payment for one logical request",
                    doubt.why, payment.signature
                ),
                payment: Some(Box::new(payment)),
            });
        }
        self.fail(Error::PaymentUncertain {
            reason: doubt.why,
            payment: Box::new(payment),
        })
    }

    /// Whether the refused live payment may be redone in the documented form (Sova's: a
    /// legacy transaction with one `TransferChecked`, the flat payload): it was self-paid,
    /// not already in that form, and the new challenge still asks for the same payment (so
    /// the refusal was about the form, not the price or the recipient).
    pub(super) fn may_fall_back(&self, cx: &Ctx<'_>, challenge: &PaymentRequired) -> bool {
        let Some(live) = cx.money.live_payment() else {
            return false;
        };
        let record = live.record();
        let documented = record.mode == sova_x402::PaymentMode::Minimal
            && live.shape() == sova_protocol::x402::PayloadShape::Flat;
        !self.fallback
            && record.mode != sova_x402::PaymentMode::Sponsored
            && !documented
            && challenge
                .accepts
                .iter()
                .any(|r| r.fee_payer().is_none() && r.same_payment(live.requirement()))
    }
}
