//! Sova Intel: the client, its configuration and builder. One client type,
//! [`IntelClient<R>`], generic over its [`Runner`]: `sova::intel::Client` is the async one
//! and `sova::blocking::intel::Client` the blocking one; every typed method is written once.
//!
//! Methods return `R::Ret<'_, T>`: for the async client a `Send` future of
//! `Result<T, sova::Error>`, for the blocking client `Result<T, sova::Error>` itself. The
//! request and response types (`WalletHud`, `HolderProfilesResult`, …) are those of
//! [`sova_protocol::intel`], re-exported here, so `sova::intel::WalletHud` works.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sova_protocol::http::{HeaderMap, HeaderValue};
use sova_protocol::jobs::PollConfig;
use sova_protocol::retry::RetryPolicy;
use sova_protocol::transport::Timeouts;
use sova_protocol::{BaseUrl, Credential};

use crate::call::{Authorizer, CallOptions, CallSettings};
use crate::error::Error;

// The request and response types, listed once on `sova_protocol::intel`'s page (not inlined
// here, where they would bury the client).
#[doc(no_inline)]
pub use sova_protocol::intel::*;

use crate::call::Paid;
use crate::flow::{Call, Ctx, Machine, MachineExt, intel as flows};

pub use crate::flow::intel::{QueueJob, Queued};
use crate::runner::Runner;

/// The async Sova Intel client (feature `async`). Cheap to clone; share one per process.
///
/// ```no_run
/// # async fn run() -> Result<(), sova::Error> {
/// let client = sova::intel::Client::builder().api_key("ak_0123abcd").build()?;
/// let hud = client.wallet_hud("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM").await?;
/// println!("{} {}", hud.behavior_code, hud.win_rate);
/// # Ok(()) }
/// ```
#[cfg(feature = "async")]
pub type Client = IntelClient<crate::runner::AsyncRunner>;

/// A job status update, for progress callbacks.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The job.
    pub job_id: String,
    /// The raw status (`waiting`, `active`, …).
    pub status: String,
    /// Percent done, when the server says.
    pub percent: Option<f64>,
    /// Time waited so far.
    pub waited: Duration,
}

/// A progress callback.
pub type ProgressFn = crate::flow::ProgressFn;

/// Settings of a Sova Intel client, validated once by the builder.
#[derive(Clone)]
pub struct Config {
    pub(crate) base: BaseUrl,
    pub(crate) api_key: Option<ApiKey>,
    pub(crate) results_api_key: Option<ApiKey>,
    pub(crate) timeouts: Timeouts,
    pub(crate) retry: RetryPolicy,
    pub(crate) poll: PollConfig,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) payments: Option<crate::call::Payments>,
    pub(crate) retry_failed_jobs: bool,
    pub(crate) requeue_failed_jobs: bool,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base", &self.base)
            .field("api_key", &self.api_key)
            .field("results_api_key", &self.results_api_key)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("poll", &self.poll)
            .field("payments", &self.payments)
            .finish_non_exhaustive()
    }
}

impl Config {
    pub(crate) fn settings(&self, options: &CallOptions) -> CallSettings {
        CallSettings::resolve(&self.timeouts, &self.retry, options)
    }

    /// The base URL.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base
    }

    /// The x402 settings, when the client pays per call.
    pub fn payments(&self) -> Option<&crate::call::Payments> {
        self.payments.as_ref()
    }
}

impl Authorizer for Config {
    fn authorize(
        &self,
        credential: Credential,
        _endpoint: &'static str,
        headers: &mut HeaderMap,
    ) -> Result<(), Error> {
        let insert = |headers: &mut HeaderMap, key: &ApiKey| -> Result<(), Error> {
            let mut v = HeaderValue::from_str(key.expose())
                .map_err(|_| Error::Config("the API key cannot be sent as a header".into()))?;
            v.set_sensitive(true);
            headers.insert(API_KEY_HEADER, v);
            Ok(())
        };
        // The key that authenticates free reads: the paying key, else the results-only key.
        let reader = self.api_key.as_ref().or(self.results_api_key.as_ref());
        match credential {
            Credential::IntelPaid => {
                // Only the paying key: a results-only key never pays with credits. Without
                // one, paid calls go out unauthenticated: the server answers 402 with an x402
                // challenge.
                match &self.api_key {
                    Some(key) => insert(headers, key),
                    None => Ok(()),
                }
            }
            Credential::IntelOptional => match reader {
                Some(key) => insert(headers, key),
                None => Ok(()),
            },
            Credential::IntelAuthenticated => match reader {
                Some(key) => insert(headers, key),
                // Never sent bare: the flow that reads a result names it, its job and the
                // payment that queued it.
                None => Err(Error::ResultAuthRequired {
                    key: String::new(),
                    job_id: None,
                    handle: None,
                    refused: None,
                    payment: None,
                }),
            },
            Credential::None => Ok(()),
            other => Err(Error::Config(format!(
                "a Sova Intel client cannot send a request that needs {other:?}"
            ))),
        }
    }
}

/// Builds a Sova Intel client (async or blocking).
#[derive(Clone)]
pub struct ClientBuilder<R = ()> {
    base_url: Option<String>,
    api_key: Option<String>,
    results_api_key: Option<String>,
    timeouts: Timeouts,
    retry: Option<RetryPolicy>,
    poll: PollConfig,
    progress: Option<ProgressFn>,
    retry_failed_jobs: Option<bool>,
    requeue_failed_jobs: bool,
    payer: Option<Arc<sova_x402::Payer>>,
    keypair_path: Option<String>,
    rpc_url: Option<String>,
    max_payment: Option<u64>,
    budget: Option<sova_x402::Budget>,
    ledger: Option<sova_x402::Ledger>,
    ledger_from_env: bool,
    scope: Option<String>,
    runner: std::marker::PhantomData<fn() -> R>,
}

/// The public Solana mainnet RPC, used for blockhashes when no RPC URL is configured.
pub const DEFAULT_RPC_URL: &str = "https://api.mainnet-beta.solana.com";

impl<R> Default for ClientBuilder<R> {
    fn default() -> Self {
        ClientBuilder {
            base_url: Default::default(),
            api_key: Default::default(),
            results_api_key: Default::default(),
            timeouts: Default::default(),
            retry: Default::default(),
            poll: Default::default(),
            progress: Default::default(),
            retry_failed_jobs: Default::default(),
            requeue_failed_jobs: false,
            payer: Default::default(),
            keypair_path: Default::default(),
            rpc_url: Default::default(),
            max_payment: Default::default(),
            budget: Default::default(),
            ledger: Default::default(),
            ledger_from_env: false,
            scope: Default::default(),
            runner: std::marker::PhantomData,
        }
    }
}

impl<R> ClientBuilder<R> {
    /// The same settings, for a client on runner `S`.
    fn retype<S>(self) -> ClientBuilder<S> {
        ClientBuilder {
            base_url: self.base_url,
            api_key: self.api_key,
            results_api_key: self.results_api_key,
            timeouts: self.timeouts,
            retry: self.retry,
            poll: self.poll,
            progress: self.progress,
            retry_failed_jobs: self.retry_failed_jobs,
            requeue_failed_jobs: self.requeue_failed_jobs,
            payer: self.payer,
            keypair_path: self.keypair_path,
            rpc_url: self.rpc_url,
            max_payment: self.max_payment,
            budget: self.budget,
            ledger: self.ledger,
            ledger_from_env: self.ledger_from_env,
            scope: self.scope,
            runner: std::marker::PhantomData,
        }
    }
}

impl<R: Runner> ClientBuilder<R> {
    /// Builds the client of this builder's runner with the default transport (the builder
    /// of [`IntelClient::builder`] knows whether it is the async or the blocking client).
    pub fn build(self) -> Result<IntelClient<R>, Error> {
        IntelClient::from_builder(self)
    }
}

impl<R> fmt::Debug for ClientBuilder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field(
                "results_api_key",
                &self.results_api_key.as_ref().map(|_| "[redacted]"),
            )
            .field("timeouts", &self.timeouts)
            .field(
                "x402",
                &(self.payer.is_some() || self.keypair_path.is_some()),
            )
            .field("rpc_url", &self.rpc_url.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder with the documented defaults (production base URL, no credential).
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `SOVA_BASE_URL`, `SOVA_API_KEY`, `SOVA_RESULTS_API_KEY`, `SOVA_KEYPAIR` (a
    /// keypair file for x402) and `SOLANA_RPC_URL` when set.
    pub fn from_env() -> Self {
        let mut b = Self::new();
        if let Ok(url) = std::env::var("SOVA_BASE_URL")
            && !url.trim().is_empty()
        {
            b.base_url = Some(url);
        }
        if let Ok(key) = std::env::var("SOVA_API_KEY")
            && !key.trim().is_empty()
        {
            b.api_key = Some(key);
        }
        if let Ok(key) = std::env::var("SOVA_RESULTS_API_KEY")
            && !key.trim().is_empty()
        {
            b.results_api_key = Some(key);
        }
        if let Ok(path) = std::env::var("SOVA_KEYPAIR")
            && !path.trim().is_empty()
        {
            b.keypair_path = Some(path);
        }
        if let Ok(url) = std::env::var("SOLANA_RPC_URL")
            && !url.trim().is_empty()
        {
            b.rpc_url = Some(url);
        }
        // The durable ledger: `SOVA_LEDGER`, else the default SQLite file (feature
        // `sqlite`). Opened when the client is built.
        b.ledger_from_env = true;
        b
    }

    /// Builds the async client with the default transport.
    #[cfg(feature = "async")]
    pub fn build(self) -> Result<Client, Error> {
        IntelClient::from_builder(self)
    }

    /// Builds the blocking client with the default transport.
    #[cfg(feature = "blocking")]
    pub fn build_blocking(self) -> Result<crate::blocking::intel::Client, Error> {
        IntelClient::from_builder(self)
    }
}

impl<R> ClientBuilder<R> {
    /// Pays per call with x402 using this payer (its signer, spend policy and blockhash
    /// cache). Share one payer between clients to share the budget.
    pub fn x402(mut self, payer: Arc<sova_x402::Payer>) -> Self {
        self.payer = Some(payer);
        self
    }

    /// Pays per call with x402 from a Solana CLI keypair file (JSON array of 64 bytes), with a
    /// spend policy from [`Self::max_payment`] and [`Self::budget`].
    pub fn keypair_file(mut self, path: impl Into<String>) -> Self {
        self.keypair_path = Some(path.into());
        self
    }

    /// The Solana JSON-RPC URL for blockhashes and reconciliation (default: mainnet).
    pub fn rpc_url(mut self, url: impl Into<String>) -> Self {
        self.rpc_url = Some(url.into());
        self
    }

    /// With [`Self::keypair_file`]: the largest single payment, in USDC base units
    /// (default 1,000,000 = 1 USDC).
    pub fn max_payment(mut self, base_units: u64) -> Self {
        self.max_payment = Some(base_units);
        self
    }

    /// With [`Self::keypair_file`]: the budget, in USDC base units, over all time (the
    /// default is 10 USDC per rolling day, [`Self::budget_over`]).
    pub fn budget(mut self, base_units: u64) -> Self {
        self.budget = Some(sova_x402::Budget::total(base_units));
        self
    }

    /// With [`Self::keypair_file`]: the budget over a rolling window, e.g.
    /// `Budget::new(10_000_000, Window::Day)` (the default) — counted in the ledger, so every
    /// process and machine sharing it shares the budget.
    pub fn budget_over(mut self, budget: sova_x402::Budget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// With [`Self::keypair_file`]: the payment ledger that holds the budget, the journal
    /// and the duplicate memory (default: this process's memory; [`ClientBuilder::from_env`]
    /// opens `SOVA_LEDGER` or the default SQLite file). Share one ledger between processes
    /// (a SQLite file) or machines (PostgreSQL) to share the budget.
    pub fn ledger(mut self, ledger: sova_x402::Ledger) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// With [`Self::keypair_file`]: the scope name of this client's payments (one agent,
    /// one bot of a fleet), shown in the journal.
    pub fn scope(mut self, name: impl Into<String>) -> Self {
        self.scope = Some(name.into());
        self
    }

    /// The base URL (default `https://api.sova-intel.com/api/v1`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Pays with prepaid credits: `X-Api-Key: ak_<hex>`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// An API key used **only** to authenticate free reads — `GET /jobs/result/by-key`
    /// (which requires authentication) and `GET /jobs/{id}` — while paid calls keep paying
    /// per call with x402 (never with this key's credits). Sova documents no way for an
    /// x402-only caller to read stored results (reference §2.3, §13); without any key, the
    /// job methods stop before that read with [`Error::ResultAuthRequired`]. Ignored for reads
    /// when [`Self::api_key`] is set (that key is used).
    pub fn results_api_key(mut self, key: impl Into<String>) -> Self {
        self.results_api_key = Some(key.into());
        self
    }

    /// Timeouts (connect, per attempt, whole call).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The retry policy for unpaid idempotent requests and same-payment resends.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Job polling: interval and maximum wait (default 5 s and 300 s).
    pub fn poll(mut self, poll: PollConfig) -> Self {
        self.poll = poll;
        self
    }

    /// Whether a failed job is retried once (default true, as the docs say: "On failed:
    /// retry once, then report the error"), where that costs nothing: a wallet GET is sent
    /// again with the same, unsettled payment. A failed POST job (holders, similarity, deep)
    /// is charged already; queueing it again is a second charge, so it happens only with
    /// [`Self::requeue_failed_jobs`]. Without it the error reports the charged payment.
    pub fn retry_failed_jobs(mut self, retry: bool) -> Self {
        self.retry_failed_jobs = Some(retry);
        self
    }

    /// Whether a failed POST job is queued once more, as the docs advise (default false).
    /// That is a **second payment** for the logical request (credits, or a new x402 payment
    /// checked by the spend policy and the per-call cap); both receipts come back, the
    /// first in `earlier_receipts`. Needs [`Self::retry_failed_jobs`] (on by default).
    pub fn requeue_failed_jobs(mut self, requeue: bool) -> Self {
        self.requeue_failed_jobs = requeue;
        self
    }

    /// A callback told about every job status read.
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Validates everything once.
    pub(crate) fn config(self) -> Result<Config, Error> {
        let base = BaseUrl::parse(self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        let api_key = match self.api_key {
            Some(k) => Some(ApiKey::new(k).map_err(|e| Error::Config(e.to_string()))?),
            None => None,
        };
        let results_api_key = match self.results_api_key {
            Some(k) => Some(ApiKey::new(k).map_err(|e| Error::Config(e.to_string()))?),
            None => None,
        };
        if self.poll.interval.is_zero() {
            return Err(Error::Config("the poll interval must be above zero".into()));
        }
        let payer = match (self.payer, &self.keypair_path) {
            (Some(p), _) => Some(p),
            (None, Some(path)) => {
                let keypair = sova_x402::Keypair::from_file(path)
                    .map_err(|e| Error::Config(e.to_string()))?;
                let usdc = sova_x402::programs::USDC_MAINNET;
                let ledger = match (self.ledger, self.ledger_from_env) {
                    (Some(l), _) => l,
                    (None, true) => {
                        sova_x402::Ledger::from_env().map_err(|e| Error::Config(e.to_string()))?
                    }
                    (None, false) => sova_x402::Ledger::memory(),
                };
                let mut policy = sova_x402::SpendPolicy::builder()
                    .max_per_payment(usdc, self.max_payment.unwrap_or(1_000_000))
                    .budget_over(
                        usdc,
                        self.budget
                            .unwrap_or(sova_x402::Budget::new(10_000_000, sova_x402::Window::Day)),
                    )
                    .ledger(ledger);
                if let Some(scope) = &self.scope {
                    policy = policy.scope(scope);
                }
                let policy = policy.build();
                // This client's base URL is a Sova Intel deployment (the default
                // api.sova-intel.com, a staging host or the sandbox): its payments take the
                // form Sova documents, self-paid allowed. A payer passed with `x402(..)` is
                // used as configured.
                let payer = sova_x402::Payer::builder()
                    .signer(keypair)
                    .policy(Arc::new(policy))
                    .sova_host(base.origin())
                    .build()
                    .map_err(|e| Error::Config(e.to_string()))?;
                Some(Arc::new(payer))
            }
            (None, None) => None,
        };
        let rpc_url = self.rpc_url.unwrap_or_else(|| DEFAULT_RPC_URL.to_owned());
        if payer.is_some() && !(rpc_url.starts_with("http://") || rpc_url.starts_with("https://")) {
            // Never echoed: RPC URLs often carry a provider key.
            return Err(Error::Config(
                "the Solana RPC URL is not a valid http(s) URL (not shown: it may hold a key)"
                    .into(),
            ));
        }
        let payments = payer.map(|payer| crate::call::Payments {
            payer,
            rpc_url,
            cache: Arc::default(),
        });
        Ok(Config {
            base,
            api_key,
            results_api_key,
            timeouts: self.timeouts,
            retry: self.retry.unwrap_or_default(),
            poll: self.poll,
            progress: self.progress,
            payments,
            retry_failed_jobs: self.retry_failed_jobs.unwrap_or(true),
            requeue_failed_jobs: self.requeue_failed_jobs,
        })
    }
}

/// A Sova Intel client, generic over how calls run: use [`Client`] (async) or
/// [`blocking::intel::Client`](crate::blocking::intel::Client). Every method returns
/// `R::Ret<'_, T>`: a future of `Result<T, Error>` for the async client, `Result<T, Error>`
/// for the blocking one.
///
/// Paid methods return [`Paid<T>`], which derefs to `T` and carries the x402
/// [`Receipt`](crate::Receipt) when the call paid per call.
#[derive(Clone)]
pub struct IntelClient<R> {
    config: Arc<Config>,
    runner: R,
}

impl<R> fmt::Debug for IntelClient<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntelClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<R: Runner> IntelClient<R> {
    /// A builder with the documented defaults for this kind of client: `build()` on it
    /// returns this client type (async for `sova::…::Client`, blocking for
    /// `sova::blocking::…::Client`).
    pub fn builder() -> ClientBuilder<R> {
        ClientBuilder::new().retype()
    }

    /// A client configured from the environment: `SOVA_BASE_URL`, `SOVA_API_KEY`,
    /// `SOVA_KEYPAIR`, `SOLANA_RPC_URL`.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_builder(ClientBuilder::from_env())
    }

    /// A client with the default transport.
    pub fn from_builder<X>(builder: ClientBuilder<X>) -> Result<Self, Error> {
        let transport = R::default_transport(&builder.timeouts)?;
        Self::with_transport(builder, transport)
    }

    /// A client on a transport of your own (a configured HTTP client, a mock, …).
    pub fn with_transport<X>(
        builder: ClientBuilder<X>,
        transport: Arc<R::Transport>,
    ) -> Result<Self, Error> {
        Ok(IntelClient {
            config: Arc::new(builder.config()?),
            runner: R::new(transport),
        })
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn run<M: Machine + 'static>(
        &self,
        name: &'static str,
        options: &CallOptions,
        machine: M,
    ) -> R::Ret<'_, M::Value> {
        let config: &Config = &self.config;
        let cx = Ctx::new(
            &config.base,
            config,
            config.payments.as_ref(),
            config.settings(options),
            std::time::Instant::now(),
        )
        .with_wall_clock_ms(sova_x402::ledger::unix_ms())
        .with_poll(config.poll, config.progress.clone());
        let mut cx = cx;
        cx.retry_failed_jobs = config.retry_failed_jobs;
        cx.requeue_paid_jobs = config.requeue_failed_jobs;
        self.runner.run(Call::new(name, cx, machine))
    }

    /// The payment ledger of this client's payer (`None` without x402).
    pub fn ledger(&self) -> Option<&sova_x402::Ledger> {
        self.config
            .payments
            .as_ref()
            .map(|p| p.payer.policy().ledger())
    }

    /// Reconciles every payment the ledger holds as sent or uncertain for this client's
    /// wallet, through our own RPC: a landed one is committed (charged), one that failed on
    /// chain or whose blockhash our RPC proves expired is released (its budget comes back),
    /// others stay until their blockhash expires (60–90 s on mainnet). Unsent payments of
    /// stopped processes are reclaimed. Run it at start, after an error that may have
    /// charged, and periodically in long-lived processes. Free: no API request.
    ///
    /// ```no_run
    /// # #[cfg(feature = "blocking")]
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use sova_x402::{Budget, Window};
    /// let client = sova::blocking::intel::ClientBuilder::from_env() // SOVA_LEDGER, else SQLite
    ///     .keypair_file("bot.json")
    ///     .budget_over(Budget::new(10_000_000, Window::Day)) // 10 USDC per rolling day
    ///     .build_blocking()?;
    /// let resolved = client.reconcile_pending()?; // after a restart
    /// println!(
    ///     "{} payments looked up, {} base units released",
    ///     resolved.checked.len(),
    ///     resolved.released_amount()
    /// );
    /// # Ok(()) }
    /// ```
    pub fn reconcile_pending(&self) -> R::Ret<'_, crate::flow::Reconciled> {
        self.run(
            "intel.reconcile_pending",
            &CallOptions::default(),
            crate::flow::ReconcileJournal::all(),
        )
    }

    /// [`Self::reconcile_pending`], reclaiming reservations idle for `reclaim_after`
    /// (default 120 s) — e.g. right after a crash, when no other process uses the wallet.
    pub fn reconcile_pending_reclaiming_after(
        &self,
        reclaim_after: std::time::Duration,
    ) -> R::Ret<'_, crate::flow::Reconciled> {
        self.run(
            "intel.reconcile_pending",
            &CallOptions::default(),
            crate::flow::ReconcileJournal::all_reclaiming_after(reclaim_after),
        )
    }

    /// Reconciles one payment (see [`Self::reconcile_pending`]), by the reference an error
    /// or a receipt carried.
    pub fn reconcile(&self, payment: &crate::PaymentRef) -> R::Ret<'_, crate::flow::Reconciled> {
        let id = payment.ledger_id.clone().unwrap_or_default();
        self.run(
            "intel.reconcile",
            &CallOptions::default(),
            crate::flow::ReconcileJournal::one(&id),
        )
    }

    /// Any endpoint of `sova_protocol`, or a [`RawRequest`](sova_protocol::RawRequest) for
    /// operations the typed methods do not cover. Paid with x402 when configured.
    pub fn send<E>(&self, endpoint: &E) -> R::Ret<'_, E::Output>
    where
        E: sova_protocol::Endpoint + Clone + Send + 'static,
        E::Output: Send + 'static,
    {
        self.run(
            endpoint.name(),
            &CallOptions::default(),
            crate::flow::Exchange::new(endpoint.clone()).map(Paid::into_inner),
        )
    }

    /// [`Self::send`], returning the receipt of an x402 payment with the output.
    pub fn send_paid<E>(&self, endpoint: &E) -> R::Ret<'_, Paid<E::Output>>
    where
        E: sova_protocol::Endpoint + Clone + Send + 'static,
        E::Output: Send + 'static,
    {
        self.send_with(endpoint, &CallOptions::default())
    }

    /// [`Self::send`] with per-call options (timeouts, retry, a payment cap).
    pub fn send_with<E>(&self, endpoint: &E, options: &CallOptions) -> R::Ret<'_, Paid<E::Output>>
    where
        E: sova_protocol::Endpoint + Clone + Send + 'static,
        E::Output: Send + 'static,
    {
        self.run(
            endpoint.name(),
            options,
            crate::flow::Exchange::new(endpoint.clone()),
        )
    }

    /// The wallet HUD (1 credit). A `202` fallback is followed: the job is polled and the
    /// HUD fetched again with `X-Prepaid-Job-Id` (the `202` is free and the re-call is
    /// charged, one charge in all, as documented). An x402 payment is made once and sent
    /// again on the re-call: how the server ties it to the re-call is not documented.
    pub fn wallet_hud(&self, address: &str) -> R::Ret<'_, Paid<WalletHud>> {
        self.wallet_hud_with(address, &CallOptions::default())
    }

    /// [`Self::wallet_hud`] with per-call options.
    pub fn wallet_hud_with(
        &self,
        address: &str,
        options: &CallOptions,
    ) -> R::Ret<'_, Paid<WalletHud>> {
        self.run(
            "intel.wallet_hud",
            options,
            flows::wallet_get(WalletHudRequest::new(address)),
        )
    }

    /// Either wallet GET ([`WalletHudRequest`] or [`WalletProfileRequest`], e.g. with a
    /// route override), following its `202` fallback like [`Self::wallet_hud`], with
    /// per-call options.
    pub fn wallet_get_with<E: flows::WalletFallback>(
        &self,
        endpoint: E,
        options: &CallOptions,
    ) -> R::Ret<'_, Paid<E::Data>> {
        self.run(endpoint.name(), options, flows::wallet_get(endpoint))
    }

    /// The full wallet profile (5 credits), following a `202` fallback like
    /// [`Self::wallet_hud`].
    pub fn wallet_profile(&self, address: &str) -> R::Ret<'_, Paid<WalletProfileResponse>> {
        self.wallet_profile_with(address, &CallOptions::default())
    }

    /// [`Self::wallet_profile`] with per-call options.
    pub fn wallet_profile_with(
        &self,
        address: &str,
        options: &CallOptions,
    ) -> R::Ret<'_, Paid<WalletProfileResponse>> {
        self.run(
            "intel.wallet_profile",
            options,
            flows::wallet_get(WalletProfileRequest::new(address)),
        )
    }

    /// Per-token PnL of a wallet, one page (3 credits).
    pub fn wallet_tokens(
        &self,
        address: &str,
        params: TokenPnlParams,
    ) -> R::Ret<'_, Paid<TokenPnlResponse>> {
        let mut ep = WalletTokensRequest::new(address);
        ep.params = params;
        self.send_paid(&ep)
    }

    /// HUD for up to 30 wallets (5 credits flat).
    pub fn batch_hud(&self, wallets: &[&str]) -> R::Ret<'_, Paid<BatchHudResponse>> {
        self.send_paid(&BatchHudRequest::new(wallets.iter().copied()))
    }

    /// HUD for up to 30 wallets, following the queued ones: their analysis jobs are polled
    /// until they finish. **One payment** (5 credits) for the logical request: the queued
    /// wallets stay in `queued` (their analyses are now complete, so a new
    /// [`Self::batch_hud`] for them answers with data — a new, charged call). To have the SDK
    /// make that second, charged call and merge the answers, use
    /// [`Self::batch_hud_complete_with_second_charge`].
    pub fn batch_hud_complete(&self, wallets: &[&str]) -> R::Ret<'_, Paid<BatchHudResponse>> {
        let wallets = wallets.iter().map(|w| (*w).to_owned()).collect();
        self.run(
            "intel.batch_hud_complete",
            &CallOptions::default(),
            flows::batch_hud_complete(wallets, false),
        )
    }

    /// [`Self::batch_hud_complete`], then batch-hud once more for the queued wallets and the
    /// answers merged: **a second charge** (another 5 credits: the docs say 5 credits per
    /// call, the reference's inference; paid only after the first call's payment settled).
    /// Opt-in: `receipt` is the second payment's, `earlier_receipts` the first's.
    pub fn batch_hud_complete_with_second_charge(
        &self,
        wallets: &[&str],
    ) -> R::Ret<'_, Paid<BatchHudResponse>> {
        let wallets = wallets.iter().map(|w| (*w).to_owned()).collect();
        self.run(
            "intel.batch_hud_complete",
            &CallOptions::default(),
            flows::batch_hud_complete(wallets, true),
        )
    }

    /// Queues any POST job ([`HoldersRequest`], [`HoldersAgentRequest`],
    /// [`SimilarityRequest`], [`SimilarityAgentRequest`], [`DeepRequest`]) with per-call
    /// options: its `202` and the handle to [`Self::resume`] it with, stamped with the time
    /// the `202` arrived so a late resume reports an expired result as such.
    pub fn queue_with<Q>(
        &self,
        endpoint: &Q,
        options: &CallOptions,
    ) -> R::Ret<'_, Paid<Queued<Q::Output>>>
    where
        Q: QueueJob + Clone,
        Q::Output: Send + 'static,
    {
        self.run(endpoint.name(), options, flows::queue(endpoint.clone()))
    }

    /// Queues top-holder profiles (20 credits, charged on the `202`) and returns the
    /// accepted job; follow it with [`Self::resume`] (see [`Self::queue_with`] for a handle
    /// stamped with the queueing time).
    pub fn queue_holders(&self, mint: &str, top_n: u32) -> R::Ret<'_, Paid<JobAccepted>> {
        self.send_paid(&HoldersRequest::new(mint).top_n(top_n))
    }

    /// Queues top-holder profiles and waits for the result. A failed job is queued once more
    /// (charged again) only with [`ClientBuilder::requeue_failed_jobs`].
    pub fn holders_wait(&self, mint: &str, top_n: u32) -> R::Ret<'_, Paid<HolderProfilesResult>> {
        self.run(
            "intel.holders_wait",
            &CallOptions::default(),
            flows::queue_and_wait(
                HoldersRequest::new(mint).top_n(top_n),
                JobAccepted::holder_profiles_handle,
            ),
        )
    }

    /// Queues holder profiles in the compact agent shape (20 credits).
    pub fn queue_holders_agent(
        &self,
        mint: &str,
        top_n: u32,
    ) -> R::Ret<'_, Paid<HolderProfilesAgentJobAccepted>> {
        self.send_paid(&HoldersAgentRequest::new(mint).top_n(top_n))
    }

    /// Queues agent-shape holder profiles and waits for the result.
    pub fn holders_agent_wait(
        &self,
        mint: &str,
        top_n: u32,
    ) -> R::Ret<'_, Paid<AgentHolderProfilesResult>> {
        self.run(
            "intel.holders_agent_wait",
            &CallOptions::default(),
            flows::queue_and_wait(
                HoldersAgentRequest::new(mint).top_n(top_n),
                HolderProfilesAgentJobAccepted::handle,
            ),
        )
    }

    /// Queues wallet similarity (20 credits; 2 to 30 wallets).
    pub fn queue_similarity(&self, wallets: &[&str]) -> R::Ret<'_, Paid<JobAccepted>> {
        self.send_paid(&SimilarityRequest::new(wallets.iter().copied()))
    }

    /// Queues wallet similarity and waits for the result.
    pub fn similarity_wait(&self, wallets: &[&str]) -> R::Ret<'_, Paid<SimilarityResult>> {
        self.run(
            "intel.similarity_wait",
            &CallOptions::default(),
            flows::queue_and_wait(
                SimilarityRequest::new(wallets.iter().copied()),
                JobAccepted::similarity_handle,
            ),
        )
    }

    /// Queues similarity in the compact agent shape (20 credits).
    pub fn queue_similarity_agent(
        &self,
        wallets: &[&str],
    ) -> R::Ret<'_, Paid<SimilarityAgentJobAccepted>> {
        self.send_paid(&SimilarityAgentRequest::new(wallets.iter().copied()))
    }

    /// Queues agent-shape similarity and waits for the result.
    pub fn similarity_agent_wait(
        &self,
        wallets: &[&str],
    ) -> R::Ret<'_, Paid<AgentSimilarityResult>> {
        self.run(
            "intel.similarity_agent_wait",
            &CallOptions::default(),
            flows::queue_and_wait(
                SimilarityAgentRequest::new(wallets.iter().copied()),
                SimilarityAgentJobAccepted::handle,
            ),
        )
    }

    /// Queues the deep bundle (35 credits): holder profiles, then similarity on them.
    pub fn queue_deep(&self, mint: &str, top_n: u32) -> R::Ret<'_, Paid<DeepJobAccepted>> {
        self.send_paid(&DeepRequest::new(mint).top_n(top_n))
    }

    /// Queues the deep bundle and waits for both halves.
    pub fn deep_wait(
        &self,
        mint: &str,
        top_n: u32,
    ) -> R::Ret<'_, Paid<(HolderProfilesResult, SimilarityResult)>> {
        self.run(
            "intel.deep_wait",
            &CallOptions::default(),
            flows::deep_wait(DeepRequest::new(mint).top_n(top_n)),
        )
    }

    /// A job's status (free).
    pub fn job_status(&self, job_id: &str) -> R::Ret<'_, JobStatus> {
        self.send(&JobStatusRequest::new(job_id))
    }

    /// A stored result by key, decoded as `T` (404: not ready or expired). It needs an API
    /// key ([`Self::builder`]'s `api_key` or `results_api_key`): without one nothing is sent
    /// and the error is [`Error::ResultAuthRequired`]; a `401`/`402` answer is that error too
    /// (never paid).
    pub fn result_by_key<T>(&self, key: &str) -> R::Ret<'_, T>
    where
        T: serde::de::DeserializeOwned + Send + 'static,
    {
        let k = key.to_owned();
        self.run(
            "intel.result_by_key",
            &CallOptions::default(),
            crate::flow::Exchange::new(ResultByKeyRequest::<T>::new(key)).then(
                move |_, r| -> Result<crate::flow::Boxed<T>, Error> {
                    Ok(crate::flow::ready(
                        r.map(Paid::into_inner)
                            .map_err(|e| crate::flow::result_error(e, &k, None)),
                    ))
                },
            ),
        )
    }

    /// Live pricing (free; `/intel/pricing`, falling back to `/pricing` on 404).
    pub fn pricing(&self) -> R::Ret<'_, serde_json::Value> {
        self.run("intel.pricing", &CallOptions::default(), flows::pricing())
    }

    /// Polls a job until it completes (progress reported to the callback). Free.
    pub fn wait_job(&self, handle: &sova_protocol::jobs::JobHandle) -> R::Ret<'_, ()> {
        self.run(
            "intel.wait_job",
            &CallOptions::default(),
            crate::flow::JobWait::new(handle.clone()),
        )
    }

    /// Resumes a job from its handle, any kind: waits for it, then fetches the result as `T`
    /// (see [`Self::resume_paid`]). Never pays twice: a POST job was paid when it was
    /// queued; a wallet GET's `202` fallback handle is re-called with the payment the handle
    /// carries, or refused with [`Error::ResumeRefused`]. A failed job is reported, never
    /// queued again from here.
    pub fn resume<T>(&self, handle: &sova_protocol::jobs::JobHandle) -> R::Ret<'_, T>
    where
        T: serde::de::DeserializeOwned + Send + 'static,
    {
        self.run(
            "intel.resume",
            &CallOptions::default(),
            flows::resume::<T>(handle.clone()),
        )
    }

    /// [`Self::resume`], with the receipt of the payment settled by the resumed request (a
    /// wallet GET's re-call carrying the handle's payment), if any.
    ///
    /// * `FetchResult` / `PollResultKey` handles: wait, read the result; free.
    /// * `PrepaidRecall` handles (a wallet GET's `202`): wait, then re-call with
    ///   `X-Prepaid-Job-Id` carrying the payment in [`JobHandle::payment`] — the same signed
    ///   payment sent again, never a new one. A new payment is signed only when the handle's
    ///   payment is proven uncharged ([`PaymentState::NotCharged`]). When the handle records
    ///   no payment (older SDK), or the server asks to be paid again while the handle's
    ///   payment is charged or uncertain, the result is [`Error::ResumeRefused`] with the
    ///   reason and the payment. A server still answering `202` gives
    ///   [`Error::JobPending`] with a handle that carries the same payment.
    ///
    /// [`JobHandle::payment`]: sova_protocol::jobs::JobHandle::payment
    /// [`PaymentState::NotCharged`]: crate::PaymentState::NotCharged
    pub fn resume_paid<T>(&self, handle: &sova_protocol::jobs::JobHandle) -> R::Ret<'_, Paid<T>>
    where
        T: serde::de::DeserializeOwned + Send + 'static,
    {
        self.run(
            "intel.resume",
            &CallOptions::default(),
            flows::resume_paid::<T>(handle.clone()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payer() -> Arc<sova_x402::Payer> {
        Arc::new(
            sova_x402::Payer::builder()
                .signer(sova_x402::Keypair::from_seed([3; 32]))
                .policy(Arc::new(sova_x402::SpendPolicy::unlimited()))
                .build()
                .unwrap(),
        )
    }

    /// RPC URLs often carry a provider key: never in Debug or in errors.
    #[test]
    fn the_rpc_url_is_never_shown() {
        let secret = "https://rpc.example/?api-key=sk_live_123";
        let b = ClientBuilder::new().x402(payer()).rpc_url(secret);
        assert!(!format!("{b:?}").contains("sk_live_123"));
        let config = b.config().unwrap();
        assert!(!format!("{config:?}").contains("sk_live_123"));
        let e = ClientBuilder::new()
            .x402(payer())
            .rpc_url("ftp://sk_live_456@rpc.example")
            .config()
            .unwrap_err();
        assert!(!e.to_string().contains("sk_live_456"), "{e}");
    }
}
