//! Sova Intel data types (`reference/sova-intel-api.md` §7).
//!
//! Decoding is tolerant: fields outside the documented required lists are `Option` with
//! `#[serde(default)]`, enums the docs show changing have an `Unknown(String)` arm, and unknown
//! fields are kept in `extra` maps so nothing the server adds is lost.

use std::collections::BTreeMap;

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

crate::open_enum::open_enum! {
    /// How a wallet sells out of positions (§7.5, §7.12).
    pub enum ExitPattern {
        /// Sells in tranches.
        PartialExit = "partial_exit",
        /// Sells the whole position at once.
        AllAtOnce = "all_at_once",
    }
}

// ---------------------------------------------------------------------------------------------
// Wallet profile (§7.2–§7.5)

/// `WalletProfileResponse` (§7.2): the 200 of `GET /intel/wallet/{address}`.
///
/// `hud` reuses [`WalletHud`], which only requires the 8-field subset early profiles carried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletProfileResponse {
    /// `"ok"`.
    pub status: String,
    /// The wallet.
    pub wallet_address: String,
    /// Headline figures.
    pub summary: WalletSummary,
    /// KOL identity; `null` for ordinary wallets (added 2026-03-23).
    #[serde(default)]
    pub kol: Option<KolIdentity>,
    /// The HUD signal (an 8-field subset before 2026-04-03, the full HUD after).
    #[serde(default)]
    pub hud: Option<WalletHud>,
    /// Trading behaviour.
    #[serde(default)]
    pub behavior: Option<WalletBehavior>,
    /// Profit and loss.
    #[serde(default)]
    pub pnl: Option<WalletPnl>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `WalletSummary` (§7.3). The field names are the documented ones; the short names of
/// skill.md (`tradeCount`, `solBalance`) are accepted as aliases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletSummary {
    /// ISO-8601 time of the last analysis (required in the OpenAPI spec, absent from
    /// skill.md's summary).
    #[serde(default)]
    pub last_analyzed_at: Option<String>,
    /// Realized PnL in SOL.
    pub realized_pnl: f64,
    /// Trades closed in profit (required in the OpenAPI spec, absent from skill.md's summary).
    #[serde(default)]
    pub profitable_trades_count: Option<u64>,
    /// All trades (`tradeCount` in skill.md).
    #[serde(alias = "tradeCount")]
    pub total_trades_count: u64,
    /// SOL balance (`solBalance` in skill.md); nullable.
    #[serde(default, alias = "solBalance")]
    pub current_sol_balance: Option<f64>,
    /// Known wallet type, e.g. `"cex_deposit"`, `"smart_money"`; nullable.
    #[serde(default)]
    pub known_type: Option<String>,
    /// Known wallet label; nullable.
    #[serde(default)]
    pub known_label: Option<String>,
    /// Fields not in the docs (e.g. `chain`, `nativeToken` on an EVM branch).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `KolIdentity` (§7.4): who a key-opinion-leader wallet belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KolIdentity {
    /// Display name, e.g. `"Ansem"`.
    pub name: String,
    /// Twitter/X profile URL; nullable.
    #[serde(default)]
    pub twitter: Option<String>,
    /// Telegram handle or URL; nullable.
    #[serde(default)]
    pub telegram: Option<String>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `WalletBehavior` (§7.5). Every field is nullable.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletBehavior {
    /// e.g. `"swing"` (opaque; the full list is unpublished).
    #[serde(default)]
    pub trading_style: Option<String>,
    /// e.g. `"medium"` (opaque).
    #[serde(default)]
    pub speed_category: Option<String>,
    /// Mean hold time of completed positions.
    #[serde(default)]
    pub avg_hold_time_hours: Option<f64>,
    /// Median hold time of completed positions.
    #[serde(default)]
    pub median_hold_time_hours: Option<f64>,
    /// Buy volume / sell volume.
    #[serde(default)]
    pub buy_sell_ratio: Option<f64>,
    /// `partial_exit` or `all_at_once`.
    #[serde(default)]
    pub exit_pattern: Option<ExitPattern>,
    /// Mean market cap at entry (USD).
    #[serde(default)]
    pub avg_entry_mcap_usd: Option<f64>,
    /// Typical entry market cap, outliers trimmed (USD).
    #[serde(default)]
    pub typical_entry_mcap_usd: Option<f64>,
    /// 25th percentile of entry market caps (USD).
    #[serde(default)]
    pub entry_mcap_p25_usd: Option<f64>,
    /// 75th percentile of entry market caps (USD).
    #[serde(default)]
    pub entry_mcap_p75_usd: Option<f64>,
    /// Most common entry bucket, opaque (`"10-20k"`, `"100k_to_250k"`).
    #[serde(default)]
    pub dominant_entry_mcap_bucket: Option<String>,
    /// 0–1, share of entries in that bucket.
    #[serde(default)]
    pub dominant_entry_mcap_bucket_share: Option<f64>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `pnl` block of a wallet profile.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletPnl {
    /// All-time figures; nullable.
    #[serde(default)]
    pub all_time: Option<PnlAllTime>,
    /// Fields not in the docs (other periods, if the server adds them).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PnlAllTime`: all-time profit and loss in SOL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PnlAllTime {
    /// Realized PnL (SOL).
    pub realized_pnl_sol: f64,
    /// Unrealized PnL of open positions (SOL).
    pub unrealized_pnl_sol: f64,
    /// Realized + unrealized (SOL).
    pub net_pnl_sol: f64,
    /// 0–1, share of trades closed in profit.
    pub win_rate: f64,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// ---------------------------------------------------------------------------------------------
// Per-token PnL (§5.3, §7.6)

/// `TokenPnlResponse` (§7.6): one page of per-token PnL rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPnlResponse {
    /// The rows of this page.
    pub data: Vec<TokenPnlRow>,
    /// Rows across all pages.
    pub total: u64,
    /// This page (from 1).
    pub page: u32,
    /// Rows per page.
    pub page_size: u32,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TokenPnlResponse {
    /// The number of pages, `ceil(total / pageSize)` (0 when the page size is 0).
    pub fn page_count(&self) -> u64 {
        match u64::from(self.page_size) {
            0 => 0,
            size => self.total.div_ceil(size),
        }
    }

    /// Whether a page follows this one.
    pub fn has_next_page(&self) -> bool {
        u64::from(self.page) < self.page_count()
    }
}

/// `TokenPnlRow` (§7.6): PnL of one token for the wallet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPnlRow {
    /// The token mint.
    pub token_address: String,
    /// Realized PnL (SOL).
    pub realized_pnl_sol: f64,
    /// Unrealized PnL (SOL).
    pub unrealized_pnl_sol: f64,
    /// Return multiplier: 1.5 means +50%.
    pub roi: f64,
    /// SOL spent buying the token.
    pub total_sol_spent: f64,
    /// 0–1.
    pub win_rate: f64,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Sort key of `GET /intel/wallet/{address}/tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TokenSortBy {
    /// `netSolProfitLoss` (the server's default).
    #[default]
    NetSolProfitLoss,
    /// `realizedPnlSol`.
    RealizedPnlSol,
    /// `roi`.
    Roi,
    /// `totalSolSpent`.
    TotalSolSpent,
}

impl TokenSortBy {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSortBy::NetSolProfitLoss => "netSolProfitLoss",
            TokenSortBy::RealizedPnlSol => "realizedPnlSol",
            TokenSortBy::Roi => "roi",
            TokenSortBy::TotalSolSpent => "totalSolSpent",
        }
    }
}

/// Sort direction of `GET /intel/wallet/{address}/tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortOrder {
    /// `ASC`.
    Asc,
    /// `DESC` (the server's default).
    #[default]
    Desc,
}

impl SortOrder {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Asc => "ASC",
            SortOrder::Desc => "DESC",
        }
    }
}

/// `TokenPnlParams`: the query of `GET /intel/wallet/{address}/tokens`. Unset values are not
/// sent (the server defaults are page 1, 20 rows, `netSolProfitLoss`, `DESC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TokenPnlParams {
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Rows per page, 1 to 100.
    pub page_size: Option<u32>,
    /// Sort key.
    pub sort_by: Option<TokenSortBy>,
    /// Sort direction.
    pub sort_order: Option<SortOrder>,
}

impl TokenPnlParams {
    /// The largest page size the API accepts.
    pub const MAX_PAGE_SIZE: u32 = 100;

    /// Sets the page (from 1).
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    /// Sets the page size (1 to 100).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Sets the sort key.
    pub fn sort_by(mut self, by: TokenSortBy) -> Self {
        self.sort_by = Some(by);
        self
    }

    /// Sets the sort direction.
    pub fn sort_order(mut self, order: SortOrder) -> Self {
        self.sort_order = Some(order);
        self
    }

    /// The query pairs, in documented order, for the values that are set.
    pub fn to_query(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        if let Some(p) = self.page {
            q.push(("page".to_owned(), p.to_string()));
        }
        if let Some(s) = self.page_size {
            q.push(("pageSize".to_owned(), s.to_string()));
        }
        if let Some(b) = self.sort_by {
            q.push(("sortBy".to_owned(), b.as_str().to_owned()));
        }
        if let Some(o) = self.sort_order {
            q.push(("sortOrder".to_owned(), o.as_str().to_owned()));
        }
        q
    }
}

// ---------------------------------------------------------------------------------------------
// Batch HUD (§5.4)

/// `BatchHudResponse` (§5.4): the 200 of `POST /intel/wallets/batch-hud`.
///
/// One type for both documented shapes: the latest `{huds, queued, skipped}` and the earlier
/// `{huds, notFound, calculatedAt}`. Every list defaults to empty, so either shape decodes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchHudResponse {
    /// Wallets with fresh data, by address. Entries may carry only the 8-field HUD subset.
    #[serde(default)]
    pub huds: BTreeMap<String, WalletHud>,
    /// Wallets with no data for which a flash analysis was queued (latest docs): poll the
    /// jobs, then call batch-hud again (5 credits per call).
    #[serde(default)]
    pub queued: Vec<BatchHudQueuedEntry>,
    /// Wallets with no result that should not be retried (system/program wallets, invalid).
    #[serde(default)]
    pub skipped: Vec<String>,
    /// Wallets with no data that were not analysed (earlier docs): fetch them one by one.
    #[serde(default)]
    pub not_found: Vec<String>,
    /// ISO-8601 time of the answer (earlier docs).
    #[serde(default)]
    pub calculated_at: Option<String>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl BatchHudResponse {
    /// Whether every requested wallet has a HUD (nothing queued, skipped or not found).
    pub fn is_complete(&self) -> bool {
        self.queued.is_empty() && self.skipped.is_empty() && self.not_found.is_empty()
    }
}

/// `BatchHudQueuedEntry`: a wallet of a batch-hud call whose analysis was queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchHudQueuedEntry {
    /// The wallet.
    pub wallet_address: String,
    /// The job to poll.
    pub job_id: String,
    /// Host-relative status URL (already contains `/api/v1`).
    #[serde(default)]
    pub monitoring_url: Option<String>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// ---------------------------------------------------------------------------------------------
// Holder profiles (§7.7, §7.8)

crate::open_enum::open_enum! {
    /// What a holder-profiles result was computed for.
    pub enum ProfilesMode {
        /// The top holders of a token.
        Token = "token",
        /// A list of wallets.
        Wallet = "wallet",
    }
}

/// `HolderProfilesResult` (§7.7): the full result of `POST /intel/token/{mint}/holders`,
/// read from `holder-profiles:result:{jobId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HolderProfilesResult {
    /// `token` or `wallet`.
    pub mode: ProfilesMode,
    /// The token mint; nullable.
    #[serde(default)]
    pub token_mint: Option<String>,
    /// One profile per holder, by rank.
    pub profiles: Vec<HolderProfile>,
    /// Run statistics.
    pub metadata: HolderProfilesMetadata,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `metadata` block of a [`HolderProfilesResult`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HolderProfilesMetadata {
    /// `topN` as requested.
    pub total_holders_requested: u64,
    /// Holders actually analysed.
    pub total_holders_analyzed: u64,
    /// Wall time of the run (ms).
    pub total_processing_time_ms: u64,
    /// Mean time per wallet (ms).
    pub avg_processing_time_per_wallet_ms: f64,
    /// Holders whose analysis failed.
    #[serde(default)]
    pub failed_holders: Option<u64>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `HolderProfile` (§7.7): one holder in the full shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HolderProfile {
    /// The holder's wallet.
    pub wallet_address: String,
    /// 1 = largest holder.
    pub rank: u32,
    /// Percent of circulating supply.
    pub supply_percent: f64,
    /// Behaviour type; `null` means fewer than 2 completed exits (not an error).
    #[serde(default)]
    pub behavior_type: Option<BehaviorType>,
    /// `partial_exit` or `all_at_once`; nullable.
    #[serde(default)]
    pub exit_pattern: Option<ExitPattern>,
    /// Median hold time; nullable.
    #[serde(default)]
    pub median_hold_time_hours: Option<f64>,
    /// Mean hold time; nullable.
    #[serde(default)]
    pub avg_hold_time_hours: Option<f64>,
    /// Share of positions held under 5 minutes.
    #[serde(default)]
    pub daily_flip_ratio: Option<f64>,
    /// Data quality.
    pub data_quality_tier: DataQualityTier,
    /// 0–1.
    pub confidence: f64,
    /// Completed buy→sell cycles.
    pub completed_cycle_count: u64,
    /// Value of the holding (SOL); nullable.
    #[serde(default)]
    pub token_holding_value_sol: Option<f64>,
    /// All-time realized PnL of the wallet (SOL); nullable.
    #[serde(default)]
    pub wallet_realized_pnl_sol: Option<f64>,
    /// PnL of the wallet (SOL); nullable.
    #[serde(default)]
    pub wallet_pnl_sol: Option<f64>,
    /// Exit rate.
    #[serde(default)]
    pub exit_rate: Option<f64>,
    /// Distinct tokens the wallet traded.
    #[serde(default)]
    pub total_tokens_traded: Option<u64>,
    /// Known wallet type (e.g. `BURN`, `LP`, `EXCHANGE`); nullable.
    #[serde(default)]
    pub known_type: Option<String>,
    /// Known wallet label, explains a skip; nullable.
    #[serde(default)]
    pub known_label: Option<String>,
    /// True for known system wallets (burn, LP, …) that were not analysed; nullable.
    #[serde(default)]
    pub analysis_skipped: Option<bool>,
    /// SOL balance; nullable.
    #[serde(default)]
    pub sol_balance: Option<f64>,
    /// Current holdings (element shape undocumented, kept as JSON).
    #[serde(default)]
    pub current_holdings: Option<Vec<Value>>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `AgentHolderProfilesResult` (§7.8): the compact result of
/// `POST /intel/token/{mint}/holders/agent`, read from `holder-profiles:agent:result:{jobId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentHolderProfilesResult {
    /// Token-level summary.
    pub aggregate: AgentHolderAggregate,
    /// One compact profile per holder.
    #[serde(default)]
    pub profiles: Vec<AgentHolderProfile>,
    /// Run information.
    #[serde(default)]
    pub metadata: Option<AgentHolderMetadata>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `AgentHolderAggregate`: the summary that comes first in the agent shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentHolderAggregate {
    /// Holders requested.
    pub total_holders: u64,
    /// Holders analysed.
    pub analyzed_holders: u64,
    /// Supply % of the top non-skipped holder (absent in some live answers).
    #[serde(default)]
    pub top1_supply_pct: Option<f64>,
    /// Supply % of the top 5 holders.
    #[serde(default)]
    pub top5_supply_pct: Option<f64>,
    /// Holders per behaviour type, sorted by count (includes the pseudo-type `FRESH`).
    #[serde(default)]
    pub behavior_distribution: Vec<BehaviorShare>,
    /// Mean all-time realized PnL of the analysed holders (SOL); `None` when the server sends
    /// `null` (a mean over nothing).
    #[serde(default)]
    pub avg_wallet_pnl_sol: Option<f64>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One `behaviorDistribution` entry of an [`AgentHolderAggregate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BehaviorShare {
    /// The behaviour type (`FRESH` = analysed but not classifiable).
    #[serde(default)]
    pub behavior_type: Option<BehaviorType>,
    /// Holders of that type.
    pub count: u64,
    /// Their share of supply (%).
    #[serde(default)]
    pub supply_pct: Option<f64>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `AgentHolderProfile`: one holder in the compact agent shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentHolderProfile {
    /// The holder's wallet.
    pub wallet_address: String,
    /// 1 = largest holder.
    pub rank: u32,
    /// Percent of circulating supply.
    pub supply_percent: f64,
    /// Behaviour type; `null` = fewer than 2 completed exits.
    #[serde(default)]
    pub behavior_type: Option<BehaviorType>,
    /// Exit pattern; nullable.
    #[serde(default)]
    pub exit_pattern: Option<ExitPattern>,
    /// Median hold time; nullable.
    #[serde(default)]
    pub median_hold_time_hours: Option<f64>,
    /// Data quality.
    pub data_quality_tier: DataQualityTier,
    /// 0–1.
    pub confidence: f64,
    /// Completed buy→sell cycles.
    pub completed_cycle_count: u64,
    /// PnL of the wallet (SOL); nullable.
    #[serde(default)]
    pub wallet_pnl_sol: Option<f64>,
    /// SOL balance; nullable.
    #[serde(default)]
    pub sol_balance: Option<f64>,
    /// What the wallet holds, summarized (replaces `currentHoldings`).
    #[serde(default)]
    pub holdings_summary: Option<AgentHoldingsSummary>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `AgentHoldingsSummary`: a holder's open positions, summarized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentHoldingsSummary {
    /// Open positions.
    pub total_positions: u64,
    /// Their value (SOL).
    pub total_current_holdings_value_sol: f64,
    /// The largest positions (up to 5).
    #[serde(default)]
    pub top_holdings: Vec<TopHolding>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One `topHoldings` entry of an [`AgentHoldingsSummary`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopHolding {
    /// The token mint.
    pub token_address: String,
    /// Value of the position (SOL).
    pub value_sol: f64,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `metadata` block of an [`AgentHolderProfilesResult`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentHolderMetadata {
    /// The token mint.
    #[serde(default)]
    pub token_mint: Option<String>,
    /// `topN` as requested.
    #[serde(default)]
    pub total_holders_requested: Option<u64>,
    /// Holders actually analysed.
    #[serde(default)]
    pub total_holders_analyzed: Option<u64>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// ---------------------------------------------------------------------------------------------
// Similarity (§7.10, §7.11)

/// `SimilarityResult` (§7.10): the full result of `POST /intel/wallets/similarity`, read from
/// `similarity:result:{requestId}`. The spec says only "schema varies by wallet set", so every
/// field is optional or defaults to empty.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimilarityResult {
    /// e.g. `"combined"`.
    #[serde(default)]
    pub vector_type_used: Option<String>,
    /// Metrics over all pairs.
    #[serde(default)]
    pub global_metrics: Option<SimilarityGlobalMetrics>,
    /// One entry per wallet pair.
    #[serde(default)]
    pub pairwise_similarities: Vec<SimilarityPairResult>,
    /// Distinct tokens per wallet, by address.
    #[serde(default)]
    pub unique_tokens_per_wallet: BTreeMap<String, UniqueTokenCounts>,
    /// Known-wallet labels, by address.
    #[serde(default)]
    pub wallet_labels: BTreeMap<String, WalletLabel>,
    /// Fields not in the docs (e.g. clusters).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `SimilarityGlobalMetrics`: metrics over all pairs of a similarity run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimilarityGlobalMetrics {
    /// Mean similarity over all pairs; `None` when absent or `null`.
    #[serde(default)]
    pub average_similarity: Option<f64>,
    /// The most similar pairs.
    #[serde(default)]
    pub most_similar_pairs: Vec<SimilarPair>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One `mostSimilarPairs` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimilarPair {
    /// First wallet.
    pub wallet_a: String,
    /// Second wallet.
    pub wallet_b: String,
    /// Similarity score.
    #[serde(default)]
    pub similarity_score: Option<f64>,
    /// Tokens both wallets traded.
    #[serde(default)]
    pub shared_token_count: Option<u64>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `SimilarityPairResult`: the similarity of one wallet pair (full shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimilarityPairResult {
    /// First wallet.
    pub wallet_a: String,
    /// Second wallet.
    pub wallet_b: String,
    /// Jaccard overlap of the token sets.
    #[serde(default)]
    pub binary_score: Option<f64>,
    /// Overlap weighted by position size.
    #[serde(default)]
    pub capital_score: Option<f64>,
    /// The shared tokens.
    #[serde(default)]
    pub shared_tokens: Vec<SharedToken>,
    /// Shared tokens counted by the binary measure.
    #[serde(default)]
    pub binary_shared_token_count: Option<u64>,
    /// Shared tokens counted by the capital measure.
    #[serde(default)]
    pub capital_shared_token_count: Option<u64>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One `sharedTokens` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedToken {
    /// The token mint.
    pub mint: String,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One `uniqueTokensPerWallet` entry: distinct tokens by measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UniqueTokenCounts {
    /// Tokens counted by the binary measure.
    #[serde(default)]
    pub binary: u64,
    /// Tokens counted by the capital measure.
    #[serde(default)]
    pub capital: u64,
}

/// One `walletLabels` entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletLabel {
    /// Known wallet type; nullable.
    #[serde(default)]
    pub known_type: Option<String>,
    /// Known wallet label; nullable.
    #[serde(default)]
    pub known_label: Option<String>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `AgentSimilarityResult` (§7.11): the compact result of
/// `POST /intel/wallets/similarity/agent`, read from `similarity:agent:result:{requestId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentSimilarityResult {
    /// 0–1, weighted mean of the meaningful pairs' scores; higher = more coordinated.
    /// `None` when the server sends `null` (no meaningful pair).
    #[serde(default)]
    pub coordination_score: Option<f64>,
    /// Pairs that passed the noise filter (dropped: score < 0.15 **and** < 20 shared tokens).
    #[serde(default)]
    pub pairs: Vec<AgentSimilarityPair>,
    /// Global metrics (absent in some live answers).
    #[serde(default)]
    pub global_metrics: Option<SimilarityGlobalMetrics>,
    /// Counts.
    #[serde(default)]
    pub metadata: Option<AgentSimilarityMetadata>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `AgentSimilarityPair`: one meaningful wallet pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentSimilarityPair {
    /// First wallet.
    pub wallet_a: String,
    /// Second wallet.
    pub wallet_b: String,
    /// binaryScore × 0.6 + capitalScore × 0.4.
    pub similarity_score: f64,
    /// Tokens both wallets traded.
    pub shared_token_count: u64,
    /// Tokens in walletA's portfolio (absent in some live answers).
    #[serde(default)]
    pub portfolio_size_a: Option<u64>,
    /// Tokens in walletB's portfolio (absent in some live answers).
    #[serde(default)]
    pub portfolio_size_b: Option<u64>,
    /// Share of walletA's portfolio shared with walletB.
    #[serde(default)]
    pub overlap_pct_a: Option<f64>,
    /// Share of walletB's portfolio shared with walletA.
    #[serde(default)]
    pub overlap_pct_b: Option<f64>,
    /// Why the pair stands out, if it does.
    #[serde(default)]
    pub flag: Option<PairFlag>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

crate::open_enum::open_enum! {
    /// The `flag` of an [`AgentSimilarityPair`].
    pub enum PairFlag {
        /// Similarity score above 0.7.
        HighSimilarity = "HIGH_SIMILARITY",
        /// More than 50% overlap or more than 20 shared tokens.
        HighOverlap = "HIGH_OVERLAP",
        /// Both.
        HighSimilarityAndOverlap = "HIGH_SIMILARITY_AND_OVERLAP",
    }
}

/// The `metadata` block of an [`AgentSimilarityResult`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentSimilarityMetadata {
    /// Wallets analysed.
    #[serde(default)]
    pub wallets_analyzed: Option<u64>,
    /// n(n−1)/2.
    #[serde(default)]
    pub total_pairs: Option<u64>,
    /// Pairs that passed the noise filter.
    #[serde(default)]
    pub meaningful_pairs: Option<u64>,
    /// Pairs that received a flag.
    #[serde(default)]
    pub flagged_pairs: Option<u64>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// ---------------------------------------------------------------------------------------------
// Async jobs (§5.10, §6, §7.9)

/// `JobAcceptedResponse` (§7.9): the 202 of `POST /intel/token/{mint}/holders` and
/// `POST /intel/wallets/similarity`.
///
/// The result key is built from **`jobId` for holders** and **`requestId` for similarity**;
/// see [`JobAccepted::holder_profiles_handle`] and [`JobAccepted::similarity_handle`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobAccepted {
    /// `"queued"`.
    pub status: String,
    /// The job to poll with `GET /jobs/{jobId}`.
    pub job_id: String,
    /// The request id (the similarity result key is built from it).
    pub request_id: String,
    /// Host-relative status URL (already contains `/api/v1`).
    #[serde(default)]
    pub monitoring_url: Option<String>,
    /// A server-returned full result key, if a later API version sends one.
    #[serde(default)]
    pub result_key: Option<String>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `HolderProfilesAgentJobAcceptedResponse`: the 202 of
/// `POST /intel/token/{mint}/holders/agent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HolderProfilesAgentJobAccepted {
    /// `"queued"`.
    pub status: String,
    /// The token mint.
    #[serde(default)]
    pub token_mint: Option<String>,
    /// Holders requested.
    #[serde(default)]
    pub top_n: Option<u32>,
    /// The job to poll.
    pub job_id: String,
    /// The request id.
    pub request_id: String,
    /// Host-relative status URL (already contains `/api/v1`).
    #[serde(default)]
    pub monitoring_url: Option<String>,
    /// Key of the full result, `holder-profiles:result:{jobId}`.
    #[serde(default)]
    pub result_key: Option<String>,
    /// Key of the compact result, `holder-profiles:agent:result:{jobId}`.
    #[serde(default)]
    pub agent_result_key: Option<String>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `SimilarityAgentJobAcceptedResponse`: the 202 of `POST /intel/wallets/similarity/agent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimilarityAgentJobAccepted {
    /// `"queued"`.
    pub status: String,
    /// The job to poll.
    pub job_id: String,
    /// The request id (both result keys are built from it).
    pub request_id: String,
    /// Wallets submitted.
    #[serde(default)]
    pub wallet_count: Option<u32>,
    /// Host-relative status URL (already contains `/api/v1`).
    #[serde(default)]
    pub monitoring_url: Option<String>,
    /// Key of the full result, `similarity:result:{requestId}`.
    #[serde(default)]
    pub result_key: Option<String>,
    /// Key of the compact result, `similarity:agent:result:{requestId}`.
    #[serde(default)]
    pub agent_result_key: Option<String>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `DeepJobAcceptedResponse`: the 202 of `POST /intel/token/{mint}/holders/deep`, a bundle of
/// a holder-profiles job and a similarity job the server queues when the first one finishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeepJobAccepted {
    /// `"queued"`.
    pub status: String,
    /// The token mint.
    #[serde(default)]
    pub token_mint: Option<String>,
    /// Holders requested.
    #[serde(default)]
    pub top_n: Option<u32>,
    /// Human text.
    #[serde(default)]
    pub message: Option<String>,
    /// The holder-profiles job.
    pub holder_profiles: DeepHolderProfilesJob,
    /// The similarity job (not started yet).
    pub similarity: DeepSimilarityJob,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `holderProfiles` block of a [`DeepJobAccepted`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeepHolderProfilesJob {
    /// The job to poll first.
    pub job_id: String,
    /// The request id.
    #[serde(default)]
    pub request_id: Option<String>,
    /// Host-relative status URL (already contains `/api/v1`).
    #[serde(default)]
    pub monitoring_url: Option<String>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `similarity` block of a [`DeepJobAccepted`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeepSimilarityJob {
    /// Always `null` at acceptance: the job does not exist yet. Do not depend on it.
    #[serde(default)]
    pub job_id: Option<String>,
    /// The request id the result key is built from.
    pub request_id: String,
    /// `similarity:result:{requestId}`: poll it; 404 means still running.
    #[serde(default)]
    pub result_key: Option<String>,
    /// Human text.
    #[serde(default)]
    pub message: Option<String>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

crate::open_enum::open_enum! {
    /// The `status` of `GET /jobs/{jobId}` as sent. [`JobStatus::state`] reduces it to the
    /// [`crate::jobs::JobState`] the poll decision uses.
    pub enum JobPhase {
        /// Queued, not started.
        Waiting = "waiting",
        /// Running.
        Active = "active",
        /// Scheduled for later (e.g. a retry).
        Delayed = "delayed",
        /// Done: fetch the result (POST jobs) or call the GET again (GET fallback).
        Completed = "completed",
        /// Failed: retry once, then report.
        Failed = "failed",
        /// Paused (older backend).
        Paused = "paused",
    }
}

impl JobPhase {
    /// `completed` or `failed`: polling can stop.
    pub fn is_terminal(&self) -> bool {
        matches!(self, JobPhase::Completed | JobPhase::Failed)
    }
}

/// `JobStatus`: the 200 of `GET /jobs/{jobId}`.
///
/// Unauthenticated calls get `status` and `progress`; other fields an authenticated call may
/// carry (`id`, `attempts`, `error`, timestamps, …) are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    /// The state.
    pub status: JobPhase,
    /// Progress: a percentage, or an object on some backends.
    #[serde(default)]
    pub progress: Option<JobProgress>,
    /// Fields not in the docs.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl JobStatus {
    /// Progress as a percentage, when the server sent a number.
    pub fn percent(&self) -> Option<f64> {
        match &self.progress {
            Some(JobProgress::Percent(p)) => Some(*p),
            _ => None,
        }
    }

    /// The failure text, when the server sent one (`error`, `failedReason` or `message`).
    pub fn error_message(&self) -> Option<&str> {
        ["error", "failedReason", "message"]
            .iter()
            .find_map(|k| self.extra.get(*k).and_then(Value::as_str))
    }

    /// The state the poll decision ([`crate::jobs::Poller`]) works on: `completed`,
    /// `failed` (with [`JobStatus::error_message`]) or pending. Unknown statuses go through
    /// [`crate::jobs::JobState::from_status`].
    pub fn state(&self) -> crate::jobs::JobState {
        use crate::jobs::JobState;
        match &self.status {
            JobPhase::Completed => JobState::Completed,
            JobPhase::Failed => JobState::Failed(self.error_message().map(str::to_owned)),
            JobPhase::Unknown(s) => match JobState::from_status(s) {
                JobState::Failed(_) => JobState::Failed(self.error_message().map(str::to_owned)),
                other => other,
            },
            _ => JobState::Pending,
        }
    }
}

/// The `progress` of a [`JobStatus`]: a number 0–100 per the docs, an object on some backends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JobProgress {
    /// 0–100.
    Percent(f64),
    /// Anything else, kept as JSON.
    Other(Value),
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn open_enums_keep_unknown_values() {
        let v: Vec<ExitPattern> =
            serde_json::from_value(json!(["partial_exit", "all_at_once", "drip"])).unwrap();
        assert_eq!(
            v,
            [
                ExitPattern::PartialExit,
                ExitPattern::AllAtOnce,
                ExitPattern::Unknown("drip".into())
            ]
        );
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            json!(["partial_exit", "all_at_once", "drip"])
        );
        let f: PairFlag = serde_json::from_value(json!("HIGH_OVERLAP")).unwrap();
        assert_eq!(f, PairFlag::HighOverlap);
        assert_eq!(
            PairFlag::parse("NEW_FLAG"),
            PairFlag::Unknown("NEW_FLAG".into())
        );
        assert_eq!(
            JobPhase::parse("prioritized"),
            JobPhase::Unknown("prioritized".into())
        );
        assert!(!JobPhase::parse("prioritized").is_terminal());
        assert_eq!(ProfilesMode::parse("wallet"), ProfilesMode::Wallet);
        assert_eq!(
            BehaviorType::parse("POSITION_TRADER"),
            BehaviorType::Position
        );
        assert_eq!(BehaviorType::parse("HOLDER").as_str(), "HODLER");
        assert_eq!(BehaviorCode::parse("SWING_TRADER").as_str(), "SWING_TRADER");
    }

    #[test]
    fn batch_hud_accepts_an_empty_object() {
        let r: BatchHudResponse = serde_json::from_value(json!({})).unwrap();
        assert!(r.huds.is_empty() && r.is_complete());
        let r: BatchHudResponse =
            serde_json::from_value(json!({"huds": {}, "notFound": ["a"]})).unwrap();
        assert!(!r.is_complete());
    }

    #[test]
    fn summary_aliases_and_extra_fields() {
        let s: WalletSummary = serde_json::from_value(
            json!({"realizedPnl": 1, "tradeCount": 3, "solBalance": null, "chain": "solana"}),
        )
        .unwrap();
        assert_eq!(s.total_trades_count, 3);
        assert_eq!(s.realized_pnl, 1.0);
        assert_eq!(s.current_sol_balance, None);
        assert_eq!(s.extra.get("chain"), Some(&json!("solana")));
        // Encoding uses the documented names.
        let out = serde_json::to_value(&s).unwrap();
        assert_eq!(out["totalTradesCount"], 3);
        assert!(out.get("tradeCount").is_none());
    }

    #[test]
    fn job_progress_number_or_object() {
        let s: JobStatus =
            serde_json::from_value(json!({"status": "active", "progress": 12.5})).unwrap();
        assert_eq!(s.percent(), Some(12.5));
        let s: JobStatus =
            serde_json::from_value(json!({"status": "active", "progress": {"step": 2}})).unwrap();
        assert_eq!(s.progress, Some(JobProgress::Other(json!({"step": 2}))));
        let s: JobStatus =
            serde_json::from_value(json!({"status": "waiting", "progress": null})).unwrap();
        assert_eq!(s.progress, None);
        assert_eq!(s.error_message(), None);
    }

    #[test]
    fn null_means_in_agent_results_decode() {
        let r: AgentSimilarityResult =
            serde_json::from_value(json!({"coordinationScore": null, "pairs": []})).unwrap();
        assert_eq!(r.coordination_score, None);
        let a: AgentHolderAggregate = serde_json::from_value(
            json!({"totalHolders": 0, "analyzedHolders": 0, "avgWalletPnlSol": null}),
        )
        .unwrap();
        assert_eq!(a.avg_wallet_pnl_sol, None);
        assert!(a.behavior_distribution.is_empty());
    }

    #[test]
    fn token_pnl_pages() {
        let r = TokenPnlResponse {
            data: vec![],
            total: 0,
            page: 1,
            page_size: 20,
            extra: Map::new(),
        };
        assert_eq!(r.page_count(), 0);
        assert!(!r.has_next_page());
        let r = TokenPnlResponse {
            total: 40,
            page_size: 20,
            page: 2,
            ..r
        };
        assert_eq!(r.page_count(), 2);
        assert!(!r.has_next_page());
        let r = TokenPnlResponse { page_size: 0, ..r };
        assert_eq!(r.page_count(), 0);
    }
}
