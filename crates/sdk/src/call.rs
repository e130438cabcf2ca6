//! The one orchestration of a call, as a sans-IO state machine.
//!
//! [`CallMachine`] returns [`Action`]s (send this request, sleep this long, done) and takes
//! the results (a response, a transport error, a wake-up). The async and blocking clients are
//! each a short loop that executes those actions; nothing about a call's semantics is written
//! twice. Time is an input (`now`), so the machine is tested without a clock or a network.
//!
//! With x402 configured, the machine also pays:
//!
//! 1. In steady state the requirement of this route is cached: the payment is prepared before
//!    the first send (one round trip).
//! 2. Otherwise a `402` carries the challenge: the spend policy is checked and the payment
//!    signed (after a `getLatestBlockhash` when the blockhash cache is cold), and the request
//!    is sent again with `PAYMENT-SIGNATURE`.
//! 3. Transport retries resend the **same** signed header. A `402` answering a payment is
//!    read: when the server says nothing was charged (price changed, requirement mismatch),
//!    the budget is released and the call pays once more, at most once; otherwise the outcome
//!    is ambiguous and the machine reconciles through RPC (signature status, memo nonce,
//!    block height) before deciding. It never silently pays twice.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sova_protocol::http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use sova_protocol::retry::{
    Decision, Outcome, RequestTraits, RetryPolicy, SplitMix, TransportErrorKind,
};
use sova_protocol::x402::{FailureReason, PaymentRequired, Settlement, headers as x402_headers};
use sova_protocol::{BaseUrl, Credential, Endpoint, decode};
use sova_x402::rpc::{
    GetBlockHeight, GetLatestBlockhash, GetMintInfo, GetSignatureStatuses, GetSignaturesForAddress,
    RpcCall,
};
use sova_x402::{
    Evidence, Payer, PaymentRecord, PrepareContext, Prepared, PreparedPayment, Reconciliation,
};

use crate::error::{Error, PaymentRef};

/// Per-call overrides of the client's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// Timeout of one attempt (overrides the client's `Timeouts::attempt`).
    pub attempt_timeout: Option<Duration>,
    /// Budget of the whole call, retries included (overrides `Timeouts::call`).
    pub call_timeout: Option<Duration>,
    /// Retry policy (overrides the client's).
    pub retry: Option<RetryPolicy>,
    /// The largest x402 payment this call may make, in base units, on top of the spend
    /// policy's caps (e.g. an approval threshold). A larger price is refused before anything
    /// is signed, with [`Error::PaymentRefused`] naming the amount and this cap.
    pub max_payment: Option<u64>,
}

impl CallOptions {
    /// Sets the per-attempt timeout.
    pub fn attempt_timeout(mut self, d: Duration) -> Self {
        self.attempt_timeout = Some(d);
        self
    }
    /// Sets the whole-call budget.
    pub fn call_timeout(mut self, d: Duration) -> Self {
        self.call_timeout = Some(d);
        self
    }
    /// Sets the retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
    /// Caps this call's payment at `base_units` (checked before signing).
    pub fn max_payment(mut self, base_units: u64) -> Self {
        self.max_payment = Some(base_units);
        self
    }
}

/// What the driver must do next.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // short-lived; boxing the request would cost an allocation per send
pub enum Action {
    /// Send this request with this timeout, then call [`CallMachine::on_response`] or
    /// [`CallMachine::on_transport_error`]. It is either the API call or a Solana RPC call
    /// (blockhash, reconciliation); the machine knows which.
    Send {
        /// The request.
        request: Request<Vec<u8>>,
        /// The attempt timeout.
        timeout: Duration,
    },
    /// Sleep, then call [`CallMachine::on_wake`].
    Sleep(Duration),
    /// Finished: take the result with [`CallMachine::into_result`].
    Done,
}

/// Attaches credentials to a request; implemented by each client's auth configuration.
pub trait Authorizer {
    /// Adds the headers `credential` needs, or refuses (nothing is sent then).
    fn authorize(&self, credential: Credential, headers: &mut HeaderMap) -> Result<(), Error>;
}

/// Settings the machine needs from the client.
#[derive(Debug, Clone)]
pub struct CallSettings {
    /// Per-attempt timeout.
    pub attempt_timeout: Duration,
    /// Whole-call budget.
    pub call_timeout: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Seed for backoff jitter.
    pub jitter_seed: u64,
    /// Per-call payment cap.
    pub max_payment: Option<u64>,
}

impl CallSettings {
    /// A client's defaults, overridden by per-call options; a fresh jitter seed per call.
    pub fn resolve(
        timeouts: &sova_protocol::transport::Timeouts,
        retry: &RetryPolicy,
        options: &CallOptions,
    ) -> Self {
        CallSettings {
            attempt_timeout: options.attempt_timeout.unwrap_or(timeouts.attempt),
            call_timeout: options.call_timeout.unwrap_or(timeouts.call),
            retry: options.retry.clone().unwrap_or_else(|| retry.clone()),
            jitter_seed: jitter_seed(),
            max_payment: options.max_payment,
        }
    }
}

/// A per-call seed for backoff jitter: time mixed with a process-wide counter.
pub(crate) fn jitter_seed() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0x5eed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ COUNTER.fetch_add(0x9E37_79B9, Ordering::Relaxed)
}

/// What a paid call paid: decoded from `PAYMENT-RESPONSE` / `X-Payment-Response` and the
/// payment's own record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The settled transaction's signature, as the server reported it (or, in self-paid
    /// mode, our own signature when the server sent none).
    pub transaction: Option<String>,
    /// Atomic units paid.
    pub amount: u64,
    /// The mint.
    pub asset: String,
    /// The recipient wallet.
    pub pay_to: String,
    /// CAIP-2 network.
    pub network: String,
    /// The payer's own signature (base58).
    pub payer_signature: String,
    /// The memo written in the transaction.
    pub memo: Option<String>,
}

/// A call's output, with the receipt when it was paid with x402.
#[derive(Debug, Clone, PartialEq)]
pub struct Paid<T> {
    /// The output.
    pub value: T,
    /// The receipt, when the call paid.
    pub receipt: Option<Receipt>,
}

impl<T> Paid<T> {
    /// The output, dropping the receipt.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> std::ops::Deref for Paid<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// Requirements learned per route, so later calls pay on the first request.
#[derive(Debug, Default)]
pub struct RequirementCache {
    map: Mutex<std::collections::HashMap<String, PaymentRequired>>,
}

impl RequirementCache {
    fn get(&self, key: &str) -> Option<PaymentRequired> {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }
    fn put(&self, key: &str, required: PaymentRequired) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_owned(), required);
    }
    fn forget(&self, key: &str) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
    /// Remembers a challenge learned elsewhere (e.g. from the pricing endpoint) for a route
    /// `"{METHOD} {path}"`.
    pub fn remember(&self, route: &str, required: PaymentRequired) {
        self.put(route, required);
    }
    /// How many routes have a cached requirement.
    pub fn len(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// x402 settings of a client: the payer (signer, spend policy, blockhash cache), the Solana
/// RPC endpoint and the requirement cache.
#[derive(Clone)]
pub struct Payments {
    /// The payer.
    pub payer: Arc<Payer>,
    /// Solana JSON-RPC URL for blockhashes and reconciliation.
    pub rpc_url: String,
    /// Requirements learned per route.
    pub cache: Arc<RequirementCache>,
}

impl std::fmt::Debug for Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payments")
            .field("payer", &self.payer.pubkey().to_string())
            .field("rpc_url", &self.rpc_url)
            .finish_non_exhaustive()
    }
}

enum Rpc {
    Blockhash(GetLatestBlockhash),
    Mint(GetMintInfo),
    Statuses(GetSignatureStatuses),
    Signatures(GetSignaturesForAddress),
    Height(GetBlockHeight),
}

enum Pay {
    /// No payment attached.
    Unpaid,
    /// A challenge to pay, waiting for an RPC answer.
    Preparing { required: PaymentRequired, rpc: Rpc },
    /// A signed payment rides on the request.
    Attached { payment: Box<PreparedPayment> },
    /// The outcome was ambiguous: reading the chain.
    Reconciling {
        payment: Box<PreparedPayment>,
        reason: String,
        rpc: Rpc,
        statuses: Option<Vec<Option<sova_x402::rpc::SignatureStatus>>>,
        signatures: Option<Vec<sova_x402::rpc::SignatureInfo>>,
    },
}

/// The state machine of one logical call.
pub struct CallMachine<'e, E: Endpoint> {
    endpoint: &'e E,
    request: Request<Vec<u8>>,
    traits: RequestTraits,
    retry: RetryPolicy,
    /// Attempts of the current request (reset when a payment is attached: its resends get
    /// their own retry budget).
    attempt: u32,
    /// API requests sent in all.
    sends: u32,
    attempt_timeout: Duration,
    call_timeout: Duration,
    deadline: Instant,
    max_payment: Option<u64>,
    jitter: SplitMix,
    payments: Option<&'e Payments>,
    route: String,
    host: String,
    pay: Pay,
    payments_made: u32,
    rpc_sent: u32,
    result: Option<Result<Paid<E::Output>, Error>>,
}

impl<'e, E: Endpoint> CallMachine<'e, E> {
    /// Builds the request (nothing is sent yet). Fails without side effects on bad input or
    /// missing credentials.
    pub fn new(
        endpoint: &'e E,
        base: &BaseUrl,
        auth: &dyn Authorizer,
        settings: &CallSettings,
        now: Instant,
    ) -> Result<Self, Error> {
        let mut request = endpoint.to_request(base)?;
        auth.authorize(endpoint.credential(), request.headers_mut())?;
        let route = format!("{} {}", request.method(), request.uri().path());
        let host = request.uri().host().unwrap_or_default().to_owned();
        Ok(CallMachine {
            traits: RequestTraits {
                idempotent: endpoint.idempotent(),
                paid: false,
            },
            endpoint,
            request,
            retry: settings.retry.clone(),
            attempt: 0,
            sends: 0,
            attempt_timeout: settings.attempt_timeout,
            call_timeout: settings.call_timeout,
            deadline: now + settings.call_timeout,
            max_payment: settings.max_payment,
            jitter: SplitMix(settings.jitter_seed),
            payments: None,
            route,
            host,
            pay: Pay::Unpaid,
            payments_made: 0,
            rpc_sent: 0,
            result: None,
        })
    }

    /// Enables x402: on a `402` (or before the first send, when the route's requirement is
    /// cached) the machine pays with `payments`. Only for endpoints that accept payment.
    pub fn with_payments(mut self, payments: Option<&'e Payments>) -> Self {
        let accepts = matches!(self.endpoint.credential(), Credential::IntelPaid);
        let has_key = self.request.headers().contains_key("x-api-key");
        self.payments = payments.filter(|_| accepts && !has_key);
        self
    }

    /// The endpoint's name (for spans).
    pub fn name(&self) -> &'static str {
        self.endpoint.name()
    }

    /// API requests sent so far (every attempt, paid or not).
    pub fn attempts(&self) -> u32 {
        self.sends
    }

    /// Solana RPC requests so far (blockhash, mint info, reconciliation).
    pub fn rpc_requests(&self) -> u32 {
        self.rpc_sent
    }

    /// Payments signed by this call (0 or 1, 2 only after the server said the first was not
    /// charged).
    pub fn payments_signed(&self) -> u32 {
        self.payments_made
    }

    /// The first action.
    pub fn start(&mut self, now: Instant) -> Action {
        if let Some(p) = self.payments
            && let Some(required) = p.cache.get(&self.route)
        {
            return self.prepare(required, None, now);
        }
        self.send(now)
    }

    fn left(&self, now: Instant) -> Duration {
        self.deadline.saturating_duration_since(now)
    }

    fn send(&mut self, now: Instant) -> Action {
        let left = self.left(now);
        if left.is_zero() {
            let payment = self.pending_ref();
            if let Pay::Attached { .. } = self.pay {
                return self.uncertain(
                    "the call budget ran out after the payment was sent".into(),
                    now,
                );
            }
            return self.finish(Err(Error::CallTimeout {
                after: self.call_timeout,
                payment,
            }));
        }
        self.attempt += 1;
        self.sends += 1;
        let mut request = clone_request(&self.request);
        if let Pay::Attached { payment } = &self.pay
            && let Ok(v) = HeaderValue::from_str(payment.header_value())
        {
            request
                .headers_mut()
                .insert(x402_headers::PAYMENT_SIGNATURE, v);
        }
        Action::Send {
            request,
            timeout: self.attempt_timeout.min(left),
        }
    }

    fn send_rpc(
        &mut self,
        request: Result<Request<Vec<u8>>, sova_x402::rpc::RpcError>,
        now: Instant,
    ) -> Action {
        match request {
            Ok(request) => {
                self.rpc_sent += 1;
                Action::Send {
                    request,
                    timeout: self
                        .attempt_timeout
                        .min(self.left(now).max(Duration::from_millis(1))),
                }
            }
            Err(e) => self.rpc_failed(format!("bad RPC request: {e}"), now),
        }
    }

    fn finish(&mut self, r: Result<Paid<E::Output>, Error>) -> Action {
        self.result = Some(r);
        Action::Done
    }

    fn pending_ref(&self) -> Option<Box<PaymentRef>> {
        match &self.pay {
            Pay::Attached { payment } | Pay::Reconciling { payment, .. } => {
                Some(Box::new(payment_ref(payment.record())))
            }
            _ => None,
        }
    }

    // ---- paying -------------------------------------------------------------------------

    fn prepare(
        &mut self,
        required: PaymentRequired,
        blockhash: Option<sova_x402::LatestBlockhash>,
        now: Instant,
    ) -> Action {
        let Some(p) = self.payments else {
            return self.finish(Err(Error::Config("x402 is not configured".into())));
        };
        let mut ctx = PrepareContext::new(now).host(&self.host);
        if let Some(cap) = self.max_payment {
            ctx = ctx.max_amount(cap);
        }
        if let Some(b) = blockhash {
            ctx = ctx.blockhash(b);
        }
        match p.payer.prepare(&required, &ctx) {
            Ok(Prepared::Ready(payment)) => {
                self.payments_made += 1;
                self.traits.paid = true;
                self.attempt = 0;
                self.pay = Pay::Attached { payment };
                self.send(now)
            }
            Ok(Prepared::NeedBlockhash(call)) => {
                let req = call.http_request(&p.rpc_url, 1);
                self.pay = Pay::Preparing {
                    required,
                    rpc: Rpc::Blockhash(call),
                };
                self.send_rpc(req, now)
            }
            Ok(Prepared::NeedMintInfo(call)) => {
                let req = call.http_request(&p.rpc_url, 1);
                self.pay = Pay::Preparing {
                    required,
                    rpc: Rpc::Mint(call),
                };
                self.send_rpc(req, now)
            }
            Ok(_) => self.finish(Err(Error::Config(
                "the payer asked for an unsupported step".into(),
            ))),
            Err(sova_x402::Error::Refused(list)) => self.finish(Err(Error::PaymentRefused(list))),
            Err(e) => self.finish(Err(Error::Payment(e))),
        }
    }

    fn receipt(&self, payment: &PreparedPayment, settlement: Option<&Settlement>) -> Receipt {
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
        }
    }

    /// The server answered a request that carried a payment.
    fn on_paid_response(&mut self, response: Response<Vec<u8>>, now: Instant) -> Action {
        let status = response.status();
        if status.is_success() {
            let Pay::Attached { payment } = std::mem::replace(&mut self.pay, Pay::Unpaid) else {
                return self.parse_final(response, None);
            };
            let settlement = Settlement::from_headers(response.headers()).and_then(Result::ok);
            if settlement.is_none() && status == StatusCode::ACCEPTED {
                // A 202 without a settlement header is the documented free fallback: the
                // payment was not settled. Its budget comes back; the follow-up pays.
                let _ = payment.release();
                self.traits.paid = false;
                return self.parse_final(response, None);
            }
            let receipt = self.receipt(&payment, settlement.as_ref());
            let _ = payment.commit();
            return self.parse_final(response, Some(receipt));
        }
        if status == StatusCode::PAYMENT_REQUIRED {
            let reason = failure_reason(&response);
            let challenge = PaymentRequired::from_response(response.headers(), response.body())
                .ok()
                .flatten();
            if reason.as_ref().is_some_and(FailureReason::nothing_charged) {
                // Verification refused it before settlement: nothing moved.
                if let Pay::Attached { payment } = std::mem::replace(&mut self.pay, Pay::Unpaid) {
                    let _ = payment.release();
                }
                self.traits.paid = false;
                let payments = self.payments;
                if let Some(p) = payments {
                    match &challenge {
                        Some(c) => p.cache.put(&self.route, c.clone()),
                        None => p.cache.forget(&self.route),
                    }
                }
                if self.payments_made < 2
                    && let Some(c) = challenge
                {
                    return self.prepare(c, None, now);
                }
                return self.parse_final(response, None);
            }
            let text = reason.map(|r| format!("{r:?}")).unwrap_or_else(|| {
                "the server answered 402 to a signed payment without saying why".into()
            });
            return self.uncertain(text, now);
        }
        // Another error status: first the retry decision (same signed header).
        let outcome = Outcome::Status {
            status,
            retry_after: decode::retry_after(response.headers()),
        };
        if let Some(action) = self.maybe_retry(&outcome, now) {
            return action;
        }
        if status.is_client_error()
            && status != StatusCode::TOO_MANY_REQUESTS
            && status != StatusCode::REQUEST_TIMEOUT
        {
            // Refused before the handler ran: x402 servers settle only on success.
            if let Pay::Attached { payment } = std::mem::replace(&mut self.pay, Pay::Unpaid) {
                let _ = payment.release();
            }
            return self.parse_final(response, None);
        }
        self.uncertain(
            format!("the server answered {status} after the payment was sent"),
            now,
        )
    }

    /// Starts reconciliation: reads the chain before deciding anything.
    fn uncertain(&mut self, reason: String, now: Instant) -> Action {
        let pay = std::mem::replace(&mut self.pay, Pay::Unpaid);
        let (Pay::Attached { payment } | Pay::Reconciling { payment, .. }) = pay else {
            return self.finish(Err(Error::Config(reason)));
        };
        let Some(p) = self.payments else {
            return self.finish(Err(Error::Config(reason)));
        };
        // Whatever the verdict, later payments should not reuse this blockhash.
        if let Some(h) = sova_x402::LatestBlockhash::parse(&payment.record().blockhash) {
            p.payer.blockhash_cache().invalidate_hash(&h);
        }
        let calls = payment.record().reconcile_calls();
        let (rpc, req) = if let Some(c) = calls.statuses {
            let r = c.http_request(&p.rpc_url, 1);
            (Rpc::Statuses(c), r)
        } else if let Some(c) = calls.signatures {
            let r = c.http_request(&p.rpc_url, 1);
            (Rpc::Signatures(c), r)
        } else {
            let c = calls.block_height;
            let r = c.http_request(&p.rpc_url, 1);
            (Rpc::Height(c), r)
        };
        self.pay = Pay::Reconciling {
            payment,
            reason,
            rpc,
            statuses: None,
            signatures: None,
        };
        self.send_rpc(req, now)
    }

    fn rpc_failed(&mut self, message: String, now: Instant) -> Action {
        match std::mem::replace(&mut self.pay, Pay::Unpaid) {
            Pay::Preparing { .. } => self.finish(Err(Error::Rpc(message))),
            Pay::Reconciling {
                payment, reason, ..
            } => {
                let payment_ref = payment_ref(payment.record());
                let _ = payment.commit();
                self.finish(Err(Error::PaymentUncertain {
                    reason: format!("{reason}; the chain could not be checked ({message})"),
                    payment: Box::new(payment_ref),
                }))
            }
            other => {
                self.pay = other;
                let _ = now;
                self.finish(Err(Error::Rpc(message)))
            }
        }
    }

    fn on_rpc_response(&mut self, response: Response<Vec<u8>>, now: Instant) -> Action {
        let body = response.body().as_slice();
        match std::mem::replace(&mut self.pay, Pay::Unpaid) {
            Pay::Preparing { required, rpc } => match rpc {
                Rpc::Blockhash(call) => match call.parse(body) {
                    Ok(latest) => self.prepare(required, Some(latest), now),
                    Err(e) => {
                        self.pay = Pay::Preparing {
                            required,
                            rpc: Rpc::Blockhash(call),
                        };
                        self.rpc_failed(e.to_string(), now)
                    }
                },
                Rpc::Mint(call) => match call.parse(body) {
                    Ok(info) => {
                        if let Some(p) = self.payments {
                            p.payer.mints().insert(info);
                        }
                        self.prepare(required, None, now)
                    }
                    Err(e) => {
                        self.pay = Pay::Preparing {
                            required,
                            rpc: Rpc::Mint(call),
                        };
                        self.rpc_failed(e.to_string(), now)
                    }
                },
                _ => self.finish(Err(Error::Rpc("unexpected RPC state".into()))),
            },
            Pay::Reconciling {
                payment,
                reason,
                rpc,
                mut statuses,
                mut signatures,
            } => {
                let Some(p) = self.payments else {
                    return self.finish(Err(Error::Config(reason)));
                };
                let step: Result<Option<u64>, String> = match &rpc {
                    Rpc::Statuses(c) => c
                        .parse(body)
                        .map(|v| statuses = Some(v))
                        .map(|_| None)
                        .map_err(|e| e.to_string()),
                    Rpc::Signatures(c) => c
                        .parse(body)
                        .map(|v| signatures = Some(v))
                        .map(|_| None)
                        .map_err(|e| e.to_string()),
                    Rpc::Height(c) => c.parse(body).map(Some).map_err(|e| e.to_string()),
                    _ => Err("unexpected RPC state".into()),
                };
                match step {
                    Err(e) => {
                        self.pay = Pay::Reconciling {
                            payment,
                            reason,
                            rpc,
                            statuses,
                            signatures,
                        };
                        self.rpc_failed(e, now)
                    }
                    Ok(Some(height)) => {
                        let verdict = payment.record().reconcile(&Evidence {
                            statuses: statuses.as_deref(),
                            signatures: signatures.as_deref(),
                            block_height: Some(height),
                        });
                        self.decide(payment, reason, verdict, now)
                    }
                    Ok(None) => {
                        // Next: the memo search when the status lookup found nothing (or was
                        // not possible), then the block height.
                        let calls = payment.record().reconcile_calls();
                        let not_found = statuses
                            .as_ref()
                            .is_none_or(|s| s.iter().all(Option::is_none));
                        let (next, req) = match (&rpc, calls.signatures) {
                            (Rpc::Statuses(_), Some(c)) if not_found => {
                                let r = c.http_request(&p.rpc_url, 2);
                                (Rpc::Signatures(c), r)
                            }
                            _ => {
                                let c = calls.block_height;
                                let r = c.http_request(&p.rpc_url, 3);
                                (Rpc::Height(c), r)
                            }
                        };
                        self.pay = Pay::Reconciling {
                            payment,
                            reason,
                            rpc: next,
                            statuses,
                            signatures,
                        };
                        self.send_rpc(req, now)
                    }
                }
            }
            other => {
                self.pay = other;
                self.finish(Err(Error::Rpc(
                    "an RPC answer arrived when none was expected".into(),
                )))
            }
        }
    }

    fn decide(
        &mut self,
        payment: Box<PreparedPayment>,
        reason: String,
        verdict: Reconciliation,
        now: Instant,
    ) -> Action {
        let payment_ref = payment_ref(payment.record());
        match verdict {
            Reconciliation::Landed { signature, .. } => {
                let _ = payment.commit();
                self.finish(Err(Error::PaymentUncertain {
                    reason: format!("{reason}; the payment landed on chain (transaction {signature}) but no answer was delivered"),
                    payment: Box::new(payment_ref),
                }))
            }
            v if v.safe_to_pay_again() => {
                // The chain proves nothing moved and the transaction can never land: the
                // budget comes back, its blockhash is dropped from the cache, and the call
                // pays once more (at most once) against the route's current requirement.
                let blockhash = payment.record().blockhash.clone();
                let _ = payment.release();
                self.traits.paid = false;
                if let Some(p) = self.payments {
                    if let Some(h) = sova_x402::LatestBlockhash::parse(&blockhash) {
                        p.payer.blockhash_cache().invalidate_hash(&h);
                    }
                    if self.payments_made < 2
                        && let Some(required) = p.cache.get(&self.route)
                    {
                        return self.prepare(required, None, now);
                    }
                }
                self.finish(Err(Error::Api {
                    error: Box::new(not_charged_error(&reason)),
                    payment: Some(Box::new(payment_ref)),
                }))
            }
            _ => {
                let _ = payment.commit();
                self.finish(Err(Error::PaymentUncertain {
                    reason: format!(
                        "{reason}; the transaction is not on chain yet and may still land"
                    ),
                    payment: Box::new(payment_ref),
                }))
            }
        }
    }

    // ---- answers ------------------------------------------------------------------------

    fn awaiting_rpc(&self) -> bool {
        matches!(self.pay, Pay::Preparing { .. } | Pay::Reconciling { .. })
    }

    /// The server (or the RPC node) answered.
    pub fn on_response(&mut self, response: Response<Vec<u8>>, now: Instant) -> Action {
        if self.awaiting_rpc() {
            if !response.status().is_success() {
                return self
                    .rpc_failed(format!("the RPC node answered {}", response.status()), now);
            }
            return self.on_rpc_response(response, now);
        }
        if matches!(self.pay, Pay::Attached { .. }) {
            return self.on_paid_response(response, now);
        }
        let status = response.status();
        if status == StatusCode::PAYMENT_REQUIRED
            && let Some(p) = self.payments
            && self.payments_made == 0
        {
            return match PaymentRequired::from_response(response.headers(), response.body()) {
                Ok(Some(required)) => {
                    p.cache.put(&self.route, required.clone());
                    self.prepare(required, None, now)
                }
                Ok(None) => self.parse_final(response, None),
                Err(e) => self.finish(Err(Error::Config(format!(
                    "the payment challenge could not be read: {e}"
                )))),
            };
        }
        if !status.is_success() {
            let outcome = Outcome::Status {
                status,
                retry_after: decode::retry_after(response.headers()),
            };
            if let Some(action) = self.maybe_retry(&outcome, now) {
                return action;
            }
        }
        self.parse_final(response, None)
    }

    fn parse_final(&mut self, response: Response<Vec<u8>>, receipt: Option<Receipt>) -> Action {
        let payment = receipt.as_ref().map(|r| {
            Box::new(PaymentRef {
                signature: r.payer_signature.clone(),
                memo: r.memo.clone(),
                amount: r.amount,
                asset: r.asset.clone(),
                pay_to: r.pay_to.clone(),
            })
        });
        let parsed = match self.endpoint.parse(&response) {
            Ok(value) => Ok(Paid { value, receipt }),
            Err(e) => {
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
        self.finish(parsed)
    }

    /// The transport failed.
    pub fn on_transport_error(
        &mut self,
        kind: TransportErrorKind,
        message: String,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
        now: Instant,
    ) -> Action {
        if self.awaiting_rpc() {
            return self.rpc_failed(format!("{message} ({kind:?})"), now);
        }
        if let Some(action) = self.maybe_retry(&Outcome::Transport(kind), now) {
            return action;
        }
        if matches!(self.pay, Pay::Attached { .. }) {
            if !kind.may_have_been_sent() {
                // Never reached the server: nothing can have been charged.
                if let Pay::Attached { payment } = std::mem::replace(&mut self.pay, Pay::Unpaid) {
                    let p = payment_ref(payment.record());
                    let _ = payment.release();
                    return self.finish(Err(Error::Transport {
                        kind,
                        message,
                        payment: Some(Box::new(p)),
                        source,
                    }));
                }
            }
            return self.uncertain(
                format!("the connection failed after the payment was sent ({message})"),
                now,
            );
        }
        self.finish(Err(Error::Transport {
            kind,
            message,
            payment: None,
            source,
        }))
    }

    /// The sleep requested by [`Action::Sleep`] is over.
    pub fn on_wake(&mut self, now: Instant) -> Action {
        self.send(now)
    }

    fn maybe_retry(&mut self, outcome: &Outcome, now: Instant) -> Option<Action> {
        match self
            .retry
            .decide(self.attempt, outcome, self.traits, &mut self.jitter)
        {
            Decision::Retry(delay) => (delay < self.left(now)).then_some(Action::Sleep(delay)),
            Decision::Stop(_) => None,
        }
    }

    /// The result, once [`Action::Done`] was returned.
    pub fn into_result(self) -> Result<Paid<E::Output>, Error> {
        self.result.unwrap_or_else(|| {
            Err(Error::Config(
                "the call was not driven to completion".into(),
            ))
        })
    }
}

fn payment_ref(r: &PaymentRecord) -> PaymentRef {
    PaymentRef {
        signature: r.payer_signature.clone(),
        memo: r.memo.clone(),
        amount: r.amount,
        asset: r.asset.clone(),
        pay_to: r.pay_to.clone(),
    }
}

fn not_charged_error(reason: &str) -> sova_protocol::ApiError {
    let mut e =
        sova_protocol::ApiError::new(sova_protocol::Service::Intel, StatusCode::PAYMENT_REQUIRED);
    e.errors.push(sova_protocol::ApiErrorDetail {
        code: Some("payment_not_settled".into()),
        message: format!("{reason}; the chain shows the payment did not land and can no longer land, so nothing was charged"),
    });
    e
}

/// Why the server refused a payment: the settlement header's reason, the new challenge's
/// `error`, or the body's message.
fn failure_reason(response: &Response<Vec<u8>>) -> Option<FailureReason> {
    if let Some(Ok(Settlement::Response(r))) = Settlement::from_headers(response.headers())
        && !r.success
        && let Some(reason) = r.error_reason.as_deref().or(r.error_message.as_deref())
    {
        return Some(FailureReason::classify(reason));
    }
    if let Ok(Some(p)) = PaymentRequired::from_response(response.headers(), response.body())
        && let Some(e) = p.error.as_deref()
    {
        return Some(FailureReason::classify(e));
    }
    let v: serde_json::Value = serde_json::from_slice(response.body()).ok()?;
    let msg = v
        .get("message")
        .or_else(|| v.get("error"))
        .and_then(serde_json::Value::as_str)?;
    Some(FailureReason::classify(msg))
}

fn clone_request(r: &Request<Vec<u8>>) -> Request<Vec<u8>> {
    let mut out = Request::new(r.body().clone());
    *out.method_mut() = r.method().clone();
    *out.uri_mut() = r.uri().clone();
    *out.headers_mut() = r.headers().clone();
    *out.version_mut() = r.version();
    out
}

#[cfg(test)]
mod tests;
