//! How the server is configured: the Sova Intel client it drives, the spend policy it pays
//! under, the approval threshold and the job wait window.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sova::protocol::jobs::PollConfig;
use sova::protocol::transport::Timeouts;
use sova_transport_async::{AsyncTransport, ReqwestTransport};
use sova_x402::ledger::{Budget, Ledger, Window};
use sova_x402::{Keypair, Payer, Signer, SpendPolicy, programs};

use crate::server::{Inner, SovaMcp};
use crate::tools::TOOL_NAMES;
use crate::{Error, usdc};

/// Default largest single payment: 1 USDC.
pub const DEFAULT_MAX_PAYMENT: u64 = 1_000_000;
/// Default budget: 10 USDC per rolling day ([`DEFAULT_WINDOW`]), counted in the ledger.
pub const DEFAULT_BUDGET: u64 = 10_000_000;
/// The window of a budget given without one: a rolling day.
pub const DEFAULT_WINDOW: Window = Window::Day;
/// How often uncertain payments are reconciled in the background while the server runs.
pub const DEFAULT_RECONCILE_EVERY: Duration = Duration::from_secs(30);
/// Default approval threshold: payments above 0.10 USDC need the user's approval.
pub const DEFAULT_APPROVE_ABOVE: u64 = 100_000;
/// Default wait window of the job tools (as Sova's own MCP server: 45 s).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(45);
/// The longest wait a tool call may ask for.
pub const MAX_WAIT: Duration = Duration::from_secs(300);
/// How long the server waits for the user's answer to an approval request.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(300);

/// Builds a [`SovaMcp`] server.
///
/// ```no_run
/// # fn run() -> Result<(), sova_mcp::Error> {
/// let server = sova_mcp::SovaMcp::builder()
///     .keypair(sova_x402::Keypair::from_file("/home/me/.config/solana/id.json")?)
///     .max_payment(600_000)           // at most 0.60 USDC per call
///     .budget(5_000_000)              // at most 5 USDC this session
///     .approve_above(Some(100_000))   // ask the user above 0.10 USDC
///     .tool_cap("wallet_hud", 20_000) // never more than 0.02 USDC for a HUD
///     .build()?;
/// # let _ = server; Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Builder {
    base_url: Option<String>,
    api_key: Option<String>,
    results_api_key: Option<String>,
    signer: Option<Arc<dyn Signer>>,
    rpc_url: Option<String>,
    max_payment: Option<u64>,
    budget: Option<Budget>,
    ledger: Option<Ledger>,
    reconcile_every: Option<Duration>,
    per_minute: Option<u32>,
    approve_above: Option<Option<u64>>,
    tool_caps: BTreeMap<String, u64>,
    wait: Option<Duration>,
    poll_interval: Option<Duration>,
    timeouts: Option<Timeouts>,
    approval_timeout: Option<Duration>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field(
                "results_api_key",
                &self.results_api_key.as_ref().map(|_| "[redacted]"),
            )
            .field("signer", &self.signer.as_ref().map(|s| s.pubkey()))
            .field("rpc_url", &self.rpc_url)
            .field("max_payment", &self.max_payment)
            .field("budget", &self.budget)
            .field("ledger", &self.ledger)
            .field("per_minute", &self.per_minute)
            .field("approve_above", &self.approve_above)
            .field("tool_caps", &self.tool_caps)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_usdc(name: &str) -> Result<Option<u64>, Error> {
    env(name)
        .map(|v| usdc::parse(&v).map_err(|e| Error::Config(format!("{name}: {e}"))))
        .transpose()
}

fn env_ms(name: &str) -> Result<Option<Duration>, Error> {
    env(name)
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| {
                    Error::Config(format!("{name}: {v:?} is not a number of milliseconds"))
                })
        })
        .transpose()
}

/// Parses `off`/`none` or a USDC amount: the approval threshold.
pub fn parse_threshold(text: &str) -> Result<Option<u64>, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "off" | "none" | "never" => Ok(None),
        other => usdc::parse(other).map(Some),
    }
}

/// Parses a budget: `AMOUNT[/WINDOW]` in USDC, the window `hour`, `day`, `week`, `30d` or
/// `total` (default: a rolling day), e.g. `10/day` or `2.5`.
pub fn parse_budget(text: &str) -> Result<Budget, String> {
    Budget::parse(text.trim(), 6, DEFAULT_WINDOW).map_err(|e| e.to_string())
}

/// Parses per-tool caps: `tool=USDC[,tool=USDC…]` (e.g. `deep_token_analysis=0.6`).
pub fn parse_tool_caps(text: &str) -> Result<BTreeMap<String, u64>, String> {
    let mut caps = BTreeMap::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (tool, amount) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not tool=USDC (e.g. deep_token_analysis=0.6)"))?;
        let tool = tool.trim();
        if !TOOL_NAMES.contains(&tool) {
            return Err(format!(
                "{tool:?} is not a paid tool of this server (one of: {})",
                TOOL_NAMES.join(", ")
            ));
        }
        caps.insert(tool.to_owned(), usdc::parse(amount)?);
    }
    Ok(caps)
}

impl Builder {
    /// A builder with the defaults: the production API, no credential, a 1 USDC per-payment
    /// cap, a budget of 10 USDC a rolling day in a memory ledger, approval above 0.10 USDC, a 45 s wait window.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the environment: `SOVA_BASE_URL`, `SOVA_API_KEY`, `SOVA_RESULTS_API_KEY`,
    /// `SOVA_KEYPAIR` (a keypair
    /// file) or `SOLANA_PRIVATE_KEY` (base58 or a JSON array), `SOLANA_RPC_URL`,
    /// `SOVA_MAX_PAYMENT` (USDC), `SOVA_BUDGET` (`AMOUNT[/WINDOW]`, e.g. `10/day`),
    /// `SOVA_LEDGER` (`memory`, a SQLite file or `postgres://…`; default: the SQLite file in
    /// the user's data directory), `SOVA_PAYMENTS_PER_MINUTE`,
    /// `SOVA_MCP_APPROVE_ABOVE` (USDC or `off`), `SOVA_MCP_TOOL_CAPS` (`tool=USDC,…`),
    /// `SOVA_WAIT_TIMEOUT_MS` and `SOVA_POLL_INTERVAL_MS`.
    pub fn from_env() -> Result<Self, Error> {
        let mut b = Self::new();
        b.base_url = env("SOVA_BASE_URL");
        b.api_key = env("SOVA_API_KEY");
        b.results_api_key = env("SOVA_RESULTS_API_KEY");
        b.rpc_url = env("SOLANA_RPC_URL");
        if let Some(path) = env("SOVA_KEYPAIR") {
            b = b.keypair(Keypair::from_file(&path)?);
        } else if env("SOLANA_PRIVATE_KEY").is_some() {
            b = b.keypair(Keypair::from_env("SOLANA_PRIVATE_KEY")?);
        }
        b.max_payment = env_usdc("SOVA_MAX_PAYMENT")?;
        if let Some(v) = env("SOVA_BUDGET") {
            b.budget =
                Some(parse_budget(&v).map_err(|e| Error::Config(format!("SOVA_BUDGET: {e}")))?);
        }
        b.ledger = Some(Ledger::from_env().map_err(|e| Error::Config(e.to_string()))?);
        if let Some(v) = env("SOVA_PAYMENTS_PER_MINUTE") {
            b.per_minute = Some(v.trim().parse().map_err(|_| {
                Error::Config(format!("SOVA_PAYMENTS_PER_MINUTE: {v:?} is not a number"))
            })?);
        }
        if let Some(v) = env("SOVA_MCP_APPROVE_ABOVE") {
            b.approve_above = Some(
                parse_threshold(&v)
                    .map_err(|e| Error::Config(format!("SOVA_MCP_APPROVE_ABOVE: {e}")))?,
            );
        }
        if let Some(v) = env("SOVA_MCP_TOOL_CAPS") {
            b.tool_caps = parse_tool_caps(&v)
                .map_err(|e| Error::Config(format!("SOVA_MCP_TOOL_CAPS: {e}")))?;
        }
        b.wait = env_ms("SOVA_WAIT_TIMEOUT_MS")?;
        b.poll_interval = env_ms("SOVA_POLL_INTERVAL_MS")?;
        Ok(b)
    }

    /// The Sova Intel base URL (default `https://api.sova-intel.com/api/v1`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Pays with prepaid credits (`X-Api-Key`). With a keypair too, the key is sent and x402
    /// pays only when the server asks for it.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// An API key used only to read job results (`GET /jobs/result/by-key` requires
    /// authentication), while paid calls keep paying with x402. Without it (or
    /// [`Builder::api_key`]) the job tools stop before reading a result and return the handle.
    pub fn results_api_key(mut self, key: impl Into<String>) -> Self {
        self.results_api_key = Some(key.into());
        self
    }

    /// Pays per call with x402 from this keypair.
    pub fn keypair(self, keypair: Keypair) -> Self {
        self.signer(Arc::new(keypair))
    }

    /// Pays per call with x402 from this signer.
    pub fn signer(mut self, signer: Arc<dyn Signer>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The Solana JSON-RPC URL for blockhashes and reconciliation (default: mainnet).
    pub fn rpc_url(mut self, url: impl Into<String>) -> Self {
        self.rpc_url = Some(url.into());
        self
    }

    /// The largest single payment, in USDC base units (default 1 USDC).
    pub fn max_payment(mut self, base_units: u64) -> Self {
        self.max_payment = Some(base_units);
        self
    }

    /// The budget, in USDC base units per rolling day (default 10 USDC a day). It is
    /// counted in the ledger ([`Builder::ledger`]): every server and process sharing the
    /// ledger shares it, and it survives restarts. [`Builder::budget_over`] takes another
    /// window.
    pub fn budget(mut self, base_units: u64) -> Self {
        self.budget = Some(Budget::new(base_units, DEFAULT_WINDOW));
        self
    }

    /// The budget over a window (`Budget::parse("10/day", 6, Window::Day)`; see
    /// [`parse_budget`]).
    pub fn budget_over(mut self, budget: Budget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The payment ledger that holds the budget and the journal of payments (default: this
    /// process's memory; [`Builder::from_env`] opens `SOVA_LEDGER` or the default SQLite
    /// file). Servers on one ledger file share one budget; `budget_status`, `spend_report`
    /// and `payments` read it.
    pub fn ledger(mut self, ledger: Ledger) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// How often payments whose outcome is unknown are reconciled with our RPC while the
    /// server runs (default 30 s; also once at start).
    pub fn reconcile_every(mut self, every: Duration) -> Self {
        self.reconcile_every = Some(every);
        self
    }

    /// At most `limit` payments in any 60 seconds (default: no limit).
    pub fn payments_per_minute(mut self, limit: u32) -> Self {
        self.per_minute = Some(limit);
        self
    }

    /// Payments above this many base units need the user's approval, asked through MCP
    /// elicitation; when the client cannot ask, they are refused. `None`: never ask (the
    /// per-payment cap still applies). Default 0.10 USDC.
    pub fn approve_above(mut self, base_units: Option<u64>) -> Self {
        self.approve_above = Some(base_units);
        self
    }

    /// Caps the payments of one tool (e.g. `deep_token_analysis`), in base units.
    pub fn tool_cap(mut self, tool: impl Into<String>, base_units: u64) -> Self {
        self.tool_caps.insert(tool.into(), base_units);
        self
    }

    /// The default wait window of the job tools before they return a resumable handle
    /// (default 45 s; at most 300 s).
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = Some(wait);
        self
    }

    /// The delay between job status reads (default 5 s).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = Some(interval);
        self
    }

    /// HTTP timeouts of the Intel client.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = Some(timeouts);
        self
    }

    /// How long to wait for the user's answer to an approval request (default 300 s).
    pub fn approval_timeout(mut self, timeout: Duration) -> Self {
        self.approval_timeout = Some(timeout);
        self
    }

    /// Validates everything and builds the server.
    pub fn build(self) -> Result<SovaMcp, Error> {
        for tool in self.tool_caps.keys() {
            if !TOOL_NAMES.contains(&tool.as_str()) {
                return Err(Error::Config(format!(
                    "per-tool cap for {tool:?}: not a paid tool of this server (one of: {})",
                    TOOL_NAMES.join(", ")
                )));
            }
        }
        let budget = self
            .budget
            .unwrap_or(Budget::new(DEFAULT_BUDGET, DEFAULT_WINDOW));
        let limits = Limits {
            max_payment: self.max_payment.unwrap_or(DEFAULT_MAX_PAYMENT),
            budget: budget.amount,
            window: budget.window,
            per_minute: self.per_minute,
        };
        let ledger = self.ledger.unwrap_or_else(Ledger::memory);
        let wait = self.wait.unwrap_or(DEFAULT_WAIT).min(MAX_WAIT);
        let poll_interval = self
            .poll_interval
            .unwrap_or(sova::protocol::jobs::DEFAULT_POLL_INTERVAL)
            .max(Duration::from_millis(10));
        let timeouts = self.timeouts.unwrap_or_default();
        let payer = match self.signer {
            None => None,
            Some(signer) => {
                let mut policy = SpendPolicy::builder()
                    .max_per_payment(programs::USDC_MAINNET, limits.max_payment)
                    .budget_over(programs::USDC_MAINNET, budget)
                    .ledger(ledger.clone());
                if let Some(n) = limits.per_minute {
                    policy = policy.payments_per_minute(n);
                }
                let mut payer = Payer::builder()
                    .shared_signer(signer)
                    .policy(Arc::new(policy.build()));
                // The configured base URL is a Sova Intel deployment (or the sandbox): its
                // payments take the form Sova documents, self-paid allowed.
                if let Some(url) = &self.base_url {
                    payer = payer.sova_host(url);
                }
                let payer = payer
                    .build()
                    .map_err(|e| Error::Config(format!("could not set up payments: {e}")))?;
                Some(Arc::new(payer))
            }
        };
        let transport: Arc<dyn AsyncTransport> = Arc::new(
            ReqwestTransport::new(&timeouts)
                .map_err(|e| Error::Config(format!("could not create the HTTP client: {e}")))?,
        );
        let mut client = sova::intel::ClientBuilder::new()
            .timeouts(timeouts)
            .poll(PollConfig {
                interval: poll_interval,
                max_wait: wait,
            });
        if let Some(url) = self.base_url {
            client = client.base_url(url);
        }
        if let Some(url) = self.rpc_url {
            client = client.rpc_url(url);
        }
        let has_key = self.api_key.is_some();
        if let Some(key) = self.api_key {
            client = client.api_key(key);
        }
        if let Some(key) = self.results_api_key {
            client = client.results_api_key(key);
        }
        if let Some(p) = &payer {
            client = client.x402(p.clone());
        }
        let intel = sova::intel::Client::with_transport(client.clone(), transport.clone())?;
        Ok(SovaMcp::from_inner(Inner::new(
            intel,
            client,
            transport,
            payer,
            has_key,
            limits,
            self.approve_above.unwrap_or(Some(DEFAULT_APPROVE_ABOVE)),
            self.tool_caps,
            wait,
            poll_interval,
            self.approval_timeout.unwrap_or(DEFAULT_APPROVAL_TIMEOUT),
            ledger,
            self.reconcile_every.unwrap_or(DEFAULT_RECONCILE_EVERY),
        )))
    }
}

/// The spend limits the server was built with (USDC base units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest single payment.
    pub max_payment: u64,
    /// The budget over [`Limits::window`], counted in the ledger.
    pub budget: u64,
    /// The budget's window.
    pub window: Window,
    /// Payments allowed per minute, if limited.
    pub per_minute: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_thresholds_and_caps() {
        assert_eq!(parse_threshold("off"), Ok(None));
        assert_eq!(parse_threshold("0.1"), Ok(Some(100_000)));
        let caps = parse_tool_caps("deep_token_analysis=0.6, wallet_hud=0.02").unwrap();
        assert_eq!(caps["deep_token_analysis"], 600_000);
        assert_eq!(caps["wallet_hud"], 20_000);
        assert!(parse_tool_caps("budget_status=1").is_err());
        assert!(parse_tool_caps("wallet_hud").is_err());
        assert_eq!(parse_budget("10"), Ok(Budget::new(10_000_000, Window::Day)));
        assert_eq!(
            parse_budget("0.5/week"),
            Ok(Budget::new(500_000, Window::Week))
        );
        assert!(parse_budget("1/fortnight").is_err());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let b = Builder::new().api_key("ak_secret_value");
        assert!(!format!("{b:?}").contains("secret"));
    }
}
