//! Admin and inspection routes under `/__sandbox`: faucet, API keys, SovX codes and funding,
//! the clock, blockhash expiry, faults and the inspection records.

use std::str::FromStr;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use solana_pubkey::Pubkey;
use solana_signer::Signer;

use crate::faults::Fault;
use crate::ledger::{TOKEN_PROGRAM_ID, ata};
use crate::respond::{intel_error, json_response};
use crate::state::{Shared, lock};

/// Prefix of the admin routes.
pub(crate) const PREFIX: &str = "/__sandbox";

/// The admin router (mounted under `/__sandbox`).
pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/info", get(info))
        .route("/faucet", post(faucet))
        .route("/intel/keys", post(create_key))
        .route("/intel/keys/{key}", get(get_key).put(set_key))
        .route("/sovx/codes", get(codes))
        .route("/sovx/codes/{id}", get(code))
        .route("/sovx/wallets/{wallet_id}/fund", post(fund))
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance))
        .route("/ledger/expire-blockhash", post(expire))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/faults/{id}", delete(remove_fault))
        .route("/inspect", get(inspect))
        .route("/inspect/payments", get(payments))
        .route("/inspect/reset", post(reset))
}

fn body_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(intel_error(
            StatusCode::BAD_REQUEST,
            "Request body must be a JSON object",
        )),
    }
}

/// The `info` document (also used by the CLI binary).
pub(crate) fn info_value(state: &Shared) -> Value {
    let base = lock(&state.base_url).clone();
    let l = lock(&state.ledger);
    let owner = lock(&state.sovx).owner_key().to_owned();
    json!({
        "baseUrl": base,
        "intelBaseUrl": format!("{base}{}", crate::intel::PREFIX),
        "sovxBaseUrl": format!("{base}{}", crate::sovx::PREFIX),
        "rpcUrl": format!("{base}/rpc"),
        "mode": state.config.mode.as_str(),
        "network": sova_protocol::x402::networks::SOLANA_MAINNET,
        "usdcMint": l.usdc_mint.to_string(),
        "token2022Mint": l.token22_mint.map(|m| m.to_string()),
        "treasury": l.treasury.to_string(),
        "treasuryAta": ata(&l.treasury, &l.usdc_mint, &TOKEN_PROGRAM_ID).to_string(),
        "facilitator": l.facilitator.pubkey().to_string(),
        "sovxOwnerKey": owner,
    })
}

async fn info(State(state): State<Shared>) -> Response {
    json_response(StatusCode::OK, &info_value(&state))
}

async fn faucet(State(state): State<Shared>, body: Bytes) -> Response {
    let b = match body_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(wallet) = b
        .get("wallet")
        .and_then(Value::as_str)
        .and_then(|s| Pubkey::from_str(s).ok())
    else {
        return intel_error(
            StatusCode::BAD_REQUEST,
            "wallet must be a base58 public key",
        );
    };
    let read = |k: &str, default: u64| -> Result<u64, Response> {
        match b.get(k) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_u64()
                .filter(|n| *n <= 1_000_000_000_000_000)
                .ok_or_else(|| {
                    intel_error(
                        StatusCode::BAD_REQUEST,
                        format!("{k} must be a non-negative integer of base units"),
                    )
                }),
        }
    };
    let (sol, usdc, t22) = match (
        read("sol", 1_000_000_000),
        read("usdc", 100_000_000),
        read("token2022", 0),
    ) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    let mut l = lock(&state.ledger);
    let mut sigs = Vec::new();
    if sol > 0 {
        sigs.push(l.airdrop(&wallet, sol).to_string());
    }
    let usdc_mint = l.usdc_mint;
    if let Some(s) = l.mint_tokens(&wallet, &usdc_mint, usdc) {
        sigs.push(s.to_string());
    }
    if t22 > 0
        && let Some(m) = l.token22_mint
        && let Some(s) = l.mint_tokens(&wallet, &m, t22)
    {
        sigs.push(s.to_string());
    }
    let body = json!({
        "wallet": wallet.to_string(),
        "lamports": l.balance(&wallet),
        "usdc": l.usdc_of(&wallet),
        "usdcAta": ata(&wallet, &usdc_mint, &TOKEN_PROGRAM_ID).to_string(),
        "signatures": sigs,
    });
    json_response(StatusCode::OK, &body)
}

async fn create_key(State(state): State<Shared>, body: Bytes) -> Response {
    let b = match body_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let credits = match b.get("credits") {
        None | Some(Value::Null) => 1000,
        Some(v) => match v.as_u64() {
            Some(c) => c,
            None => {
                return intel_error(
                    StatusCode::BAD_REQUEST,
                    "credits must be a non-negative integer",
                );
            }
        },
    };
    let mut intel = lock(&state.intel);
    let key = match b.get("key").and_then(Value::as_str) {
        Some(k) => {
            if !intel.insert_key(k, credits) {
                return intel_error(StatusCode::BAD_REQUEST, "key must look like ak_<hex>");
            }
            k.to_owned()
        }
        None => intel.create_key(credits),
    };
    json_response(
        StatusCode::CREATED,
        &json!({"apiKey": key, "credits": credits}),
    )
}

async fn get_key(State(state): State<Shared>, Path(key): Path<String>) -> Response {
    let intel = lock(&state.intel);
    match intel.key_credits(&key) {
        Some(c) => {
            let used = lock(&state.inspect)
                .credits_used
                .get(&key)
                .copied()
                .unwrap_or(0);
            json_response(
                StatusCode::OK,
                &json!({"apiKey": key, "credits": c, "creditsUsed": used}),
            )
        }
        None => intel_error(StatusCode::NOT_FOUND, "API key not found"),
    }
}

async fn set_key(State(state): State<Shared>, Path(key): Path<String>, body: Bytes) -> Response {
    let b = match body_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(credits) = b.get("credits").and_then(Value::as_u64) else {
        return intel_error(
            StatusCode::BAD_REQUEST,
            "credits must be a non-negative integer",
        );
    };
    if lock(&state.intel).set_credits(&key, credits) {
        json_response(StatusCode::OK, &json!({"apiKey": key, "credits": credits}))
    } else {
        intel_error(StatusCode::NOT_FOUND, "API key not found")
    }
}

async fn codes(State(state): State<Shared>) -> Response {
    let list: Vec<Value> = lock(&state.sovx)
        .codes()
        .into_iter()
        .map(|(id, kind, code)| json!({"id": id, "kind": kind, "code": code}))
        .collect();
    json_response(StatusCode::OK, &Value::Array(list))
}

async fn code(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    match lock(&state.sovx).code(&id) {
        Some(c) => json_response(StatusCode::OK, &json!({"id": id, "code": c})),
        None => intel_error(StatusCode::NOT_FOUND, "No pending operation with that id"),
    }
}

async fn fund(State(state): State<Shared>, Path(wallet_id): Path<String>, body: Bytes) -> Response {
    let b = match body_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(currency) = b
        .get("currency")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty() && c.len() <= 10)
    else {
        return intel_error(StatusCode::BAD_REQUEST, "currency is required");
    };
    let amount = b
        .get("amount")
        .and_then(|v| match v {
            Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
            Value::String(s) => Decimal::from_str(s).ok(),
            _ => None,
        })
        .filter(|d| *d > Decimal::ZERO);
    let Some(amount) = amount else {
        return intel_error(StatusCode::BAD_REQUEST, "amount must be a positive number");
    };
    let now = state.clock.now_ms();
    if lock(&state.sovx).fund(&wallet_id, currency, amount, now) {
        json_response(
            StatusCode::OK,
            &json!({"walletId": wallet_id, "currency": currency.to_ascii_lowercase(), "credited": amount.to_string()}),
        )
    } else {
        intel_error(StatusCode::NOT_FOUND, "Wallet not found")
    }
}

async fn clock(State(state): State<Shared>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({"nowMs": state.clock.now_ms(), "now": state.clock.now_iso(), "manual": state.clock.is_manual()}),
    )
}

async fn advance(State(state): State<Shared>, body: Bytes) -> Response {
    let b = match body_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let ms = b.get("ms").and_then(Value::as_u64).or_else(|| {
        b.get("seconds")
            .and_then(Value::as_u64)
            .map(|s| s.saturating_mul(1000))
    });
    let Some(ms) = ms.filter(|m| *m <= 100 * 365 * 86_400_000) else {
        return intel_error(
            StatusCode::BAD_REQUEST,
            "send {\"ms\": N} or {\"seconds\": N}",
        );
    };
    state.clock.advance(Duration::from_millis(ms));
    json_response(
        StatusCode::OK,
        &json!({"nowMs": state.clock.now_ms(), "now": state.clock.now_iso()}),
    )
}

async fn expire(State(state): State<Shared>) -> Response {
    let mut l = lock(&state.ledger);
    l.expire_blockhashes();
    let (h, last) = l.latest_blockhash();
    json_response(
        StatusCode::OK,
        &json!({"blockhash": h.to_string(), "lastValidBlockHeight": last}),
    )
}

fn faults_value(state: &Shared) -> Value {
    let list: Vec<Value> = lock(&state.faults)
        .list()
        .into_iter()
        .map(|(id, f)| {
            let mut v = serde_json::to_value(&f).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.insert("id".into(), Value::from(id));
            }
            v
        })
        .collect();
    Value::Array(list)
}

async fn list_faults(State(state): State<Shared>) -> Response {
    json_response(StatusCode::OK, &faults_value(&state))
}

async fn add_fault(State(state): State<Shared>, body: Bytes) -> Response {
    match serde_json::from_slice::<Fault>(&body) {
        Ok(f) => {
            let id = lock(&state.faults).add(f);
            json_response(StatusCode::CREATED, &json!({"id": id}))
        }
        Err(e) => intel_error(StatusCode::BAD_REQUEST, format!("invalid fault: {e}")),
    }
}

async fn clear_faults(State(state): State<Shared>) -> Response {
    lock(&state.faults).clear();
    json_response(StatusCode::OK, &json!({"cleared": true}))
}

async fn remove_fault(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    let removed = id
        .parse::<u64>()
        .map(|i| lock(&state.faults).remove(i))
        .unwrap_or(false);
    if removed {
        json_response(StatusCode::OK, &json!({"removed": true}))
    } else {
        intel_error(StatusCode::NOT_FOUND, "Fault not found")
    }
}

/// The inspection document.
pub(crate) fn inspect_value(state: &Shared) -> Value {
    let ins = lock(&state.inspect);
    json!({
        "payments": ins.payments,
        "creditsUsed": ins.credits_used,
        "requests": ins.requests,
        "deliveries": ins.deliveries,
        "heldPending": state.held.load(std::sync::atomic::Ordering::SeqCst),
    })
}

async fn inspect(State(state): State<Shared>) -> Response {
    json_response(StatusCode::OK, &inspect_value(&state))
}

async fn payments(State(state): State<Shared>) -> Response {
    let v = serde_json::to_value(&lock(&state.inspect).payments).unwrap_or(Value::Null);
    json_response(StatusCode::OK, &v)
}

async fn reset(State(state): State<Shared>) -> Response {
    *lock(&state.inspect) = Default::default();
    json_response(StatusCode::OK, &json!({"reset": true}))
}
