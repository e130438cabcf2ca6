//! `sova payments …`: the payment ledger from the shell.

use clap::{Args, Subcommand};

use crate::when::parse_when;

/// A journal status (clap value parser).
fn parse_status(text: &str) -> Result<sova_x402::ledger::Status, String> {
    sova_x402::ledger::Status::parse(&text.trim().to_ascii_lowercase()).ok_or_else(|| {
        format!(
            "unknown status {text:?}: use reserved, signed, sent, settled, landed, expired, failed, uncertain or released"
        )
    })
}

/// Which payments: a time range, statuses and a wallet.
#[derive(Debug, Clone, Args)]
pub(crate) struct PaymentFilter {
    /// Reserved at or after: a date (2026-01-15), a time (2026-01-15T10:00:00Z), an age
    /// (30m, 24h, 7d: that long ago) or Unix milliseconds.
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub since: Option<u64>,
    /// Reserved before (same forms as --since).
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub until: Option<u64>,
    /// Only payments in this status (repeatable): reserved, signed, sent, settled, landed,
    /// expired, failed, uncertain, released.
    #[arg(long, value_name = "STATUS", value_parser = parse_status)]
    pub status: Vec<sova_x402::ledger::Status>,
    /// Only payments of this wallet (base58) [default: every wallet in the ledger].
    #[arg(long, value_name = "PUBKEY")]
    pub payer: Option<String>,
}

/// `sova payments …`
#[derive(Debug, Subcommand)]
pub(crate) enum PaymentsCmd {
    /// The journal, newest first: amount, status, time, endpoint, signature.
    List {
        /// Which payments.
        #[command(flatten)]
        filter: PaymentFilter,
        /// At most this many.
        #[arg(long, default_value_t = 50, value_name = "N")]
        limit: u32,
    },
    /// One payment in full: its record (blockhash, heights, source account), detail and
    /// transaction.
    Show {
        /// The ledger id (`pay_…`), or the payment's signature.
        id: String,
    },
    /// Resolves the payments left sent or uncertain through our own RPC (--rpc): landed
    /// (charged) or expired/failed (the budget comes back); releases unsent payments of
    /// stopped processes. Needs the paying wallet (--keypair). Exits 6 while one stays
    /// uncertain (its blockhash may still be valid: run it again in a minute or two).
    Reconcile,
    /// Totals per status and per day over a time range; --csv exports every payment.
    Report {
        /// Which payments.
        #[command(flatten)]
        filter: PaymentFilter,
        /// One CSV row per payment on stdout instead of the totals.
        #[arg(long)]
        csv: bool,
    },
}
