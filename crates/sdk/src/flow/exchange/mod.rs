//! One endpoint request, through retries, the x402 payment and reconciliation.

use std::time::Instant;

use sova_protocol::http::{HeaderValue, Request, Response, StatusCode};
use sova_protocol::retry::{Decision, Outcome, RequestTraits};
use sova_protocol::x402::{PaymentRequired, Settlement, headers as x402_headers};
use sova_protocol::{Credential, Endpoint, decode};
use sova_x402::ledger::{LedgerError, Op, Reply};
use sova_x402::rpc::{GetLatestBlockhash, GetMintInfo, RpcCall};
use sova_x402::{PrepareContext, Prepared, Reconciliation};

mod answers;
mod paying;
mod reconciling;

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
    /// The wallet's USDC, before this client's first USDC payment.
    Balance {
        call: sova_x402::rpc::GetTokenBalance,
        needed: u64,
    },
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
