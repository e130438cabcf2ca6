//! The command tree (clap derive).

#[cfg(feature = "mcp")]
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::amount::{parse_seconds, parse_usdc};
use crate::secret::Secret;
use sova_x402::{Budget, Window};

mod payments;
mod sx;
pub(crate) use payments::*;
pub(crate) use sx::*;

/// A budget `AMOUNT[/WINDOW]` in USDC, a rolling day without a window (clap value parser).
fn parse_budget(text: &str) -> Result<Budget, String> {
    Budget::parse(text, 6, Window::Day).map_err(|e| e.to_string())
}

/// The exit codes, shown at the end of `sova --help`.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  failure not listed below (files, a failed check or demo step)
  2  usage error (unknown option, missing or invalid argument, no wallet named)
  3  no payment made, nothing signed: the spend policy refused it (raise --max-payment or
     --budget), the server asks for a payment this client does not make (another network
     or asset), or the wallet holds no USDC
  4  API error (the server answered with an error: auth, payment required, not found, job
     failed, or an answer or payment challenge that cannot be read)
  5  network error (no answer from the server or the RPC)
  6  a payment was charged, or may have been, and the call did not complete (charged but the
     answer was unreadable, lost, or the job still runs): the payment and its signature are
     shown; do not run the call again before reconciling: `sova payments reconcile`
  7  the job is still running after the wait and no x402 payment rode on it (e.g. paid with
     an API key); resume it with `sova intel resume <handle>`

A payment comes first: 6 outranks every other code.

Wallet: paid calls pay only from the wallet you name (--keypair or SOVA_KEYPAIR), never from
~/.config/solana/id.json on their own; `paying from <address>` is printed on stderr.";

/// `sova`: Sova Intel and Sovera SovX from the shell, x402 payment tools, the offline sandbox
/// and a guided tour.
#[derive(Debug, Parser)]
#[command(
    name = "sova",
    version,
    about = "Sova Intel and Sovera SovX from the shell, paid per call with x402 (Solana USDC)",
    long_about = "Sova Intel and Sovera SovX from the shell, paid per call with x402 (Solana USDC).\n\n\
Start with `sova demo`: an offline tour on an embedded sandbox.",
    after_help = EXIT_CODES
)]
pub(crate) struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command (they may be given before or after the subcommand).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct Global {
    /// Sova Intel base URL [default: https://api.sova-intel.com/api/v1].
    #[arg(
        long,
        global = true,
        env = "SOVA_BASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub base_url: Option<String>,
    /// Sova Intel API key (`ak_…`): pays with prepaid credits instead of x402.
    #[arg(
        long,
        global = true,
        env = "SOVA_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: Option<Secret>,
    /// Sova Intel API key used only to read job results (`/jobs/result/by-key` requires
    /// authentication) while paid calls pay with x402; never charged. With --sandbox and no
    /// key, the embedded sandbox issues one.
    #[arg(
        long,
        global = true,
        env = "SOVA_RESULTS_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub results_api_key: Option<Secret>,
    /// Solana keypair file that pays with x402. No default: paid calls pay only from a wallet
    /// named here or in SOVA_KEYPAIR.
    #[arg(
        long,
        global = true,
        env = "SOVA_KEYPAIR",
        hide_env_values = true,
        value_name = "FILE"
    )]
    pub keypair: Option<PathBuf>,
    /// Solana JSON-RPC URL for blockhashes and balances [default: mainnet-beta]. Held as a
    /// secret: a provider's URL often embeds its API key.
    #[arg(
        long,
        global = true,
        env = "SOLANA_RPC_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub rpc: Option<Secret>,
    /// Largest single x402 payment, in USDC (e.g. 0.05) [default: 1].
    #[arg(long, global = true, env = "SOVA_MAX_PAYMENT", value_name = "USDC", value_parser = parse_usdc)]
    pub max_payment: Option<u64>,
    /// x402 spend allowed over a rolling window, in USDC: AMOUNT[/WINDOW], the window hour,
    /// day, week, 30d or total (e.g. 0.5/hour) [default: 10/day]. Counted in the payment
    /// ledger (--ledger), so every run and process sharing it shares the budget.
    #[arg(long, global = true, env = "SOVA_BUDGET", value_name = "USDC[/WINDOW]", value_parser = parse_budget)]
    pub budget: Option<Budget>,
    /// The payment ledger that holds budgets and the journal of every payment: a SQLite file
    /// (a path or sqlite:PATH), postgres://… (a fleet), or `memory` (this run only)
    /// [default: $XDG_DATA_HOME/sova/ledger.sqlite3, else ~/.local/share/sova/ledger.sqlite3].
    #[arg(
        long,
        global = true,
        env = "SOVA_LEDGER",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub ledger: Option<Secret>,
    /// More logs on stderr (-v: payment events; -vv: debug); RUST_LOG overrides.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// SovX base URL [default: https://api.sandbox.sovera.io/sovx/v1].
    #[arg(
        long,
        global = true,
        env = "SOVX_BASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub sx_base_url: Option<String>,
    /// SovX owner API key (`customer_secret`), for owner operations.
    #[arg(
        long,
        global = true,
        env = "SOVX_OWNER_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub owner_key: Option<Secret>,
    /// SovX user token, to act as that user (quotes, orders, transfers).
    #[arg(
        long,
        global = true,
        env = "SOVX_USER_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub user_token: Option<Secret>,
    /// Start an embedded sandbox and point everything at it (a funded throwaway wallet pays
    /// unless --keypair is given).
    #[arg(long, global = true)]
    pub sandbox: bool,
    /// Machine output: one JSON document on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars, banners, receipts or hints; errors stay.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Delay between job status reads, in seconds [default: 5; 0.2 with --sandbox].
    #[arg(long, global = true, value_name = "SECS", value_parser = parse_seconds)]
    pub poll_interval: Option<Duration>,
    /// Budget of one whole call, retries and payments included, in seconds [default: 180].
    #[arg(long, global = true, value_name = "SECS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,
}

/// The command groups.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Sova Intel: wallet and token intelligence.
    #[command(subcommand)]
    Intel(IntelCmd),
    /// Sovera SovX: users, tokens, fees, wallets, trading, withdrawals and transfers.
    #[command(subcommand)]
    Sx(SxCmd),
    /// x402 header tools: decode, sign and verify payments (offline).
    #[command(subcommand)]
    X402(X402Cmd),
    /// The paying Solana wallet: create, show, balance, fund (sandbox faucet).
    #[command(subcommand)]
    Wallet(WalletCmd),
    /// Run the offline sandbox (Intel, SovX, Solana RPC) in the foreground.
    Sandbox(SandboxArgs),
    /// The payment ledger: list, show, reconcile and report the payments of every run.
    #[command(subcommand)]
    Payments(PaymentsCmd),
    /// A guided tour on an embedded sandbox: x402 payments, jobs, policy, the payment
    /// ledger, SovX.
    Demo(DemoArgs),
    #[cfg(feature = "mcp")]
    /// The Sova Intel MCP server for AI agents: stdio, or streamable HTTP with --http; paid per
    /// call inside --max-payment and --budget, with the user's approval above --approve-above.
    Mcp(McpArgs),
}

// ---- intel ------------------------------------------------------------------------------

/// How to handle a queued job.
#[derive(Debug, Clone, Args)]
pub(crate) struct WaitArgs {
    /// Wait for the job and print its result, with a progress bar (the default).
    #[arg(long, conflicts_with = "no_wait")]
    pub wait: bool,
    /// Print the job handle and return at once; continue with `sova intel resume <handle>`.
    #[arg(long)]
    pub no_wait: bool,
    /// Longest wait for the job, in seconds [default: 300].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub max_wait: Option<Duration>,
}

/// A token's top holders.
#[derive(Debug, Clone, Args)]
pub(crate) struct HoldersArgs {
    /// The token mint (base58).
    pub mint: String,
    /// How many top holders to analyse.
    #[arg(long, default_value_t = sova::intel::DEFAULT_TOP_N, value_name = "N")]
    pub top: u32,
    /// Waiting.
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// A list of wallets for a similarity job.
#[derive(Debug, Clone, Args)]
pub(crate) struct WalletsJobArgs {
    /// The wallets (2 to 30, base58).
    #[arg(required = true, num_args = 2..=30, value_name = "WALLET")]
    pub wallets: Vec<String>,
    /// Waiting.
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Sort key of `intel tokens`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum TokenSort {
    /// Net SOL profit and loss (the server's default).
    NetSolProfitLoss,
    /// Realized PnL in SOL.
    RealizedPnlSol,
    /// Return multiplier.
    Roi,
    /// SOL spent.
    TotalSolSpent,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Order {
    /// Ascending.
    Asc,
    /// Descending (the server's default).
    Desc,
}

/// `sova intel …`
#[derive(Debug, Subcommand)]
pub(crate) enum IntelCmd {
    /// A wallet's HUD: behaviour, win rate, PnL (1 credit = 0.015 USDC).
    Hud {
        /// The wallet (base58).
        address: String,
        /// Longest wait when a cold wallet is queued, in seconds [default: 300].
        #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
        max_wait: Option<Duration>,
    },
    /// A wallet's full profile (5 credits); a cold wallet is queued, polled and fetched again,
    /// paid once.
    Profile {
        /// The wallet (base58).
        address: String,
        /// Longest wait when a cold wallet is queued, in seconds [default: 300].
        #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
        max_wait: Option<Duration>,
    },
    /// Per-token PnL of a wallet, one page (3 credits).
    Tokens {
        /// The wallet (base58).
        address: String,
        /// Page, from 1.
        #[arg(long, value_name = "N")]
        page: Option<u32>,
        /// Rows per page (1 to 100).
        #[arg(long, value_name = "N")]
        page_size: Option<u32>,
        /// Sort key.
        #[arg(long, value_enum)]
        sort_by: Option<TokenSort>,
        /// Sort direction.
        #[arg(long, value_enum)]
        order: Option<Order>,
    },
    /// HUDs of up to 30 wallets in one call (5 credits).
    BatchHud {
        /// The wallets (1 to 30, base58).
        #[arg(required = true, num_args = 1..=30, value_name = "WALLET")]
        wallets: Vec<String>,
    },
    /// Profiles of a token's top holders (a job, 20 credits).
    Holders(HoldersArgs),
    /// Holder profiles in the compact agent shape (a job, 20 credits).
    HoldersAgent(HoldersArgs),
    /// Wallet similarity (a job, 20 credits).
    Similarity(WalletsJobArgs),
    /// Similarity in the compact agent shape (a job, 20 credits).
    SimilarityAgent(WalletsJobArgs),
    /// Holder profiles, then similarity on them (two jobs, 35 credits).
    Deep(HoldersArgs),
    /// A job's status (free).
    Job {
        /// The job id.
        job_id: String,
    },
    /// A stored job result by key (free; results are kept 15 minutes).
    Result {
        /// The result key (e.g. `holder-profiles:result:<jobId>`).
        key: String,
    },
    /// Live pricing (free).
    Pricing,
    /// Continues a job from the handle printed by `--no-wait` or a timed-out wait.
    Resume {
        /// The handle (`job1.…`).
        handle: String,
        /// Longest wait, in seconds [default: 300].
        #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
        max_wait: Option<Duration>,
    },
}

// ---- x402 -------------------------------------------------------------------------------

/// Payload shapes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Shape {
    /// The x402 v2 spec shape.
    Spec,
    /// The spec shape plus top-level scheme and network (the default).
    Hybrid,
    /// `{x402Version, scheme, network, payload}`, as the Sova docs show.
    Flat,
}

/// `sova x402 …`
#[derive(Debug, Subcommand)]
pub(crate) enum X402Cmd {
    /// Shows any x402 header value (PAYMENT-REQUIRED, PAYMENT-SIGNATURE, PAYMENT-RESPONSE,
    /// X-Payment-Response; v1 or v2) as pretty JSON, the Solana transaction decoded into
    /// instructions.
    Decode {
        /// The header value (base64 JSON, a bare signature, or JSON); `-` reads stdin.
        value: String,
    },
    /// Signs a payment for a PAYMENT-REQUIRED value and prints the PAYMENT-SIGNATURE value
    /// (and nothing else). Offline with --blockhash.
    Sign {
        /// The PAYMENT-REQUIRED value (or a v1 JSON body); `-` reads stdin.
        #[arg(long, value_name = "VALUE")]
        required: String,
        /// A recent blockhash (base58): no RPC call is made.
        #[arg(long, value_name = "BASE58")]
        blockhash: Option<String>,
        /// The payload shape.
        #[arg(long, value_enum, default_value = "hybrid")]
        shape: Shape,
    },
    /// Runs the pre-flight verifier on a payment and prints every check; exits 0 only when
    /// all pass.
    Verify {
        /// The PAYMENT-REQUIRED value it answers.
        #[arg(long, value_name = "VALUE")]
        required: String,
        /// The PAYMENT-SIGNATURE value.
        #[arg(long, value_name = "VALUE")]
        payment: String,
        /// The wallet that must pay (base58).
        #[arg(long, value_name = "PUBKEY")]
        payer: Option<String>,
    },
}

// ---- wallet -----------------------------------------------------------------------------

/// `sova wallet …`
#[derive(Debug, Subcommand)]
pub(crate) enum WalletCmd {
    /// Creates a keypair file (Solana CLI format) and prints its address.
    New {
        /// Where to write it [default: the --keypair path].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Prints the paying wallet's address.
    Address,
    /// SOL and USDC balances, read from the RPC.
    Balance {
        /// Another wallet (base58) instead of the keypair's.
        #[arg(long, value_name = "PUBKEY")]
        address: Option<String>,
    },
    /// Funds the wallet from the sandbox faucet (sandbox only).
    Fund {
        /// SOL to airdrop.
        #[arg(long, default_value = "1", value_name = "SOL")]
        sol: String,
        /// USDC to mint.
        #[arg(long, default_value = "100", value_name = "USDC", value_parser = parse_usdc)]
        usdc: u64,
        /// Another wallet (base58) instead of the keypair's.
        #[arg(long, value_name = "PUBKEY")]
        address: Option<String>,
    },
}

// ---- sandbox and demo -------------------------------------------------------------------

/// x402 modes of the sandbox.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum ModeArg {
    /// As Sova documents it: the client pays its own fee.
    Sova,
    /// The x402 v2 standard: a facilitator sponsors the fee.
    Standard,
}

/// `sova sandbox`
#[derive(Debug, Clone, Args)]
pub(crate) struct SandboxArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8402)]
    pub port: u16,
    /// x402 mode.
    #[arg(long, value_enum, default_value = "sova")]
    pub mode: ModeArg,
    /// Seed of every synthetic value and key.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Credits of the API key created at start.
    #[arg(long, default_value_t = 1000)]
    pub credits: u64,
    /// How long wallet GETs hold a cold wallet before answering 202, in milliseconds.
    #[arg(long, value_name = "MS")]
    pub hold_ms: Option<u64>,
    /// How long a cold wallet's analysis takes, in milliseconds.
    #[arg(long, value_name = "MS")]
    pub flash_ms: Option<u64>,
    /// How long POST jobs take, in milliseconds.
    #[arg(long, value_name = "MS")]
    pub job_ms: Option<u64>,
}

/// `sova demo`
#[derive(Debug, Clone, Args)]
pub(crate) struct DemoArgs {
    /// x402 mode of the embedded sandbox.
    #[arg(long, value_enum, default_value = "sova")]
    pub mode: ModeArg,
}

/// An approval threshold: USDC, or `off`.
#[cfg(feature = "mcp")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Threshold(pub Option<u64>);

#[cfg(feature = "mcp")]
fn parse_threshold(text: &str) -> Result<Threshold, String> {
    sova_mcp::parse_threshold(text).map(Threshold)
}

#[cfg(feature = "mcp")]
fn parse_tool_cap(text: &str) -> Result<(String, u64), String> {
    let caps = sova_mcp::parse_tool_caps(text)?;
    match caps.into_iter().next() {
        Some(cap) => Ok(cap),
        None => Err(format!("{text:?} is not TOOL=USDC")),
    }
}

/// `sova mcp`
#[cfg(feature = "mcp")]
#[derive(Debug, Clone, Args)]
pub(crate) struct McpArgs {
    /// Serve streamable HTTP on this loopback address instead of stdio (the MCP endpoint is
    /// http://ADDR/mcp).
    #[arg(
        long,
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = "127.0.0.1:8787"
    )]
    pub http: Option<SocketAddr>,
    /// Payments above this many USDC are shown to the user for approval (MCP elicitation) and
    /// refused when the client cannot ask; `off` never asks [default: 0.10].
    #[arg(long, env = "SOVA_MCP_APPROVE_ABOVE", value_name = "USDC", value_parser = parse_threshold)]
    pub approve_above: Option<Threshold>,
    /// Caps one tool's payments: TOOL=USDC (repeatable, e.g. deep_token_analysis=0.6).
    #[arg(
        long = "tool-cap",
        env = "SOVA_MCP_TOOL_CAPS",
        value_name = "TOOL=USDC",
        value_delimiter = ',',
        value_parser = parse_tool_cap
    )]
    pub tool_caps: Vec<(String, u64)>,
    /// At most this many payments in any minute.
    #[arg(long, env = "SOVA_PAYMENTS_PER_MINUTE", value_name = "N")]
    pub payments_per_minute: Option<u32>,
    /// How long the job tools wait before returning a resumable handle, in seconds [default: 45].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub wait: Option<Duration>,
}
