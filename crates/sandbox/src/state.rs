//! Shared server state: configuration, the ledger, the API stores and the inspection records.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::Clock;
use crate::faults::FaultTable;
use crate::intel::IntelStore;
use crate::ledger::Ledger;
use crate::sovx::SovxStore;

/// How the sandbox asks for and settles x402 payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// Sova Intel's flow (`reference/sova-intel-api.md` §3): no `extra.feePayer`; the client
    /// pays its own fee and sends a fully signed transaction; success carries
    /// `X-Payment-Response: <signature>` and nothing else (no standard `PAYMENT-RESPONSE`,
    /// which Sova does not document; [`crate::SandboxBuilder::standard_settlement_headers`]
    /// adds it). Beyond what Sova documents, the sandbox also accepts the hybrid and spec
    /// payload shapes (Sova documents only the flat one; whether its server reads the others
    /// is not documented). A failed settlement (402) carries a `PAYMENT-RESPONSE` with the
    /// reason; Sova documents no header for that case.
    #[default]
    Sova,
    /// The x402 v2 standard: `extra.feePayer` is the sandbox facilitator, which co-signs slot 0
    /// and pays the fee; spec (or hybrid) payloads; success carries `PAYMENT-RESPONSE`.
    Standard,
}

impl Mode {
    /// `"sova"` or `"standard"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sova => "sova",
            Mode::Standard => "standard",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "sova" => Ok(Mode::Sova),
            "standard" | "spec" => Ok(Mode::Standard),
            other => Err(format!(
                "unknown mode {other:?} (expected sova or standard)"
            )),
        }
    }
}

/// The settings a sandbox runs with (see [`crate::SandboxBuilder`]).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub mode: Mode,
    pub seed: u64,
    pub sync_hold: Duration,
    pub flash_analysis: Duration,
    pub job_duration: Duration,
    pub result_ttl: Duration,
    pub replay_window: Duration,
    pub slot: Duration,
    pub token2022: bool,
    pub results_require_auth: bool,
    pub standard_settlement_headers: bool,
    pub deep_partial: bool,
    pub owner_key: String,
    pub quote_ttl: Duration,
    pub user_token_ttl: Duration,
    pub max_timeout_seconds: u64,
    pub strict_preflight: bool,
    pub x402_v1: bool,
    pub documented_form_only: bool,
}

/// One settled x402 payment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PaymentRecord {
    /// The transaction signature (base58): its first signature, the fee payer's. In
    /// [`Mode::Standard`] that is the facilitator's; see [`PaymentRecord::payer_signature`].
    pub signature: String,
    /// The payer's own signature (base58): the signature of the transfer authority, the one a
    /// client knows before settlement (equal to [`PaymentRecord::signature`] in
    /// [`Mode::Sova`], where the payer is also the fee payer).
    pub payer_signature: String,
    /// Every signature of the settled transaction, in order (base58).
    pub signatures: Vec<String>,
    /// The token authority that paid (base58).
    pub payer: String,
    /// USDC base units transferred to the treasury.
    pub amount: u64,
    /// The transaction's memos, formatted as Solana's RPC does (`[len] text`), if any.
    pub memo: Option<String>,
    /// The route template that was paid for (e.g. `GET /api/v1/intel/wallet/{address}/hud`).
    pub route: String,
    /// The literal path of the request that carried the payment (e.g.
    /// `/api/v1/intel/wallet/9WzD…/hud`).
    pub path: String,
    /// `sova` or `standard`.
    pub mode: String,
    /// When it settled (ms since the epoch, sandbox clock).
    pub settled_at_ms: i64,
    /// Whether the paid response was delivered (false when a fault dropped or replaced it).
    pub delivered: bool,
    /// The checks of the independent client-side verifier (`sova_x402::verify`) that this
    /// payment failed; empty when it agreed. It is stricter than the server (exact amount,
    /// exact `accepted` echo), so a failure here is informative unless
    /// [`crate::SandboxBuilder::strict_preflight`] is on.
    pub preflight_failures: Vec<String>,
}

/// Everything the inspection API reports.
#[derive(Debug, Default)]
pub(crate) struct Inspect {
    pub payments: Vec<PaymentRecord>,
    pub credits_used: BTreeMap<String, u64>,
    pub requests: BTreeMap<String, u64>,
    pub deliveries: BTreeMap<String, u64>,
}

/// The state every handler sees.
pub(crate) struct AppState {
    pub config: Config,
    pub clock: Clock,
    pub ledger: Mutex<Ledger>,
    pub intel: Mutex<IntelStore>,
    pub sovx: Mutex<SovxStore>,
    pub faults: Mutex<FaultTable>,
    pub inspect: Mutex<Inspect>,
    /// Replay table: authority signature → (settled or reserved at, settled?).
    pub replay: Mutex<HashMap<[u8; 64], (i64, bool)>>,
    /// Addresses this server answers on (filled in at bind time).
    pub base_url: Mutex<String>,
    /// Held payments (hold-and-submit-later faults) not submitted yet.
    pub held: AtomicUsize,
    /// Paths that answer the `202` fallback to every request, after
    /// [`crate::FaultKind::SettleThen202Forever`] settled a payment on them.
    pub forever_202: Mutex<std::collections::HashSet<String>>,
}

/// Locks a mutex, recovering from poisoning (a panicking handler must not wedge the server).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) type Shared = Arc<AppState>;
