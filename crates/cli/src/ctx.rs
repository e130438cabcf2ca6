//! What every command works with: the global options resolved once, the clients, the paying
//! wallet, the progress bar and, with `--sandbox`, the embedded sandbox.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sova::blocking;
use sova::protocol::jobs::PollConfig;
use sova::protocol::transport::Timeouts;
use sova_sandbox::Sandbox;
use sova_x402::{Keypair, Payer, SpendPolicy, programs};

use crate::cli::Global;
use crate::err::{CliError, Service, from_sdk};

/// Default largest single payment: 1 USDC.
pub(crate) const DEFAULT_MAX_PAYMENT: u64 = 1_000_000;
/// Default budget of one run: 10 USDC.
pub(crate) const DEFAULT_BUDGET: u64 = 10_000_000;
/// Default RPC.
pub(crate) const DEFAULT_RPC: &str = sova::intel::DEFAULT_RPC_URL;
/// What `--sandbox` gives a throwaway wallet.
const SANDBOX_FUND_LAMPORTS: u64 = 1_000_000_000;
const SANDBOX_FUND_USDC: u64 = 100_000_000;

/// The resolved command-line context.
pub(crate) struct Ctx {
    /// The global options.
    pub g: Global,
    /// The embedded sandbox (`--sandbox`).
    pub sandbox: Option<Sandbox>,
    /// The job progress bar.
    pub progress: JobProgress,
    throwaway: Option<Arc<Keypair>>,
    payer: OnceLock<Option<Arc<Payer>>>,
}

impl Ctx {
    /// Resolves the options; starts and prepares the sandbox with `--sandbox`.
    pub(crate) fn new(g: Global) -> Result<Ctx, CliError> {
        let progress = JobProgress::new(!g.quiet);
        let mut ctx = Ctx {
            g,
            sandbox: None,
            progress,
            throwaway: None,
            payer: OnceLock::new(),
        };
        if ctx.g.sandbox {
            let mut b = Sandbox::builder().job_duration(Duration::from_millis(1500));
            if let Some(k) = &ctx.g.api_key {
                b = b.api_key(k.clone(), 1000);
            }
            if let Some(k) = &ctx.g.owner_key {
                b = b.sovx_owner_key(k.clone());
            }
            let sb = b.start_blocking().map_err(|e| {
                CliError::failure(format!("could not start the embedded sandbox: {e}"))
            })?;
            if ctx.g.keypair.is_none() {
                ctx.throwaway = Some(Arc::new(Keypair::generate()));
            }
            ctx.g.base_url = Some(sb.intel_base_url());
            ctx.g.sx_base_url = Some(sb.sovx_base_url());
            ctx.g.rpc = Some(sb.rpc_url());
            if ctx.g.owner_key.is_none() {
                ctx.g.owner_key = Some(sb.sovx_owner_key());
            }
            if ctx.g.api_key.is_none() && ctx.g.results_api_key.is_none() {
                // Results need a key; paid calls still pay with x402.
                ctx.g.results_api_key = Some(sb.create_api_key(0));
            }
            ctx.sandbox = Some(sb);
            // Fund whichever wallet pays (when it can be read).
            if let Ok(k) = ctx.keypair()
                && let Some(sb) = &ctx.sandbox
            {
                sb.fund_wallet(&k.pubkey(), SANDBOX_FUND_LAMPORTS, SANDBOX_FUND_USDC);
            }
            if !ctx.g.quiet
                && !ctx.g.json
                && let Some(sb) = &ctx.sandbox
            {
                eprintln!("sandbox: {} (embedded, offline)", sb.base_url());
            }
        }
        Ok(ctx)
    }

    /// The Sova Intel base URL.
    pub(crate) fn intel_base(&self) -> String {
        self.g
            .base_url
            .clone()
            .unwrap_or_else(|| sova::intel::DEFAULT_BASE_URL.to_owned())
    }

    /// The SovX base URL.
    pub(crate) fn sx_base(&self) -> String {
        self.g
            .sx_base_url
            .clone()
            .unwrap_or_else(|| sova::sx::DEFAULT_BASE_URL.to_owned())
    }

    /// The Solana RPC URL.
    pub(crate) fn rpc_url(&self) -> String {
        self.g.rpc.clone().unwrap_or_else(|| DEFAULT_RPC.to_owned())
    }

    /// The keypair file: `--keypair`/`SOVA_KEYPAIR`, else `~/.config/solana/id.json`.
    pub(crate) fn keypair_path(&self) -> Result<PathBuf, CliError> {
        match &self.g.keypair {
            Some(p) => Ok(p.clone()),
            None => sova_x402::default_keypair_path().map_err(|e| {
                CliError::failure(e.to_string()).hint("pass --keypair <file> or set SOVA_KEYPAIR")
            }),
        }
    }

    /// The paying keypair (the throwaway one under `--sandbox` without `--keypair`).
    pub(crate) fn keypair(&self) -> Result<Arc<Keypair>, CliError> {
        if let Some(k) = &self.throwaway {
            return Ok(k.clone());
        }
        let path = self.keypair_path()?;
        Keypair::from_file(&path).map(Arc::new).map_err(|e| {
            CliError::failure(e.to_string())
                .hint("create one with `sova wallet new`, or pass --keypair <file> (SOVA_KEYPAIR)")
        })
    }

    /// The x402 payer with the spend policy of `--max-payment` and `--budget`; `None` when
    /// there is no keypair to pay with (the default file is missing and none was named).
    pub(crate) fn payer(&self) -> Result<Option<Arc<Payer>>, CliError> {
        if let Some(p) = self.payer.get() {
            return Ok(p.clone());
        }
        let explicit = self.g.keypair.is_some() || self.throwaway.is_some();
        let keypair = match self.keypair() {
            Ok(k) => Some(k),
            Err(e) if explicit => return Err(e),
            Err(_) => None,
        };
        let payer = match keypair {
            None => None,
            Some(k) => Some(Arc::new(self.build_payer(k, self.policy())?)),
        };
        Ok(self.payer.get_or_init(|| payer).clone())
    }

    /// The spend policy of `--max-payment` and `--budget` (USDC).
    pub(crate) fn policy(&self) -> SpendPolicy {
        SpendPolicy::builder()
            .max_per_payment(
                programs::USDC_MAINNET,
                self.g.max_payment.unwrap_or(DEFAULT_MAX_PAYMENT),
            )
            .budget(
                programs::USDC_MAINNET,
                self.g.budget.unwrap_or(DEFAULT_BUDGET),
            )
            .build()
    }

    /// A payer for `keypair` under `policy`.
    pub(crate) fn build_payer(
        &self,
        keypair: Arc<Keypair>,
        policy: SpendPolicy,
    ) -> Result<Payer, CliError> {
        // The Intel base URL (api.sova-intel.com, or the sandbox with --sandbox) is a Sova
        // Intel deployment: its payments take the form Sova documents (self-paid allowed).
        // Each command is a process of its own that cannot see what earlier runs signed, so
        // two runs over the same blockhash would sign byte-identical payments (a replay): the
        // documented transaction carries a Memo nonce on every payment here.
        Payer::builder()
            .shared_signer(keypair)
            .policy(Arc::new(policy))
            .sova_host(&self.intel_base())
            .self_paid_layout(sova_x402::SelfPaidLayout::MinimalNonce)
            .build()
            .map_err(|e| CliError::failure(format!("could not set up payments: {e}")))
    }

    /// The poll settings: `--poll-interval` (0.2 s with `--sandbox`, else 5 s) and `max_wait`.
    pub(crate) fn poll(&self, max_wait: Option<Duration>) -> PollConfig {
        let mut p = PollConfig::default();
        if let Some(i) = self.g.poll_interval {
            p.interval = i.max(Duration::from_millis(10));
        } else if self.sandbox.is_some() {
            p.interval = Duration::from_millis(200);
        }
        if let Some(m) = max_wait {
            p.max_wait = m;
        }
        p
    }

    /// The HTTP timeouts: `--timeout` for the whole call, else the SDK defaults.
    pub(crate) fn timeouts(&self) -> Timeouts {
        match self.g.timeout {
            None => Timeouts::new(),
            Some(t) => Timeouts::new()
                .with_call(t)
                .with_attempt(t.min(Timeouts::DEFAULT_ATTEMPT)),
        }
    }

    /// The blocking Intel client (x402 when a keypair is available, the API key when given).
    pub(crate) fn intel(
        &self,
        max_wait: Option<Duration>,
    ) -> Result<blocking::intel::Client, CliError> {
        let mut b = blocking::intel::ClientBuilder::new()
            .base_url(self.intel_base())
            .rpc_url(self.rpc_url())
            .poll(self.poll(max_wait))
            .timeouts(self.timeouts());
        if let Some(k) = &self.g.api_key {
            b = b.api_key(k.clone());
        }
        if let Some(k) = &self.g.results_api_key {
            b = b.results_api_key(k.clone());
        }
        // With an API key and no keypair named, the default keypair is not needed.
        let want_payer = self.g.api_key.is_none() || self.g.keypair.is_some();
        if want_payer && let Some(p) = self.payer()? {
            b = b.x402(p);
        }
        let progress = self.progress.clone();
        b = b.on_progress(move |p| progress.update(p));
        b.build_blocking().map_err(|e| from_sdk(e, Service::Intel))
    }

    /// The blocking SovX client.
    pub(crate) fn sx(&self) -> Result<blocking::sx::Client, CliError> {
        let mut b = blocking::sx::ClientBuilder::new()
            .base_url(self.sx_base())
            .timeouts(self.timeouts());
        if let Some(k) = &self.g.owner_key {
            b = b.owner_key(k.clone());
        }
        if let Some(t) = &self.g.user_token {
            b = b.user_token(t.clone());
        }
        b.build_blocking().map_err(|e| from_sdk(e, Service::Sx))
    }

    /// The sandbox's origin (`http://127.0.0.1:PORT`), from the embedded sandbox or the Intel
    /// base URL; for the faucet.
    pub(crate) fn sandbox_origin(&self) -> Result<String, CliError> {
        if let Some(sb) = &self.sandbox {
            return Ok(sb.base_url());
        }
        let base = self.intel_base();
        let origin = base
            .strip_suffix('/')
            .unwrap_or(&base)
            .strip_suffix("/api/v1")
            .map(str::to_owned);
        match origin {
            Some(o) if !base.contains("sova-intel.com") => Ok(o),
            _ => Err(CliError::usage("the faucet exists only in the sandbox").hint(
                "start one with `sova sandbox` and set SOVA_BASE_URL to its Intel URL, or add --sandbox",
            )),
        }
    }
}

/// The job progress bar, driven by the SDK's progress callback.
#[derive(Clone)]
pub(crate) struct JobProgress {
    enabled: bool,
    bar: Arc<Mutex<Option<ProgressBar>>>,
}

impl JobProgress {
    /// A progress reporter (drawn on stderr when it is a terminal).
    pub(crate) fn new(enabled: bool) -> Self {
        JobProgress {
            enabled,
            bar: Arc::default(),
        }
    }

    /// Shows a job status read.
    pub(crate) fn update(&self, p: &sova::intel::Progress) {
        if !self.enabled {
            return;
        }
        let mut slot = self.bar.lock().unwrap_or_else(PoisonError::into_inner);
        let bar = slot.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(Some(100), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos:>3}% {msg}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.set_prefix(format!("job {}", p.job_id));
        if let Some(pct) = p.percent {
            bar.set_position(pct.clamp(0.0, 100.0) as u64);
        }
        if p.status == "completed" {
            bar.set_position(100);
        }
        bar.set_message(format!("{} ({:.1} s)", p.status, p.waited.as_secs_f64()));
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        let mut slot = self.bar.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bar) = slot.take() {
            bar.finish_and_clear();
        }
    }
}
