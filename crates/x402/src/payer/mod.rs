//! The payer: from a decoded 402 to a signed, verified `PAYMENT-SIGNATURE`.

mod sign;

use sign::Chosen;
pub use sign::PendingPayment;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use solana_pubkey::Pubkey;
use sova_protocol::x402::{
    PayloadShape, PaymentPayload, PaymentRequired, PaymentRequirements, RawJson, SCHEME_EXACT,
    networks,
};

use crate::blockhash::{BlockhashCache, BlockhashSource, LatestBlockhash};
use crate::error::{Error, Refusal, RefusalReason};
use crate::keys::Signer;
use crate::ledger::ReserveRequest;
use crate::mint::{MintInfo, MintRegistry, TokenProgram};
use crate::nonce::{NonceSource, OsNonce, nonce_hex};
use crate::policy::{PolicyRefusal, Reservation, ReserveFor, SpendPolicy, normalize_host};
use crate::programs::{USDC_DEVNET, USDC_MAINNET};
use crate::record::{PaymentMode, PaymentRecord};
use crate::rpc::{GetLatestBlockhash, GetMintInfo};
use crate::tx::{self, ComputeBudget, Layout, MAX_MEMO_BYTES, PaymentSpec};
use crate::verify::{Against, VerifyOptions, verify};

/// An asset the payer may pay with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetConfig {
    /// The mint.
    pub mint: Pubkey,
    /// Its decimals, when known (else read with `getAccountInfo`).
    pub decimals: Option<u8>,
    /// Its token program, when known (else read with `getAccountInfo`).
    pub program: Option<TokenProgram>,
}

impl AssetConfig {
    /// Mainnet USDC (6 decimals, classic Token program).
    pub const fn usdc_mainnet() -> Self {
        AssetConfig {
            mint: USDC_MAINNET,
            decimals: Some(6),
            program: Some(TokenProgram::Token),
        }
    }

    /// Devnet USDC (6 decimals, classic Token program).
    pub const fn usdc_devnet() -> Self {
        AssetConfig {
            mint: USDC_DEVNET,
            decimals: Some(6),
            program: Some(TokenProgram::Token),
        }
    }

    /// A mint whose decimals and program are learnt from the chain on first use.
    pub const fn new(mint: Pubkey) -> Self {
        AssetConfig {
            mint,
            decimals: None,
            program: None,
        }
    }

    /// A fully described mint (no RPC needed).
    pub const fn known(mint: Pubkey, decimals: u8, program: TokenProgram) -> Self {
        AssetConfig {
            mint,
            decimals: Some(decimals),
            program: Some(program),
        }
    }
}

/// The hosts of Sova Intel's public API. For them the payer defaults to what Sova documents
/// (`reference/sova-intel-api.md` §3): self-paid payments, the legacy one-`TransferChecked`
/// transaction ([`SelfPaidLayout::Minimal`]) and the flat payload ([`PayloadShape::Flat`]).
/// Add more (a staging deployment, the sandbox) with [`PayerBuilder::sova_host`].
pub const SOVA_INTEL_HOSTS: &[&str] = &["api.sova-intel.com"];

/// Where payments without `extra.feePayer` (the payer pays its own fee) are allowed.
///
/// The default is [`SelfPaid::Hosts`] with the Sova Intel hosts ([`SOVA_INTEL_HOSTS`] plus
/// every [`PayerBuilder::sova_host`]): Sova Intel is the only server whose documentation asks
/// the client to pay its own fee.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelfPaid {
    /// For every host (opt-in). An option without `extra.feePayer` is then paid self-paid
    /// whoever asks. Only Sova Intel documents self-paid payments; in the x402 SVM `exact`
    /// scheme a requirement names a fee payer in `extra.feePayer`, and a transaction whose fee
    /// the client pays is outside that scheme (`reference/x402-solana.md` §3.6, §3.7).
    Anywhere,
    /// Only for these hosts (compared case-insensitively, without port).
    Hosts(Vec<String>),
    /// Never: only sponsored payments.
    Never,
}

impl Default for SelfPaid {
    /// [`SelfPaid::Hosts`] with [`SOVA_INTEL_HOSTS`].
    fn default() -> Self {
        SelfPaid::Hosts(SOVA_INTEL_HOSTS.iter().map(|h| (*h).to_owned()).collect())
    }
}

/// The transaction shape of self-paid payments.
///
/// Unless [`PayerBuilder::self_paid_layout`] sets one for every host, Sova Intel hosts get
/// [`SelfPaidLayout::Minimal`] (what Sova's documentation shows) and other hosts get
/// [`SelfPaidLayout::Standard`]. The design seeds preferred a Memo nonce everywhere; the Sova
/// reference is what the SDK follows for Sova hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SelfPaidLayout {
    /// v0: \[compute budget\], `TransferChecked`, Memo nonce (no two payments are ever
    /// identical). The default for hosts that are not Sova Intel hosts.
    #[default]
    Standard,
    /// The documented Sova sample: a legacy message with one `TransferChecked`. When this
    /// process already signed an otherwise identical payment over the same blockhash (same
    /// payer, amount, recipient and blockhash give byte-identical transactions, which the
    /// server would refuse as a replay), a Memo nonce is added to that payment only. Every
    /// [`Payer`] of the process shares that memory; other processes are not seen, so use
    /// [`SelfPaidLayout::MinimalNonce`] when separate processes pay from the same wallet.
    Minimal,
    /// The documented legacy message with one `TransferChecked`, plus a Memo nonce on every
    /// payment. For payers that cannot know what else signs with the same wallet — a command
    /// line run once per payment, several processes sharing a keypair — where two payments of
    /// the same amount over the same blockhash would otherwise be byte-identical.
    MinimalNonce,
}

/// The order in which acceptable options are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Preference {
    /// Lowest value first (amounts compared across decimals), ties in server order.
    #[default]
    Cheapest,
    /// The server's order.
    AsOffered,
}

/// Inputs of one [`Payer::prepare`] call.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct PrepareContext<'a> {
    /// The host the payment is for (pinned payTo, self-paid and shape rules).
    pub host: Option<&'a str>,
    /// The current time.
    pub now: Instant,
    /// A fresh `getLatestBlockhash` answer, after [`Prepared::NeedBlockhash`]. It is also
    /// stored in the payer's blockhash cache. An all-zero hash is ignored.
    pub blockhash: Option<LatestBlockhash>,
    /// A cap for this payment only, in base units, below the policy's own caps (e.g. an
    /// approval threshold). An option above it is refused as
    /// [`PolicyRefusal::OverCap`](crate::PolicyRefusal::OverCap) before anything is signed.
    pub max_amount: Option<u64>,
    /// Pay in the form Sova documents whatever the configuration: a self-paid option is paid
    /// with [`SelfPaidLayout::Minimal`] and the payload takes [`PayloadShape::Flat`] (the
    /// fallback after a server refused another form before settlement).
    pub documented_form: bool,
    /// Wall-clock time (Unix ms) for the ledger's windows; `None`: derived from `now`.
    pub now_ms: Option<u64>,
}

impl<'a> PrepareContext<'a> {
    /// The wall-clock time of `now`, Unix milliseconds (budgets over windows shared with
    /// other processes count in it).
    pub fn wall_clock_ms(mut self, now_ms: u64) -> Self {
        self.now_ms = Some(now_ms);
        self
    }

    /// A context at `now`, without host or blockhash.
    pub fn new(now: Instant) -> Self {
        PrepareContext {
            host: None,
            now,
            blockhash: None,
            max_amount: None,
            documented_form: false,
            now_ms: None,
        }
    }

    /// Forces the documented Sova form (see [`PrepareContext::documented_form`]).
    pub fn documented_form(mut self, on: bool) -> Self {
        self.documented_form = on;
        self
    }

    /// Caps this payment at `base_units` (on top of the policy's caps).
    pub fn max_amount(mut self, base_units: u64) -> Self {
        self.max_amount = Some(base_units);
        self
    }

    /// Sets the host.
    pub fn host(mut self, host: &'a str) -> Self {
        self.host = Some(host);
        self
    }

    /// Supplies a fresh blockhash.
    pub fn blockhash(mut self, blockhash: LatestBlockhash) -> Self {
        self.blockhash = Some(blockhash);
        self
    }
}

/// The outcome of [`Payer::prepare`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Prepared {
    /// A signed, verified payment.
    Ready(Box<PreparedPayment>),
    /// Neither `extra.recentBlockhash` nor a fresh cached blockhash is available: run this
    /// call and prepare again with [`PrepareContext::blockhash`]. Nothing was reserved.
    NeedBlockhash(GetLatestBlockhash),
    /// An allowed mint's decimals and program are unknown: run this call, add the answer
    /// with [`MintRegistry::insert`] (via [`Payer::mints`]) and prepare again.
    NeedMintInfo(GetMintInfo),
    /// The policy's ledger is durable: run [`PendingPayment::request`] on it (off any async
    /// executor) and hand the outcome to [`Payer::complete`]. Nothing is signed yet.
    NeedReservation(Box<PendingPayment>),
}

impl Prepared {
    /// The payment, if ready.
    pub fn ready(self) -> Option<PreparedPayment> {
        match self {
            Prepared::Ready(p) => Some(*p),
            _ => None,
        }
    }
}

/// A signed payment, ready to send, with its record and its budget reservation.
#[derive(Debug)]
pub struct PreparedPayment {
    header: String,
    shape: PayloadShape,
    requirement: PaymentRequirements,
    index: usize,
    record: PaymentRecord,
    transaction: Vec<u8>,
    reservation: Reservation,
    prepared_at: Instant,
}

impl PreparedPayment {
    /// The header an x402 v2 payment is sent in.
    pub const HEADER_NAME: &'static str = "PAYMENT-SIGNATURE";
    /// The header an x402 v1 payment is sent in.
    pub const V1_HEADER_NAME: &'static str = "X-PAYMENT";

    /// The header to send it in: `PAYMENT-SIGNATURE` (x402 v2), or `X-PAYMENT` when the
    /// challenge was x402 v1.
    pub fn header_name(&self) -> &'static str {
        if self.requirement.version == 1 {
            Self::V1_HEADER_NAME
        } else {
            Self::HEADER_NAME
        }
    }

    /// The header value (base64 JSON payload) for [`PreparedPayment::header_name`].
    pub fn header_value(&self) -> &str {
        &self.header
    }

    /// The payload's `x402Version` (the challenge's).
    pub fn x402_version(&self) -> u64 {
        self.requirement.version
    }

    /// The payload shape used.
    pub fn shape(&self) -> PayloadShape {
        self.shape
    }

    /// The requirement paid (as received).
    pub fn requirement(&self) -> &PaymentRequirements {
        &self.requirement
    }

    /// Its position in `accepts`.
    pub fn requirement_index(&self) -> usize {
        self.index
    }

    /// What was paid.
    pub fn record(&self) -> &PaymentRecord {
        &self.record
    }

    /// The serialized transaction.
    pub fn transaction(&self) -> &[u8] {
        &self.transaction
    }

    /// The budget reservation.
    pub fn reservation(&self) -> &Reservation {
        &self.reservation
    }

    /// When it was signed (the [`PrepareContext::now`] it was prepared with).
    pub fn prepared_at(&self) -> Instant {
        self.prepared_at
    }

    /// The last moment it may be sent: its signing time plus the requirement's
    /// `maxTimeoutSeconds` (`None` when the requirement has none).
    ///
    /// x402 gives `maxTimeoutSeconds` as the time the server allows for the payment; this
    /// SDK reads it as "a signed payment is not presented later than this after signing".
    pub fn expires_at(&self) -> Option<Instant> {
        let secs = self.requirement.max_timeout_seconds?;
        self.prepared_at
            .checked_add(std::time::Duration::from_secs(secs))
    }

    /// Whether `now` is past [`PreparedPayment::expires_at`].
    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at().is_some_and(|t| now > t)
    }

    /// The payment was accepted (or its outcome is unknown): keep the amount spent.
    pub fn commit(self) -> PaymentRecord {
        self.reservation.commit();
        self.record
    }

    /// Nothing was charged (the payment never left the process, or the server said so):
    /// give the amount back to the budget.
    pub fn release(self) -> PaymentRecord {
        self.reservation.release();
        self.record
    }

    /// Header value, record and reservation.
    pub fn into_parts(self) -> (String, PaymentRecord, Reservation) {
        (self.header, self.record, self.reservation)
    }
}

/// Builds a [`Payer`].
pub struct PayerBuilder {
    signer: Option<Arc<dyn Signer>>,
    policy: Option<Arc<SpendPolicy>>,
    network: String,
    assets: Vec<AssetConfig>,
    mints: Option<Arc<MintRegistry>>,
    blockhashes: Option<Arc<BlockhashCache>>,
    nonces: Arc<dyn NonceSource>,
    preference: Preference,
    compute_budget: ComputeBudget,
    self_paid: Option<SelfPaid>,
    self_paid_layout: Option<SelfPaidLayout>,
    self_paid_compute_budget: bool,
    create_recipient_ata: bool,
    shape: Option<PayloadShape>,
    host_shapes: HashMap<String, PayloadShape>,
    sova_hosts: Vec<String>,
    always_verify_signatures: bool,
    trust_requirement_blockhash: bool,
}

impl fmt::Debug for PayerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayerBuilder")
            .field("signer", &self.signer.as_ref().map(|s| s.pubkey()))
            .field("network", &self.network)
            .field("assets", &self.assets)
            .finish_non_exhaustive()
    }
}

impl Default for PayerBuilder {
    fn default() -> Self {
        PayerBuilder {
            signer: None,
            policy: None,
            network: networks::SOLANA_MAINNET.to_owned(),
            assets: Vec::new(),
            mints: None,
            blockhashes: None,
            nonces: Arc::new(OsNonce),
            preference: Preference::default(),
            compute_budget: ComputeBudget::default(),
            self_paid: None,
            self_paid_layout: None,
            self_paid_compute_budget: true,
            create_recipient_ata: false,
            shape: None,
            host_shapes: HashMap::new(),
            sova_hosts: SOVA_INTEL_HOSTS.iter().map(|h| (*h).to_owned()).collect(),
            always_verify_signatures: false,
            trust_requirement_blockhash: false,
        }
    }
}

impl PayerBuilder {
    /// The wallet that pays (required).
    pub fn signer(mut self, signer: impl Signer + 'static) -> Self {
        self.signer = Some(Arc::new(signer));
        self
    }

    /// The wallet that pays, already shared.
    pub fn shared_signer(mut self, signer: Arc<dyn Signer>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The spend policy (required; [`SpendPolicy::unlimited`] when no limits are wanted).
    pub fn policy(mut self, policy: Arc<SpendPolicy>) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The CAIP-2 network to pay on (default mainnet; v1 names are accepted). Use devnet's
    /// id, or a custom id for a local ledger.
    pub fn network(mut self, network: &str) -> Self {
        self.network = networks::normalize(network).to_owned();
        self
    }

    /// Adds an allowed asset. Without any, USDC of the configured network is allowed
    /// (mainnet USDC for mainnet and custom networks, devnet USDC for devnet).
    pub fn asset(mut self, asset: AssetConfig) -> Self {
        self.assets.push(asset);
        self
    }

    /// A mint table shared with other payers (default: a new one).
    pub fn mints(mut self, mints: Arc<MintRegistry>) -> Self {
        self.mints = Some(mints);
        self
    }

    /// A blockhash cache shared with other payers (default: a new 20-second cache).
    pub fn blockhash_cache(mut self, cache: Arc<BlockhashCache>) -> Self {
        self.blockhashes = Some(cache);
        self
    }

    /// Where memo nonces come from (default: the operating system's generator).
    pub fn nonce_source(mut self, nonces: Arc<dyn NonceSource>) -> Self {
        self.nonces = nonces;
        self
    }

    /// The order among acceptable options (default: cheapest first).
    pub fn preference(mut self, preference: Preference) -> Self {
        self.preference = preference;
        self
    }

    /// Compute unit limit (default 20,000; clamped to ≤ 400,000).
    pub fn compute_unit_limit(mut self, units: u32) -> Self {
        self.compute_budget.unit_limit = units;
        self
    }

    /// Compute unit price in micro-lamports (default 1; clamped to ≤ 1,000,000 and to a
    /// total priority fee ≤ 100,000 lamports).
    pub fn compute_unit_price(mut self, micro_lamports: u64) -> Self {
        self.compute_budget.unit_price = micro_lamports;
        self
    }

    /// Where self-paid payments are allowed (default: [`SelfPaid::Hosts`] with the Sova
    /// Intel hosts, see [`PayerBuilder::sova_host`]). When set, this rule is used as given.
    pub fn self_paid(mut self, rule: SelfPaid) -> Self {
        self.self_paid = Some(rule);
        self
    }

    /// The self-paid layout for every host. Without it, Sova Intel hosts get
    /// [`SelfPaidLayout::Minimal`] (the transaction Sova documents) and other hosts
    /// [`SelfPaidLayout::Standard`].
    pub fn self_paid_layout(mut self, layout: SelfPaidLayout) -> Self {
        self.self_paid_layout = Some(layout);
        self
    }

    /// Treats `host` as a Sova Intel host (a staging deployment, or the sandbox on
    /// `127.0.0.1` in Sova mode), like the built-in [`SOVA_INTEL_HOSTS`]: unless configured
    /// otherwise, payments for it are self-paid when the option has no `extra.feePayer`,
    /// use [`SelfPaidLayout::Minimal`] and the [`PayloadShape::Flat`] payload — the form
    /// Sova documents (`reference/sova-intel-api.md` §3.3, §3.4). Explicit
    /// [`PayerBuilder::self_paid`], [`PayerBuilder::self_paid_layout`],
    /// [`PayerBuilder::payload_shape`] and [`PayerBuilder::payload_shape_for_host`] win.
    ///
    /// `host` may be a host, `host:port` or a URL (its host is taken).
    pub fn sova_host(mut self, host: &str) -> Self {
        let authority = host.split_once("://").map_or(host, |(_, rest)| rest);
        let authority = authority.split(['/', '?', '#']).next().unwrap_or(authority);
        let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let h = normalize_host(authority);
        if !self.sova_hosts.contains(&h) {
            self.sova_hosts.push(h);
        }
        self
    }

    /// Whether standard self-paid payments carry compute-budget instructions (default yes).
    pub fn self_paid_compute_budget(mut self, on: bool) -> Self {
        self.self_paid_compute_budget = on;
        self
    }

    /// Adds an idempotent create-account instruction for the recipient's token account
    /// (default off; some facilitators refuse it).
    pub fn create_recipient_ata(mut self, on: bool) -> Self {
        self.create_recipient_ata = on;
        self
    }

    /// The `PAYMENT-SIGNATURE` shape for every host without a shape of its own. Without it,
    /// Sova Intel hosts get [`PayloadShape::Flat`] (the payload Sova documents) and other
    /// hosts [`PayloadShape::Hybrid`] (which the v2 SDK servers read and which carries the
    /// top-level keys of Sova's shape too).
    pub fn payload_shape(mut self, shape: PayloadShape) -> Self {
        self.shape = Some(shape);
        self
    }

    /// The shape for one host.
    pub fn payload_shape_for_host(mut self, host: &str, shape: PayloadShape) -> Self {
        self.host_shapes.insert(normalize_host(host), shape);
        self
    }

    /// Re-verify signatures of in-memory keypairs too (remote signers are always verified).
    pub fn always_verify_signatures(mut self, on: bool) -> Self {
        self.always_verify_signatures = on;
        self
    }

    /// Signs over the server's `extra.recentBlockhash` when a requirement carries one
    /// (default `false`: the blockhash always comes from our own RPC, through the cache).
    ///
    /// A server-supplied blockhash saves nothing in steady state (the cache already serves
    /// it) and its `extra.lastValidBlockHeight` cannot be trusted, so a payment signed over it
    /// can never be proven expired: an ambiguous outcome then always ends as
    /// "may have been charged".
    pub fn trust_requirement_blockhash(mut self, on: bool) -> Self {
        self.trust_requirement_blockhash = on;
        self
    }

    /// The payer.
    pub fn build(self) -> Result<Payer, Error> {
        let signer = self.signer.ok_or_else(|| {
            Error::Config("no signer: call .signer(..) with the paying keypair".into())
        })?;
        let policy = self.policy.ok_or_else(|| {
            Error::Config(
                "no spend policy: call .policy(..) (SpendPolicy::unlimited() for none)".into(),
            )
        })?;
        let mints = self.mints.unwrap_or_default();
        let mut assets = self.assets;
        if assets.is_empty() {
            assets.push(if self.network == networks::SOLANA_DEVNET {
                AssetConfig::usdc_devnet()
            } else {
                AssetConfig::usdc_mainnet()
            });
        }
        for a in &assets {
            if let (Some(decimals), Some(program)) = (a.decimals, a.program) {
                mints.insert(MintInfo {
                    mint: a.mint,
                    decimals,
                    program,
                });
            }
        }
        let payer_key = signer.pubkey();
        let verify_signatures = self.always_verify_signatures || !signer.is_trusted_local();
        let verify_options = VerifyOptions::default()
            .expected_payer(payer_key)
            .mints(Arc::clone(&mints))
            .verbose(false)
            .verify_signatures(verify_signatures);
        let sova_hosts: Vec<String> = self.sova_hosts.iter().map(|h| normalize_host(h)).collect();
        let self_paid = match self.self_paid {
            Some(SelfPaid::Hosts(h)) => {
                SelfPaid::Hosts(h.iter().map(|h| normalize_host(h)).collect())
            }
            Some(other) => other,
            None => SelfPaid::Hosts(sova_hosts.clone()),
        };
        Ok(Payer {
            signer,
            payer_key,
            policy,
            network: self.network,
            assets,
            mints,
            blockhashes: self.blockhashes.unwrap_or_default(),
            nonces: self.nonces,
            preference: self.preference,
            compute_budget: self.compute_budget.clamped(),
            self_paid,
            self_paid_layout: self.self_paid_layout,
            self_paid_compute_budget: self.self_paid_compute_budget,
            create_recipient_ata: self.create_recipient_ata,
            shape: self.shape,
            host_shapes: self.host_shapes,
            sova_hosts,
            documented_hosts: Mutex::new(HashSet::new()),
            verify_options,
            recent: Mutex::new(RecentSignatures::default()),
            trust_requirement_blockhash: self.trust_requirement_blockhash,
            funded: std::sync::atomic::AtomicBool::new(false),
        })
    }
}

/// Recent payment messages (a 128-bit digest of each), to refuse byte-identical payments
/// before they are signed. Ed25519 is deterministic: the same message from the same key is
/// the same signature, so an identical message is an identical transaction.
#[derive(Default)]
struct RecentSignatures {
    set: HashSet<u128>,
    order: VecDeque<u128>,
}

const RECENT_CAPACITY: usize = 8192;

/// The documented (nonce-less) payment messages signed by any [`Payer`] of this process. Such
/// a message names its payer's key, so payers of different wallets never collide; payers of
/// one wallet (two clients built from one keypair file) see each other's, and the second
/// identical transfer gets a Memo nonce instead of being refused as a replay.
static PLAIN_MESSAGES: std::sync::LazyLock<Mutex<RecentSignatures>> =
    std::sync::LazyLock::new(|| Mutex::new(RecentSignatures::default()));

/// Two independent SipHash digests of `bytes` (std's fixed-key hasher), as one 128-bit key.
/// A false match would only add a Memo nonce to a payment that did not need one.
fn digest128(bytes: &[u8]) -> u128 {
    use std::hash::{DefaultHasher, Hasher};
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        h.write_u8(salt);
        h.write(bytes);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

impl RecentSignatures {
    /// Inserts; `false` when already present.
    fn insert(&mut self, message: &[u8]) -> bool {
        let key = digest128(message);
        if !self.set.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > RECENT_CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

/// Pays x402 requirements: selects an option, applies the spend policy, builds, signs,
/// verifies and encodes. Thread-safe; share it in an `Arc`.
pub struct Payer {
    signer: Arc<dyn Signer>,
    payer_key: Pubkey,
    policy: Arc<SpendPolicy>,
    network: String,
    assets: Vec<AssetConfig>,
    mints: Arc<MintRegistry>,
    blockhashes: Arc<BlockhashCache>,
    nonces: Arc<dyn NonceSource>,
    preference: Preference,
    compute_budget: ComputeBudget,
    self_paid: SelfPaid,
    self_paid_layout: Option<SelfPaidLayout>,
    self_paid_compute_budget: bool,
    create_recipient_ata: bool,
    shape: Option<PayloadShape>,
    host_shapes: HashMap<String, PayloadShape>,
    sova_hosts: Vec<String>,
    /// Hosts that refused another form before settlement.
    documented_hosts: Mutex<HashSet<String>>,
    verify_options: VerifyOptions,
    recent: Mutex<RecentSignatures>,
    trust_requirement_blockhash: bool,
    /// Whether the wallet's balance was seen to cover a payment.
    funded: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for Payer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Payer")
            .field("payer", &self.payer_key)
            .field("network", &self.network)
            .field("assets", &self.assets)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

struct Candidate<'r> {
    index: usize,
    req: &'r PaymentRequirements,
    mint: Pubkey,
    info: Option<MintInfo>,
    pay_to: Pubkey,
    layout: Layout,
    seller_memo: Option<&'r str>,
    /// [`SelfPaidLayout::MinimalNonce`]: a Memo nonce on every minimal payment.
    always_nonce: bool,
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

fn parse_key(field: &'static str, text: &str) -> Result<Pubkey, RefusalReason> {
    let t = text.trim();
    let bad = || RefusalReason::BadAddress {
        field,
        value: truncate(text),
    };
    if t.is_empty() || t.len() > 44 {
        return Err(bad());
    }
    t.parse::<Pubkey>().map_err(|_| bad())
}

/// Value of `amount` base units at `decimals`, in units of 10^-18 of a token, for
/// ordering options of different assets. Unknown decimals sort after known ones.
fn value_key(amount: u64, decimals: Option<u8>) -> (u8, u128) {
    match decimals {
        // u64::MAX * 10^18 < u128::MAX, so this cannot overflow.
        Some(d) if d <= 18 => (0, u128::from(amount) * 10u128.pow(u32::from(18 - d))),
        Some(d) => (
            0,
            u128::from(amount) / 10u128.pow(u32::from(d - 18).min(38)),
        ),
        None => (1, u128::from(amount)),
    }
}

impl Payer {
    /// A builder.
    pub fn builder() -> PayerBuilder {
        PayerBuilder::default()
    }

    /// The paying wallet.
    pub fn pubkey(&self) -> Pubkey {
        self.payer_key
    }

    /// The network paid on.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// Whether a balance check (by the caller, through its RPC) saw the wallet hold enough
    /// for a payment. The SDK checks once per payer, before its first payment, so an
    /// unfunded wallet is told so before anything is signed, and later calls cost no RPC.
    pub fn known_funded(&self) -> bool {
        self.funded.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records the outcome of a balance check (see [`Payer::known_funded`]).
    pub fn set_funded(&self, funded: bool) {
        self.funded
            .store(funded, std::sync::atomic::Ordering::Relaxed);
    }

    /// The spend policy.
    pub fn policy(&self) -> &Arc<SpendPolicy> {
        &self.policy
    }

    /// The mint table (add [`crate::rpc::GetMintInfo`] answers here).
    pub fn mints(&self) -> &Arc<MintRegistry> {
        &self.mints
    }

    /// The blockhash cache (store [`GetLatestBlockhash`] answers here, or pass them in
    /// [`PrepareContext::blockhash`]).
    pub fn blockhash_cache(&self) -> &Arc<BlockhashCache> {
        &self.blockhashes
    }

    /// The payload shape of a self-paid payment for `host` (sponsored payments use
    /// [`Payer::sponsored_shape_for`]): [`PayloadShape::Flat`] once the host needed the
    /// documented form ([`Payer::remember_documented_form`]); else the host's own shape, the
    /// configured shape, [`PayloadShape::Flat`] for Sova Intel hosts, and
    /// [`PayloadShape::Hybrid`] for others, in that order.
    pub fn shape_for(&self, host: Option<&str>) -> PayloadShape {
        let h = host.map(normalize_host);
        if let Some(h) = &h {
            if self.needs_documented_form(h) {
                return PayloadShape::Flat;
            }
            if let Some(s) = self.host_shapes.get(h) {
                return *s;
            }
        }
        if let Some(s) = self.shape {
            return s;
        }
        if h.as_deref()
            .is_some_and(|h| self.sova_hosts.iter().any(|s| s == h))
        {
            PayloadShape::Flat
        } else {
            PayloadShape::Hybrid
        }
    }

    /// The payload shape of a sponsored payment (an option with `extra.feePayer`) for
    /// `host`: the host's own shape, the configured shape, else [`PayloadShape::Hybrid`].
    /// Sova documents only self-paid payments, so the flat default of Sova hosts and the
    /// learnt documented form do not apply to sponsored ones.
    pub fn sponsored_shape_for(&self, host: Option<&str>) -> PayloadShape {
        host.and_then(|h| self.host_shapes.get(&normalize_host(h)).copied())
            .or(self.shape)
            .unwrap_or(PayloadShape::Hybrid)
    }

    /// The self-paid layout used for `host` (see [`SelfPaidLayout`]).
    pub fn self_paid_layout_for(&self, host: Option<&str>) -> SelfPaidLayout {
        let h = host.map(normalize_host);
        if h.as_deref().is_some_and(|h| self.needs_documented_form(h)) {
            return SelfPaidLayout::Minimal;
        }
        if let Some(l) = self.self_paid_layout {
            return l;
        }
        if self.is_sova_host(h.as_deref()) {
            SelfPaidLayout::Minimal
        } else {
            SelfPaidLayout::Standard
        }
    }

    /// Whether `host` is a Sova Intel host ([`SOVA_INTEL_HOSTS`] or
    /// [`PayerBuilder::sova_host`]).
    pub fn is_sova_host(&self, host: Option<&str>) -> bool {
        host.is_some_and(|h| {
            let h = normalize_host(h);
            self.sova_hosts.contains(&h)
        })
    }

    /// Remembers that `host` refused another payment form before settlement: later
    /// self-paid payments for it use the documented form ([`SelfPaidLayout::Minimal`] with
    /// [`PayloadShape::Flat`]).
    pub fn remember_documented_form(&self, host: &str) {
        self.documented_hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(normalize_host(host));
    }

    /// Whether payments for `host` already use the documented form because the host needed
    /// it ([`Payer::remember_documented_form`]).
    pub fn remembers_documented_form(&self, host: &str) -> bool {
        self.needs_documented_form(&normalize_host(host))
    }

    fn needs_documented_form(&self, normalized_host: &str) -> bool {
        self.documented_hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(normalized_host)
    }

    fn self_paid_allowed(&self, host: Option<&str>) -> bool {
        match &self.self_paid {
            SelfPaid::Anywhere => true,
            SelfPaid::Never => false,
            SelfPaid::Hosts(list) => host.is_some_and(|h| {
                let h = normalize_host(h);
                list.contains(&h)
            }),
        }
    }

    fn evaluate<'r>(
        &self,
        index: usize,
        req: &'r PaymentRequirements,
        ctx: &PrepareContext<'_>,
    ) -> Result<Candidate<'r>, RefusalReason> {
        if req.version != 1 && req.version != 2 {
            return Err(RefusalReason::Version(req.version));
        }
        if req.scheme != SCHEME_EXACT {
            return Err(RefusalReason::Scheme(truncate(&req.scheme)));
        }
        if networks::normalize(&req.network) != self.network {
            return Err(RefusalReason::Network {
                network: truncate(&req.network),
                configured: self.network.clone(),
            });
        }
        let mint = parse_key("asset", &req.asset)?;
        if !self.assets.iter().any(|a| a.mint == mint) {
            return Err(RefusalReason::AssetNotAllowed(mint.to_string()));
        }
        let pay_to = parse_key("payTo", &req.pay_to)?;
        let mut always_nonce = false;
        let mut layout = match req.extra.get("feePayer") {
            Some(v) => {
                let text = v.as_str().ok_or(RefusalReason::BadExtra {
                    key: "feePayer",
                    problem: "it is not a string".into(),
                })?;
                let fee_payer = parse_key("extra.feePayer", text)?;
                if fee_payer == self.payer_key {
                    return Err(RefusalReason::FeePayerIsPayer(fee_payer.to_string()));
                }
                Layout::Sponsored { fee_payer }
            }
            None => {
                if !self.self_paid_allowed(ctx.host) {
                    return Err(RefusalReason::SelfPaidNotAllowed {
                        host: ctx.host.map_or_else(
                            || "this payer (no host given)".to_owned(),
                            |h| format!("host {h}"),
                        ),
                    });
                }
                let layout = if ctx.documented_form {
                    SelfPaidLayout::Minimal
                } else {
                    self.self_paid_layout_for(ctx.host)
                };
                always_nonce = layout == SelfPaidLayout::MinimalNonce;
                match layout {
                    SelfPaidLayout::Standard => Layout::SelfPaid,
                    SelfPaidLayout::Minimal | SelfPaidLayout::MinimalNonce => Layout::Minimal,
                }
            }
        };
        let seller_memo = match req.extra.get("memo") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(m)) => {
                if m.len() > MAX_MEMO_BYTES {
                    return Err(RefusalReason::MemoTooLong(m.len()));
                }
                if layout == Layout::Minimal {
                    // The documented form carries no seller memo. Refuse when that form was
                    // asked for; otherwise (only a per-host default) use the v0 self-paid
                    // layout, which carries it.
                    if ctx.documented_form
                        || matches!(
                            self.self_paid_layout,
                            Some(SelfPaidLayout::Minimal | SelfPaidLayout::MinimalNonce)
                        )
                    {
                        return Err(RefusalReason::MemoWithMinimalLayout);
                    }
                    layout = Layout::SelfPaid;
                }
                Some(m.as_str())
            }
            Some(_) => {
                return Err(RefusalReason::BadExtra {
                    key: "memo",
                    problem: "it is not a string".into(),
                });
            }
        };
        self.policy
            .check_static(&mint, req.amount.0, &req.pay_to, ctx.host)?;
        Ok(Candidate {
            index,
            req,
            mint,
            info: self.mints.get(&mint),
            pay_to,
            layout,
            seller_memo,
            always_nonce: always_nonce && layout == Layout::Minimal,
        })
    }

    /// Resolves the blockhash: `extra.recentBlockhash`, then the context's, then the cache.
    fn resolve_blockhash(
        &self,
        req: &PaymentRequirements,
        ctx: &PrepareContext<'_>,
        skip_requirement: bool,
    ) -> Option<(LatestBlockhash, BlockhashSource)> {
        if !skip_requirement
            && let Some(hash) = req.recent_blockhash().and_then(LatestBlockhash::parse)
        {
            let last_valid_block_height = match req.extra.get("lastValidBlockHeight") {
                Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
                Some(serde_json::Value::Number(n)) => n.as_u64(),
                _ => None,
            };
            return Some((
                LatestBlockhash {
                    blockhash: hash,
                    last_valid_block_height,
                    context_slot: None,
                },
                BlockhashSource::Requirement,
            ));
        }
        if let Some(b) = ctx.blockhash.filter(LatestBlockhash::is_usable) {
            return Some((b, BlockhashSource::Context));
        }
        self.blockhashes
            .get(ctx.now)
            .map(|b| (b, BlockhashSource::Cache))
    }

    /// Prepares a payment for one of the options of `required`.
    ///
    /// Order of work: every option is checked (scheme, network, asset allowlist, addresses,
    /// fee mode, memo, per-payment cap, pinned payTo); the acceptable ones are sorted by
    /// preference; for the first that fits the budget and the rate limit, an amount is
    /// reserved, the transaction is built and signed, the header is encoded and the
    /// verifier checks it. Nothing is signed before the policy has agreed.
    pub fn prepare(
        &self,
        required: &PaymentRequired,
        ctx: &PrepareContext<'_>,
    ) -> Result<Prepared, Error> {
        if let Some(b) = ctx.blockhash.filter(LatestBlockhash::is_usable) {
            self.blockhashes.store(b, ctx.now);
        }
        let mut refusals = Vec::new();
        let mut candidates = Vec::with_capacity(required.accepts.len());
        for (index, req) in required.accepts.iter().enumerate() {
            match self.evaluate(index, req, ctx) {
                Ok(c) => candidates.push(c),
                Err(reason) => refusals.push(Refusal { index, reason }),
            }
        }
        if let Some(c) = candidates.iter().find(|c| c.info.is_none()) {
            return Ok(Prepared::NeedMintInfo(GetMintInfo::new(c.mint)));
        }
        if self.preference == Preference::Cheapest && candidates.len() > 1 {
            candidates.sort_by_key(|c| value_key(c.req.amount.0, c.info.map(|i| i.decimals)));
        }
        for c in &candidates {
            let Some(info) = c.info else { continue };
            if let Some(cap) = ctx.max_amount
                && c.req.amount.0 > cap
            {
                refusals.push(Refusal {
                    index: c.index,
                    reason: PolicyRefusal::OverCap {
                        asset: c.mint.to_string(),
                        amount: c.req.amount.0,
                        cap,
                    }
                    .into(),
                });
                continue;
            }
            if let Err(p) =
                self.policy
                    .check(&c.mint, c.req.amount.0, &c.req.pay_to, ctx.host, ctx.now)
            {
                refusals.push(Refusal {
                    index: c.index,
                    reason: p.into(),
                });
                continue;
            }
            let mut skip_requirement_hash = false;
            loop {
                let Some((blockhash, source)) = self.resolve_blockhash(
                    c.req,
                    ctx,
                    skip_requirement_hash || !self.trust_requirement_blockhash,
                ) else {
                    return Ok(Prepared::NeedBlockhash(GetLatestBlockhash));
                };
                let Some(composed) = self.compose(c, info, &blockhash, false)? else {
                    match source {
                        BlockhashSource::Requirement => {
                            skip_requirement_hash = true;
                            continue;
                        }
                        BlockhashSource::Cache => {
                            self.blockhashes.invalidate_hash(&blockhash.blockhash);
                            return Ok(Prepared::NeedBlockhash(GetLatestBlockhash));
                        }
                        _ => {
                            self.blockhashes.invalidate_hash(&blockhash.blockhash);
                            return Err(Error::Duplicate {
                                blockhash: blockhash.blockhash.to_string(),
                            });
                        }
                    }
                };
                let payer = self.payer_key.to_string();
                let reserve_for = ReserveFor {
                    payer: &payer,
                    message_digest: composed.digest.clone(),
                    now_ms: ctx.now_ms,
                    ..ReserveFor::default()
                };
                if self.policy.ledger().is_durable() {
                    // The reservation is I/O: the caller runs it and completes the payment.
                    let request = self.policy.reserve_request(
                        &c.mint,
                        c.req.amount.0,
                        &c.req.pay_to,
                        ctx.host,
                        ctx.now,
                        &reserve_for,
                    );
                    return Ok(Prepared::NeedReservation(Box::new(PendingPayment {
                        required: required.clone(),
                        index: c.index,
                        layout: c.layout,
                        mint: c.mint,
                        blockhash,
                        source,
                        composed,
                        documented_form: ctx.documented_form,
                        host: ctx.host.map(str::to_owned),
                        prepared_at: ctx.now,
                        request,
                    })));
                }
                let reservation = match self.policy.reserve_for(
                    &c.mint,
                    c.req.amount.0,
                    &c.req.pay_to,
                    ctx.host,
                    ctx.now,
                    &reserve_for,
                ) {
                    Ok(r) => r,
                    Err(p) => {
                        refusals.push(Refusal {
                            index: c.index,
                            reason: p.into(),
                        });
                        break;
                    }
                };
                let chosen = Chosen {
                    index: c.index,
                    req: c.req,
                    layout: c.layout,
                    blockhash,
                    source,
                    documented_form: ctx.documented_form,
                    host: ctx.host,
                };
                let payment = self.finish(required, chosen, composed, reservation, ctx.now)?;
                return Ok(Prepared::Ready(Box::new(payment)));
            }
        }
        refusals.sort_by_key(|r| r.index);
        Err(Error::Refused(refusals))
    }
}

/// The `payment-identifier` extension key.
pub const PAYMENT_IDENTIFIER: &str = "payment-identifier";

/// When the challenge advertises the `payment-identifier` extension: a fresh id
/// (`pay_` + 32 hex digits) and the challenge's `extensions` echoed with `info.id` added.
/// The id rides in the signed header, so every resend of the payment carries the same one.
fn payment_identifier(
    required: &PaymentRequired,
    nonces: &dyn NonceSource,
) -> Result<Option<(String, RawJson)>, Error> {
    let Some(ext) = &required.extensions else {
        return Ok(None);
    };
    let mut value = ext.to_value();
    let Some(entry) = value.get_mut(PAYMENT_IDENTIFIER) else {
        return Ok(None);
    };
    let id = format!("pay_{}", nonce_hex(&nonces.next_nonce()?));
    match entry {
        serde_json::Value::Object(map) => {
            let info = map
                .entry("info")
                .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
            if let serde_json::Value::Object(info) = info {
                info.insert("id".into(), serde_json::Value::String(id.clone()));
            } else {
                *info = serde_json::json!({ "id": id });
            }
        }
        other => *other = serde_json::json!({ "info": { "id": id } }),
    }
    let raw = RawJson::from_string(value.to_string())
        .map_err(|e| Error::Config(format!("extensions could not be encoded: {e}")))?;
    Ok(Some((id, raw)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_keys_order_across_decimals() {
        assert!(value_key(1_000_000, Some(6)) < value_key(2_000_000_000, Some(9)));
        assert!(value_key(3_000_000, Some(6)) > value_key(2_000_000_000, Some(9)));
        assert!(value_key(u64::MAX, Some(0)) > value_key(u64::MAX, Some(6)));
        assert!(value_key(1, None) > value_key(u64::MAX, Some(0)));
    }
}
