//! Fault injection: added latency, 429, 5xx, dropped connections around settlement, settlement
//! pending, forced blockhash expiry, and a hostile server's lies about what it charged
//! (settle then claim the answer was free or the payment invalid, hold a payment and submit it
//! later, advertise a stale block height, hang then refuse connections) — per route or global,
//! for a number of requests or until cleared.

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
    /// On a billable request: charges or settles, then answers `202` with the documented free
    /// fallback body and **no** settlement header — a lie that the answer cost nothing. On the
    /// wallet GETs the body is `{status: "queued", walletAddress, jobId, prepaidJobId,
    /// monitoringUrl, message}` for a real analysis job that completes after
    /// [`crate::SandboxBuilder::flash_analysis`]; on a POST job route the handler's own `202`
    /// (its jobs are real) without the settlement header; elsewhere a `202` with a real job
    /// that completes after [`crate::SandboxBuilder::job_duration`].
    #[serde(rename = "settle_then_202")]
    SettleThen202,
    /// On a billable request: charges or settles, then answers the `202` fallback as
    /// [`FaultKind::SettleThen202`] does, and from then on answers **every** request on the
    /// same path with the `202` fallback, free and before any billing (the job it names is
    /// already complete): the paid re-call never gets its data. Resuming must not pay again.
    #[serde(rename = "settle_then_202_forever")]
    SettleThen202Forever,
    /// On a billable request: charges or settles, sends the settlement headers, then a body
    /// cut in half (invalid JSON): a charged answer the client cannot read.
    SettleThenTruncatedBody,
    /// On a request without payment: answers `402` with a malformed `PAYMENT-REQUIRED`
    /// header (not base64 JSON). A server fault, not the client's configuration.
    MalformedChallenge,
    /// On a billable request: charges or settles, then answers `402` with a fresh
    /// `PAYMENT-REQUIRED` challenge claiming the payment was invalid and nothing was charged
    /// (Sova's `transfer destination does not match treasury ATA`; `error` of the challenge
    /// `invalid_exact_svm_payload_recipient_mismatch`).
    #[serde(rename = "settle_then_402_invalid")]
    SettleThen402Invalid,
    /// On a billable request: charges or settles, then answers this 4xx status (default 422)
    /// with an Intel error body and no settlement header.
    #[serde(rename = "settle_then_4xx")]
    SettleThen4xx {
        /// The HTTP status to answer (a 4xx; default 422).
        #[serde(default = "default_4xx")]
        status: u16,
    },
    /// On a billable request: charges or settles, then answers 500 (the same as
    /// [`FaultKind::StatusAfterSettlement`] with 500).
    #[serde(rename = "settle_then_500")]
    SettleThen500,
    /// On an x402 payment: verifies it but does **not** settle it; answers the client with a
    /// lie, then submits the held transaction to the ledger `delay_ms` after the answer (it
    /// lands if its blockhash is still valid then, as on a real chain; otherwise it simply
    /// fails). The lie is chosen by `status`: `402` (default) a fresh challenge claiming the
    /// payment was invalid and nothing was charged (as [`FaultKind::SettleThen402Invalid`]),
    /// `202` the free fallback (as [`FaultKind::SettleThen202`]), any other status an Intel
    /// error with that status (e.g. 503). Until the submission the payment stays reserved
    /// against replay, so a resend of the same header is refused as a replay. Wait for the
    /// submissions with [`crate::Sandbox::flush_held`] or [`crate::Sandbox::wait_held`].
    /// Not applied to API-key requests.
    HoldAndSubmitLater {
        /// The status of the lie: 402 (default), 202, or any other (e.g. 503).
        #[serde(default = "default_hold_status")]
        status: u16,
        /// Delay between the answer and the submission, in milliseconds (default 150).
        #[serde(default = "default_hold_delay")]
        delay_ms: u64,
    },
    /// While this rule is installed (and has uses left), every `402` challenge on its routes
    /// advertises `extra.recentBlockhash` (a real, current ledger blockhash) with
    /// `extra.lastValidBlockHeight: 1`. Each x402 payment on its routes consumes one use and is
    /// held and submitted later exactly like [`FaultKind::HoldAndSubmitLater`] (default lie:
    /// 503). The attack: a client that trusts the server's height judges its payment expired
    /// and pays again while the server lands the first one. Not applied to API-key requests.
    StaleLastValidHeight {
        /// The status of the lie (see [`FaultKind::HoldAndSubmitLater`]; default 503).
        #[serde(default = "default_stale_status")]
        status: u16,
        /// Delay between the answer and the submission, in milliseconds (default 150).
        #[serde(default = "default_hold_delay")]
        delay_ms: u64,
    },
    /// On a billable request: charges or settles, then stops the listening socket that
    /// accepted this connection for `refuse_ms` (new connections are refused: `ECONNREFUSED`;
    /// its other connections close once their current answer is out), hangs the answer for
    /// `hang_ms` and closes the connection without an answer. The socket is bound again on the
    /// same port afterwards. `hang_ms` should exceed the client's attempt timeout and
    /// `refuse_ms` cover its retries. Give the client its own port
    /// ([`crate::SandboxBuilder::listeners`]) so other clients are not refused too.
    TimeoutThenRefused {
        /// How long the answer hangs before the connection is closed, in milliseconds
        /// (default 2,000).
        #[serde(default = "default_hang")]
        hang_ms: u64,
        /// How long the listening socket stays closed, in milliseconds (default 1,000).
        #[serde(default = "default_refuse")]
        refuse_ms: u64,
    },
}

fn default_4xx() -> u16 {
    422
}
fn default_hold_status() -> u16 {
    402
}
fn default_stale_status() -> u16 {
    503
}
fn default_hold_delay() -> u64 {
    150
}
fn default_hang() -> u64 {
    2_000
}
fn default_refuse() -> u64 {
    1_000
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

    /// Whether this fault only acts on x402 payments (API-key requests neither trigger nor
    /// consume it).
    pub fn x402_only(&self) -> bool {
        matches!(
            self,
            FaultKind::HoldAndSubmitLater { .. }
                | FaultKind::StaleLastValidHeight { .. }
                | FaultKind::MalformedChallenge
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
    pub(crate) fn add(&mut self, fault: Fault) -> u64 {
        self.next_id += 1;
        self.rules.push((self.next_id, fault));
        self.next_id
    }

    pub(crate) fn remove(&mut self, id: u64) -> bool {
        let before = self.rules.len();
        self.rules.retain(|(i, _)| *i != id);
        before != self.rules.len()
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    pub(crate) fn list(&self) -> Vec<(u64, Fault)> {
        self.rules.clone()
    }

    /// Takes the faults that match and that `accept` selects (consuming one use of each
    /// counted rule).
    pub(crate) fn take(
        &mut self,
        method: &str,
        template: &str,
        path: &str,
        accept: impl Fn(&FaultKind) -> bool,
    ) -> Vec<FaultKind> {
        let mut out = Vec::new();
        for (_, rule) in self.rules.iter_mut() {
            if !accept(&rule.kind) || !rule.matches(method, template, path) {
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

    /// Whether a rule that matches and that `accept` selects is installed with uses left
    /// (nothing is consumed).
    pub(crate) fn peek(
        &self,
        method: &str,
        template: &str,
        path: &str,
        accept: impl Fn(&FaultKind) -> bool,
    ) -> bool {
        self.rules.iter().any(|(_, rule)| {
            accept(&rule.kind) && rule.times != Some(0) && rule.matches(method, template, path)
        })
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
            t.take(
                "POST",
                "/api/v1/intel/wallet/{address}/hud",
                "/x",
                FaultKind::is_front
            )
            .is_empty()
        );
        assert_eq!(
            t.take(
                "GET",
                "/api/v1/intel/wallet/{address}/hud",
                "/x",
                FaultKind::is_front
            )
            .len(),
            1
        );
        assert!(
            t.take(
                "GET",
                "/api/v1/intel/wallet/{address}/hud",
                "/x",
                FaultKind::is_front
            )
            .is_empty()
        );
        assert_eq!(
            t.take(
                "GET",
                "/sovx/v1/users",
                "/sovx/v1/users",
                FaultKind::is_front
            )
            .len(),
            1
        );
        assert_eq!(t.list().len(), 1);
        let j: Fault = serde_json::from_str(r#"{"kind":"latency","ms":5,"times":2}"#)
            .unwrap_or_else(|_| Fault::global(FaultKind::DropAfterSettlement));
        assert_eq!(j.kind, FaultKind::Latency { ms: 5 });
    }

    #[test]
    fn hostile_kinds_parse_with_defaults() {
        let parse = |s: &str| serde_json::from_str::<Fault>(s).map(|f| f.kind).ok();
        assert_eq!(
            parse(r#"{"kind":"settle_then_202"}"#),
            Some(FaultKind::SettleThen202)
        );
        assert_eq!(
            parse(r#"{"kind":"settle_then_202_forever"}"#),
            Some(FaultKind::SettleThen202Forever)
        );
        assert_eq!(
            parse(r#"{"kind":"settle_then_truncated_body"}"#),
            Some(FaultKind::SettleThenTruncatedBody)
        );
        assert_eq!(
            parse(r#"{"kind":"malformed_challenge"}"#),
            Some(FaultKind::MalformedChallenge)
        );
        assert_eq!(
            parse(r#"{"kind":"settle_then_402_invalid"}"#),
            Some(FaultKind::SettleThen402Invalid)
        );
        assert_eq!(
            parse(r#"{"kind":"settle_then_4xx"}"#),
            Some(FaultKind::SettleThen4xx { status: 422 })
        );
        assert_eq!(
            parse(r#"{"kind":"settle_then_4xx","status":400}"#),
            Some(FaultKind::SettleThen4xx { status: 400 })
        );
        assert_eq!(
            parse(r#"{"kind":"settle_then_500"}"#),
            Some(FaultKind::SettleThen500)
        );
        assert_eq!(
            parse(r#"{"kind":"hold_and_submit_later","times":1}"#),
            Some(FaultKind::HoldAndSubmitLater {
                status: 402,
                delay_ms: 150
            })
        );
        assert_eq!(
            parse(r#"{"kind":"stale_last_valid_height","delay_ms":5}"#),
            Some(FaultKind::StaleLastValidHeight {
                status: 503,
                delay_ms: 5
            })
        );
        assert_eq!(
            parse(r#"{"kind":"timeout_then_refused","hang_ms":10}"#),
            Some(FaultKind::TimeoutThenRefused {
                hang_ms: 10,
                refuse_ms: 1_000
            })
        );
        // Serialized back with the same names.
        let v = serde_json::to_value(Fault::global(FaultKind::SettleThen402Invalid))
            .unwrap_or_default();
        assert_eq!(v["kind"], "settle_then_402_invalid");
        // Peeking consumes nothing.
        let mut t = FaultTable::default();
        t.add(
            Fault::on(
                "/x",
                FaultKind::StaleLastValidHeight {
                    status: 503,
                    delay_ms: 0,
                },
            )
            .times(1),
        );
        let stale = |k: &FaultKind| matches!(k, FaultKind::StaleLastValidHeight { .. });
        assert!(t.peek("GET", "/t", "/x", stale));
        assert!(t.peek("GET", "/t", "/x", stale));
        assert_eq!(t.take("GET", "/t", "/x", stale).len(), 1);
        assert!(!t.peek("GET", "/t", "/x", stale));
    }
}
