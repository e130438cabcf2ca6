//! Errors of the command line: one clear line, the hint that fixes it, and an exit code.

use std::fmt;

use serde_json::{Value, json};
use sova::Error as SdkError;
use sova_protocol::http::StatusCode;

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
                "details": self.details,
            }
        })
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

/// Maps an SDK error to a command-line error with its hint and exit code.
pub(crate) fn from_sdk(e: SdkError, service: Service) -> CliError {
    let message = one_line(&e.to_string());
    let status = e.status().map(|s| s.as_u16());
    let payment = e.payment().map(|p| {
        json!({"signature": p.signature, "memo": p.memo, "amount": p.amount, "asset": p.asset, "payTo": p.pay_to})
    });
    let mut err = match &e {
        SdkError::PaymentRefused(_) => CliError::new(code::POLICY, "policy", message).hint(
            "the spend policy stopped it before anything was signed: raise --max-payment or --budget if you mean it",
        ),
        SdkError::PaymentUncertain { .. } => {
            CliError::new(code::MAY_HAVE_CHARGED, "may_have_charged", message).hint(
                "do not retry blindly: look the signature up on the RPC (or the sandbox ledger) before paying again",
            )
        }
        SdkError::PaymentRequired(_) => CliError::new(code::API, "payment_required", message)
            .hint(
                "pay with x402: pass --keypair <file> (a wallet holding USDC and a little SOL), or --api-key ak_…",
            ),
        SdkError::Payment(_) | SdkError::Rpc(_) => CliError::failure(message)
            .hint("check the keypair and that --rpc answers getLatestBlockhash"),
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
            let mut c = CliError::network(message).hint(match service {
                Service::Intel => {
                    "is the server reachable? check --base-url (or start one: `sova sandbox`)"
                }
                Service::Sx => "is the server reachable? check --sx-base-url",
            });
            if e.payment().is_some() {
                c.code = code::MAY_HAVE_CHARGED;
                c.kind = "may_have_charged";
                c.hint = Some(
                    "a payment rode on this request: check its signature on chain before paying again"
                        .into(),
                );
            }
            c
        }
        SdkError::JobPending { handle, .. } => {
            let h = handle.clone();
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
            .hint("the server's answer did not match the documented shape; rerun with --json to see the raw data"),
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
        _ => CliError::failure(message),
    };
    err.status = status;
    if let Some(p) = payment {
        let mut d = err.details.take().unwrap_or_else(|| json!({}));
        d["payment"] = p;
        err.details = Some(d);
    }
    err
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
