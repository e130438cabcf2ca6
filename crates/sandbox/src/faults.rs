//! Fault injection: added latency, 429, 5xx, dropped connections around settlement, settlement
//! pending and forced blockhash expiry — per route or global, for a number of requests or
//! until cleared.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultKind {
    /// Waits before handling the request.
    Latency {
        /// Added delay in milliseconds.
        ms: u64,
    },
    /// Answers 429 with `Retry-After` without handling the request.
    RateLimit {
        /// The `Retry-After` value in seconds.
        retry_after_secs: u64,
    },
    /// Answers this status (e.g. 500, 502, 503) without handling the request.
    Status {
        /// The HTTP status to answer.
        status: u16,
    },
    /// On a billable request: closes the connection without an answer before anything is
    /// charged or settled.
    DropBeforeSettlement,
    /// On a billable request: charges or settles, then closes the connection without an answer.
    DropAfterSettlement,
    /// On a billable request: charges or settles, then answers this status (e.g. 500)
    /// instead of the resource.
    StatusAfterSettlement {
        /// The HTTP status to answer.
        status: u16,
    },
    /// On an x402 payment: executes the transaction, then answers 402 with a
    /// `PAYMENT-RESPONSE` carrying `errorReason: "settlement_pending"` and the signature.
    SettlementPending,
    /// On an x402 payment: expires every blockhash just before settlement, so it fails with
    /// `transaction confirmation failed`.
    ExpireBlockhash,
}

impl FaultKind {
    /// Whether this fault acts before the handler (latency, 429, 5xx) rather than at the
    /// billing point.
    pub fn is_front(&self) -> bool {
        matches!(
            self,
            FaultKind::Latency { .. } | FaultKind::RateLimit { .. } | FaultKind::Status { .. }
        )
    }
}

/// A fault rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// Which requests it applies to; `None` for every request. Matches the route template
    /// (`/api/v1/intel/wallet/{address}/hud`), optionally prefixed by the method
    /// (`GET /api/v1/...`), the literal path, or a prefix ending in `*`.
    #[serde(default)]
    pub route: Option<String>,
    /// What it does.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// How many matching requests it applies to; `None` for all of them.
    #[serde(default)]
    pub times: Option<u32>,
}

impl Fault {
    /// A fault on every route, for every request.
    pub fn global(kind: FaultKind) -> Fault {
        Fault {
            route: None,
            kind,
            times: None,
        }
    }

    /// A fault on one route (see [`Fault::route`] for the matching rules).
    pub fn on(route: impl Into<String>, kind: FaultKind) -> Fault {
        Fault {
            route: Some(route.into()),
            kind,
            times: None,
        }
    }

    /// Limits the fault to the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Fault {
        self.times = Some(n);
        self
    }

    /// Shorthand for [`FaultKind::Latency`].
    pub fn latency(route: Option<&str>, delay: Duration) -> Fault {
        Fault {
            route: route.map(str::to_owned),
            kind: FaultKind::Latency {
                ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            },
            times: None,
        }
    }

    fn matches(&self, method: &str, template: &str, path: &str) -> bool {
        let Some(r) = &self.route else { return true };
        let r = r.trim();
        let (m, pattern) = match r.split_once(' ') {
            Some((m, p)) if m.chars().all(|c| c.is_ascii_alphabetic()) => (Some(m), p.trim()),
            _ => (None, r),
        };
        if let Some(m) = m
            && !m.eq_ignore_ascii_case(method)
        {
            return false;
        }
        if let Some(prefix) = pattern.strip_suffix('*') {
            return path.starts_with(prefix) || template.starts_with(prefix);
        }
        pattern == template || pattern == path
    }
}

/// The installed faults.
#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    next_id: u64,
    rules: Vec<(u64, Fault)>,
}

impl FaultTable {
    pub fn add(&mut self, fault: Fault) -> u64 {
        self.next_id += 1;
        self.rules.push((self.next_id, fault));
        self.next_id
    }

    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.rules.len();
        self.rules.retain(|(i, _)| *i != id);
        before != self.rules.len()
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn list(&self) -> Vec<(u64, Fault)> {
        self.rules.clone()
    }

    /// Takes the faults of one phase that match (consuming one use of each counted rule).
    pub fn take(
        &mut self,
        method: &str,
        template: &str,
        path: &str,
        front: bool,
    ) -> Vec<FaultKind> {
        let mut out = Vec::new();
        for (_, rule) in self.rules.iter_mut() {
            if rule.kind.is_front() != front || !rule.matches(method, template, path) {
                continue;
            }
            match rule.times.as_mut() {
                Some(0) => continue,
                Some(n) => *n -= 1,
                None => {}
            }
            out.push(rule.kind.clone());
        }
        self.rules.retain(|(_, r)| r.times != Some(0));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_and_counting() {
        let mut t = FaultTable::default();
        t.add(
            Fault::on(
                "GET /api/v1/intel/wallet/{address}/hud",
                FaultKind::Status { status: 503 },
            )
            .times(1),
        );
        t.add(Fault::on(
            "/sovx/*",
            FaultKind::RateLimit {
                retry_after_secs: 1,
            },
        ));
        assert!(
            t.take("POST", "/api/v1/intel/wallet/{address}/hud", "/x", true)
                .is_empty()
        );
        assert_eq!(
            t.take("GET", "/api/v1/intel/wallet/{address}/hud", "/x", true)
                .len(),
            1
        );
        assert!(
            t.take("GET", "/api/v1/intel/wallet/{address}/hud", "/x", true)
                .is_empty()
        );
        assert_eq!(
            t.take("GET", "/sovx/v1/users", "/sovx/v1/users", true)
                .len(),
            1
        );
        assert_eq!(t.list().len(), 1);
        let j: Fault = serde_json::from_str(r#"{"kind":"latency","ms":5,"times":2}"#)
            .unwrap_or_else(|_| Fault::global(FaultKind::DropAfterSettlement));
        assert_eq!(j.kind, FaultKind::Latency { ms: 5 });
    }
}
