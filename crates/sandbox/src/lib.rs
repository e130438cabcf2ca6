//! An offline emulator of **Sova Intel** and **Sovera SovX**, with real x402 settlement on an
//! in-process Solana ledger ([litesvm](https://docs.rs/litesvm) running the SPL Token program).
//!
//! Start it inside a test or program; it listens on a loopback port and answers like the
//! documented APIs (`reference/` in the project's shared folder), errors included:
//!
//! ```no_run
//! # async fn demo() -> Result<(), sova_sandbox::Error> {
//! let sandbox = sova_sandbox::Sandbox::builder()
//!     .sync_hold(std::time::Duration::from_millis(50))
//!     .start()
//!     .await?;
//! let key = sandbox.create_api_key(100);
//! println!("Intel at {} (key {key})", sandbox.intel_base_url());
//! println!("SovX at {} (owner key {})", sandbox.sovx_base_url(), sandbox.sovx_owner_key());
//! println!("Solana RPC at {}", sandbox.rpc_url());
//! # Ok(()) }
//! ```
//!
//! * **Intel** under `/api/v1`: every endpoint with deterministic synthetic data, API keys
//!   `ak_<hex>` with credits, the synchronous hold with its 202 fallback, POST jobs and their
//!   results (15-minute TTL), and x402: unauthenticated paid calls get 402 with
//!   `PAYMENT-REQUIRED` at credits × 15,000 USDC base units; a `PAYMENT-SIGNATURE` is verified
//!   and its transaction executed on the ledger ([`Mode::Sova`] or [`Mode::Standard`]).
//! * **SovX** under `/sovx/v1`: users, tokens, monetization, currencies, wallets, balances,
//!   transactions, quotes, orders, withdrawals and transfers.
//! * **Solana JSON-RPC** on `POST /rpc`: enough for a standard client to build and check payments.
//! * **Admin** under `/__sandbox`: faucet, API keys, SovX codes, clock, faults, inspection.
//!
//! Time is a [`Clock`] (system or manual, both advanceable), so TTLs, quote and token expiry,
//! replay windows and blockhash lifetimes can be tested without waiting.
#![forbid(unsafe_code)]
// Handlers return early with a finished `Response` as the error; boxing it would only add an
// allocation on the error path.
#![allow(clippy::result_large_err)]

mod admin;
mod billing;
mod clock;
mod faults;
mod intel;
mod ledger;
mod respond;
mod rng;
mod rpc;
mod server;
mod sovx;
mod state;
mod verify;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use solana_pubkey::Pubkey;
use solana_signer::Signer;
use tokio::sync::watch;

pub use clock::Clock;
pub use faults::{Fault, FaultKind};
pub use ledger::{TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, USDC_MINT, ata};
pub use state::{Mode, PaymentRecord};

use state::{AppState, Config, Inspect, Shared, lock};

/// USDC base units per Intel credit (1 credit = $0.015).
pub const BASE_UNITS_PER_CREDIT: u64 = billing::BASE_UNITS_PER_CREDIT;

/// Why a sandbox could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be bound.
    #[error("could not bind the sandbox to {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The runtime thread of [`Sandbox::start_blocking`] could not be started.
    #[error("could not start the sandbox runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The runtime thread stopped before the server was up.
    #[error("the sandbox runtime stopped during start-up")]
    Startup,
}

/// Configures and starts a [`Sandbox`].
#[derive(Debug, Clone)]
pub struct SandboxBuilder {
    addr: SocketAddr,
    config: Config,
    clock: Clock,
    api_keys: Vec<(Option<String>, u64)>,
    treasury: Option<Pubkey>,
    grace: Duration,
    listeners: usize,
    fail_jobs: u32,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        SandboxBuilder {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            config: Config {
                mode: Mode::Sova,
                seed: 42,
                sync_hold: Duration::from_secs(30),
                flash_analysis: Duration::ZERO,
                job_duration: Duration::from_secs(2),
                result_ttl: Duration::from_secs(15 * 60),
                replay_window: Duration::from_secs(24 * 3600),
                slot: Duration::from_millis(400),
                token2022: false,
                results_require_auth: true,
                standard_settlement_headers: false,
                deep_partial: false,
                owner_key: String::new(),
                quote_ttl: Duration::from_secs(300),
                user_token_ttl: Duration::from_secs(365 * 86_400),
                max_timeout_seconds: 60,
                strict_preflight: false,
                x402_v1: false,
                documented_form_only: false,
            },
            clock: Clock::system(),
            api_keys: Vec::new(),
            treasury: None,
            grace: Duration::from_secs(1),
            listeners: 1,
            fail_jobs: 0,
        }
    }
}

impl SandboxBuilder {
    /// The address to listen on (default `127.0.0.1:0`, a free loopback port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The x402 mode (default [`Mode::Sova`]).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.config.mode = mode;
        self
    }

    /// The seed of every synthetic value, key and keypair (default 42).
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// How long wallet GETs hold the connection for a cold wallet before answering 202
    /// (default 30 s; tests use milliseconds).
    pub fn sync_hold(mut self, hold: Duration) -> Self {
        self.config.sync_hold = hold;
        self
    }

    /// How long the flash analysis of a cold wallet takes (default zero: every wallet has
    /// data at once). Longer than [`SandboxBuilder::sync_hold`] gives the 202 fallback.
    pub fn flash_analysis(mut self, duration: Duration) -> Self {
        self.config.flash_analysis = duration;
        self
    }

    /// How long POST jobs (holders, similarity, deep) take to complete (default 2 s; the deep
    /// bundle's similarity part takes twice as long).
    pub fn job_duration(mut self, duration: Duration) -> Self {
        self.config.job_duration = duration;
        self
    }

    /// How long job results stay readable (default 15 minutes).
    pub fn result_ttl(mut self, ttl: Duration) -> Self {
        self.config.result_ttl = ttl;
        self
    }

    /// How long a used payment transaction is refused (default 24 hours).
    pub fn replay_window(mut self, window: Duration) -> Self {
        self.config.replay_window = window;
        self
    }

    /// Slot duration of the ledger's blockhash clock (default 400 ms; a blockhash lives 150
    /// slots).
    pub fn slot_duration(mut self, slot: Duration) -> Self {
        self.config.slot = slot;
        self
    }

    /// Also creates a Token-2022 test mint (6 decimals) with a treasury account.
    pub fn token2022(mut self, enabled: bool) -> Self {
        self.config.token2022 = enabled;
        self
    }

    /// Whether `GET /jobs/result/by-key` refuses callers without an API key with `401`
    /// (default **true**: the docs say "Authentication required" and document no other way
    /// in; how an x402-only caller passes is an open question). `false` lets anyone read
    /// results by key, for experiments with clients that do not send a key.
    pub fn results_require_auth(mut self, required: bool) -> Self {
        self.config.results_require_auth = required;
        self
    }

    /// In [`Mode::Sova`], also sends the x402 v2 standard `PAYMENT-RESPONSE` (base64 JSON
    /// `SettlementResponse`) on a settled payment, beside the documented
    /// `X-Payment-Response: <signature>` (default false: only what Sova documents).
    /// [`Mode::Standard`] always sends it.
    pub fn standard_settlement_headers(mut self, enabled: bool) -> Self {
        self.config.standard_settlement_headers = enabled;
        self
    }

    /// Makes the next `n` POST jobs (holders, holders/agent, similarity, similarity/agent, the
    /// deep bundle's holder job) fail: they are accepted and charged as usual, then
    /// `GET /jobs/{id}` reports `failed` when they would have completed (with a
    /// `failedReason` for authenticated callers) and no result is stored. Default 0.
    pub fn fail_jobs(mut self, n: u32) -> Self {
        self.fail_jobs = n;
        self
    }

    /// Makes `POST /intel/token/{mint}/holders/deep` answer `206 Partial Content` — "one of
    /// two bundled jobs failed — 0cr charged, retry individually" ([D-errors]) — after
    /// validating the request: nothing is charged (no credits, no x402 settlement) and the
    /// body (its shape is undocumented; the sandbox's is `{statusCode, message,
    /// holderProfiles: {jobId, status}, similarity: {status, error}}`) names the failed half.
    /// Default false.
    pub fn deep_partial_failure(mut self, enabled: bool) -> Self {
        self.config.deep_partial = enabled;
        self
    }

    /// The SovX owner API key (default derived from the seed).
    pub fn sovx_owner_key(mut self, key: impl Into<String>) -> Self {
        self.config.owner_key = key.into();
        self
    }

    /// How long SovX quotes stay valid (default 5 minutes).
    pub fn quote_ttl(mut self, ttl: Duration) -> Self {
        self.config.quote_ttl = ttl;
        self
    }

    /// How long SovX user tokens stay valid (default one year).
    pub fn user_token_ttl(mut self, ttl: Duration) -> Self {
        self.config.user_token_ttl = ttl;
        self
    }

    /// Also refuses payments that the independent client-side verifier (`sova_x402::verify`)
    /// rejects: exact amount, exact `accepted` echo, compute-budget caps (default false; the
    /// server's own checks follow Sova and accept any amount at or above the price).
    pub fn strict_preflight(mut self, strict: bool) -> Self {
        self.config.strict_preflight = strict;
        self
    }

    /// The requirement's `maxTimeoutSeconds` (default 60, Sova's value). A payment whose
    /// blockhash is still valid but was issued longer ago than this (in chain time: blocks ×
    /// slot duration) is refused at verification with a 402 and a fresh challenge, before
    /// anything settles. (An expired blockhash fails at settlement, as Sova documents.)
    pub fn max_timeout_seconds(mut self, seconds: u64) -> Self {
        self.config.max_timeout_seconds = seconds;
        self
    }

    /// Accepts only the payment form Sova documents (default false): the flat payload and a
    /// legacy transaction with one `TransferChecked` (a Memo is tolerated). Any other form is
    /// refused at verification — a 402 with a fresh challenge and no settlement header —
    /// which is how a server that reads only the documented form would answer.
    pub fn documented_form_only(mut self, on: bool) -> Self {
        self.config.documented_form_only = on;
        self
    }

    /// Answers unpaid requests with an x402 **v1** challenge (default false): a JSON body
    /// `{x402Version: 1, error, accepts}` whose requirements carry `maxAmountRequired`, the v1
    /// network name `solana` and the v1 per-requirement `resource`, and no `PAYMENT-REQUIRED`
    /// header (`reference/x402-solana.md` §2). Whatever this setting, a v1 payment is accepted
    /// in the `X-PAYMENT` header and settled with a base64 JSON `X-PAYMENT-RESPONSE`.
    pub fn x402_v1(mut self, on: bool) -> Self {
        self.config.x402_v1 = on;
        self
    }

    /// The clock (default [`Clock::system`]).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Creates an Intel API key with `credits` at start; `key` must look like `ak_<hex>`.
    pub fn api_key(mut self, key: impl Into<String>, credits: u64) -> Self {
        self.api_keys.push((Some(key.into()), credits));
        self
    }

    /// The treasury wallet (`payTo`); default derived from the seed.
    pub fn treasury(mut self, treasury: Pubkey) -> Self {
        self.treasury = Some(treasury);
        self
    }

    /// How many loopback ports serve this sandbox (default 1; at least 1). The first is
    /// [`SandboxBuilder::bind`]'s; the others are free ports on the same IP. Every port serves
    /// every route on the same state; a [`FaultKind::TimeoutThenRefused`] fault closes only
    /// the port that accepted its request, so a client pointed at its own port
    /// ([`Sandbox::base_url_at`]) can be refused without refusing the others.
    pub fn listeners(mut self, n: usize) -> Self {
        self.listeners = n.max(1);
        self
    }

    /// How long shutdown waits for open connections (default 1 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    fn build_state(&self) -> Shared {
        let mut config = self.config.clone();
        if config.owner_key.is_empty() {
            config.owner_key = format!(
                "sk_sandbox_{}",
                rng::Rng::keyed(config.seed, "owner-key").hex(16)
            );
        }
        let now = self.clock.now_ms();
        let slot_ms = u64::try_from(config.slot.as_millis()).unwrap_or(400).max(1);
        let ledger = ledger::Ledger::new(
            self.clock.clone(),
            config.seed,
            slot_ms,
            config.token2022,
            self.treasury,
        );
        let mut intel = intel::IntelStore::new(config.seed);
        intel.fail_next = self.fail_jobs;
        for (key, credits) in &self.api_keys {
            match key {
                Some(k) => {
                    intel.insert_key(k, *credits);
                }
                None => {
                    intel.create_key(*credits);
                }
            }
        }
        let sovx = sovx::SovxStore::new(config.seed, config.owner_key.clone(), now);
        Arc::new(AppState {
            clock: self.clock.clone(),
            ledger: Mutex::new(ledger),
            intel: Mutex::new(intel),
            sovx: Mutex::new(sovx),
            faults: Mutex::new(faults::FaultTable::default()),
            inspect: Mutex::new(Inspect::default()),
            replay: Mutex::new(HashMap::new()),
            base_url: Mutex::new(String::new()),
            held: AtomicUsize::new(0),
            forever_202: Mutex::new(std::collections::HashSet::new()),
            config,
        })
    }

    /// Starts the sandbox on the current tokio runtime (multi-threaded or current-thread).
    pub async fn start(self) -> Result<Sandbox, Error> {
        let started = Instant::now();
        let listener = server::bind(self.addr)
            .await
            .map_err(|source| Error::Bind {
                addr: self.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: self.addr,
            source,
        })?;
        let mut listeners = vec![listener];
        let mut addrs = vec![addr];
        for _ in 1..self.listeners {
            let extra = SocketAddr::new(addr.ip(), 0);
            let l = server::bind(extra).await.map_err(|source| Error::Bind {
                addr: extra,
                source,
            })?;
            addrs.push(l.local_addr().map_err(|source| Error::Bind {
                addr: extra,
                source,
            })?);
            listeners.push(l);
        }
        let state = self.build_state();
        *lock(&state.base_url) = format!("http://{addr}");
        let (tx, rx) = watch::channel(false);
        let app = server::app(state.clone());
        let task = tokio::spawn(server::serve(listeners, app, rx, self.grace));
        Ok(Sandbox {
            state,
            addr,
            addrs,
            startup: started.elapsed(),
            shutdown: Some(tx),
            task: Some(task),
            thread: None,
        })
    }

    /// Starts the sandbox on its own runtime thread, for blocking code (tests without tokio,
    /// the CLI). Works inside or outside a tokio runtime.
    pub fn start_blocking(self) -> Result<Sandbox, Error> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sova-sandbox".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("sova-sandbox-worker")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(Error::Runtime(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    match self.start().await {
                        Ok(mut sb) => {
                            let task = sb.task.take();
                            let _ = ready_tx.send(Ok(sb));
                            if let Some(task) = task {
                                let _ = task.await;
                            }
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })
            .map_err(Error::Runtime)?;
        let mut sb = ready_rx.recv().map_err(|_| Error::Startup)??;
        sb.thread = Some(thread);
        Ok(sb)
    }
}

/// A running sandbox. Dropping it shuts the server down (gracefully, for up to the grace
/// period); [`Sandbox::shutdown`] does the same and waits.
pub struct Sandbox {
    state: Shared,
    addr: SocketAddr,
    addrs: Vec<SocketAddr>,
    startup: Duration,
    shutdown: Option<watch::Sender<bool>>,
    task: Option<tokio::task::JoinHandle<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .field("mode", &self.state.config.mode)
            .finish()
    }
}

impl Sandbox {
    /// A builder with the defaults.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// Starts a sandbox with the defaults on the current tokio runtime.
    pub async fn start() -> Result<Sandbox, Error> {
        SandboxBuilder::default().start().await
    }

    /// Starts a sandbox with the defaults on its own runtime thread.
    pub fn start_blocking() -> Result<Sandbox, Error> {
        SandboxBuilder::default().start_blocking()
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How long start-up took (bind, ledger, stores).
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every socket address it listens on, the first being [`Sandbox::addr`] (see
    /// [`SandboxBuilder::listeners`]).
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// `http://IP:PORT` of listener `i` (0 is [`Sandbox::base_url`]); `None` past the last.
    pub fn base_url_at(&self, i: usize) -> Option<String> {
        self.addrs.get(i).map(|a| format!("http://{a}"))
    }

    /// The Sova Intel base URL on listener `i`: `http://IP:PORT/api/v1`.
    pub fn intel_base_url_at(&self, i: usize) -> Option<String> {
        self.base_url_at(i).map(|b| format!("{b}{}", intel::PREFIX))
    }

    /// The Sova Intel base URL: `http://127.0.0.1:PORT/api/v1`.
    pub fn intel_base_url(&self) -> String {
        format!("{}{}", self.base_url(), intel::PREFIX)
    }

    /// The SovX base URL: `http://127.0.0.1:PORT/sovx/v1`.
    pub fn sovx_base_url(&self) -> String {
        format!("{}{}", self.base_url(), sovx::PREFIX)
    }

    /// The Solana JSON-RPC URL: `http://127.0.0.1:PORT/rpc`.
    pub fn rpc_url(&self) -> String {
        format!("{}/rpc", self.base_url())
    }

    /// The admin base URL: `http://127.0.0.1:PORT/__sandbox`.
    pub fn admin_url(&self) -> String {
        format!("{}{}", self.base_url(), admin::PREFIX)
    }

    /// The x402 mode.
    pub fn mode(&self) -> Mode {
        self.state.config.mode
    }

    /// The clock (advance it to pass TTLs and expiries).
    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.state.clock.advance(by);
    }

    // ---- ledger ---------------------------------------------------------------------------

    /// The treasury wallet (`payTo`).
    pub fn treasury(&self) -> Pubkey {
        lock(&self.state.ledger).treasury
    }

    /// The treasury's USDC associated token account.
    pub fn treasury_ata(&self) -> Pubkey {
        ata(&self.treasury(), &USDC_MINT, &TOKEN_PROGRAM_ID)
    }

    /// The USDC mint (the mainnet address, 6 decimals, classic Token program).
    pub fn usdc_mint(&self) -> Pubkey {
        USDC_MINT
    }

    /// The Token-2022 test mint, when enabled.
    pub fn token2022_mint(&self) -> Option<Pubkey> {
        lock(&self.state.ledger).token22_mint
    }

    /// The facilitator (fee payer in [`Mode::Standard`]).
    pub fn facilitator(&self) -> Pubkey {
        lock(&self.state.ledger).facilitator.pubkey()
    }

    /// Gives a wallet `lamports` of SOL and `usdc` base units of USDC (creating its ATA).
    pub fn fund_wallet(&self, wallet: &Pubkey, lamports: u64, usdc: u64) {
        let mut l = lock(&self.state.ledger);
        if lamports > 0 {
            l.airdrop(wallet, lamports);
        }
        l.mint_tokens(wallet, &USDC_MINT, usdc);
    }

    /// Mints Token-2022 test tokens to a wallet (false when the mint is not enabled).
    pub fn fund_token2022(&self, wallet: &Pubkey, amount: u64) -> bool {
        let mut l = lock(&self.state.ledger);
        match l.token22_mint {
            Some(m) => l.mint_tokens(wallet, &m, amount).is_some(),
            None => false,
        }
    }

    /// Lamports of a wallet.
    pub fn sol_balance(&self, wallet: &Pubkey) -> u64 {
        lock(&self.state.ledger).balance(wallet)
    }

    /// USDC base units held by a wallet's ATA.
    pub fn usdc_balance(&self, wallet: &Pubkey) -> u64 {
        lock(&self.state.ledger).usdc_of(wallet)
    }

    /// A fresh blockhash (registered as valid) and its last valid block height.
    pub fn latest_blockhash(&self) -> (solana_hash::Hash, u64) {
        lock(&self.state.ledger).latest_blockhash()
    }

    /// Expires every blockhash issued so far.
    pub fn expire_blockhashes(&self) {
        lock(&self.state.ledger).expire_blockhashes();
    }

    // ---- Intel ----------------------------------------------------------------------------

    /// Creates an API key `ak_<hex>` with `credits`.
    pub fn create_api_key(&self, credits: u64) -> String {
        lock(&self.state.intel).create_key(credits)
    }

    /// Credits left on a key.
    pub fn credits(&self, key: &str) -> Option<u64> {
        lock(&self.state.intel).key_credits(key)
    }

    /// Sets a key's credits; false when the key is unknown.
    pub fn set_credits(&self, key: &str, credits: u64) -> bool {
        lock(&self.state.intel).set_credits(key, credits)
    }

    /// Marks a wallet as already analyzed: its GETs answer at once even when
    /// [`SandboxBuilder::flash_analysis`] is longer than the synchronous hold.
    pub fn warm_wallet(&self, address: &str) {
        let now = self.state.clock.now_ms();
        lock(&self.state.intel).warm(address, now);
    }

    // ---- SovX -----------------------------------------------------------------------------

    /// The SovX owner API key.
    pub fn sovx_owner_key(&self) -> String {
        lock(&self.state.sovx).owner_key().to_owned()
    }

    /// The confirmation code of a pending withdrawal or transfer.
    pub fn sovx_code(&self, operation_id: &str) -> Option<String> {
        lock(&self.state.sovx).code(operation_id)
    }

    /// Credits a SovX wallet with `amount` of `currency` (a decimal string, e.g. `"1000.5"`).
    pub fn sovx_fund(&self, wallet_id: &str, currency: &str, amount: &str) -> bool {
        let Ok(amount) = amount.parse::<rust_decimal::Decimal>() else {
            return false;
        };
        let now = self.state.clock.now_ms();
        lock(&self.state.sovx).fund(wallet_id, currency, amount, now)
    }

    // ---- faults ---------------------------------------------------------------------------

    /// Installs a fault; returns its id.
    pub fn add_fault(&self, fault: Fault) -> u64 {
        lock(&self.state.faults).add(fault)
    }

    /// Removes a fault.
    pub fn remove_fault(&self, id: u64) -> bool {
        lock(&self.state.faults).remove(id)
    }

    /// The installed faults with their ids (counted faults disappear once used up).
    pub fn faults(&self) -> Vec<(u64, Fault)> {
        lock(&self.state.faults).list()
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        lock(&self.state.faults).clear();
    }

    /// How many payments held by [`FaultKind::HoldAndSubmitLater`] or
    /// [`FaultKind::StaleLastValidHeight`] are not submitted to the ledger yet.
    pub fn held_pending(&self) -> usize {
        self.state.held.load(Ordering::SeqCst)
    }

    /// Waits until every held payment was submitted to the ledger (landed or failed), so
    /// [`Sandbox::payments`] is final. Needs the sandbox's runtime to make progress: call it
    /// from a task (or use [`Sandbox::wait_held`] from a thread).
    pub async fn flush_held(&self) {
        while self.held_pending() > 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// [`Sandbox::flush_held`] for blocking code: waits at most `timeout`; true when nothing
    /// is held any more. Do not call it on a worker thread of the runtime that serves the
    /// sandbox.
    pub fn wait_held(&self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        while self.held_pending() > 0 {
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }

    // ---- inspection -----------------------------------------------------------------------

    /// Settled x402 payments, oldest first.
    pub fn payments(&self) -> Vec<PaymentRecord> {
        lock(&self.state.inspect).payments.clone()
    }

    /// Credits used per API key.
    pub fn credits_used(&self) -> BTreeMap<String, u64> {
        lock(&self.state.inspect).credits_used.clone()
    }

    /// Requests seen per route (`"GET /api/v1/intel/wallet/{address}/hud"`).
    pub fn requests(&self) -> BTreeMap<String, u64> {
        lock(&self.state.inspect).requests.clone()
    }

    /// Requests seen on one route (method and template).
    pub fn request_count(&self, route: &str) -> u64 {
        lock(&self.state.inspect)
            .requests
            .get(route)
            .copied()
            .unwrap_or(0)
    }

    /// Billable answers delivered per route.
    pub fn deliveries(&self) -> BTreeMap<String, u64> {
        lock(&self.state.inspect).deliveries.clone()
    }

    /// Clears the inspection records.
    pub fn reset_inspection(&self) {
        *lock(&self.state.inspect) = Inspect::default();
    }

    /// The `/__sandbox/info` document (URLs, mode, mints, treasury, keys).
    pub fn info(&self) -> serde_json::Value {
        admin::info_value(&self.state)
    }

    /// Stops the server and waits for it (up to the grace period).
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
