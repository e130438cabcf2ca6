//! Errors of the command line: one clear line, the hint that fixes it, and an exit code.

use std::fmt;

use serde_json::{Value, json};
use sova::Error as SdkError;
use sova::protocol::jobs::{FollowUp, JobHandle};
use sova_protocol::http::StatusCode;
use sova_x402::RefusalReason;

use crate::payment;

/// Exit codes (documented in `sova --help`).
pub(crate) mod code {
    /// Success.
    pub(crate) const OK: i32 = 0;
    /// A failure not listed below.
    pub(crate) const FAILURE: i32 = 1;
    /// A usage error.
    pub(crate) const USAGE: i32 = 2;
    /// A payment refused by the spend policy.
    pub(crate) const POLICY: i32 = 3;
    /// The server answered with an error.
    pub(crate) const API: i32 = 4;
    /// No answer from the server or the RPC.
    pub(crate) const NETWORK: i32 = 5;
    /// A payment may have been charged without the call completing.
    pub(crate) const MAY_HAVE_CHARGED: i32 = 6;
    /// A job is still running after the wait.
    pub(crate) const JOB_PENDING: i32 = 7;
}

/// A failed command.
#[derive(Debug, Clone)]
pub(crate) struct CliError {
    /// The exit code.
    pub code: i32,
    /// A short machine name (`usage`, `policy`, `api`, `network`, …).
    pub kind: &'static str,
    /// One line saying what went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// The HTTP status, when a server answered.
    pub status: Option<u16>,
    /// Extra machine-readable details (payment reference, job handle).
    pub details: Option<Value>,
    /// The payments of the call, when one was signed: they outrank every other outcome.
    pub paid: Option<Box<Paid>>,
}

/// What a failed call did with money.
#[derive(Debug, Clone)]
pub(crate) struct Paid {
    /// The payment that decides (`{state, amount, amountUsdc, signature, transaction}`).
    pub payment: Value,
    /// Every payment of the call, when there were several.
    pub payments: Vec<Value>,
    /// What went wrong besides the payment (`decode`, `job_pending`, …), when the payment
    /// state took the exit code and the kind.
    pub cause: Option<&'static str>,
}

impl CliError {
    /// An error with `code` and `kind`.
    pub(crate) fn new(code: i32, kind: &'static str, message: impl Into<String>) -> Self {
        CliError {
            code,
            kind,
            message: message.into(),
            hint: None,
            status: None,
            details: None,
            paid: None,
        }
    }

    /// A general failure (exit 1).
    pub(crate) fn failure(message: impl Into<String>) -> Self {
        Self::new(code::FAILURE, "failure", message)
    }

    /// A usage error (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(code::USAGE, "usage", message)
    }

    /// A network error (exit 5).
    pub(crate) fn network(message: impl Into<String>) -> Self {
        Self::new(code::NETWORK, "network", message)
    }

    /// Adds a hint.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds details.
    pub(crate) fn details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The JSON document printed with `--json`.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "error": {
                "kind": self.kind,
                "message": self.message,
                "hint": self.hint,
                "status": self.status,
                "exitCode": self.code,
                "cause": self.paid.as_ref().and_then(|p| p.cause),
                "payment": self.paid.as_ref().map(|p| &p.payment),
                "details": self.details,
            }
        })
    }

    /// The payment lines printed on stderr under the error line (empty without a payment).
    pub(crate) fn payment_lines(&self) -> String {
        match &self.paid {
            None => String::new(),
            Some(p) if p.payments.len() > 1 => p.payments.iter().map(payment::lines).collect(),
            Some(p) => payment::lines(&p.payment),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Which service a failed call went to, to pick the hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    /// Sova Intel.
    Intel,
    /// SovX.
    Sx,
}

/// Maps an SDK error to a command-line error with its hint and exit code. The payment state
/// comes first: when any payment of the call is not proven uncharged the exit code is 6, the
/// kind names the state (`charged`, `may_have_charged`), `cause` keeps what else went wrong,
/// and no hint suggests running the call again.
pub(crate) fn from_sdk(e: SdkError, service: Service) -> CliError {
    let payments = payment::all(&e);
    let state = payment::state(&e, &payments);
    let message = one_line(&payment::strip(&e.to_string(), &payments));
    let status = e.status().map(|s| s.as_u16());
    let mut err = outcome(&e, message, status, service);
    err.status = status;
    let Some(state) = state else { return err };
    let docs: Vec<Value> = payments.iter().map(|p| payment::to_json(p)).collect();
    // The payment that decides: the worst one (the first of them).
    let main = payments
        .iter()
        .position(|p| payment::State::of(p) == state)
        .and_then(|i| docs.get(i).cloned())
        .or_else(|| docs.first().cloned())
        .map_or_else(
            || json!({"state": state.as_str()}),
            |mut d| {
                d["state"] = state.as_str().into();
                d
            },
        );
    let mut d = err.details.take().unwrap_or_else(|| json!({}));
    d["payment"] = main.clone();
    err.details = Some(d);
    let mut paid = Paid {
        payment: main,
        payments: if docs.len() > 1 { docs } else { Vec::new() },
        cause: None,
    };
    if state == payment::State::NotCharged {
        err.paid = Some(Box::new(paid));
        return err;
    }
    paid.cause = Some(err.kind);
    err.paid = Some(Box::new(paid));
    err.code = code::MAY_HAVE_CHARGED;
    err.kind = state.as_str();
    let lead = match state {
        payment::State::Charged => "a payment was charged but the call did not complete",
        _ => "a payment may have been charged but the call did not complete",
    };
    let reason = err
        .message
        .strip_prefix("a payment may have been charged but the call did not complete: ")
        .unwrap_or(&err.message)
        .to_owned();
    err.message = format!("{lead}: {reason}");
    err.hint = Some(paid_hint(&e, state));
    err
}

/// The hint of a call whose payment is not proven uncharged: never a paid retry.
fn paid_hint(e: &SdkError, state: payment::State) -> String {
    let free_resume = |h: &str| {
        JobHandle::decode(h).is_ok_and(|h| !matches!(h.follow_up, FollowUp::PrepaidRecall { .. }))
    };
    match e {
        SdkError::JobPending { handle, .. } if free_resume(handle) => format!(
            "the job was paid and is still running; its result is read without paying again: sova intel resume {handle}"
        ),
        SdkError::ResultAuthRequired {
            handle: Some(h), ..
        } if free_resume(h) => format!(
            "the job was paid; reading its result needs an API key and is not paid again: sova --results-api-key <ak_…> intel resume {h}"
        ),
        SdkError::JobPending { .. } => {
            "do not run the call again or resume it yet: either would sign a new payment; the handle is in the --json details".to_owned()
        }
        _ => match state {
            payment::State::Charged => "do not run the call again: it would pay again; the signature above proves this payment".to_owned(),
            _ => "do not run the call again yet: it may still land; `sova payments reconcile` resolves it once our RPC can tell (its budget comes back if it never lands)".to_owned(),
        },
    }
}

/// What went wrong, apart from the payment.
fn outcome(e: &SdkError, message: String, status: Option<u16>, service: Service) -> CliError {
    match e {
        SdkError::PaymentRefused(refusals)
            if refusals
                .iter()
                .all(|r| matches!(r.reason, RefusalReason::Policy(_))) =>
        {
            CliError::new(code::POLICY, "policy", message).hint(
                "the spend policy stopped it before anything was signed: raise --max-payment or --budget if you mean it",
            )
        }
        SdkError::PaymentRefused(refusals) | SdkError::PaymentMismatch(refusals) => {
            let what: Vec<String> = refusals.iter().map(|r| r.reason.to_string()).collect();
            CliError::new(
                code::POLICY,
                "payment_unsupported",
                format!(
                    "the server asks for a payment this client does not make: {}",
                    what.join("; ")
                ),
            )
            .hint("nothing was signed: this client pays USDC on Solana mainnet; is the server the deployment you meant?")
        }
        SdkError::PaymentUncertain { .. } => {
            CliError::new(code::MAY_HAVE_CHARGED, "may_have_charged", message)
        }
        SdkError::PaymentRequired(_) => CliError::new(code::API, "payment_required", message)
            .hint(
                "pay with x402: pass --keypair <file> (a wallet holding USDC and a little SOL), or --api-key ak_…",
            ),
        SdkError::Rpc(_) => CliError::network(message)
            .hint("check that --rpc (SOLANA_RPC_URL) answers; nothing was paid"),
        SdkError::Payment(_) => CliError::failure(message)
            .hint("check the keypair and that --rpc answers getLatestBlockhash"),
        SdkError::Unfunded { .. } => CliError::new(code::POLICY, "unfunded", message)
            .hint("fund the wallet with USDC (and a little SOL); in a sandbox: sova wallet fund --keypair <file>"),
        SdkError::Protocol { .. } => CliError::new(code::API, "protocol", message)
            .hint("a server fault, not your configuration"),
        SdkError::Ledger { .. } => CliError::failure(message)
            .hint("check --ledger (SOVA_LEDGER): the payment ledger must be readable and writable"),
        SdkError::Config(m) if is_challenge_fault(m) => CliError::new(
            code::API,
            "protocol",
            format!("the server sent a payment challenge that cannot be read: {m}"),
        )
        .hint("a server fault, not your configuration; nothing was paid"),
        SdkError::Config(m) => {
            let hint = match service {
                Service::Intel => "check --base-url, --api-key and --keypair",
                Service::Sx if m.contains("user token") => {
                    "pass --user-token <token> (SOVX_USER_TOKEN); issue one with `sova sx tokens issue <user-id>`"
                }
                Service::Sx if m.contains("owner key") => {
                    "pass --owner-key <key> (SOVX_OWNER_KEY)"
                }
                Service::Sx => "check --sx-base-url, --owner-key and --user-token",
            };
            CliError::usage(message).hint(hint)
        }
        SdkError::Build(_) => CliError::usage(message).hint(match service {
            Service::Intel => "check the arguments: addresses are base58 Solana keys",
            Service::Sx => "check the arguments: amounts are decimals, dates ISO-8601 (2026-01-15)",
        }),
        SdkError::Transport { .. } | SdkError::CallTimeout { .. } => {
            CliError::network(message).hint(match service {
                Service::Intel => {
                    "is the server reachable? check --base-url (or start one: `sova sandbox`)"
                }
                Service::Sx => "is the server reachable? check --sx-base-url",
            })
        }
        SdkError::JobPending {
            handle, waited, ..
        } => {
            let h = handle.clone();
            // The SDK's sentence names the handle to resume; the hint decides whether that
            // is safe (it is not while a payment that rode on the job may still land).
            let message = format!(
                "the job is still running after {:.1} s",
                waited.as_secs_f64()
            );
            CliError::new(code::JOB_PENDING, "job_pending", message)
                .hint(format!("continue later with: sova intel resume {h}"))
                .details(json!({"handle": h}))
        }
        SdkError::JobFailed { retry, .. } => CliError::new(code::API, "job_failed", message)
            .hint(if retry.is_some() {
                "the job failed twice (it was retried once, as documented, and charged again); check the input before queueing it again"
            } else {
                "the server gave up on the job; queue it again (a new charge)"
            }),
        SdkError::ResultExpired { .. } => CliError::new(code::API, "result_expired", message)
            .hint("results are kept 15 minutes: queue the job again"),
        SdkError::ResultAuthRequired { handle, .. } => {
            let mut c = CliError::new(code::API, "result_auth_required", message).hint(
                match handle {
                    Some(h) => format!(
                        "reading results needs an API key: sova --results-api-key <ak_…> intel resume {h} (the job is not paid again)"
                    ),
                    None => "reading results needs an API key: pass --results-api-key (SOVA_RESULTS_API_KEY) or --api-key".to_owned(),
                },
            );
            if let Some(h) = handle {
                c = c.details(json!({"handle": h}));
            }
            c
        }
        SdkError::PartialSuccess { partial, .. } => {
            CliError::new(code::API, "partial_success", message)
                .hint("one half of the bundle failed: run `sova intel holders` and `sova intel similarity` separately")
                .details(json!({"body": partial.body}))
        }
        SdkError::Decode { .. } => CliError::new(code::API, "decode", message)
            .hint("the server's answer did not match the documented shape: a server fault"),
        SdkError::Api { .. } if status == Some(402) && e.payment().is_some() => {
            CliError::new(code::API, "payment_failed", message).hint(
                "the payment was turned down: check the wallet's USDC and SOL (`sova wallet balance`) and --rpc",
            )
        }
        SdkError::Api { .. } => {
            let hint = status_hint(e.status(), service);
            let mut c = CliError::new(code::API, "api", message);
            if let Some(h) = hint {
                c = c.hint(h);
            }
            c
        }
        // Kinds this version does not know: an answer the server gave is the server's
        // fault (a protocol error); anything else a plain failure.
        _ if e.reached() == sova::Reached::Yes => CliError::new(code::API, "protocol", message)
            .hint("the server's answer could not be used: a server fault"),
        _ => CliError::failure(message),
    }
}

/// Whether a configuration error is really the server's unreadable payment challenge (the
/// SDK reports it as configuration today).
fn is_challenge_fault(m: &str) -> bool {
    m.contains("payment challenge") || m.contains("PAYMENT-REQUIRED")
}

fn status_hint(status: Option<StatusCode>, service: Service) -> Option<&'static str> {
    let s = status?.as_u16();
    Some(match (s, service) {
        (400, _) => "the server refused the input: check the arguments",
        (401, Service::Intel) => "check --api-key (SOVA_API_KEY)",
        (401, Service::Sx) => {
            "check --owner-key (SOVX_OWNER_KEY) or --user-token (SOVX_USER_TOKEN); a new token replaces the old one"
        }
        (402, _) => "pay with x402 (--keypair) or top up the API key's credits",
        (403, Service::Sx) => {
            "this operation needs the other credential: owner key for owner operations, a user token for trading and transfers"
        }
        (403, _) => "the credential may not do this",
        (404, _) => "not found: check the id or address (job results are kept 15 minutes)",
        (409, _) => "it conflicts with existing state (duplicate, or already used)",
        (429, _) => "rate limited: wait a little and retry",
        (500..=599, _) => "the server failed: retry later",
        _ => return None,
    })
}

/// The first line of a message, trimmed.
pub(crate) fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
