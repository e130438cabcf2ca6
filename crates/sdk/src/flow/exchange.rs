//! One endpoint request, through retries, the x402 payment and reconciliation.

use std::time::Instant;

use sova_protocol::http::{HeaderValue, Request, Response, StatusCode};
use sova_protocol::retry::{Decision, Outcome, RequestTraits};
use sova_protocol::x402::{PaymentRequired, Settlement, headers as x402_headers};
use sova_protocol::{Credential, Endpoint, decode};
use sova_x402::ledger::{LedgerError, Op, Reply};
use sova_x402::rpc::{GetLatestBlockhash, GetMintInfo, RpcCall};
use sova_x402::{PrepareContext, Prepared, Reconciliation};

use super::reconcile::{RecStep, Reconcile};
use super::{Ctx, Failure, Machine, Step, Target};
use crate::call::{Paid, RequirementCache};
use crate::error::{Error, PaymentRef, PaymentState, Reached};

/// Payments one exchange may sign: the first, and one more only after our RPC proved the
/// first can never land.
const MAX_PAYMENTS: u32 = 2;

enum PrepRpc {
    Blockhash(GetLatestBlockhash),
    Mint(GetMintInfo),
}

/// Why the payment's outcome is unclear, and what the server answered (if it did).
struct Doubt {
    why: String,
    /// A fresh challenge that came with the answer (to pay again on proof).
    challenge: Option<PaymentRequired>,
    /// The server's answer, reported when the payment is proven uncharged.
    answer: Option<Response<Vec<u8>>>,
    /// The error to report when the payment is proven uncharged and there is no answer.
    error: Option<Error>,
    /// The server refused the payment with a 402 that carried no settlement header: it
    /// refused it before settlement, perhaps for its form (layout or payload shape).
    refused_before_settlement: bool,
    /// The paid re-call of a `202` fallback (`X-Prepaid-Job-Id`) answered `202` again
    /// without a settlement: the chain tells whether the payment was taken meanwhile.
    recall_202: bool,
}

enum Phase {
    /// Not started.
    Idle,
    /// Waiting for the API's answer to an attempt.
    Api {
        /// Whether the attempt carried the live payment.
        paid: bool,
    },
    /// Sleeping before the next attempt.
    Backoff,
    /// Fetching what a payment needs from our RPC.
    Preparing {
        required: Box<PaymentRequired>,
        rpc: PrepRpc,
    },
    /// Waiting for the ledger to reserve the composed payment's budget.
    Reserving {
        required: Box<PaymentRequired>,
        pending: Box<sova_x402::PendingPayment>,
    },
    /// Reading the chain about the live payment.
    Reconciling {
        rec: Box<Reconcile>,
        doubt: Box<Doubt>,
    },
    /// Finished.
    Over,
}

/// One request to one endpoint: retries with backoff, x402 payment (steady-state prepay
/// from the requirement cache, or pay on `402`), the settlement, and reconciliation when
/// the payment's outcome is unclear.
pub struct Exchange<E> {
    endpoint: E,
    request: Option<Request<Vec<u8>>>,
    traits: RequestTraits,
    /// Whether this request may carry an x402 payment.
    pays: bool,
    attempt: u32,
    signed: u32,
    cache_key: String,
    phase: Phase,
    /// The challenge the live payment pays (to sign again when it expires unsent).
    required: Option<PaymentRequired>,
    /// The live payment is the documented-form fallback of a refused one.
    fallback: bool,
    /// A resumed request ([`Exchange::resuming`]): the payment its job handle carries, and
    /// no new payment is signed unless that one is proven uncharged.
    resuming: Option<Option<PaymentRef>>,
}

type Out<E> = Step<Result<Paid<<E as Endpoint>::Output>, Error>>;

impl<E: Endpoint + Send> Exchange<E>
where
    E::Output: Send,
{
    /// An exchange for `endpoint` (nothing is built before it starts).
    pub fn new(endpoint: E) -> Self {
        Exchange {
            traits: RequestTraits {
                idempotent: endpoint.idempotent(),
                paid: false,
            },
            endpoint,
            request: None,
            pays: false,
            attempt: 0,
            signed: 0,
            cache_key: String::new(),
            phase: Phase::Idle,
            required: None,
            fallback: false,
            resuming: None,
        }
    }

    /// The request that resumes a job whose handle carries `payment` (the payment of the
    /// logical request, if one rode on it): that payment is sent again as it is when its
    /// header is known and it is not proven uncharged, and no new payment is signed unless
    /// it is proven uncharged. A `402` otherwise ends in [`Error::ResumeRefused`].
    pub fn resuming(endpoint: E, payment: Option<PaymentRef>) -> Self {
        let mut ex = Exchange::new(endpoint);
        ex.resuming = Some(payment);
        ex
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &E {
        &self.endpoint
    }

    fn done(&mut self, r: Result<Paid<E::Output>, Error>) -> Out<E> {
        self.phase = Phase::Over;
        Step::Done(r)
    }

    fn fail(&mut self, e: Error) -> Out<E> {
        self.done(Err(e))
    }

    fn begin(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Out<E> {
        let mut request = match self.endpoint.to_request(cx.base) {
            Ok(r) => r,
            Err(e) => return self.fail(e.into()),
        };
        if let Err(e) = cx.auth.authorize(
            self.endpoint.credential(),
            self.endpoint.name(),
            request.headers_mut(),
        ) {
            return self.fail(e);
        }
        let has_key = request.headers().contains_key("x-api-key");
        self.pays = cx.payments.is_some()
            && matches!(self.endpoint.credential(), Credential::IntelPaid)
            && !has_key;
        self.cache_key = RequirementCache::key(&cx.host, &self.endpoint.price_route());
        self.request = Some(request);
        if self.pays
            && !cx.money.has_live()
            && let Some(Some(p)) = &self.resuming
            && p.state != PaymentState::NotCharged
            && p.header.is_some()
        {
            // Resume: the same signed payment rides again; nothing new is signed.
            if let Err(e) = cx.money.reuse(p.clone()) {
                return self.fail(e);
            }
            return self.send(cx, now);
        }
        if self.pays
            && self.resuming.is_none()
            && !cx.money.has_live()
            && let Some(p) = cx.payments
            && let Some(required) = p.cache.get(&self.cache_key)
        {
            // Steady state: pay on the first request.
            return self.prepare(cx, required, None, now);
        }
        self.send(cx, now)
    }

    fn send(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Out<E> {
        if self.pays && !cx.money.live_delivered() && cx.money.live_expired(now) {
            return self.resign_expired(cx, now);
        }
        let left = cx.left(now);
        let paid = self.pays && cx.money.has_live();
        if left.is_zero() {
            return self.out_of_time(cx, now);
        }
        let Some(template) = &self.request else {
            return self.fail(Error::internal("the request was not built"));
        };
        let mut request = clone_request(template);
        if paid {
            match cx
                .money
                .header()
                .map(|(name, value)| (name, HeaderValue::from_str(value)))
            {
                Some((name, Ok(v))) => {
                    let name = if name.eq_ignore_ascii_case(x402_headers::X_PAYMENT) {
                        x402_headers::X_PAYMENT
                    } else {
                        x402_headers::PAYMENT_SIGNATURE
                    };
                    request.headers_mut().insert(name, v);
                }
                _ => {
                    return self.fail(Error::internal(
                        "the payment header is not a valid HTTP header value",
                    ));
                }
            }
        }
        if paid {
            // Write-ahead: the journal says `sent` before the payment leaves.
            cx.money.sending();
        }
        self.traits.paid = paid;
        self.attempt += 1;
        cx.stats.api += 1;
        self.phase = Phase::Api { paid };
        Step::Send {
            target: Target::Api,
            request,
            timeout: cx.settings.attempt_timeout.min(left),
        }
    }

    /// The call's budget ran out before another attempt.
    fn out_of_time(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Out<E> {
        let after = cx.settings.call_timeout;
        if self.pays && cx.money.live_delivered() {
            return self.reconcile(
                cx,
                Doubt {
                    why: "the call budget ran out after the payment was sent".into(),
                    challenge: None,
                    answer: None,
                    error: Some(Error::CallTimeout {
                        after,
                        payment: None,
                    }),
                    refused_before_settlement: false,
                    recall_202: false,
                },
                now,
            );
        }
        // A payment that never left is released by the call's end.
        self.fail(Error::CallTimeout {
            after,
            payment: None,
        })
    }

    // ---- paying ------------------------------------------------------------------------

    /// The live payment never left this process and is older than its requirement's
    /// `maxTimeoutSeconds`: the server would no longer take it. Never sent, it is provably
    /// uncharged, so it is released and the same challenge is paid afresh (within the
    /// exchange's limit of signed payments).
    fn resign_expired(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Out<E> {
        let released = cx.money.release();
        let Some(required) = self.required.clone() else {
            return self.fail(Error::internal(
                "the payment expired unsent and its challenge was not kept",
            ));
        };
        if self.signed >= MAX_PAYMENTS {
            let e = Error::internal(format!(
                "the payment was older than the server's maxTimeoutSeconds ({}s) before it could be sent, {MAX_PAYMENTS} times; it was never sent and not charged",
                required
                    .accepts
                    .first()
                    .and_then(|r| r.max_timeout_seconds)
                    .unwrap_or(0)
            ));
            return self.fail(match released {
                Some(r) => e.with_payment(r),
                None => e,
            });
        }
        tracing::debug!("payment expired unsent (maxTimeoutSeconds); signing a fresh one");
        self.prepare(cx, required, None, now)
    }

    fn prepare(
        &mut self,
        cx: &mut Ctx<'_>,
        required: PaymentRequired,
        blockhash: Option<sova_x402::LatestBlockhash>,
        now: Instant,
    ) -> Out<E> {
        let Some(p) = cx.payments else {
            return self.fail(Error::internal("x402 is not configured"));
        };
        if let Some(handle_payment) = &self.resuming
            && handle_payment
                .as_ref()
                .is_none_or(|h| h.state != PaymentState::NotCharged)
        {
            return self.fail(resume_refusal(handle_payment.clone()));
        }
        if cx.money.has_live() {
            return self.fail(Error::internal(
                "refusing to sign a second payment while one is live",
            ));
        }
        if self.signed >= MAX_PAYMENTS {
            return self.fail(Error::internal(format!(
                "this request already signed {MAX_PAYMENTS} payments; not signing another"
            )));
        }
        let mut ctx = PrepareContext::new(now)
            .host(&cx.host)
            .documented_form(self.fallback)
            .wall_clock_ms(cx.now_ms());
        if let Some(cap) = cx.settings.max_payment {
            ctx = ctx.max_amount(cap);
        }
        if let Some(b) = blockhash {
            ctx = ctx.blockhash(b);
        }
        let prepared = p.payer.prepare(&required, &ctx);
        self.on_prepared(cx, required, prepared, now)
    }

    /// What the payer answered: a signed payment goes live and is sent; a missing input is
    /// fetched from our RPC; a reservation is run on the ledger.
    fn on_prepared(
        &mut self,
        cx: &mut Ctx<'_>,
        required: PaymentRequired,
        prepared: Result<Prepared, sova_x402::Error>,
        now: Instant,
    ) -> Out<E> {
        let Some(p) = cx.payments else {
            return self.fail(Error::internal("x402 is not configured"));
        };
        match prepared {
            Ok(Prepared::Ready(payment)) => {
                if let Err(e) = cx.money.attach(payment) {
                    return self.fail(e);
                }
                self.required = Some(required);
                self.signed += 1;
                cx.stats.payments += 1;
                self.attempt = 0;
                self.send(cx, now)
            }
            Ok(Prepared::NeedReservation(pending)) => {
                let pending = pending
                    .for_request(&cx.request_id, self.endpoint.name())
                    .at(cx.now_ms());
                let op = Op::Reserve(Box::new(pending.request().clone()));
                self.phase = Phase::Reserving {
                    required: Box::new(required),
                    pending,
                };
                Step::Ledger(vec![op])
            }
            Ok(Prepared::NeedBlockhash(call)) => {
                let req = call.http_request(&p.rpc_url, 1);
                self.phase = Phase::Preparing {
                    required: Box::new(required),
                    rpc: PrepRpc::Blockhash(call),
                };
                self.send_rpc(cx, req)
            }
            Ok(Prepared::NeedMintInfo(call)) => {
                let req = call.http_request(&p.rpc_url, 1);
                self.phase = Phase::Preparing {
                    required: Box::new(required),
                    rpc: PrepRpc::Mint(call),
                };
                self.send_rpc(cx, req)
            }
            Ok(_) => self.fail(Error::internal(
                "the payer asked for a step this SDK does not know",
            )),
            Err(sova_x402::Error::Refused(list)) => self.fail(Error::from_refusals(list)),
            Err(e) => self.fail(Error::Payment(e)),
        }
    }

    /// The ledger's answer to a reservation: the payer signs under it, or says why not.
    fn on_reserved(
        &mut self,
        cx: &mut Ctx<'_>,
        required: PaymentRequired,
        pending: Box<sova_x402::PendingPayment>,
        replies: Result<Vec<Reply>, LedgerError>,
        now: Instant,
    ) -> Out<E> {
        let Some(p) = cx.payments else {
            return self.fail(Error::internal("x402 is not configured"));
        };
        let outcome = match replies {
            Ok(mut r) => match r.pop() {
                Some(Reply::Reserve(o)) => o,
                _ => {
                    return self.fail(Error::internal(
                        "the ledger answered a reservation out of turn",
                    ));
                }
            },
            Err(e) => {
                return self.fail(Error::Ledger {
                    message: format!("{e}; nothing was reserved or signed"),
                    payment: None,
                });
            }
        };
        let prepared = p.payer.complete(pending, outcome);
        self.on_prepared(cx, required, prepared, now)
    }

    fn send_rpc(
        &mut self,
        cx: &mut Ctx<'_>,
        request: Result<Request<Vec<u8>>, sova_x402::rpc::RpcError>,
    ) -> Out<E> {
        match request {
            Ok(request) => {
                cx.stats.rpc += 1;
                Step::Send {
                    target: Target::Rpc,
                    request,
                    // RPC reads get a full attempt even after the call's budget ran out:
                    // reconciliation decides about money.
                    timeout: cx.settings.attempt_timeout,
                }
            }
            Err(e) => self.fail(Error::Rpc(format!("bad RPC request: {e}"))),
        }
    }

    fn on_prep_answer(
        &mut self,
        cx: &mut Ctx<'_>,
        required: PaymentRequired,
        rpc: PrepRpc,
        response: Response<Vec<u8>>,
        now: Instant,
    ) -> Out<E> {
        if !response.status().is_success() {
            return self.fail(Error::Rpc(format!(
                "the RPC node answered {}",
                response.status()
            )));
        }
        match rpc {
            PrepRpc::Blockhash(call) => match call.parse(response.body()) {
                Ok(latest) => self.prepare(cx, required, Some(latest), now),
                Err(e) => self.fail(Error::Rpc(e.to_string())),
            },
            PrepRpc::Mint(call) => match call.parse(response.body()) {
                Ok(info) => {
                    if let Some(p) = cx.payments {
                        p.payer.mints().insert(info);
                    }
                    self.prepare(cx, required, None, now)
                }
                Err(e) => self.fail(Error::Rpc(e.to_string())),
            },
        }
    }

    // ---- answers -----------------------------------------------------------------------

    fn on_unpaid_answer(
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

    fn on_paid_answer(
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

    fn parse_final(
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

    fn maybe_retry(&mut self, cx: &mut Ctx<'_>, outcome: &Outcome, now: Instant) -> Option<Out<E>> {
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

    // ---- reconciling -------------------------------------------------------------------

    fn reconcile(&mut self, cx: &mut Ctx<'_>, doubt: Doubt, now: Instant) -> Out<E> {
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

    fn rec_step(&mut self, cx: &mut Ctx<'_>, step: RecStep, now: Instant) -> Out<E> {
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

    fn decide(
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
}

impl<E: Endpoint + Send> Exchange<E>
where
    E::Output: Send,
{
    /// A doubt about a payment reused from a job handle: it is not reconciled here (its
    /// record stayed with the call that signed it). A `202` again leaves it live (the call's
    /// end reports it on the new handle); a `402` is a refusal to deliver for it, and
    /// nothing new is signed; anything else reports it as possibly charged.
    fn doubt_reused(&mut self, cx: &mut Ctx<'_>, reused: PaymentRef, doubt: Doubt) -> Out<E> {
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
    fn may_fall_back(&self, cx: &Ctx<'_>, challenge: &PaymentRequired) -> bool {
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

impl<E: Endpoint + Send> Machine for Exchange<E>
where
    E::Output: Send,
{
    type Value = Paid<E::Output>;

    fn start(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Out<E> {
        self.begin(cx, now)
    }

    fn on_response(
        &mut self,
        cx: &mut Ctx<'_>,
        response: Response<Vec<u8>>,
        now: Instant,
    ) -> Out<E> {
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Api { paid } => {
                cx.mark_reached(Reached::Yes);
                if paid {
                    cx.money.mark_delivered();
                    self.on_paid_answer(cx, response, now)
                } else {
                    self.on_unpaid_answer(cx, response, now)
                }
            }
            Phase::Preparing { required, rpc } => {
                self.on_prep_answer(cx, *required, rpc, response, now)
            }
            Phase::Reserving { .. } => self.fail(Error::internal(
                "an answer arrived while the ledger was reserving",
            )),
            Phase::Reconciling { mut rec, doubt } => {
                let step = rec.on_response(&response);
                self.phase = Phase::Reconciling { rec, doubt };
                self.rec_step(cx, step, now)
            }
            Phase::Idle | Phase::Backoff | Phase::Over => {
                self.fail(Error::internal("an answer arrived when none was expected"))
            }
        }
    }

    fn on_failure(&mut self, cx: &mut Ctx<'_>, failure: Failure, now: Instant) -> Out<E> {
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Api { paid } => {
                let sent = failure.kind.may_have_been_sent();
                if sent {
                    cx.mark_reached(Reached::Maybe);
                    if paid {
                        cx.money.mark_delivered();
                    }
                }
                if let Some(step) = self.maybe_retry(cx, &Outcome::Transport(failure.kind), now) {
                    return step;
                }
                if paid && cx.money.live_delivered() {
                    // Some attempt may have delivered the payment, whatever the last one
                    // says: only the chain can tell.
                    return self.reconcile(
                        cx,
                        Doubt {
                            why: format!(
                                "the connection failed after the payment was sent ({})",
                                failure.message
                            ),
                            challenge: None,
                            answer: None,
                            error: Some(Error::Transport {
                                kind: failure.kind,
                                message: failure.message.clone(),
                                payment: None,
                                source: failure.source,
                                reached: cx.reached,
                            }),
                            refused_before_settlement: false,
                            recall_202: false,
                        },
                        now,
                    );
                }
                // Nothing reached the server with this payment: the call's end releases it.
                self.fail(Error::Transport {
                    kind: failure.kind,
                    message: failure.message,
                    payment: None,
                    source: failure.source,
                    reached: cx.reached,
                })
            }
            Phase::Preparing { .. } => self.fail(Error::Rpc(failure.message)),
            Phase::Reserving { .. } => self.fail(Error::internal(
                "a transport failure arrived while the ledger was reserving",
            )),
            Phase::Reconciling { mut rec, doubt } => {
                let step = rec.on_failure();
                self.phase = Phase::Reconciling { rec, doubt };
                self.rec_step(cx, step, now)
            }
            Phase::Idle | Phase::Backoff | Phase::Over => self.fail(Error::internal(
                "a transport failure arrived when nothing was sent",
            )),
        }
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Out<E> {
        match self.phase {
            Phase::Backoff => self.send(cx, now),
            _ => self.fail(Error::internal("a wake-up arrived when nothing slept")),
        }
    }

    fn on_ledger(
        &mut self,
        cx: &mut Ctx<'_>,
        replies: Result<Vec<Reply>, LedgerError>,
        now: Instant,
    ) -> Out<E> {
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Reserving { required, pending } => {
                self.on_reserved(cx, *required, pending, replies, now)
            }
            _ => self.fail(Error::internal(
                "a ledger answer arrived when none was expected",
            )),
        }
    }
}

fn status_outcome(response: &Response<Vec<u8>>) -> Outcome {
    Outcome::Status {
        status: response.status(),
        retry_after: decode::retry_after(response.headers()),
    }
}

/// Why a resume does not sign a new payment, for the handle's payment.
fn resume_refusal(payment: Option<PaymentRef>) -> Error {
    let reason = match &payment {
        None => "this job handle records no payment (made by an older SDK or without x402), so resuming it could pay a second time for one request; it was not resumed: call the wallet method again if you accept a new payment".to_owned(),
        Some(p) if p.state == PaymentState::Charged => format!(
            "the server asks to be paid again to resume the job, but its request was already paid ({}, signature {}); the SDK does not pay twice for one logical request: contact the API provider with the signature",
            p.amount_text(),
            p.signature
        ),
        Some(p) => format!(
            "the server asks to be paid again to resume the job, but the job's payment (signature {}) may have been charged and is not resolved; the SDK refuses to sign another payment while it is uncertain: check the signature on chain, and call the wallet method again only if it never landed",
            p.signature
        ),
    };
    Error::ResumeRefused {
        reason,
        payment: payment.map(Box::new),
    }
}

fn not_charged_error(reason: &str) -> sova_protocol::ApiError {
    let mut e =
        sova_protocol::ApiError::new(sova_protocol::Service::Intel, StatusCode::PAYMENT_REQUIRED);
    e.errors.push(sova_protocol::ApiErrorDetail {
        code: Some("payment_not_settled".into()),
        message: format!(
            "{reason}; our RPC shows the payment did not land and can no longer land, so nothing was charged"
        ),
    });
    e
}

/// Why the server refused a payment, in its words: the settlement header's reason, the new
/// challenge's `error`, or the body's message.
fn failure_text(response: &Response<Vec<u8>>) -> Option<String> {
    if let Some(Ok(Settlement::Response(r))) = Settlement::from_headers(response.headers())
        && !r.success
        && let Some(reason) = r.error_reason.as_deref().or(r.error_message.as_deref())
    {
        return Some(reason.to_owned());
    }
    if let Ok(Some(p)) = PaymentRequired::from_response(response.headers(), response.body())
        && let Some(e) = p.error.as_deref()
    {
        return Some(e.to_owned());
    }
    let v: serde_json::Value = serde_json::from_slice(response.body()).ok()?;
    v.get("message")
        .or_else(|| v.get("error"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

fn clone_request(r: &Request<Vec<u8>>) -> Request<Vec<u8>> {
    let mut out = Request::new(r.body().clone());
    *out.method_mut() = r.method().clone();
    *out.uri_mut() = r.uri().clone();
    *out.headers_mut() = r.headers().clone();
    *out.version_mut() = r.version();
    out
}
