//! The spend policy: per-payment caps, cumulative budgets, a rate limit and pinned
//! recipients, shared between threads and clients, checked before anything is signed.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use solana_pubkey::Pubkey;

use crate::ledger::{
    Budget, Cap, Ledger, ReserveOutcome, ReserveRequest, Scope, Status, Transition, Window,
};

/// Why the policy refused a payment. The message names the rule and the figures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyRefusal {
    /// The amount is above the per-payment cap of its asset.
    #[error("amount {amount} exceeds per-payment cap {cap} (asset {asset})")]
    OverCap {
        /// The asset (mint).
        asset: String,
        /// Requested amount, base units.
        amount: u64,
        /// The cap, base units.
        cap: u64,
    },
    /// The amount is above what is left of the cumulative budget of its asset.
    #[error(
        "amount {amount} exceeds the remaining budget {remaining} (spent {spent} of {budget}, asset {asset})"
    )]
    OverBudget {
        /// The asset (mint).
        asset: String,
        /// Requested amount, base units.
        amount: u64,
        /// Already spent or reserved.
        spent: u64,
        /// The budget.
        budget: u64,
        /// `budget - spent`.
        remaining: u64,
    },
    /// No limit is configured for this asset: an uncapped asset is refused (opt in with
    /// [`SpendPolicyBuilder::allow_uncapped_assets`]).
    #[error("no budget is configured for asset {asset}: refusing to pay an uncapped asset")]
    Uncapped {
        /// The asset (mint).
        asset: String,
    },
    /// The ledger could not be read or written: nothing was reserved or signed.
    #[error("{0}")]
    Ledger(String),
    /// Too many payments in the last minute.
    #[error(
        "payment rate limit reached: {count} payments in the last 60 s (limit {limit} per minute)"
    )]
    RateLimited {
        /// Payments in the window.
        count: usize,
        /// The limit.
        limit: u32,
    },
    /// The recipient is not the one pinned for this host.
    #[error("payTo {pay_to} is not the recipient pinned for host {host} ({pinned})")]
    PayToNotPinned {
        /// The host.
        host: String,
        /// The requirement's payTo.
        pay_to: String,
        /// The pinned payTo.
        pinned: String,
    },
}

/// Limits of one asset, in its base units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssetLimits {
    /// Largest single payment.
    pub max_per_payment: Option<u64>,
    /// Largest spend (reserved plus committed) over the budget's window.
    pub budget: Option<u64>,
    /// The budget's window ([`Window::Total`] unless set with
    /// [`SpendPolicyBuilder::budget_over`]).
    pub window: Option<Window>,
}

/// What a reservation is for, beyond amount and asset: who pays, for which request, and
/// the message digest that keeps nonce-less payments unique across processes.
#[derive(Debug, Clone, Default)]
pub struct ReserveFor<'a> {
    /// The paying wallet (base58); empty for a policy-wide pool.
    pub payer: &'a str,
    /// The logical request (`None`: a fresh id).
    pub request_id: Option<&'a str>,
    /// The endpoint, for the journal.
    pub endpoint: Option<&'a str>,
    /// The unsigned message's digest, for nonce-less payments.
    pub message_digest: Option<String>,
    /// Wall-clock time (Unix ms); `None`: derived from the `Instant`.
    pub now_ms: Option<u64>,
}

/// A spend policy. Build it with [`SpendPolicy::builder`], share it in an `Arc` between
/// payers, threads and clients. The per-payment cap and pinned recipients are checked here;
/// budgets over windows, the rate limit and the duplicate memory are checked and reserved
/// atomically by its [`Ledger`] — in memory by default, or a SQLite file or PostgreSQL
/// server shared by every process and machine that opens it.
///
/// An asset without a budget is refused unless [`SpendPolicyBuilder::allow_uncapped_assets`]
/// (or [`SpendPolicy::unlimited`]); an unknown host is not pinned.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Instant;
/// use sova_x402::{SpendPolicy, programs::USDC_MAINNET};
///
/// let policy = Arc::new(
///     SpendPolicy::builder()
///         .max_per_payment(USDC_MAINNET, 100_000)
///         .budget(USDC_MAINNET, 250_000)
///         .payments_per_minute(30)
///         .build(),
/// );
/// let now = Instant::now();
/// let err = policy.reserve(&USDC_MAINNET, 300_000, "payTo", None, now).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "amount 300000 exceeds per-payment cap 100000 (asset EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v)"
/// );
/// let a = policy.reserve(&USDC_MAINNET, 100_000, "payTo", None, now)?;
/// let b = policy.reserve(&USDC_MAINNET, 100_000, "payTo", None, now)?;
/// assert!(policy.reserve(&USDC_MAINNET, 100_000, "payTo", None, now).is_err());
/// b.release(); // the server said nothing was charged
/// assert_eq!(policy.spent(&USDC_MAINNET), 100_000);
/// a.commit();
/// # Ok::<(), sova_x402::PolicyRefusal>(())
/// ```
pub struct SpendPolicy {
    limits: HashMap<Pubkey, AssetLimits>,
    scoped: Vec<(String, Pubkey, Budget)>,
    scope: Option<String>,
    per_minute: Option<u32>,
    pins: HashMap<String, String>,
    allow_uncapped: bool,
    ledger: Ledger,
    /// An `Instant` and the Unix milliseconds it stands for: turns `Instant`s into ledger
    /// time when the caller gives no wall clock.
    anchor: (Instant, u64),
}

impl fmt::Debug for SpendPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpendPolicy")
            .field("limits", &self.limits)
            .field("scope", &self.scope)
            .field("per_minute", &self.per_minute)
            .field("pins", &self.pins)
            .field("ledger", &self.ledger)
            .finish_non_exhaustive()
    }
}

/// Builds a [`SpendPolicy`].
#[derive(Debug, Default)]
pub struct SpendPolicyBuilder {
    limits: HashMap<Pubkey, AssetLimits>,
    scoped: Vec<(String, Pubkey, Budget)>,
    scope: Option<String>,
    per_minute: Option<u32>,
    pins: HashMap<String, String>,
    allow_uncapped: bool,
    ledger: Option<Ledger>,
}

impl SpendPolicyBuilder {
    /// Caps single payments of `asset` at `cap` base units.
    pub fn max_per_payment(mut self, asset: Pubkey, cap: u64) -> Self {
        self.limits.entry(asset).or_default().max_per_payment = Some(cap);
        self
    }

    /// Caps the wallet's spend of `asset` at `budget` base units in all (no window).
    pub fn budget(self, asset: Pubkey, budget: u64) -> Self {
        self.budget_over(asset, Budget::total(budget))
    }

    /// Caps the wallet's spend of `asset` over a rolling window (e.g. 10 USDC a day).
    pub fn budget_over(mut self, asset: Pubkey, budget: Budget) -> Self {
        let l = self.limits.entry(asset).or_default();
        l.budget = Some(budget.amount);
        l.window = Some(budget.window);
        self
    }

    /// The scope name of this policy's payments (one agent, one MCP tool, one bot of a
    /// fleet): they count against the wallet's pool and against the scope's own caps.
    pub fn scope(mut self, name: &str) -> Self {
        self.scope = Some(name.to_owned());
        self
    }

    /// A sub-cap: payments made under scope `name` (any process whose policy has
    /// [`scope(name)`](Self::scope)) spend at most `budget` of `asset`, inside the pool.
    pub fn scope_budget(mut self, name: &str, asset: Pubkey, budget: Budget) -> Self {
        self.scoped.push((name.to_owned(), asset, budget));
        self
    }

    /// Allows at most `limit` payments of a wallet in any 60-second window (all assets).
    pub fn payments_per_minute(mut self, limit: u32) -> Self {
        self.per_minute = Some(limit);
        self
    }

    /// Requires `pay_to` as the recipient of every payment for `host` (compared
    /// case-insensitively, without port).
    pub fn pin_pay_to(mut self, host: &str, pay_to: &str) -> Self {
        self.pins.insert(normalize_host(host), pay_to.to_owned());
        self
    }

    /// Pays assets that have no budget (refused by default).
    pub fn allow_uncapped_assets(mut self) -> Self {
        self.allow_uncapped = true;
        self
    }

    /// The ledger that holds reservations and the journal (default: this process's memory).
    pub fn ledger(mut self, ledger: Ledger) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// The policy.
    pub fn build(self) -> SpendPolicy {
        SpendPolicy {
            limits: self.limits,
            scoped: self.scoped,
            scope: self.scope,
            per_minute: self.per_minute,
            pins: self.pins,
            allow_uncapped: self.allow_uncapped,
            ledger: self.ledger.unwrap_or_default(),
            anchor: (Instant::now(), crate::ledger::unix_ms()),
        }
    }
}

/// A host as compared by pins and per-host settings: lower case, no port, no trailing dot.
pub(crate) fn normalize_host(host: &str) -> String {
    let h = host.trim().trim_end_matches('.');
    // Strip a port, keeping bracketed IPv6 literals intact.
    let h = match h.rsplit_once(':') {
        Some((name, port))
            if !name.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!name.contains(':') || name.ends_with(']')) =>
        {
            name
        }
        _ => h,
    };
    h.to_ascii_lowercase()
}

impl SpendPolicy {
    /// A builder.
    pub fn builder() -> SpendPolicyBuilder {
        SpendPolicyBuilder::default()
    }

    /// A policy without any limit (uncapped assets allowed). Payments still go through the
    /// other checks.
    pub fn unlimited() -> SpendPolicy {
        SpendPolicyBuilder::default()
            .allow_uncapped_assets()
            .build()
    }

    /// The limits of `asset`.
    pub fn limits(&self, asset: &Pubkey) -> AssetLimits {
        self.limits.get(asset).copied().unwrap_or_default()
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The scope name of this policy's payments.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The Unix milliseconds `now` stands for (the policy's anchor).
    pub fn wall_ms(&self, now: Instant) -> u64 {
        let (at, ms) = self.anchor;
        if now >= at {
            ms.saturating_add(u64::try_from(now.duration_since(at).as_millis()).unwrap_or(u64::MAX))
        } else {
            ms.saturating_sub(u64::try_from(at.duration_since(now).as_millis()).unwrap_or(u64::MAX))
        }
    }

    /// Base units of `asset` held (spent or reserved) by every wallet in the budget's
    /// window, read from the ledger now (0 if the ledger cannot be read).
    pub fn spent(&self, asset: &Pubkey) -> u64 {
        self.spent_by("", asset).unwrap_or(0)
    }

    /// Base units of `asset` held by `payer` (empty: every wallet) in the budget's window.
    pub fn spent_by(&self, payer: &str, asset: &Pubkey) -> Result<u64, PolicyRefusal> {
        let window = self.limits(asset).window.unwrap_or(Window::Total);
        let now = crate::ledger::unix_ms();
        self.ledger
            .held(payer, Scope::Wallet, &asset.to_string(), window.since(now))
            .map_err(|e| PolicyRefusal::Ledger(e.to_string()))
    }

    /// What is left of the budget of `asset` (`None`: no budget).
    pub fn remaining(&self, asset: &Pubkey) -> Option<u64> {
        let budget = self.limits(asset).budget?;
        Some(budget.saturating_sub(self.spent(asset)))
    }

    /// The rules that do not depend on history: the per-payment cap, an uncapped asset and
    /// the pinned payTo.
    pub fn check_static(
        &self,
        asset: &Pubkey,
        amount: u64,
        pay_to: &str,
        host: Option<&str>,
    ) -> Result<(), PolicyRefusal> {
        let limits = self.limits(asset);
        if let Some(cap) = limits.max_per_payment
            && amount > cap
        {
            return Err(PolicyRefusal::OverCap {
                asset: asset.to_string(),
                amount,
                cap,
            });
        }
        if limits.budget.is_none() && !self.allow_uncapped {
            return Err(PolicyRefusal::Uncapped {
                asset: asset.to_string(),
            });
        }
        if let Some(host) = host
            && !self.pins.is_empty()
        {
            let host = normalize_host(host);
            if let Some(pinned) = self.pins.get(&host)
                && pinned != pay_to
            {
                return Err(PolicyRefusal::PayToNotPinned {
                    host,
                    pay_to: pay_to.to_owned(),
                    pinned: pinned.clone(),
                });
            }
        }
        Ok(())
    }

    /// The caps that apply to a payment of `asset` under this policy's scope.
    pub fn caps(&self, asset: &Pubkey) -> Vec<Cap> {
        let mut caps = Vec::new();
        let a = asset.to_string();
        if let Some(budget) = self.limits(asset).budget {
            caps.push(Cap {
                scope: Scope::Wallet,
                asset: a.clone(),
                budget: Budget::new(budget, self.limits(asset).window.unwrap_or(Window::Total)),
            });
        }
        if let Some(scope) = &self.scope {
            for (name, m, b) in &self.scoped {
                if name == scope && m == asset {
                    caps.push(Cap {
                        scope: Scope::Named(name.clone()),
                        asset: a.clone(),
                        budget: *b,
                    });
                }
            }
        }
        caps
    }

    /// The reservation request for a payment, to run on the ledger (the durable path:
    /// the caller runs it, off any async executor, and hands the outcome back).
    pub fn reserve_request(
        &self,
        asset: &Pubkey,
        amount: u64,
        pay_to: &str,
        host: Option<&str>,
        now: Instant,
        r: &ReserveFor<'_>,
    ) -> ReserveRequest {
        ReserveRequest {
            id: crate::ledger::new_id("pay_"),
            request_id: r
                .request_id
                .map_or_else(|| crate::ledger::new_id("req_"), str::to_owned),
            payer: r.payer.to_owned(),
            scope: self.scope.clone(),
            asset: asset.to_string(),
            amount,
            pay_to: pay_to.to_owned(),
            host: host.map(normalize_host),
            endpoint: r.endpoint.map(str::to_owned),
            caps: self.caps(asset),
            per_minute: self.per_minute,
            message_digest: r.message_digest.clone(),
            now_ms: r.now_ms.unwrap_or_else(|| self.wall_ms(now)),
        }
    }

    /// Every rule that needs no history (the rest is checked atomically by
    /// [`SpendPolicy::reserve`]).
    pub fn check(
        &self,
        asset: &Pubkey,
        amount: u64,
        pay_to: &str,
        host: Option<&str>,
        _now: Instant,
    ) -> Result<(), PolicyRefusal> {
        self.check_static(asset, amount, pay_to, host)
    }

    /// Checks every rule and, atomically with the check, reserves `amount` on the ledger
    /// (a policy-wide pool: no wallet). Blocking on a durable ledger.
    pub fn reserve(
        self: &Arc<Self>,
        asset: &Pubkey,
        amount: u64,
        pay_to: &str,
        host: Option<&str>,
        now: Instant,
    ) -> Result<Reservation, PolicyRefusal> {
        self.reserve_for(asset, amount, pay_to, host, now, &ReserveFor::default())
    }

    /// [`SpendPolicy::reserve`] for a wallet, request and message. Blocking on a durable
    /// ledger.
    pub fn reserve_for(
        self: &Arc<Self>,
        asset: &Pubkey,
        amount: u64,
        pay_to: &str,
        host: Option<&str>,
        now: Instant,
        r: &ReserveFor<'_>,
    ) -> Result<Reservation, PolicyRefusal> {
        self.check_static(asset, amount, pay_to, host)?;
        let req = self.reserve_request(asset, amount, pay_to, host, now, r);
        let id = req.id.clone();
        match self.ledger.reserve(req) {
            Ok(ReserveOutcome::Reserved) => Ok(self.reservation(id, asset, amount)),
            Ok(ReserveOutcome::Refused(p)) => Err(p),
            Ok(ReserveOutcome::Duplicate) => Err(PolicyRefusal::Ledger(
                "an identical payment is already journaled".into(),
            )),
            Err(e) => Err(PolicyRefusal::Ledger(e.to_string())),
        }
    }

    /// The reservation the ledger granted under `id`.
    pub fn reservation(self: &Arc<Self>, id: String, asset: &Pubkey, amount: u64) -> Reservation {
        Reservation {
            policy: Arc::clone(self),
            id,
            asset: *asset,
            amount,
        }
    }
}

/// An amount reserved on a [`SpendPolicy`]'s ledger, under a ledger id.
///
/// The reservation counts as spent from the moment it is made. Call [`release`](Self::release)
/// only when the payment certainly did not and will not move funds (it never left the process,
/// or our RPC proved it can never land). Dropping the reservation, like
/// [`commit`](Self::commit), keeps the amount spent: an unknown outcome never frees budget.
#[must_use = "a reservation is kept as spent unless released"]
pub struct Reservation {
    policy: Arc<SpendPolicy>,
    id: String,
    asset: Pubkey,
    amount: u64,
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("id", &self.id)
            .field("asset", &self.asset)
            .field("amount", &self.amount)
            .finish()
    }
}

impl Reservation {
    /// The reserved amount (base units).
    pub fn amount(&self) -> u64 {
        self.amount
    }

    /// The asset (mint).
    pub fn asset(&self) -> &Pubkey {
        &self.asset
    }

    /// The ledger id of the payment.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The policy it was reserved on.
    pub fn policy(&self) -> &Arc<SpendPolicy> {
        &self.policy
    }

    /// Keeps the amount as spent (the payment was accepted, or its outcome is unknown).
    /// Dropping the reservation has the same effect. The journal's status is the caller's
    /// to write.
    pub fn commit(self) {}

    /// Gives the amount and the rate slot back: nothing was charged. Writes `released` to
    /// the ledger (blocking on a durable ledger; the SDK's flows journal it themselves).
    pub fn release(self) {
        let now = crate::ledger::unix_ms();
        if let Err(e) = self.policy.ledger.transition(
            Transition::new(&self.id, Status::Released, now).detail("released: not charged"),
        ) {
            tracing::warn!(id = %self.id, error = %e, "could not release a reservation");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::programs::USDC_MAINNET;

    #[test]
    fn caps_budgets_rates_pins() {
        let p = Arc::new(
            SpendPolicy::builder()
                .max_per_payment(USDC_MAINNET, 100)
                .budget(USDC_MAINNET, 250)
                .payments_per_minute(3)
                .pin_pay_to("API.Sova-Intel.com:443", "TREASURY")
                .build(),
        );
        let t = Instant::now();
        assert!(matches!(
            p.reserve(&USDC_MAINNET, 101, "X", None, t),
            Err(PolicyRefusal::OverCap {
                amount: 101,
                cap: 100,
                ..
            })
        ));
        let e = p
            .reserve(&USDC_MAINNET, 1, "X", Some("api.sova-intel.com"), t)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "payTo X is not the recipient pinned for host api.sova-intel.com (TREASURY)"
        );
        let a = p
            .reserve(
                &USDC_MAINNET,
                100,
                "TREASURY",
                Some("api.sova-intel.com"),
                t,
            )
            .unwrap();
        let b = p
            .reserve(&USDC_MAINNET, 100, "X", Some("other.example"), t)
            .unwrap();
        let e = p.reserve(&USDC_MAINNET, 100, "X", None, t).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "amount 100 exceeds the remaining budget 50 (spent 200 of 250, asset {USDC_MAINNET})"
            )
        );
        let c = p.reserve(&USDC_MAINNET, 50, "X", None, t).unwrap();
        assert_eq!(p.remaining(&USDC_MAINNET), Some(0));
        c.release();
        b.release();
        assert_eq!(p.spent(&USDC_MAINNET), 100);
        let other = Pubkey::new_from_array([1; 32]);
        let p = Arc::new(
            SpendPolicy::builder()
                .max_per_payment(USDC_MAINNET, 100)
                .budget(USDC_MAINNET, 250)
                .budget(other, 10_000_000)
                .payments_per_minute(3)
                .ledger(p.ledger().clone())
                .build(),
        );
        // Released reservations gave their rate slots back: a and d and e fill the window.
        let d = p.reserve(&other, 1_000_000, "X", None, t).unwrap();
        let e2 = p.reserve(&other, 1, "X", None, t).unwrap();
        let e = p.reserve(&other, 1, "X", None, t).unwrap_err();
        assert_eq!(
            e.to_string(),
            "payment rate limit reached: 3 payments in the last 60 s (limit 3 per minute)"
        );
        assert!(
            p.reserve(&other, 1, "X", None, t + std::time::Duration::from_secs(61))
                .is_ok()
        );
        a.commit();
        drop(d);
        e2.commit();
        assert_eq!(p.spent(&USDC_MAINNET), 100);
    }

    #[test]
    fn hosts_normalize() {
        assert_eq!(normalize_host("API.example.com:8080"), "api.example.com");
        assert_eq!(normalize_host("[::1]:8080"), "[::1]");
        assert_eq!(normalize_host("::1"), "::1");
        assert_eq!(normalize_host("example.com."), "example.com");
    }
}
