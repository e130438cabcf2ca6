//! The spend policy: per-payment caps, cumulative budgets, a rate limit and pinned
//! recipients, shared between threads and clients, checked before anything is signed.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use solana_pubkey::Pubkey;

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
    /// Largest cumulative spend (reserved plus committed).
    pub budget: Option<u64>,
}

#[derive(Debug, Default)]
struct State {
    spent: HashMap<Pubkey, u64>,
    recent: VecDeque<(Instant, u64)>,
    next_ticket: u64,
}

/// A spend policy. Build it with [`SpendPolicy::builder`], share it in an `Arc` between
/// payers, threads and clients; reservations are atomic (one lock covers the budget and the
/// rate window).
///
/// Assets without limits are not capped; an unknown host is not pinned.
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
    per_minute: Option<u32>,
    pins: HashMap<String, String>,
    state: Mutex<State>,
}

impl fmt::Debug for SpendPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpendPolicy")
            .field("limits", &self.limits)
            .field("per_minute", &self.per_minute)
            .field("pins", &self.pins)
            .finish_non_exhaustive()
    }
}

/// Builds a [`SpendPolicy`].
#[derive(Debug, Default)]
pub struct SpendPolicyBuilder {
    limits: HashMap<Pubkey, AssetLimits>,
    per_minute: Option<u32>,
    pins: HashMap<String, String>,
}

impl SpendPolicyBuilder {
    /// Caps single payments of `asset` at `cap` base units.
    pub fn max_per_payment(mut self, asset: Pubkey, cap: u64) -> Self {
        self.limits.entry(asset).or_default().max_per_payment = Some(cap);
        self
    }

    /// Caps the cumulative spend of `asset` at `budget` base units.
    pub fn budget(mut self, asset: Pubkey, budget: u64) -> Self {
        self.limits.entry(asset).or_default().budget = Some(budget);
        self
    }

    /// Allows at most `limit` payments in any 60-second window (all assets together).
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

    /// The policy.
    pub fn build(self) -> SpendPolicy {
        SpendPolicy {
            limits: self.limits,
            per_minute: self.per_minute,
            pins: self.pins,
            state: Mutex::new(State::default()),
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

const WINDOW: Duration = Duration::from_secs(60);

impl SpendPolicy {
    /// A builder.
    pub fn builder() -> SpendPolicyBuilder {
        SpendPolicyBuilder::default()
    }

    /// A policy without any limit. Payments still go through the other checks.
    pub fn unlimited() -> SpendPolicy {
        SpendPolicyBuilder::default().build()
    }

    /// The limits of `asset`.
    pub fn limits(&self, asset: &Pubkey) -> AssetLimits {
        self.limits.get(asset).copied().unwrap_or_default()
    }

    /// Base units of `asset` spent or reserved so far.
    pub fn spent(&self, asset: &Pubkey) -> u64 {
        self.lock().spent.get(asset).copied().unwrap_or(0)
    }

    /// What is left of the budget of `asset` (`None`: no budget).
    pub fn remaining(&self, asset: &Pubkey) -> Option<u64> {
        let budget = self.limits(asset).budget?;
        Some(budget.saturating_sub(self.spent(asset)))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The rules that do not depend on history: the per-payment cap and the pinned payTo.
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

    fn check_dynamic(
        &self,
        state: &mut State,
        asset: &Pubkey,
        amount: u64,
        now: Instant,
    ) -> Result<(), PolicyRefusal> {
        if let Some(budget) = self.limits(asset).budget {
            let spent = state.spent.get(asset).copied().unwrap_or(0);
            let remaining = budget.saturating_sub(spent);
            if amount > remaining {
                return Err(PolicyRefusal::OverBudget {
                    asset: asset.to_string(),
                    amount,
                    spent,
                    budget,
                    remaining,
                });
            }
        }
        if let Some(limit) = self.per_minute {
            state
                .recent
                .retain(|(t, _)| now.saturating_duration_since(*t) < WINDOW);
            let count = state.recent.len();
            if count >= limit as usize {
                return Err(PolicyRefusal::RateLimited { count, limit });
            }
        }
        Ok(())
    }

    /// Every rule, without reserving anything (the answer may change before a reservation).
    pub fn check(
        &self,
        asset: &Pubkey,
        amount: u64,
        pay_to: &str,
        host: Option<&str>,
        now: Instant,
    ) -> Result<(), PolicyRefusal> {
        self.check_static(asset, amount, pay_to, host)?;
        let mut state = self.lock();
        self.check_dynamic(&mut state, asset, amount, now)
    }

    /// Checks every rule and, atomically with the check, reserves `amount` of the budget and
    /// a slot of the rate window. The reservation counts as spent until
    /// [`Reservation::release`] gives it back.
    pub fn reserve(
        self: &Arc<Self>,
        asset: &Pubkey,
        amount: u64,
        pay_to: &str,
        host: Option<&str>,
        now: Instant,
    ) -> Result<Reservation, PolicyRefusal> {
        self.check_static(asset, amount, pay_to, host)?;
        let mut state = self.lock();
        self.check_dynamic(&mut state, asset, amount, now)?;
        let ticket = if self.per_minute.is_some() {
            state.next_ticket += 1;
            let t = state.next_ticket;
            state.recent.push_back((now, t));
            Some(t)
        } else {
            None
        };
        let s = state.spent.entry(*asset).or_insert(0);
        *s = s.saturating_add(amount);
        Ok(Reservation {
            policy: Arc::clone(self),
            asset: *asset,
            amount,
            ticket,
        })
    }

    fn refund(&self, asset: &Pubkey, amount: u64, ticket: Option<u64>) {
        let mut state = self.lock();
        if let Some(s) = state.spent.get_mut(asset) {
            *s = s.saturating_sub(amount);
        }
        if let Some(t) = ticket {
            state.recent.retain(|(_, id)| *id != t);
        }
    }
}

/// An amount reserved against a [`SpendPolicy`].
///
/// The reservation counts as spent from the moment it is made. Call [`release`](Self::release)
/// only when the payment certainly did not and will not move funds (it never left the process,
/// or the server said nothing was charged). Dropping the reservation, like
/// [`commit`](Self::commit), keeps the amount spent: an unknown outcome never frees budget.
#[must_use = "a reservation is kept as spent unless released"]
pub struct Reservation {
    policy: Arc<SpendPolicy>,
    asset: Pubkey,
    amount: u64,
    ticket: Option<u64>,
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
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

    /// Keeps the amount as spent (the payment was accepted, or its outcome is unknown).
    /// Dropping the reservation has the same effect.
    pub fn commit(self) {}

    /// Gives the amount and the rate slot back: nothing was charged.
    pub fn release(self) {
        self.policy.refund(&self.asset, self.amount, self.ticket);
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
        // Released reservations gave their rate slots back: a and d and e fill the window.
        let d = p.reserve(&other, 1_000_000, "X", None, t).unwrap();
        let e2 = p.reserve(&other, 1, "X", None, t).unwrap();
        let e = p.reserve(&other, 1, "X", None, t).unwrap_err();
        assert_eq!(
            e.to_string(),
            "payment rate limit reached: 3 payments in the last 60 s (limit 3 per minute)"
        );
        assert!(p.reserve(&other, 1, "X", None, t + WINDOW).is_ok());
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
