//! Sova Intel clients: configuration shared by both, and the typed methods written once and
//! instantiated for the async client (`sova::intel::Client`) and the blocking one
//! (`sova::blocking::intel::Client`).

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

#[cfg(feature = "async")]
pub use crate::async_client::intel::Client;
pub use sova_protocol::intel::*;

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
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Settings of a Sova Intel client, validated once by the builder.
#[derive(Clone)]
pub struct Config {
    pub(crate) base: BaseUrl,
    pub(crate) api_key: Option<ApiKey>,
    pub(crate) timeouts: Timeouts,
    pub(crate) retry: RetryPolicy,
    pub(crate) poll: PollConfig,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) payments: Option<crate::call::Payments>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base", &self.base)
            .field("api_key", &self.api_key)
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
    fn authorize(&self, credential: Credential, headers: &mut HeaderMap) -> Result<(), Error> {
        match credential {
            Credential::IntelPaid | Credential::IntelAuthenticated => {
                if let Some(key) = &self.api_key {
                    let mut v = HeaderValue::from_str(key.expose()).map_err(|_| {
                        Error::Config("the API key cannot be sent as a header".into())
                    })?;
                    v.set_sensitive(true);
                    headers.insert(API_KEY_HEADER, v);
                }
                // Without a key, paid calls go out unauthenticated: the server answers 402
                // with an x402 challenge.
                Ok(())
            }
            Credential::None => Ok(()),
            other => Err(Error::Config(format!(
                "a Sova Intel client cannot send a request that needs {other:?}"
            ))),
        }
    }
}

/// Builds a Sova Intel client (async or blocking).
#[derive(Clone, Default)]
pub struct ClientBuilder {
    base_url: Option<String>,
    api_key: Option<String>,
    timeouts: Timeouts,
    retry: Option<RetryPolicy>,
    poll: PollConfig,
    progress: Option<ProgressFn>,
    payer: Option<Arc<sova_x402::Payer>>,
    keypair_path: Option<String>,
    rpc_url: Option<String>,
    max_payment: Option<u64>,
    budget: Option<u64>,
}

/// The public Solana mainnet RPC, used for blockhashes when no RPC URL is configured.
pub const DEFAULT_RPC_URL: &str = "https://api.mainnet-beta.solana.com";

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("timeouts", &self.timeouts)
            .field(
                "x402",
                &(self.payer.is_some() || self.keypair_path.is_some()),
            )
            .field("rpc_url", &self.rpc_url)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder with the documented defaults (production base URL, no credential).
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `SOVA_BASE_URL`, `SOVA_API_KEY`, `SOVA_KEYPAIR` (a keypair file for x402) and
    /// `SOLANA_RPC_URL` when set.
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
        b
    }

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

    /// With [`Self::keypair_file`]: the cumulative budget, in USDC base units (default
    /// 10,000,000 = 10 USDC).
    pub fn budget(mut self, base_units: u64) -> Self {
        self.budget = Some(base_units);
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
        if self.poll.interval.is_zero() {
            return Err(Error::Config("the poll interval must be above zero".into()));
        }
        let payer = match (self.payer, &self.keypair_path) {
            (Some(p), _) => Some(p),
            (None, Some(path)) => {
                let keypair = sova_x402::Keypair::from_file(path)
                    .map_err(|e| Error::Config(e.to_string()))?;
                let usdc = sova_x402::programs::USDC_MAINNET;
                let policy = sova_x402::SpendPolicy::builder()
                    .max_per_payment(usdc, self.max_payment.unwrap_or(1_000_000))
                    .budget(usdc, self.budget.unwrap_or(10_000_000))
                    .build();
                let payer = sova_x402::Payer::builder()
                    .signer(keypair)
                    .policy(Arc::new(policy))
                    .build()
                    .map_err(|e| Error::Config(e.to_string()))?;
                Some(Arc::new(payer))
            }
            (None, None) => None,
        };
        let payments = payer.map(|payer| crate::call::Payments {
            payer,
            rpc_url: self.rpc_url.unwrap_or_else(|| DEFAULT_RPC_URL.to_owned()),
            cache: Arc::default(),
        });
        Ok(Config {
            base,
            api_key,
            timeouts: self.timeouts,
            retry: self.retry.unwrap_or_default(),
            poll: self.poll,
            progress: self.progress,
            payments,
        })
    }

    /// Builds the async client with the default transport.
    #[cfg(feature = "async")]
    pub fn build(self) -> Result<crate::async_client::intel::Client, Error> {
        crate::async_client::intel::Client::from_builder(self)
    }

    /// Builds the blocking client with the default transport.
    #[cfg(feature = "blocking")]
    pub fn build_blocking(self) -> Result<crate::blocking::intel::Client, Error> {
        crate::blocking::intel::Client::from_builder(self)
    }

    pub(crate) fn timeouts_ref(&self) -> &Timeouts {
        &self.timeouts
    }
}

/// The typed methods, written once. `io!` is `.await` in the async client and nothing in
/// the blocking one; `pause!` sleeps with tokio or the thread.
macro_rules! intel_methods {
    ($($async:ident)?) => {
        /// Any endpoint of `sova_protocol`, or a [`RawRequest`](sova_protocol::RawRequest)
        /// for operations the typed methods do not cover. Paid with x402 when configured.
        pub $($async)? fn send<E: sova_protocol::Endpoint>(&self, endpoint: &E) -> Result<E::Output, crate::Error> {
            io!(self.send_with(endpoint, &crate::call::CallOptions::default())).map(crate::call::Paid::into_inner)
        }

        /// [`Self::send`] with per-request options (timeouts, retry), returning the receipt
        /// of an x402 payment with the output.
        pub $($async)? fn send_with<E: sova_protocol::Endpoint>(
            &self,
            endpoint: &E,
            options: &crate::call::CallOptions,
        ) -> Result<crate::call::Paid<E::Output>, crate::Error> {
            let machine = crate::call::CallMachine::new(
                endpoint,
                &self.config.base,
                self.config.as_ref(),
                &self.config.settings(options),
                std::time::Instant::now(),
            )?
            .with_payments(self.config.payments.as_ref());
            io!(self.drive(machine))
        }

        /// [`Self::send`], returning the receipt of an x402 payment with the output.
        pub $($async)? fn send_paid<E: sova_protocol::Endpoint>(&self, endpoint: &E) -> Result<crate::call::Paid<E::Output>, crate::Error> {
            io!(self.send_with(endpoint, &crate::call::CallOptions::default()))
        }

        /// The wallet HUD (1 credit). A 202 fallback is followed: the job is polled and the
        /// HUD fetched again with `X-Prepaid-Job-Id` (charged once).
        pub $($async)? fn wallet_hud(&self, address: &str) -> Result<crate::call::Paid<sova_protocol::intel::WalletHud>, crate::Error> {
            let ep = sova_protocol::intel::WalletHudRequest::new(address);
            let first = io!(self.send_paid(&ep))?;
            match first.value {
                sova_protocol::intel::Fetched::Ready(value) => Ok(crate::call::Paid { value, receipt: first.receipt }),
                sova_protocol::intel::Fetched::Queued(q) => {
                    io!(self.wait_job(&ep.follow_up(&q)))?;
                    let again = io!(self.send_paid(&ep.recall(&q)))?;
                    match again.value {
                        sova_protocol::intel::Fetched::Ready(value) => Ok(crate::call::Paid { value, receipt: again.receipt.or(first.receipt) }),
                        sova_protocol::intel::Fetched::Queued(q2) => Err(crate::Error::JobPending {
                            waited: std::time::Duration::ZERO,
                            handle: ep.follow_up(&q2).encode(),
                        }),
                    }
                }
            }
        }

        /// The full wallet profile (5 credits), following a 202 fallback like [`Self::wallet_hud`].
        pub $($async)? fn wallet_profile(&self, address: &str) -> Result<crate::call::Paid<sova_protocol::intel::WalletProfileResponse>, crate::Error> {
            let ep = sova_protocol::intel::WalletProfileRequest::new(address);
            let first = io!(self.send_paid(&ep))?;
            match first.value {
                sova_protocol::intel::Fetched::Ready(value) => Ok(crate::call::Paid { value, receipt: first.receipt }),
                sova_protocol::intel::Fetched::Queued(q) => {
                    io!(self.wait_job(&ep.follow_up(&q)))?;
                    let again = io!(self.send_paid(&ep.recall(&q)))?;
                    match again.value {
                        sova_protocol::intel::Fetched::Ready(value) => Ok(crate::call::Paid { value, receipt: again.receipt.or(first.receipt) }),
                        sova_protocol::intel::Fetched::Queued(q2) => Err(crate::Error::JobPending {
                            waited: std::time::Duration::ZERO,
                            handle: ep.follow_up(&q2).encode(),
                        }),
                    }
                }
            }
        }

        /// Per-token PnL of a wallet, one page (3 credits).
        pub $($async)? fn wallet_tokens(
            &self,
            address: &str,
            params: sova_protocol::intel::TokenPnlParams,
        ) -> Result<crate::call::Paid<sova_protocol::intel::TokenPnlResponse>, crate::Error> {
            let mut ep = sova_protocol::intel::WalletTokensRequest::new(address);
            ep.params = params;
            io!(self.send_paid(&ep))
        }

        /// HUD for up to 30 wallets (5 credits flat).
        pub $($async)? fn batch_hud(&self, wallets: &[&str]) -> Result<crate::call::Paid<sova_protocol::intel::BatchHudResponse>, crate::Error> {
            io!(self.send_paid(&sova_protocol::intel::BatchHudRequest::new(wallets.iter().copied())))
        }

        /// HUD for up to 30 wallets, following the queued ones: when the first answer lists
        /// `queued` wallets, their analysis jobs are polled and batch-hud is called once more
        /// for them (another 5 credits, as documented); the answers are merged. The receipt is
        /// the last payment's.
        pub $($async)? fn batch_hud_complete(&self, wallets: &[&str]) -> Result<crate::call::Paid<sova_protocol::intel::BatchHudResponse>, crate::Error> {
            let mut first = io!(self.batch_hud(wallets))?;
            if first.value.queued.is_empty() {
                return Ok(first);
            }
            let queued = std::mem::take(&mut first.value.queued);
            for entry in &queued {
                let handle = sova_protocol::jobs::JobHandle {
                    job_id: Some(entry.job_id.clone()),
                    follow_up: sova_protocol::jobs::FollowUp::FetchResult { result_key: String::new() },
                    also: Vec::new(),
                    queued_at_unix: None,
                };
                io!(self.wait_job(&handle))?;
            }
            let again: Vec<&str> = queued.iter().map(|q| q.wallet_address.as_str()).collect();
            let second = io!(self.batch_hud(&again))?;
            let mut merged = first.value;
            merged.huds.extend(second.value.huds);
            merged.queued = second.value.queued;
            merged.skipped.extend(second.value.skipped);
            merged.not_found.extend(second.value.not_found);
            Ok(crate::call::Paid { value: merged, receipt: second.receipt.or(first.receipt) })
        }

        /// Queues top-holder profiles (20 credits) and returns the accepted job.
        pub $($async)? fn queue_holders(&self, mint: &str, top_n: u32) -> Result<crate::call::Paid<sova_protocol::intel::JobAccepted>, crate::Error> {
            io!(self.send_paid(&sova_protocol::intel::HoldersRequest::new(mint).top_n(top_n)))
        }

        /// Queues top-holder profiles and waits for the result.
        pub $($async)? fn holders_wait(&self, mint: &str, top_n: u32) -> Result<crate::call::Paid<sova_protocol::intel::HolderProfilesResult>, crate::Error> {
            let accepted = io!(self.queue_holders(mint, top_n))?;
            io!(self.resume(&accepted.value.holder_profiles_handle())).map(|value| crate::call::Paid { value, receipt: accepted.receipt })
        }

        /// Queues holder profiles in the compact agent shape (20 credits).
        pub $($async)? fn queue_holders_agent(&self, mint: &str, top_n: u32) -> Result<crate::call::Paid<sova_protocol::intel::HolderProfilesAgentJobAccepted>, crate::Error> {
            io!(self.send_paid(&sova_protocol::intel::HoldersAgentRequest::new(mint).top_n(top_n)))
        }

        /// Queues agent-shape holder profiles and waits for the result.
        pub $($async)? fn holders_agent_wait(&self, mint: &str, top_n: u32) -> Result<crate::call::Paid<sova_protocol::intel::AgentHolderProfilesResult>, crate::Error> {
            let accepted = io!(self.queue_holders_agent(mint, top_n))?;
            io!(self.resume(&accepted.value.handle())).map(|value| crate::call::Paid { value, receipt: accepted.receipt })
        }

        /// Queues wallet similarity (20 credits; 2 to 30 wallets).
        pub $($async)? fn queue_similarity(&self, wallets: &[&str]) -> Result<crate::call::Paid<sova_protocol::intel::JobAccepted>, crate::Error> {
            io!(self.send_paid(&sova_protocol::intel::SimilarityRequest::new(wallets.iter().copied())))
        }

        /// Queues wallet similarity and waits for the result.
        pub $($async)? fn similarity_wait(&self, wallets: &[&str]) -> Result<crate::call::Paid<sova_protocol::intel::SimilarityResult>, crate::Error> {
            let accepted = io!(self.queue_similarity(wallets))?;
            io!(self.resume(&accepted.value.similarity_handle())).map(|value| crate::call::Paid { value, receipt: accepted.receipt })
        }

        /// Queues similarity in the compact agent shape (20 credits).
        pub $($async)? fn queue_similarity_agent(&self, wallets: &[&str]) -> Result<crate::call::Paid<sova_protocol::intel::SimilarityAgentJobAccepted>, crate::Error> {
            io!(self.send_paid(&sova_protocol::intel::SimilarityAgentRequest::new(wallets.iter().copied())))
        }

        /// Queues agent-shape similarity and waits for the result.
        pub $($async)? fn similarity_agent_wait(&self, wallets: &[&str]) -> Result<crate::call::Paid<sova_protocol::intel::AgentSimilarityResult>, crate::Error> {
            let accepted = io!(self.queue_similarity_agent(wallets))?;
            io!(self.resume(&accepted.value.handle())).map(|value| crate::call::Paid { value, receipt: accepted.receipt })
        }

        /// Queues the deep bundle (35 credits): holder profiles, then similarity on them.
        pub $($async)? fn queue_deep(&self, mint: &str, top_n: u32) -> Result<crate::call::Paid<sova_protocol::intel::DeepJobAccepted>, crate::Error> {
            io!(self.send_paid(&sova_protocol::intel::DeepRequest::new(mint).top_n(top_n)))
        }

        /// Queues the deep bundle and waits for both halves.
        pub $($async)? fn deep_wait(
            &self,
            mint: &str,
            top_n: u32,
        ) -> Result<crate::call::Paid<(sova_protocol::intel::HolderProfilesResult, sova_protocol::intel::SimilarityResult)>, crate::Error> {
            let accepted = io!(self.queue_deep(mint, top_n))?;
            let holders = io!(self.resume(&accepted.value.holder_profiles_handle()))?;
            let similarity = io!(self.resume(&accepted.value.handle()))?;
            Ok(crate::call::Paid { value: (holders, similarity), receipt: accepted.receipt })
        }

        /// A job's status (free, no auth).
        pub $($async)? fn job_status(&self, job_id: &str) -> Result<sova_protocol::intel::JobStatus, crate::Error> {
            io!(self.send(&sova_protocol::intel::JobStatusRequest::new(job_id)))
        }

        /// A stored result by key, decoded as `T` (404: not ready or expired).
        pub $($async)? fn result_by_key<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<T, crate::Error> {
            io!(self.send(&sova_protocol::intel::ResultByKeyRequest::<T>::new(key)))
        }

        /// Live pricing (free; `/intel/pricing`, falling back to `/pricing` on 404).
        pub $($async)? fn pricing(&self) -> Result<serde_json::Value, crate::Error> {
            let first = sova_protocol::intel::PricingRequest::new();
            match io!(self.send(&first)) {
                Err(e) if e.status() == Some(sova_protocol::http::StatusCode::NOT_FOUND) => match first.fallback() {
                    Some(second) => io!(self.send(&second)),
                    None => Err(e),
                },
                other => other,
            }
        }

        /// Polls a job until it completes (progress reported to the callback).
        pub $($async)? fn wait_job(&self, handle: &sova_protocol::jobs::JobHandle) -> Result<(), crate::Error> {
            let Some(job_id) = handle.job_id.as_deref() else { return Ok(()) };
            let poller = sova_protocol::jobs::Poller::new(self.config.poll);
            let started = std::time::Instant::now();
            loop {
                let status = io!(self.job_status(job_id))?;
                let waited = started.elapsed();
                if let Some(cb) = &self.config.progress {
                    cb(&crate::intel::Progress {
                        job_id: job_id.to_owned(),
                        status: status.status.to_string(),
                        percent: status.percent(),
                        waited,
                    });
                }
                match poller.on_status(&status.state(), waited) {
                    sova_protocol::jobs::PollDecision::Proceed => return Ok(()),
                    sova_protocol::jobs::PollDecision::PollAgain(d) => pause!(d),
                    sova_protocol::jobs::PollDecision::Failed(reason) => {
                        return Err(crate::Error::JobFailed {
                            job_id: job_id.to_owned(),
                            reason: reason.or_else(|| status.error_message().map(str::to_owned)),
                        });
                    }
                    _ => return Err(crate::Error::JobPending { waited, handle: handle.encode() }),
                }
            }
        }

        /// Resumes a job from its handle: waits for it, then fetches the result as `T`.
        /// For a GET-fallback handle, use [`Self::wallet_hud`]/[`Self::wallet_profile`] again.
        pub $($async)? fn resume<T: serde::de::DeserializeOwned>(&self, handle: &sova_protocol::jobs::JobHandle) -> Result<T, crate::Error> {
            io!(self.wait_job(handle))?;
            let (key, keep_polling) = match &handle.follow_up {
                sova_protocol::jobs::FollowUp::FetchResult { result_key } => (result_key.clone(), false),
                sova_protocol::jobs::FollowUp::PollResultKey { result_key } => (result_key.clone(), true),
                _ => return Err(crate::Error::Config("this handle is a GET fallback: call the wallet method again".into())),
            };
            let poller = sova_protocol::jobs::Poller::new(self.config.poll);
            let started = std::time::Instant::now();
            loop {
                match io!(self.result_by_key::<T>(&key)) {
                    Err(e) if keep_polling && e.status() == Some(sova_protocol::http::StatusCode::NOT_FOUND) => {
                        match poller.on_result_missing(started.elapsed()) {
                            sova_protocol::jobs::ResultDecision::PollAgain(d) => pause!(d),
                            sova_protocol::jobs::ResultDecision::Expired => return Err(crate::Error::ResultExpired { key }),
                            _ => return Err(crate::Error::JobPending { waited: started.elapsed(), handle: handle.encode() }),
                        }
                    }
                    Err(e) if e.status() == Some(sova_protocol::http::StatusCode::NOT_FOUND) => {
                        return Err(crate::Error::ResultExpired { key });
                    }
                    other => return other,
                }
            }
        }
    };
}

pub(crate) use intel_methods;
