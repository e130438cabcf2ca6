//! Sova Intel: every documented endpoint, API keys with credits, jobs and results.

pub(crate) mod data;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use crate::billing::{self, BASE_UNITS_PER_CREDIT, Bill, Outcome};
use crate::respond::{Ctx, header_str, intel_error, json_response, query_pairs};
use crate::rng::Rng;
use crate::state::{Shared, lock};

/// Prefix of every Intel route.
pub(crate) const PREFIX: &str = "/api/v1";

/// The documented price list: (method, path, credits).
pub(crate) const PRICES: [(&str, &str, u64); 9] = [
    ("GET", "/intel/wallet/{address}", 5),
    ("GET", "/intel/wallet/{address}/hud", 1),
    ("GET", "/intel/wallet/{address}/tokens", 3),
    ("POST", "/intel/wallets/batch-hud", 5),
    ("POST", "/intel/token/{mint}/holders", 20),
    ("POST", "/intel/token/{mint}/holders/agent", 20),
    ("POST", "/intel/wallets/similarity", 20),
    ("POST", "/intel/wallets/similarity/agent", 20),
    ("POST", "/intel/token/{mint}/holders/deep", 35),
];

/// Known system and program addresses: answered with 422 (`skipReason: known-wallet`).
const KNOWN_WALLETS: [&str; 12] = [
    "11111111111111111111111111111111",
    "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
    "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb",
    "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL",
    "ComputeBudget111111111111111111111111111111",
    "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr",
    "Vote111111111111111111111111111111111111111",
    "Stake11111111111111111111111111111111111111",
    "SysvarRent111111111111111111111111111111111",
    "SysvarC1ock11111111111111111111111111111111",
    "1nc1nerator11111111111111111111111111111111",
    "5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1",
];

#[derive(Debug, Clone)]
struct ApiKey {
    credits: u64,
}

#[derive(Debug, Clone)]
struct Job {
    id: String,
    name: &'static str,
    created_ms: i64,
    ready_ms: i64,
    wallet: Option<String>,
    /// Fails instead of completing ([`crate::SandboxBuilder::fail_jobs`]).
    fails: bool,
}

#[derive(Debug, Clone)]
struct StoredResult {
    job_id: String,
    ready_ms: i64,
    value: Value,
}

/// Keys, jobs, results and the warm-wallet set.
pub(crate) struct IntelStore {
    keys: HashMap<String, ApiKey>,
    jobs: HashMap<String, Job>,
    results: HashMap<String, StoredResult>,
    analyzed: HashMap<String, i64>,
    flash: HashMap<String, String>,
    rng: Rng,
    /// How many of the next POST jobs fail.
    pub(crate) fail_next: u32,
}

impl IntelStore {
    pub(crate) fn new(seed: u64) -> IntelStore {
        IntelStore {
            keys: HashMap::new(),
            jobs: HashMap::new(),
            results: HashMap::new(),
            analyzed: HashMap::new(),
            flash: HashMap::new(),
            rng: Rng::keyed(seed, "intel-store"),
            fail_next: 0,
        }
    }

    /// Creates a key `ak_<32 hex>` with `credits`.
    pub(crate) fn create_key(&mut self, credits: u64) -> String {
        let key = format!("ak_{}", self.rng.hex(16));
        self.keys.insert(key.clone(), ApiKey { credits });
        key
    }

    /// Adds a caller-chosen key (must look like `ak_<hex>`).
    pub(crate) fn insert_key(&mut self, key: &str, credits: u64) -> bool {
        if !valid_key_format(key) {
            return false;
        }
        self.keys.insert(key.to_owned(), ApiKey { credits });
        true
    }

    /// Credits left on a key.
    pub(crate) fn key_credits(&self, key: &str) -> Option<u64> {
        self.keys.get(key).map(|k| k.credits)
    }

    /// Sets a key's credits; false when the key is unknown.
    pub(crate) fn set_credits(&mut self, key: &str, credits: u64) -> bool {
        match self.keys.get_mut(key) {
            Some(k) => {
                k.credits = credits;
                true
            }
            None => false,
        }
    }

    /// Deducts credits; false when there are not enough.
    pub(crate) fn charge(&mut self, key: &str, credits: u64) -> bool {
        match self.keys.get_mut(key) {
            Some(k) if k.credits >= credits => {
                k.credits -= credits;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn remove_jobs(&mut self, ids: &[String]) {
        for id in ids {
            self.jobs.remove(id);
        }
        self.results.retain(|_, r| !ids.contains(&r.job_id));
    }

    fn new_id(&mut self, prefix: &str) -> String {
        format!("{prefix}-{}", self.rng.hex(6))
    }

    fn add_job(
        &mut self,
        name: &'static str,
        prefix: &str,
        now: i64,
        ready: i64,
        wallet: Option<String>,
    ) -> String {
        let id = self.new_id(prefix);
        self.jobs.insert(
            id.clone(),
            Job {
                id: id.clone(),
                name,
                created_ms: now,
                ready_ms: ready,
                wallet,
                fails: false,
            },
        );
        id
    }

    fn add_result(&mut self, key: String, job_id: &str, ready_ms: i64, value: Value) {
        self.results.insert(
            key,
            StoredResult {
                job_id: job_id.to_owned(),
                ready_ms,
                value,
            },
        );
    }

    /// Makes `job_id` fail when it would complete, if a failure is pending
    /// ([`crate::SandboxBuilder::fail_jobs`]): its results are never stored.
    fn maybe_fail(&mut self, job_id: &str) {
        if self.fail_next == 0 {
            return;
        }
        self.fail_next -= 1;
        if let Some(j) = self.jobs.get_mut(job_id) {
            j.fails = true;
        }
        self.results.retain(|_, r| r.job_id != job_id);
    }

    /// The pending or new flash job of a cold wallet.
    fn flash_job(&mut self, wallet: &str, now: i64, duration_ms: i64) -> (String, i64) {
        if let Some(id) = self.flash.get(wallet)
            && let Some(j) = self.jobs.get(id)
        {
            return (j.id.clone(), j.ready_ms);
        }
        let id = self.add_job(
            "flash-analysis",
            "intel-flash",
            now,
            now + duration_ms,
            Some(wallet.to_owned()),
        );
        self.flash.insert(wallet.to_owned(), id.clone());
        (id, now + duration_ms)
    }

    /// Marks a wallet as analyzed.
    pub(crate) fn warm(&mut self, wallet: &str, now: i64) {
        self.analyzed.entry(wallet.to_owned()).or_insert(now);
    }

    /// A new job answered by a (faked) 202 fallback, ready after `duration_ms`: a wallet's
    /// analysis (accepted as `X-Prepaid-Job-Id` for that wallet) or a generic job. Returns
    /// its id.
    pub(crate) fn fallback_job(
        &mut self,
        wallet: Option<&str>,
        now: i64,
        duration_ms: i64,
    ) -> String {
        let ready = now.saturating_add(duration_ms.max(0));
        match wallet {
            Some(w) => self.add_job(
                "flash-analysis",
                "intel-flash",
                now,
                ready,
                Some(w.to_owned()),
            ),
            None => self.add_job("queued-request", "intel-job", now, ready, None),
        }
    }

    /// Whether a wallet has data; completes finished flash jobs.
    fn is_warm(&mut self, wallet: &str, now: i64) -> bool {
        if self.analyzed.contains_key(wallet) {
            return true;
        }
        if let Some(id) = self.flash.get(wallet)
            && let Some(j) = self.jobs.get(id)
            && j.ready_ms <= now
        {
            self.analyzed.insert(wallet.to_owned(), now);
            self.flash.remove(wallet);
            return true;
        }
        false
    }
}

/// Whether `key` looks like `ak_<hex>`.
pub(crate) fn valid_key_format(key: &str) -> bool {
    key.strip_prefix("ak_").is_some_and(|h| {
        !h.is_empty() && h.len() <= 128 && h.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

fn valid_address(a: &str) -> bool {
    (32..=44).contains(&a.len())
        && bs58::decode(a)
            .into_vec()
            .map(|b| b.len() == 32)
            .unwrap_or(false)
}

fn known_wallet(a: &str) -> bool {
    KNOWN_WALLETS.contains(&a) || a.starts_with("Sysvar")
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// The Intel router (mounted under `/api/v1`).
pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/intel/wallet/{address}", get(wallet_profile))
        .route("/intel/wallet/{address}/hud", get(wallet_hud))
        .route("/intel/wallet/{address}/tokens", get(wallet_tokens))
        .route("/intel/wallets/batch-hud", post(batch_hud))
        .route("/intel/token/{mint}/holders", post(holders))
        .route("/intel/token/{mint}/holders/agent", post(holders_agent))
        .route("/intel/token/{mint}/holders/deep", post(holders_deep))
        .route("/intel/wallets/similarity", post(similarity))
        .route("/intel/wallets/similarity/agent", post(similarity_agent))
        .route("/jobs/result/by-key", get(result_by_key))
        .route("/jobs/{job_id}", get(job_status))
        .route("/intel/pricing", get(pricing))
        .route("/pricing", get(pricing))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum WalletKind {
    Profile,
    Hud,
}

async fn wallet_profile(
    State(s): State<Shared>,
    Path(address): Path<String>,
    ctx: Ctx,
) -> Response {
    wallet_get(s, address, ctx, WalletKind::Profile).await
}

async fn wallet_hud(State(s): State<Shared>, Path(address): Path<String>, ctx: Ctx) -> Response {
    wallet_get(s, address, ctx, WalletKind::Hud).await
}

fn check_wallet(address: &str) -> Option<Response> {
    if !valid_address(address) {
        return Some(intel_error(
            StatusCode::BAD_REQUEST,
            "Invalid wallet address format",
        ));
    }
    if known_wallet(address) {
        let mut body = crate::respond::intel_error_body(
            StatusCode::UNPROCESSABLE_ENTITY,
            "System or program wallet cannot be analyzed",
        );
        if let Value::Object(m) = &mut body {
            m.insert("skipReason".into(), Value::from("known-wallet"));
        }
        return Some(json_response(StatusCode::UNPROCESSABLE_ENTITY, &body));
    }
    None
}

async fn wallet_get(state: Shared, address: String, ctx: Ctx, kind: WalletKind) -> Response {
    let (template, credits) = match kind {
        WalletKind::Profile => ("/api/v1/intel/wallet/{address}", 5),
        WalletKind::Hud => ("/api/v1/intel/wallet/{address}/hud", 1),
    };
    let bill = Bill {
        state: &state,
        method: "GET",
        template,
        credits,
        headers: &ctx.headers,
        uri: &ctx.uri,
        conn: &ctx.conn,
    };
    let st = state.clone();
    let prepaid = header_str(&ctx.headers, "x-prepaid-job-id").map(str::to_owned);
    billing::run(bill, move || async move {
        if let Some(r) = check_wallet(&address) {
            return Outcome::Free(r);
        }
        let flash = ms(st.config.flash_analysis);
        if let Some(p) = prepaid {
            let intel = lock(&st.intel);
            let ok = intel
                .jobs
                .get(p.trim())
                .is_some_and(|j| j.wallet.as_deref() == Some(address.as_str()));
            if !ok && !intel.analyzed.contains_key(&address) {
                return Outcome::Free(intel_error(
                    StatusCode::BAD_REQUEST,
                    "Invalid X-Prepaid-Job-Id",
                ));
            }
        }
        let started = Instant::now();
        let hold = st.config.sync_hold;
        let job = loop {
            let now = st.clock.now_ms();
            let job = {
                let mut intel = lock(&st.intel);
                if flash <= 0 || intel.is_warm(&address, now) {
                    intel.analyzed.entry(address.clone()).or_insert(now);
                    None
                } else {
                    Some(intel.flash_job(&address, now, flash))
                }
            };
            let Some((id, ready)) = job else { break None };
            let elapsed = started.elapsed();
            if elapsed >= hold {
                break Some(id);
            }
            let wait_clock = Duration::from_millis(u64::try_from(ready - now).unwrap_or(0).max(1));
            let step = wait_clock
                .min(hold - elapsed)
                .min(Duration::from_millis(20));
            tokio::time::sleep(step).await;
        };
        if let Some(id) = job {
            let body = json!({
                "status": "queued",
                "walletAddress": address,
                "jobId": id,
                "prepaidJobId": id,
                "monitoringUrl": format!("{PREFIX}/jobs/{id}"),
                "message": "Wallet analysis queued.",
            });
            return Outcome::Free(json_response(StatusCode::ACCEPTED, &body));
        }
        let now = st.clock.now_ms();
        let seed = st.config.seed;
        let body = match kind {
            WalletKind::Profile => data::profile(seed, &address, now),
            WalletKind::Hud => data::hud(seed, &address, now),
        };
        Outcome::Charge {
            response: json_response(StatusCode::OK, &body),
            rollback: vec![],
        }
    })
    .await
}

async fn wallet_tokens(
    State(state): State<Shared>,
    Path(address): Path<String>,
    ctx: Ctx,
) -> Response {
    let bill = Bill {
        state: &state,
        method: "GET",
        template: "/api/v1/intel/wallet/{address}/tokens",
        credits: 3,
        headers: &ctx.headers,
        uri: &ctx.uri,
        conn: &ctx.conn,
    };
    let query = query_pairs(&ctx.uri);
    let seed = state.config.seed;
    billing::run(bill, move || async move {
        if let Some(r) = check_wallet(&address) {
            return Outcome::Free(r);
        }
        let mut page = 1u64;
        let mut page_size = 20u64;
        let mut sort_by = "netSolProfitLoss".to_owned();
        let mut asc = false;
        for (k, v) in query {
            match k.as_str() {
                "page" => match v.parse::<u64>() {
                    Ok(p) if p >= 1 => page = p,
                    _ => return Outcome::Free(intel_error(StatusCode::BAD_REQUEST, "page must be an integer >= 1")),
                },
                "pageSize" => match v.parse::<u64>() {
                    Ok(p) if (1..=100).contains(&p) => page_size = p,
                    _ => {
                        return Outcome::Free(intel_error(
                            StatusCode::BAD_REQUEST,
                            "pageSize must be an integer between 1 and 100",
                        ));
                    }
                },
                "sortBy" => {
                    if !data::TOKEN_SORT_KEYS.contains(&v.as_str()) {
                        return Outcome::Free(intel_error(
                            StatusCode::BAD_REQUEST,
                            "sortBy must be one of netSolProfitLoss, realizedPnlSol, roi, totalSolSpent",
                        ));
                    }
                    sort_by = v;
                }
                "sortOrder" => match v.as_str() {
                    "ASC" | "asc" => asc = true,
                    "DESC" | "desc" => asc = false,
                    _ => return Outcome::Free(intel_error(StatusCode::BAD_REQUEST, "sortOrder must be ASC or DESC")),
                },
                _ => {}
            }
        }
        let body = data::tokens(seed, &address, page, page_size, &sort_by, asc);
        Outcome::Charge {
            response: json_response(StatusCode::OK, &body),
            rollback: vec![],
        }
    })
    .await
}

/// Parses a JSON body (empty → `{}`); an error response when it is not a JSON object.
fn parse_body(body: &[u8]) -> Result<Map<String, Value>, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(intel_error(
            StatusCode::BAD_REQUEST,
            "Request body must be a JSON object",
        )),
        Err(e) => Err(intel_error(
            StatusCode::BAD_REQUEST,
            format!("Invalid JSON body: {e}"),
        )),
    }
}

fn wallets_field(
    body: &Map<String, Value>,
    min: usize,
    max: usize,
) -> Result<Vec<String>, Response> {
    let Some(Value::Array(items)) = body.get("wallets") else {
        return Err(intel_error(
            StatusCode::BAD_REQUEST,
            "wallets must be an array of wallet addresses",
        ));
    };
    if items.len() < min || items.len() > max {
        return Err(intel_error(
            StatusCode::BAD_REQUEST,
            format!("wallets must contain between {min} and {max} addresses"),
        ));
    }
    items
        .iter()
        .map(|v| {
            v.as_str().map(str::to_owned).ok_or_else(|| {
                intel_error(
                    StatusCode::BAD_REQUEST,
                    "wallets must be an array of strings",
                )
            })
        })
        .collect()
}

fn top_n_field(body: &Map<String, Value>, max: u64) -> Result<u64, Response> {
    match body.get("topN") {
        None | Some(Value::Null) => Ok(20.min(max)),
        Some(v) => match v.as_u64() {
            Some(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(intel_error(
                StatusCode::BAD_REQUEST,
                format!("topN must be an integer between 1 and {max}"),
            )),
        },
    }
}

async fn batch_hud(State(state): State<Shared>, ctx: Ctx, body: Bytes) -> Response {
    let bill = Bill {
        state: &state,
        method: "POST",
        template: "/api/v1/intel/wallets/batch-hud",
        credits: 5,
        headers: &ctx.headers,
        uri: &ctx.uri,
        conn: &ctx.conn,
    };
    let st = state.clone();
    billing::run(bill, move || async move {
        let wallets = match parse_body(&body).and_then(|b| wallets_field(&b, 1, 30)) {
            Ok(w) => w,
            Err(r) => return Outcome::Free(r),
        };
        let now = st.clock.now_ms();
        let flash = ms(st.config.flash_analysis);
        let mut huds = Map::new();
        let mut queued = Vec::new();
        let mut skipped = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut intel = lock(&st.intel);
        for w in wallets {
            if !seen.insert(w.clone()) {
                continue;
            }
            if !valid_address(&w) || known_wallet(&w) {
                skipped.push(Value::from(w));
                continue;
            }
            if flash <= 0 || intel.is_warm(&w, now) {
                intel.analyzed.entry(w.clone()).or_insert(now);
                huds.insert(w.clone(), data::hud(st.config.seed, &w, now));
            } else {
                let (id, _) = intel.flash_job(&w, now, flash);
                queued.push(json!({"walletAddress": w, "jobId": id, "monitoringUrl": format!("{PREFIX}/jobs/{id}")}));
            }
        }
        drop(intel);
        let body = json!({"huds": huds, "queued": queued, "skipped": skipped});
        Outcome::Charge {
            response: json_response(StatusCode::OK, &body),
            rollback: vec![],
        }
    })
    .await
}

#[derive(Clone, Copy)]
enum HolderKind {
    Full,
    Agent,
    Deep,
}

async fn holders(
    State(s): State<Shared>,
    Path(mint): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    holders_job(s, mint, ctx, body, HolderKind::Full).await
}

async fn holders_agent(
    State(s): State<Shared>,
    Path(mint): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    holders_job(s, mint, ctx, body, HolderKind::Agent).await
}

async fn holders_deep(
    State(s): State<Shared>,
    Path(mint): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    holders_job(s, mint, ctx, body, HolderKind::Deep).await
}

async fn holders_job(
    state: Shared,
    mint: String,
    ctx: Ctx,
    body: Bytes,
    kind: HolderKind,
) -> Response {
    let (template, credits, max) = match kind {
        HolderKind::Full => ("/api/v1/intel/token/{mint}/holders", 20, 100),
        HolderKind::Agent => ("/api/v1/intel/token/{mint}/holders/agent", 20, 50),
        HolderKind::Deep => ("/api/v1/intel/token/{mint}/holders/deep", 35, 50),
    };
    let bill = Bill {
        state: &state,
        method: "POST",
        template,
        credits,
        headers: &ctx.headers,
        uri: &ctx.uri,
        conn: &ctx.conn,
    };
    let st = state.clone();
    billing::run(bill, move || async move {
        if !valid_address(&mint) {
            return Outcome::Free(intel_error(StatusCode::BAD_REQUEST, "Invalid token mint address"));
        }
        let top_n = match parse_body(&body).and_then(|b| top_n_field(&b, max)) {
            Ok(n) => n,
            Err(r) => return Outcome::Free(r),
        };
        let seed = st.config.seed;
        let now = st.clock.now_ms();
        let d = ms(st.config.job_duration);
        if matches!(kind, HolderKind::Deep) && st.config.deep_partial {
            let job_id = lock(&st.intel).add_job("holder-profiles", "intel-holders", now, now + d, None);
            let body = json!({
                "statusCode": 206,
                "message": "Partial success: one of two bundled jobs failed — 0cr charged, retry individually",
                "tokenMint": mint, "topN": top_n,
                "holderProfiles": {"jobId": job_id, "status": "queued"},
                "similarity": {"jobId": Value::Null, "status": "failed", "error": "similarity job could not be queued"},
            });
            return Outcome::Free(json_response(StatusCode::PARTIAL_CONTENT, &body));
        }
        let processing = u64::try_from(d).unwrap_or(0);
        let mut intel = lock(&st.intel);
        let job_id = intel.add_job("holder-profiles", "intel-holders", now, now + d, None);
        let request_id = intel.new_id("req");
        let full_key = format!("holder-profiles:result:{job_id}");
        let agent_key = format!("holder-profiles:agent:result:{job_id}");
        let monitoring = format!("{PREFIX}/jobs/{job_id}");
        intel.add_result(full_key.clone(), &job_id, now + d, data::holder_profiles(seed, &mint, top_n, processing));
        intel.add_result(agent_key.clone(), &job_id, now + d, data::agent_holder_profiles(seed, &mint, top_n));
        let body = match kind {
            HolderKind::Full => json!({
                "status": "queued", "jobId": job_id, "requestId": request_id, "monitoringUrl": monitoring,
            }),
            HolderKind::Agent => json!({
                "status": "queued", "tokenMint": mint, "topN": top_n, "jobId": job_id,
                "requestId": request_id, "monitoringUrl": monitoring,
                "resultKey": full_key, "agentResultKey": agent_key,
            }),
            HolderKind::Deep => {
                let sim_request = intel.new_id("req");
                let sim_key = format!("similarity:result:{sim_request}");
                let wallets: Vec<String> = data::holder_addresses(seed, &mint, top_n).into_iter().map(|h| h.0).collect();
                intel.add_result(sim_key.clone(), &job_id, now + 2 * d, data::similarity(seed, &wallets));
                intel.add_result(
                    format!("similarity:agent:result:{sim_request}"),
                    &job_id,
                    now + 2 * d,
                    data::agent_similarity(seed, &wallets),
                );
                json!({
                    "status": "queued", "tokenMint": mint, "topN": top_n,
                    "message": "Deep analysis queued: holder profiles first, then similarity on the holders.",
                    "holderProfiles": {"jobId": job_id, "requestId": request_id, "monitoringUrl": monitoring},
                    "similarity": {
                        "jobId": Value::Null, "requestId": sim_request, "resultKey": sim_key,
                        "message": "Similarity is queued when the holder-profiles job completes.",
                    },
                })
            }
        };
        intel.maybe_fail(&job_id);
        Outcome::Charge {
            response: json_response(StatusCode::ACCEPTED, &body),
            rollback: vec![job_id],
        }
    })
    .await
}

async fn similarity(State(s): State<Shared>, ctx: Ctx, body: Bytes) -> Response {
    similarity_job(s, ctx, body, false).await
}

async fn similarity_agent(State(s): State<Shared>, ctx: Ctx, body: Bytes) -> Response {
    similarity_job(s, ctx, body, true).await
}

async fn similarity_job(state: Shared, ctx: Ctx, body: Bytes, agent: bool) -> Response {
    let template = if agent {
        "/api/v1/intel/wallets/similarity/agent"
    } else {
        "/api/v1/intel/wallets/similarity"
    };
    let bill = Bill {
        state: &state,
        method: "POST",
        template,
        credits: 20,
        headers: &ctx.headers,
        uri: &ctx.uri,
        conn: &ctx.conn,
    };
    let st = state.clone();
    billing::run(bill, move || async move {
        let wallets = match parse_body(&body).and_then(|b| wallets_field(&b, 2, 30)) {
            Ok(w) => w,
            Err(r) => return Outcome::Free(r),
        };
        if let Some(bad) = wallets.iter().find(|w| !valid_address(w)) {
            return Outcome::Free(intel_error(
                StatusCode::BAD_REQUEST,
                format!("Invalid wallet address format: {}", bad.chars().take(64).collect::<String>()),
            ));
        }
        let seed = st.config.seed;
        let now = st.clock.now_ms();
        let d = ms(st.config.job_duration);
        let mut intel = lock(&st.intel);
        let job_id = intel.add_job("similarity", "intel-similarity", now, now + d, None);
        let request_id = intel.new_id("req");
        let full_key = format!("similarity:result:{request_id}");
        let agent_key = format!("similarity:agent:result:{request_id}");
        intel.add_result(full_key.clone(), &job_id, now + d, data::similarity(seed, &wallets));
        intel.add_result(agent_key.clone(), &job_id, now + d, data::agent_similarity(seed, &wallets));
        let monitoring = format!("{PREFIX}/jobs/{job_id}");
        let body = if agent {
            json!({
                "status": "queued", "jobId": job_id, "requestId": request_id, "walletCount": wallets.len(),
                "monitoringUrl": monitoring, "resultKey": full_key, "agentResultKey": agent_key,
            })
        } else {
            json!({"status": "queued", "jobId": job_id, "requestId": request_id, "monitoringUrl": monitoring})
        };
        intel.maybe_fail(&job_id);
        Outcome::Charge {
            response: json_response(StatusCode::ACCEPTED, &body),
            rollback: vec![job_id],
        }
    })
    .await
}

async fn job_status(State(state): State<Shared>, Path(job_id): Path<String>, ctx: Ctx) -> Response {
    let now = state.clock.now_ms();
    let intel = lock(&state.intel);
    let Some(job) = intel.jobs.get(&job_id) else {
        return intel_error(
            StatusCode::NOT_FOUND,
            format!(
                "Job {} not found",
                job_id.chars().take(80).collect::<String>()
            ),
        );
    };
    let span = (job.ready_ms - job.created_ms).max(1);
    let progress = if now >= job.ready_ms {
        100
    } else {
        ((now - job.created_ms).max(0) * 100 / span).clamp(0, 99)
    };
    let status = if progress >= 100 && job.fails {
        "failed"
    } else if progress >= 100 {
        "completed"
    } else if progress == 0 {
        "waiting"
    } else {
        "active"
    };
    let mut body = json!({"id": job.id, "jobId": job.id, "status": status, "progress": progress});
    let authed = header_str(&ctx.headers, "x-api-key")
        .is_some_and(|k| intel.key_credits(k.trim()).is_some());
    if authed && let Value::Object(m) = &mut body {
        m.insert("name".into(), Value::from(job.name));
        m.insert(
            "createdAt".into(),
            Value::from(crate::clock::iso8601(job.created_ms)),
        );
        if progress >= 100 {
            m.insert(
                "finishedAt".into(),
                Value::from(crate::clock::iso8601(job.ready_ms)),
            );
        }
        if progress >= 100 && job.fails {
            m.insert("failedReason".into(), Value::from("Injected job failure"));
        }
    }
    json_response(StatusCode::OK, &body)
}

async fn result_by_key(State(state): State<Shared>, ctx: Ctx) -> Response {
    let mut intel = lock(&state.intel);
    match header_str(&ctx.headers, "x-api-key").map(str::trim) {
        Some(k) if intel.key_credits(k).is_none() => {
            return intel_error(StatusCode::UNAUTHORIZED, "Invalid or inactive API key.");
        }
        None if ctx.headers.contains_key("x-api-key") => {
            return intel_error(StatusCode::UNAUTHORIZED, "Invalid or inactive API key.");
        }
        None if state.config.results_require_auth => {
            return intel_error(StatusCode::UNAUTHORIZED, "API key is missing.");
        }
        _ => {}
    }
    let Some(key) = query_pairs(&ctx.uri)
        .into_iter()
        .find(|(k, _)| k == "key")
        .map(|(_, v)| v)
    else {
        return intel_error(StatusCode::BAD_REQUEST, "Query parameter key is required");
    };
    let now = state.clock.now_ms();
    let ttl = ms(state.config.result_ttl);
    let Some(r) = intel.results.get(&key) else {
        return intel_error(StatusCode::NOT_FOUND, "Result not found or expired");
    };
    if now < r.ready_ms {
        return intel_error(StatusCode::NOT_FOUND, "Result not ready");
    }
    if now >= r.ready_ms.saturating_add(ttl) {
        intel.results.remove(&key);
        return intel_error(StatusCode::NOT_FOUND, "Result not found or expired");
    }
    json_response(StatusCode::OK, &r.value)
}

async fn pricing(State(state): State<Shared>) -> Response {
    let endpoints: Vec<Value> = PRICES
        .iter()
        .map(|(m, p, c)| {
            json!({"method": m, "path": p, "credits": c, "usd": *c as f64 * 0.015,
                   "x402AmountBaseUnits": (c * BASE_UNITS_PER_CREDIT).to_string()})
        })
        .collect();
    let body = json!({
        "creditPriceUsd": 0.015,
        "endpoints": endpoints,
        "free": ["GET /intel/pricing", "GET /jobs/{jobId}"],
        "packs": [
            {"name": "Starter", "credits": 1000, "priceUsd": 15},
            {"name": "Builder", "credits": 10000, "priceUsd": 120},
            {"name": "Pro", "credits": 100000, "priceUsd": 900},
        ],
        "x402": {
            "x402Version": 2,
            "scheme": "exact",
            "network": sova_protocol::x402::networks::SOLANA_MAINNET,
            "asset": sova_protocol::x402::USDC_MAINNET_MINT,
            "baseUnitsPerCredit": BASE_UNITS_PER_CREDIT.to_string(),
            "mode": state.config.mode.as_str(),
        },
    });
    json_response(StatusCode::OK, &body)
}
