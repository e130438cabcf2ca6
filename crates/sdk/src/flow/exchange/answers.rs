//! The server's answers: unpaid (a challenge to pay), paid (the settlement or a doubt),
//! final parsing and retries.

use super::*;

impl<E: Endpoint + Send> Exchange<E>
where
    E::Output: Send,
{
    // ---- answers -----------------------------------------------------------------------

    pub(super) fn on_unpaid_answer(
        &mut self,
        cx: &mut Ctx<'_>,
        response: Response<Vec<u8>>,
        now: Instant,
    ) -> Out<E> {
        let status = response.status();
        if status == StatusCode::PAYMENT_REQUIRED && self.pays && !cx.money.has_live() {
            return match PaymentRequired::from_response(response.headers(), response.body()) {
                Ok(Some(required)) => {
                    if let Some(p) = cx.payments {
                        p.cache.remember(&self.cache_key, required.clone());
                    }
                    self.prepare(cx, required, None, now)
                }
                Ok(None) => self.parse_final(cx, response, None),
                Err(e) => self.fail(Error::protocol(
                    format!("its payment challenge (PAYMENT-REQUIRED) could not be read: {e}"),
                    Some(status),
                )),
            };
        }
        if !status.is_success()
            && let Some(step) = self.maybe_retry(cx, &status_outcome(&response), now)
        {
            return step;
        }
        self.parse_final(cx, response, None)
    }

    pub(super) fn on_paid_answer(
        &mut self,
        cx: &mut Ctx<'_>,
        response: Response<Vec<u8>>,
        now: Instant,
    ) -> Out<E> {
        let status = response.status();
        let settlement = Settlement::from_headers(response.headers()).and_then(Result::ok);
        if status.is_success() {
            if let Some(Settlement::Response(r)) = &settlement
                && !r.success
            {
                let why = format!(
                    "the server answered {status} but reported the settlement failed ({})",
                    r.error_reason
                        .as_deref()
                        .or(r.error_message.as_deref())
                        .unwrap_or("no reason")
                );
                return self.reconcile(
                    cx,
                    Doubt {
                        why,
                        challenge: None,
                        answer: None,
                        error: None,
                        refused_before_settlement: false,
                        recall_202: false,
                    },
                    now,
                );
            }
            if status == StatusCode::PARTIAL_CONTENT && settlement.is_none() {
                // "Partial success — 0cr charged" is the server's word, not proof: the
                // payment is charged if it lands, so the chain decides what to report.
                return self.reconcile(
                    cx,
                    Doubt {
                        why: "the server answered 206 partial success (documented as 0 credits charged) without a settlement".into(),
                        challenge: None,
                        answer: Some(response),
                        error: None,
                        refused_before_settlement: false,
                        recall_202: false,
                    },
                    now,
                );
            }
            if status == StatusCode::ACCEPTED
                && self.endpoint.free_accepted()
                && settlement.is_none()
                && self
                    .request
                    .as_ref()
                    .is_some_and(|r| r.headers().contains_key("x-prepaid-job-id"))
            {
                // The paid re-call answered 202 again: the server may have taken the payment
                // meanwhile (a hostile one settles and answers 202 forever). The chain says.
                return self.reconcile(
                    cx,
                    Doubt {
                        why: "the server answered 202 again to the paid re-call".into(),
                        challenge: None,
                        answer: Some(response),
                        error: None,
                        refused_before_settlement: false,
                        recall_202: true,
                    },
                    now,
                );
            }
            if status == StatusCode::ACCEPTED
                && self.endpoint.free_accepted()
                && settlement.is_none()
            {
                // The documented fallback's 202 costs 0 credits and carries no settlement.
                // How an x402 payment reaches the re-call is undocumented: it stays live and
                // is sent again on the re-call, whose answer settles it.
                return self.parse_final(cx, response, None);
            }
            let receipt = cx.money.settle(settlement.as_ref());
            return self.parse_final(cx, response, receipt);
        }
        if status == StatusCode::PAYMENT_REQUIRED {
            let challenge = PaymentRequired::from_response(response.headers(), response.body())
                .ok()
                .flatten();
            // The server's current requirement: the fresh challenge, else the cached one.
            let challenge = match (challenge, cx.payments) {
                (Some(c), Some(p)) => {
                    p.cache.remember(&self.cache_key, c.clone());
                    Some(c)
                }
                (None, Some(p)) => p.cache.get(&self.cache_key),
                (c, None) => c,
            };
            let why = match failure_text(&response) {
                Some(t) => format!("the server refused the payment ({t})"),
                None => "the server answered 402 to a signed payment without saying why".into(),
            };
            if settlement.is_none()
                && let (Some(c), Some(p)) = (&challenge, cx.payments)
                && self.may_fall_back(cx, c)
            {
                // Refused before settlement, same payment asked again: the form was refused.
                // Later calls to this host start with the documented form (each still signs
                // once); this call pays again only on proof, below.
                p.payer.remember_documented_form(&cx.host);
                tracing::info!(host = %cx.host, "the server refused the payment form before settlement; later payments to this host use the documented form");
            }
            return self.reconcile(
                cx,
                Doubt {
                    why,
                    challenge,
                    answer: Some(response),
                    error: None,
                    refused_before_settlement: settlement.is_none(),
                    recall_202: false,
                },
                now,
            );
        }
        if let Some(step) = self.maybe_retry(cx, &status_outcome(&response), now) {
            return step;
        }
        let why = format!("the server answered {status} after the payment was sent");
        self.reconcile(
            cx,
            Doubt {
                why,
                challenge: None,
                answer: Some(response),
                error: None,
                refused_before_settlement: false,
                recall_202: false,
            },
            now,
        )
    }

    pub(super) fn parse_final(
        &mut self,
        cx: &mut Ctx<'_>,
        response: Response<Vec<u8>>,
        receipt: Option<crate::call::Receipt>,
    ) -> Out<E> {
        if let Some(partial) = sova_protocol::intel::PartialSuccess::from_response(&response) {
            // A bundle with a failed half: typed, whatever the endpoint's parser thinks.
            let payment = receipt.as_ref().map(|r| Box::new(PaymentRef::charged(r)));
            let _ = cx;
            return self.done(Err(Error::PartialSuccess {
                partial: Box::new(partial),
                payment,
            }));
        }
        let parsed = match self.endpoint.parse(&response) {
            Ok(value) => Ok(Paid {
                value,
                receipt,
                earlier_receipts: Vec::new(),
            }),
            Err(e) => {
                let payment = receipt.as_ref().map(|r| Box::new(PaymentRef::charged(r)));
                let mut err = Error::from_response(e, payment);
                if response.status() == StatusCode::PAYMENT_REQUIRED
                    && let Error::Api {
                        error,
                        payment: None,
                    } = err
                {
                    err = Error::PaymentRequired(error);
                }
                Err(err)
            }
        };
        let _ = cx;
        self.done(parsed)
    }

    pub(super) fn maybe_retry(
        &mut self,
        cx: &mut Ctx<'_>,
        outcome: &Outcome,
        now: Instant,
    ) -> Option<Out<E>> {
        match cx
            .settings
            .retry
            .decide(self.attempt, outcome, self.traits, &mut cx.jitter)
        {
            Decision::Retry(delay) if delay < cx.left(now) => {
                self.phase = Phase::Backoff;
                Some(Step::Sleep(delay))
            }
            _ => None,
        }
    }
}
