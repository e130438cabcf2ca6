//! Sova Intel data types (`reference/sova-intel-api.md` §7).
//!
//! Decoding is tolerant: fields outside the documented required lists are `Option` with
//! `#[serde(default)]`, enums the docs show changing have an `Unknown(String)` arm, and unknown
//! fields are kept in `extra` maps so nothing the server adds is lost.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The answer of a GET that may fall back to a job (wallet profile, HUD).
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched<T> {
    /// `200`: the data (charged).
    Ready(T),
    /// `202`: the server queued an analysis (free). Poll the job, then call again with
    /// `X-Prepaid-Job-Id`.
    Queued(WalletQueued),
}

impl<T> Fetched<T> {
    /// The data, if ready.
    pub fn ready(self) -> Option<T> {
        match self {
            Fetched::Ready(t) => Some(t),
            Fetched::Queued(_) => None,
        }
    }
}

/// `WalletGetQueuedResponse`: the 202 of the GET fallback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletQueued {
    /// `"queued"`.
    pub status: String,
    /// The wallet.
    #[serde(default)]
    pub wallet_address: Option<String>,
    /// The job to poll.
    pub job_id: String,
    /// The id to send back in `X-Prepaid-Job-Id` (absent in some versions: use `job_id`).
    #[serde(default)]
    pub prepaid_job_id: Option<String>,
    /// Host-relative status URL (already contains `/api/v1`).
    #[serde(default)]
    pub monitoring_url: Option<String>,
    /// e.g. `"Wallet analysis queued."`.
    #[serde(default)]
    pub message: Option<String>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl WalletQueued {
    /// The id for `X-Prepaid-Job-Id`: `prepaidJobId`, else `jobId`.
    pub fn prepaid_id(&self) -> &str {
        self.prepaid_job_id.as_deref().unwrap_or(&self.job_id)
    }
}

/// `WalletHud` (§7.1): the compact behaviour signal of a wallet.
///
/// Fields outside the 8-field subset that batch HUD and early profiles carry are optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletHud {
    /// The wallet.
    #[serde(default)]
    pub wallet_address: Option<String>,
    /// e.g. `"wallet_behavior_v1"`.
    #[serde(default)]
    pub signal_type: Option<String>,
    /// Compact behaviour code (`W`, `M`, `H`, `D`, `?`, or older full words).
    pub behavior_code: BehaviorCode,
    /// Human-readable behaviour label (older docs; nullable).
    #[serde(default)]
    pub behavior_category: Option<BehaviorType>,
    /// 0–1, share of trades closed in profit.
    pub win_rate: f64,
    /// Trimmed mean PnL in SOL.
    pub trimmed_mean_pnl: f64,
    /// Mean transaction value in SOL.
    #[serde(default)]
    pub avg_tx_value_sol: Option<f64>,
    /// Trades per day.
    #[serde(default)]
    pub avg_trades_per_day: Option<f64>,
    /// Distinct tokens traded per day.
    #[serde(default)]
    pub unique_tokens_per_day: Option<f64>,
    /// Open positions in SOL.
    #[serde(default)]
    pub current_holdings_sol: Option<f64>,
    /// Open positions in USD.
    #[serde(default)]
    pub current_holdings_usd: Option<f64>,
    /// Median hold time of completed positions.
    #[serde(default)]
    pub median_hold_time_hours: Option<f64>,
    /// Typical entry market cap (USD).
    #[serde(default)]
    pub typical_entry_mcap_usd: Option<f64>,
    /// Most common entry bucket, opaque (`"10-20k"`, `"100k_to_250k"`).
    #[serde(default)]
    pub dominant_entry_mcap_bucket: Option<String>,
    /// Data quality.
    pub data_quality_tier: DataQualityTier,
    /// More than 60 unique tokens a day.
    pub is_bot: bool,
    /// Portfolio above 200 SOL or $20,000.
    pub is_whale: bool,
    /// ISO-8601.
    pub calculated_at: String,
    /// Where the data came from.
    #[serde(default)]
    pub provenance: Option<Provenance>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

crate::open_enum::open_enum! {
    /// Data quality tier (§7.12): `GOLD` 10+ completed cycles, `SILVER` 5–9, `BRONZE` 3–4,
    /// `INSUFFICIENT` < 3 (the wallet page explains them as rich/moderate/limited history).
    pub enum DataQualityTier {
        /// 10+ completed cycles.
        Gold = "GOLD",
        /// 5–9.
        Silver = "SILVER",
        /// 3–4.
        Bronze = "BRONZE",
        /// Fewer than 3.
        Insufficient = "INSUFFICIENT",
    }
}

crate::open_enum::open_enum! {
    /// Behaviour type (§7.12), classified from completed exit cycles. Older aliases
    /// (`SWING_TRADER`, `POSITION_TRADER`, `HOLDER`) map to the base types.
    pub enum BehaviorType {
        /// < 1 min median hold.
        Sniper = "SNIPER",
        /// 1–5 min.
        Scalper = "SCALPER",
        /// 5–30 min.
        Momentum = "MOMENTUM",
        /// 30 min – 4 h.
        Intraday = "INTRADAY",
        /// 4–24 h.
        DayTrader = "DAY_TRADER",
        /// 1–7 d.
        Swing = "SWING" | "SWING_TRADER",
        /// 7–30 d.
        Position = "POSITION" | "POSITION_TRADER",
        /// 30+ d.
        Hodler = "HODLER" | "HOLDER",
        /// Analysed but not classifiable (agent aggregate pseudo-type).
        Fresh = "FRESH",
    }
}

crate::open_enum::open_enum! {
    /// Compact behaviour code on the HUD. The full list is unpublished: letters seen are
    /// `W` swing, `M` momentum, `H` holder, `D` day trader, `S`, `SC`, `I`, `SW`, `P`, `?`;
    /// early docs used full words such as `SWING_TRADER` (kept as `Unknown`).
    pub enum BehaviorCode {
        /// Swing.
        Swing = "W",
        /// Momentum.
        Momentum = "M",
        /// Holder.
        Holder = "H",
        /// Day trader.
        DayTrader = "D",
        /// Sniper.
        Sniper = "S",
        /// Scalper.
        Scalper = "SC",
        /// Intraday.
        Intraday = "I",
        /// Swing (alternative code).
        SwingAlt = "SW",
        /// Position.
        Position = "P",
        /// Not enough data.
        NotEnoughData = "?",
    }
}

/// Where HUD data came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// e.g. `"alpha-node"`.
    #[serde(default)]
    pub provider: Option<String>,
    /// Node id.
    #[serde(default)]
    pub node_id: Option<String>,
    /// e.g. `"1.0.0"`.
    #[serde(default)]
    pub schema_version: Option<String>,
    /// ISO-8601.
    #[serde(default)]
    pub generated_at: Option<String>,
    /// `onchain`, `indexed_db`, `hybrid`.
    #[serde(default)]
    pub source: Option<String>,
    /// Covered time range.
    #[serde(default)]
    pub data_range: Option<DataRange>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A time range of analysed data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataRange {
    /// ISO-8601 start.
    #[serde(default)]
    pub from: Option<String>,
    /// ISO-8601 end.
    #[serde(default)]
    pub to: Option<String>,
}
