//! The types of a call: per-call options, receipts, the requirement cache and the x402
//! settings of a client.
//!
//! The logic of a call (send, read a `402`, ask the spend policy, sign, resend, read the
//! settlement, follow a job, back off, reconcile an ambiguous payment through our own RPC)
//! lives once, in sans-IO flows that the async and blocking runners drive.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sova_protocol::Credential;
use sova_protocol::http::HeaderMap;
use sova_protocol::retry::RetryPolicy;
use sova_protocol::x402::PaymentRequired;
use sova_x402::Payer;

use crate::error::Error;

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

/// Attaches credentials to a request; implemented by each client's auth configuration.
pub trait Authorizer: Send + Sync {
    /// Adds the headers `credential` needs for the endpoint named `endpoint`, or refuses
    /// (nothing is sent then).
    fn authorize(
        &self,
        credential: Credential,
        endpoint: &'static str,
        headers: &mut HeaderMap,
    ) -> Result<(), Error>;
}

/// Settings of one call: the client's defaults overridden by [`CallOptions`].
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
#[non_exhaustive]
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
    /// The `payment-identifier` id sent with the payment, when the server advertised it.
    pub payment_id: Option<String>,
    /// The payment's id in the ledger (`pay_…`).
    pub ledger_id: Option<String>,
}

/// A call's output, with the receipt when it was paid with x402.
#[derive(Debug, Clone, PartialEq)]
pub struct Paid<T> {
    /// The output.
    pub value: T,
    /// The receipt of the call's payment (the last one, when a flow charges twice, as
    /// [`batch_hud_complete_with_second_charge`](crate::intel::IntelClient::batch_hud_complete_with_second_charge) does: its second
    /// batch-hud call is a new 5-credit charge, as the reference infers).
    pub receipt: Option<Receipt>,
    /// Receipts of earlier payments of the same call, oldest first (usually empty).
    pub earlier_receipts: Vec<Receipt>,
}

impl<T> Paid<T> {
    /// An output without payment.
    pub fn free(value: T) -> Self {
        Paid {
            value,
            receipt: None,
            earlier_receipts: Vec::new(),
        }
    }

    /// The output, dropping the receipt.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// Every receipt of the call, oldest first.
    pub fn receipts(&self) -> impl Iterator<Item = &Receipt> {
        self.earlier_receipts.iter().chain(self.receipt.iter())
    }

    /// Maps the output, keeping the receipts.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Paid<U> {
        Paid {
            value: f(self.value),
            receipt: self.receipt,
            earlier_receipts: self.earlier_receipts,
        }
    }
}

impl<T> std::ops::Deref for Paid<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// Routes whose requirement is cached at most (oldest forgotten first).
pub const REQUIREMENT_CACHE_CAPACITY: usize = 64;

/// Requirements learned per route (the host, the method and the path template, never a path
/// with a wallet in it; a raw request's literal path), so later calls pay on the first request. Bounded by
/// [`REQUIREMENT_CACHE_CAPACITY`].
#[derive(Debug, Default)]
pub struct RequirementCache {
    inner: Mutex<CacheInner>,
}

#[derive(Debug, Default)]
struct CacheInner {
    map: HashMap<String, PaymentRequired>,
    order: VecDeque<String>,
}

impl RequirementCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached requirement of a route key (see [`Self::key`]).
    pub fn get(&self, key: &str) -> Option<PaymentRequired> {
        self.lock().map.get(key).cloned()
    }

    /// Remembers a route's requirement (e.g. learned from a `402`, or seeded from the
    /// pricing endpoint by the caller).
    pub fn remember(&self, key: &str, required: PaymentRequired) {
        let mut inner = self.lock();
        if inner.map.insert(key.to_owned(), required).is_none() {
            inner.order.push_back(key.to_owned());
            while inner.order.len() > REQUIREMENT_CACHE_CAPACITY {
                if let Some(old) = inner.order.pop_front() {
                    inner.map.remove(&old);
                }
            }
        }
    }

    /// Forgets a route's requirement.
    pub fn forget(&self, key: &str) {
        let mut inner = self.lock();
        if inner.map.remove(key).is_some() {
            inner.order.retain(|k| k != key);
        }
    }

    /// The key of a route: `"{host} {route}"`, where the route is the endpoint's method
    /// and path template ([`sova_protocol::Endpoint::price_route`]), e.g.
    /// `"api.sova-intel.com GET intel.wallet_hud"`; a raw request's route is its method and
    /// literal path, so it never shares an entry with another route.
    pub fn key(host: &str, route: &str) -> String {
        format!("{host} {route}")
    }

    /// How many routes have a cached requirement.
    pub fn len(&self) -> usize {
        self.lock().map.len()
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
    /// Solana JSON-RPC URL for blockhashes and reconciliation. It often carries a provider
    /// key, so it is never printed.
    pub rpc_url: String,
    /// Requirements learned per route.
    pub cache: Arc<RequirementCache>,
}

impl std::fmt::Debug for Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payments")
            .field("payer", &self.payer.pubkey().to_string())
            .field("rpc_url", &"[redacted]")
            .finish_non_exhaustive()
    }
}
