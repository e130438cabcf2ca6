//! What every command works with: the global options resolved once, the clients, the paying
//! wallet, the progress bar and, with `--sandbox`, the embedded sandbox.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sova::blocking;
use sova::protocol::jobs::PollConfig;
use sova::protocol::transport::Timeouts;
use sova_sandbox::Sandbox;
use sova_x402::{Budget, Keypair, Ledger, Payer, SpendPolicy, Window, programs};

use crate::cli::Global;
use crate::err::{CliError, Service, from_sdk};

/// Default largest single payment: 1 USDC.
pub(crate) const DEFAULT_MAX_PAYMENT: u64 = 1_000_000;
/// Default budget: 10 USDC per rolling day, counted in the ledger.
pub(crate) const DEFAULT_BUDGET: Budget = Budget::new(10_000_000, Window::Day);
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
    ledger: OnceLock<Ledger>,
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
            ledger: OnceLock::new(),
        };
        if ctx.g.sandbox {
            let mut b = Sandbox::builder().job_duration(Duration::from_millis(1500));
            if let Some(k) = &ctx.g.api_key {
                b = b.api_key(k.expose(), 1000);
            }
            if let Some(k) = &ctx.g.owner_key {
                b = b.sovx_owner_key(k.expose());
            }
            let sb = b.start_blocking().map_err(|e| {
                CliError::failure(format!("could not start the embedded sandbox: {e}"))
            })?;
            if ctx.g.keypair.is_none() {
                ctx.throwaway = Some(Arc::new(Keypair::generate()));
            }
            ctx.g.base_url = Some(sb.intel_base_url());
            ctx.g.sx_base_url = Some(sb.sovx_base_url());
            ctx.g.rpc = Some(sb.rpc_url().into());
            if ctx.g.owner_key.is_none() {
                ctx.g.owner_key = Some(sb.sovx_owner_key().into());
            }
            if ctx.g.api_key.is_none() && ctx.g.results_api_key.is_none() {
                // Results need a key; paid calls still pay with x402.
                ctx.g.results_api_key = Some(sb.create_api_key(0).into());
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
        self.g
            .rpc
            .as_ref()
            .map_or_else(|| DEFAULT_RPC.to_owned(), |r| r.expose().to_owned())
    }

    /// The keypair file the user named (`--keypair`/`SOVA_KEYPAIR`). There is no default:
    /// the command line never pays from a wallet it found on its own
    /// (`~/.config/solana/id.json` included).
    pub(crate) fn keypair_path(&self) -> Result<PathBuf, CliError> {
        match &self.g.keypair {
            Some(p) => Ok(p.clone()),
            None => Err(CliError::usage("no wallet named").hint(
                "pass --keypair <file> or set SOVA_KEYPAIR (the command line never uses ~/.config/solana/id.json on its own)",
            )),
        }
    }

    /// The paying keypair (the throwaway one under `--sandbox` without `--keypair`). A file
    /// that other users may read is used, with a warning on stderr.
    pub(crate) fn keypair(&self) -> Result<Arc<Keypair>, CliError> {
        if let Some(k) = &self.throwaway {
            return Ok(k.clone());
        }
        let path = self.keypair_path()?;
        warn_if_readable_by_others(&path);
        Keypair::from_file(&path).map(Arc::new).map_err(|e| {
            CliError::failure(e.to_string())
                .hint("create one with `sova wallet new`, or pass --keypair <file> (SOVA_KEYPAIR)")
        })
    }

    /// The x402 payer with the spend policy of `--max-payment` and `--budget`; `None` when
    /// no wallet was named (`--keypair`, `SOVA_KEYPAIR`, or the sandbox's throwaway one).
    pub(crate) fn payer(&self) -> Result<Option<Arc<Payer>>, CliError> {
        if let Some(p) = self.payer.get() {
            return Ok(p.clone());
        }
        let payer = if self.g.keypair.is_some() || self.throwaway.is_some() {
            Some(Arc::new(self.build_payer(self.keypair()?, self.policy()?)?))
        } else {
            None
        };
        Ok(self.payer.get_or_init(|| payer).clone())
    }

    /// The spend policy of `--max-payment` and `--budget` (USDC), counted in the payment
    /// ledger (`--ledger`).
    pub(crate) fn policy(&self) -> Result<SpendPolicy, CliError> {
        Ok(self.policy_in(self.ledger()?))
    }

    /// The spend policy of `--max-payment` and `--budget`, counted in `ledger`.
    pub(crate) fn policy_in(&self, ledger: Ledger) -> SpendPolicy {
        SpendPolicy::builder()
            .max_per_payment(
                programs::USDC_MAINNET,
                self.g.max_payment.unwrap_or(DEFAULT_MAX_PAYMENT),
            )
            .budget_over(programs::USDC_MAINNET, self.budget())
            .ledger(ledger)
            .build()
    }

    /// The budget of `--budget` (default 10 USDC a rolling day).
    pub(crate) fn budget(&self) -> Budget {
        self.g.budget.unwrap_or(DEFAULT_BUDGET)
    }

    /// The payment ledger, opened once: `--ledger`/`SOVA_LEDGER`, else the default SQLite
    /// file (with `--sandbox`: this run's memory, so sandbox money never enters the real
    /// journal). Its payment events are logged (`-v`).
    pub(crate) fn ledger(&self) -> Result<Ledger, CliError> {
        if let Some(l) = self.ledger.get() {
            return Ok(l.clone());
        }
        let l = crate::ledger::open(self.g.ledger.as_ref(), self.sandbox.is_some())?;
        Ok(self.ledger.get_or_init(|| l).clone())
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

    /// The blocking Intel client for calls that are free: it never pays with x402 (a free
    /// endpoint that asks for payment fails with "payment required").
    pub(crate) fn intel(
        &self,
        max_wait: Option<Duration>,
    ) -> Result<blocking::intel::Client, CliError> {
        self.intel_client(max_wait, None)
    }

    /// The blocking Intel client for paid calls: the API key when given, x402 from the wallet
    /// the user named. When it will pay with x402 it says `paying from <address>` on stderr
    /// and checks that the wallet holds USDC before anything is signed.
    pub(crate) fn intel_paid(
        &self,
        max_wait: Option<Duration>,
    ) -> Result<blocking::intel::Client, CliError> {
        // With an API key and no wallet named, no wallet is needed.
        let want_payer = self.g.api_key.is_none() || self.g.keypair.is_some();
        let payer = if want_payer { self.payer()? } else { None };
        if let Some(p) = &payer {
            let address = p.pubkey();
            // What a crash or an earlier run left open is resolved before paying again.
            self.reconcile_at_start(p.clone())?;
            if !self.g.quiet {
                let how = if self.g.api_key.is_some() {
                    " (x402, when the API key does not cover a call)"
                } else {
                    ""
                };
                eprintln!("paying from {address}{how}");
            }
            if self.g.api_key.is_none() {
                self.check_funded(&address)?;
            }
        }
        self.intel_client(max_wait, payer)
    }

    /// Runs `reconcile_pending()` for the wallet of `payer` (cheap when nothing is open) and
    /// says on stderr what it resolved.
    fn reconcile_at_start(&self, payer: Arc<Payer>) -> Result<(), CliError> {
        let client = self.intel_client(None, Some(payer))?;
        let done = client
            .reconcile_pending()
            .map_err(|e| from_sdk(e, Service::Intel))?;
        if !self.g.quiet {
            eprint!("{}", crate::ledger::resolved_lines(&done));
        }
        Ok(())
    }

    /// The blocking Intel client that reconciles the wallet's payments (never pays, never
    /// checks the balance); `None` without a wallet.
    pub(crate) fn reconciler(&self) -> Result<blocking::intel::Client, CliError> {
        let payer = self.payer()?.ok_or_else(|| {
            CliError::usage("no wallet named: reconciliation looks up the payments of one wallet")
                .hint("pass --keypair <file> (SOVA_KEYPAIR) and --rpc <url> (SOLANA_RPC_URL)")
        })?;
        self.intel_client(None, Some(payer))
    }

    /// Refuses to pay from a wallet without USDC: nothing is signed.
    fn check_funded(&self, address: &sova_x402::Pubkey) -> Result<(), CliError> {
        let held = crate::cmd_wallet::usdc_balance(&self.rpc_url(), address).map_err(|e| {
            if e.code == crate::err::code::NETWORK {
                e.hint("check --rpc (SOLANA_RPC_URL): payments need it; nothing was paid")
            } else {
                e
            }
        })?;
        if held == 0 {
            return Err(CliError::new(
                crate::err::code::POLICY,
                "unfunded",
                format!("no USDC in {address}: the wallet cannot pay, so nothing was signed"),
            )
            .hint("fund it with USDC (and a little SOL); in a sandbox: sova wallet fund --keypair <file>"));
        }
        Ok(())
    }

    fn intel_client(
        &self,
        max_wait: Option<Duration>,
        payer: Option<Arc<Payer>>,
    ) -> Result<blocking::intel::Client, CliError> {
        let mut b = blocking::intel::ClientBuilder::new()
            .base_url(self.intel_base())
            .rpc_url(self.rpc_url())
            .poll(self.poll(max_wait))
            .timeouts(self.timeouts());
        if let Some(k) = &self.g.api_key {
            b = b.api_key(k.expose());
        }
        if let Some(k) = &self.g.results_api_key {
            b = b.results_api_key(k.expose());
        }
        if let Some(p) = payer {
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
            b = b.owner_key(k.expose());
        }
        if let Some(t) = &self.g.user_token {
            b = b.user_token(t.expose());
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

/// Warns on stderr when a keypair file may be read by its group or by others.
pub(crate) fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(m) = std::fs::metadata(path) {
            let mode = m.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                eprintln!(
                    "warning: {} holds a secret key and is readable by {} (mode {mode:o}); restrict it: chmod 600 {}",
                    path.display(),
                    if mode & 0o007 != 0 {
                        "everyone"
                    } else {
                        "its group"
                    },
                    path.display()
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
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
