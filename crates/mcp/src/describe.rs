//! SDK errors as the model reads them: one kind and one sentence per failure, spend-policy
//! refusals in USDC.

use serde_json::json;
use sova_x402::{PolicyRefusal, RefusalReason};

use crate::call::ToolError;
use crate::usdc;

/// The error of a failed call, by kind, as the model reads it.
pub(crate) fn describe(e: sova::Error) -> ToolError {
    use sova::Error as E;
    match e {
        E::Build(b) => ToolError::new("invalid_input", format!("{b}. Nothing was sent or paid.")),
        E::PaymentRefused(ref refusals) => {
            let why = refusals
                .iter()
                .find_map(|r| match &r.reason {
                    RefusalReason::Policy(p) => Some(policy_sentence(p)),
                    _ => None,
                })
                .unwrap_or_else(|| e.to_string());
            ToolError::new("payment_refused", format!("{why} Nothing was signed or paid."))
        }
        E::PaymentRequired(_) => ToolError::new(
            "payment_required",
            format!(
                "{e}. This server has no wallet to pay with; start it with a keypair (SOVA_KEYPAIR) or an API key (SOVA_API_KEY)."
            ),
        ),
        E::Api { ref error, .. } => {
            let d = json!({"status": error.status.as_u16()});
            ToolError::new("api_error", e.to_string()).with(d)
        }
        E::Rpc(_) => ToolError::new("network_error", format!("{e}. Nothing was paid.")),
        E::Payment(_) => ToolError::new("payment_error", format!("{e}. Nothing was sent or paid.")),
        E::JobPending {
            waited, ref handle, ..
        } => ToolError::new(
            "job_pending",
            format!(
                "The analysis is still running after {:.0} s. Continue it with job_wait and handle {handle}; waiting is free.",
                waited.as_secs_f64()
            ),
        )
        .with(json!({"handle": handle, "resumeTool": "job_wait"})),
        // Only reached when the payment is known to be charged (else it is uncertain).
        E::PaymentUncertain { .. } => ToolError::new(
            "charged_without_answer",
            format!("The payment was charged but the answer was not delivered: {e}."),
        ),
        E::JobFailed { .. } => ToolError::new("job_failed", e.to_string()),
        E::ResultExpired { .. } => ToolError::new("result_expired", e.to_string()),
        E::ResultAuthRequired { ref handle, .. } => {
            let d = json!({"handle": handle, "resumeTool": "job_wait"});
            ToolError::new(
                "result_auth_required",
                format!(
                    "{e}. Restart this server with an API key for reading results (SOVA_RESULTS_API_KEY or SOVA_API_KEY) and continue with job_wait; the job is not paid again."
                ),
            )
            .with(d)
        }
        E::PartialSuccess { ref partial, .. } => ToolError::new("partial_success", e.to_string())
            .with(json!({"status": 206, "body": partial.body})),
        E::Transport { .. } | E::CallTimeout { .. } => ToolError::new("network_error", e.to_string()),
        other => ToolError::new("error", other.to_string()),
    }
}

/// A spend-policy refusal in USDC, as one sentence.
fn policy_sentence(p: &PolicyRefusal) -> String {
    match p {
        PolicyRefusal::OverCap { amount, cap, .. } => format!(
            "The price, {} USDC, is above the per-payment cap of {} USDC (set when the server starts, --max-payment).",
            usdc::format(*amount),
            usdc::format(*cap)
        ),
        PolicyRefusal::OverBudget {
            amount,
            spent,
            budget,
            remaining,
            ..
        } => format!(
            "The price, {} USDC, is above what is left of the budget (shared by every server and process on the payment ledger): {} USDC ({} of {} USDC spent).",
            usdc::format(*amount),
            usdc::format(*remaining),
            usdc::format(*spent),
            usdc::format(*budget)
        ),
        PolicyRefusal::RateLimited { count, limit } => format!(
            "The payment rate limit is reached: {count} payments in the last minute (limit {limit} per minute)."
        ),
        other => format!("The spend policy refused the payment: {other}."),
    }
}
