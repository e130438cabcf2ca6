//! The payment ledger of the command line: where it lives (`--ledger`, `SOVA_LEDGER`, the
//! default SQLite file), its payment events on stderr through `tracing`, and how a
//! reconciliation is told.

use std::sync::Arc;

use sova::flow::Reconciled;
use sova_x402::Ledger;
use sova_x402::ledger::{Event, Status};

use crate::amount::usdc;
use crate::err::CliError;
use crate::secret::Secret;

/// The `tracing` target of payment events.
pub(crate) const EVENTS_TARGET: &str = "sova::payments";

/// Opens the ledger at `location` (`--ledger`/`SOVA_LEDGER`), else this run's memory under
/// `--sandbox`, else the default SQLite file; its payment events go to `tracing`.
pub(crate) fn open(location: Option<&Secret>, sandbox: bool) -> Result<Ledger, CliError> {
    let ledger = match location {
        Some(loc) if !loc.expose().trim().is_empty() => Ledger::open(loc.expose()),
        _ if sandbox => Ok(Ledger::memory()),
        _ => match sova_x402::ledger::default_path() {
            Some(path) => Ledger::sqlite(&path),
            None => {
                return Err(CliError::usage(
                    "no home directory for the payment ledger (HOME and XDG_DATA_HOME are unset)",
                )
                .hint("pass --ledger <file> (SOVA_LEDGER), or --ledger memory for this run only"));
            }
        },
    }
    // The error names the file or the server, never a password.
    .map_err(|e| {
        CliError::failure(e.to_string())
            .hint("check --ledger (SOVA_LEDGER): a writable SQLite file, postgres://…, or `memory`")
    })?;
    ledger.on_event(Arc::new(log_event));
    Ok(ledger)
}

/// Logs one payment event (ids, statuses and verdicts only: nothing secret is in them).
fn log_event(e: &Event) {
    let detail = e.detail.as_deref().unwrap_or("");
    match e.status {
        Status::Uncertain => {
            tracing::warn!(target: EVENTS_TARGET, id = %e.id, status = %e.status, detail, "payment event")
        }
        _ => {
            tracing::info!(target: EVENTS_TARGET, id = %e.id, status = %e.status, detail, "payment event")
        }
    }
}

/// What a reconciliation changed, one line each (empty when nothing changed).
pub(crate) fn resolved_lines(r: &Reconciled) -> String {
    let mut out = String::new();
    for c in r.checked.iter().filter(|c| c.after != c.before) {
        let what = match c.after {
            Status::Landed => "landed: charged",
            Status::Expired => "expired: not charged, its budget came back",
            Status::Failed => "failed on chain: not charged, its budget came back",
            _ => "resolved",
        };
        out.push_str(&format!(
            "ledger: payment {} of {} {what} (signature {})\n",
            c.id,
            usdc(c.amount),
            c.signature.as_deref().unwrap_or("-")
        ));
    }
    for id in &r.reclaimed {
        out.push_str(&format!(
            "ledger: payment {id} was never sent (its process stopped): released\n"
        ));
    }
    out
}
