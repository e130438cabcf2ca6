//! A [Model Context Protocol](https://modelcontextprotocol.io) server for **Sova Intel**: every
//! Intel endpoint as a tool an AI agent can call, paid per call with x402 (Solana USDC)
//! **inside a budget**.
//!
//! * Every payment goes through the SDK's spend policy (a per-payment cap, a budget over a
//!   rolling window counted in the payment ledger, an optional rate limit) and optional
//!   per-tool caps, checked before anything is signed. The ledger is a SQLite file by default:
//!   every server on the machine shares the budget, and it survives restarts.
//! * Above an approval threshold the user is asked first, through MCP elicitation (an
//!   `elicitation/create` request on protocol versions up to 2025-11-25; an `input_required`
//!   result on 2026-07-28). A client that cannot ask gets a refusal; nothing is paid.
//! * Every paid result carries its receipt in `_meta["x402/payment-response"]` and in the text
//!   the model reads; `spend_report` and `payments` list the ledger's payments,
//!   `budget_status` the budget; payments of unknown outcome are reconciled in the background.
//! * Long jobs return a resumable handle quickly; `job_wait` continues them for free.
//! * An uncertain payment is reported as such, with its reference, and never retried.
//!
//! ```no_run
//! # async fn run() -> Result<(), sova_mcp::Error> {
//! let server = sova_mcp::SovaMcp::builder()
//!     .keypair(sova_x402::Keypair::from_default_file()?)
//!     .budget(2_000_000) // 2 USDC
//!     .build()?;
//! server.serve_stdio().await
//! # }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod call;
mod config;
mod describe;
mod journal;
mod progress;
mod reply;
mod run;
mod schema;
mod serve;
mod server;
mod spend;
pub mod tools;
pub mod usdc;

pub use config::{
    Builder, DEFAULT_APPROVAL_TIMEOUT, DEFAULT_APPROVE_ABOVE, DEFAULT_BUDGET, DEFAULT_MAX_PAYMENT,
    DEFAULT_RECONCILE_EVERY, DEFAULT_WAIT, DEFAULT_WINDOW, Limits, MAX_WAIT, parse_budget,
    parse_threshold, parse_tool_caps,
};
pub use journal::Reconciler;
pub use serve::{BearerToken, HTTP_PATH, Listen, TOKEN_ENV, bind_http};
pub use server::{APPROVAL_INPUT_KEY, RECEIPT_META_KEY, SovaMcp};
pub use spend::{SpendEntry, UncertainEntry};

/// Why the server could not be set up or stopped serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is invalid.
    #[error("configuration error: {0}")]
    Config(String),
    /// The keypair could not be read.
    #[error(transparent)]
    Key(#[from] sova_x402::KeyError),
    /// The SDK refused the configuration.
    #[error(transparent)]
    Sdk(#[from] sova::Error),
    /// The listening socket could not be bound or served.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The MCP session failed.
    #[error("the MCP session failed: {0}")]
    Mcp(String),
}
