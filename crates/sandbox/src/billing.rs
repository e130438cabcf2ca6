//! Charging a paid Intel call: API-key credits or an x402 payment settled on the ledger.
//!
//! The order follows the reference servers: authenticate (key, payment or neither → 402
//! challenge), verify the payment, run the handler, and charge only when the handler's answer
//! is billable (a GET's 200, a POST job's 202). Billing-point faults act here.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Map, Value, json};
use solana_signer::Signer;
use sova_protocol::x402::{
    PaymentRequired, PaymentRequirements, RawJson, SettlementResponse, USDC_MAINNET_MINT, networks,
};

use crate::faults::FaultKind;
use crate::ledger::{SendError, TOKEN_PROGRAM_ID};
use crate::respond::{ConnControl, intel_error, json_response, set_header};
use crate::state::{Mode, PaymentRecord, Shared, lock};
use crate::verify::{
    Expect, MSG_CONFIRMATION, MSG_DESTINATION, MSG_REPLAY, Refusal, Verified, verify,
};

/// USDC base units per credit.
pub(crate) const BASE_UNITS_PER_CREDIT: u64 = 15_000;

/// What a handler produced.
pub(crate) enum Outcome {
    /// A billable answer (charge, then deliver); `rollback` lists job ids to delete when the
    /// charge fails.
    Charge {
        response: Response,
        rollback: Vec<String>,
    },
    /// An answer that costs nothing (errors, the 202 timeout fallback).
    Free(Response),
}

/// The request being billed.
pub(crate) struct Bill<'a> {
    pub state: &'a Shared,
    pub method: &'static str,
    pub template: &'static str,
    pub credits: u64,
    pub headers: &'a HeaderMap,
    pub uri: &'a Uri,
    pub conn: &'a ConnControl,
}

enum Payer {
    Key(String),
    X402(Box<(Verified, Vec<String>)>),
}

/// The requirement this server asks for `credits`.
pub(crate) fn requirement(state: &Shared, credits: u64) -> PaymentRequirements {
    requirement_with(state, credits, Map::new())
}

/// The requirement for `credits`, with these `extra` fields added.
fn requirement_with(
    state: &Shared,
    credits: u64,
    mut extra: Map<String, Value>,
) -> PaymentRequirements {
    let treasury = lock(&state.ledger).treasury;
    if state.config.mode == Mode::Standard {
        let fee_payer = lock(&state.ledger).facilitator.pubkey();
        extra.insert("feePayer".into(), Value::from(fee_payer.to_string()));
    }
    PaymentRequirements::new(
        networks::SOLANA_MAINNET,
        USDC_MAINNET_MINT,
        credits.saturating_mul(BASE_UNITS_PER_CREDIT),
        &treasury.to_string(),
        state.config.max_timeout_seconds,
        extra,
    )
}

/// The `PAYMENT-REQUIRED` value asking for `accepts` (Sova mode: no `resource` or `error`;
/// no `extra` unless a fault adds one).
fn payment_required_header(
    state: &Shared,
    accepts: PaymentRequirements,
    uri: &Uri,
    error: Option<&str>,
) -> String {
    let standard = state.config.mode == Mode::Standard;
    let resource = standard.then(|| {
        let base = lock(&state.base_url).clone();
        let url = format!(
            "{base}{}",
            uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
        );
        RawJson::from_string(
            json!({"url": url, "description": "", "mimeType": "application/json"}).to_string(),
        )
        .ok()
    });
    let pr = PaymentRequired {
        x402_version: 2,
        error: if standard {
            Some(error.unwrap_or("Payment required").to_owned())
        } else {
            None
        },
        resource: resource.flatten(),
        accepts: vec![accepts],
        extensions: None,
    };
    pr.encode_header()
}

fn payment_required_body(credits: u64, message: &str) -> Value {
    json!({
        "statusCode": 402,
        "message": message,
        "error": "Payment required",
        "required": credits,
    })
}

/// The x402 v1 challenge for `credits` (`reference/x402-solana.md` §2): the JSON body
/// `{x402Version: 1, error, accepts}`, each requirement with `maxAmountRequired`, the v1
/// network name and its own `resource`, `description` and `mimeType`.
fn v1_challenge_json(state: &Shared, credits: u64, uri: &Uri, error: &str) -> Value {
    let treasury = lock(&state.ledger).treasury;
    let base = lock(&state.base_url).clone();
    let url = format!(
        "{base}{}",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let mut req = json!({
        "scheme": "exact",
        "network": "solana",
        "maxAmountRequired": credits.saturating_mul(BASE_UNITS_PER_CREDIT).to_string(),
        "resource": url,
        "description": "",
        "mimeType": "application/json",
        "payTo": treasury.to_string(),
        "maxTimeoutSeconds": state.config.max_timeout_seconds,
        "asset": USDC_MAINNET_MINT,
    });
    if state.config.mode == Mode::Standard {
        let fee_payer = lock(&state.ledger).facilitator.pubkey();
        req["extra"] = json!({ "feePayer": fee_payer.to_string() });
    }
    json!({ "x402Version": 1, "error": error, "accepts": [req] })
}

/// The v1 requirement for `credits`, as a client decodes it (for the pre-flight verifier).
fn v1_requirement(state: &Shared, credits: u64, uri: &Uri) -> Option<PaymentRequirements> {
    let body = v1_challenge_json(state, credits, uri, "");
    PaymentRequired::decode_body(body.to_string().as_bytes())
        .ok()
        .and_then(|r| r.accepts.into_iter().next())
}

/// 402 with a fresh challenge.
pub(crate) fn challenge(bill: &Bill<'_>, message: &str, error: Option<&str>) -> Response {
    if bill.state.config.x402_v1 {
        let error = match error {
            Some(_) => message,
            None => "X-PAYMENT header is required",
        };
        return json_response(
            StatusCode::PAYMENT_REQUIRED,
            &v1_challenge_json(bill.state, bill.credits, bill.uri, error),
        );
    }
    let mut r = json_response(
        StatusCode::PAYMENT_REQUIRED,
        &payment_required_body(bill.credits, message),
    );
    let accepts = requirement(bill.state, bill.credits);
    let v = payment_required_header(bill.state, accepts, bill.uri, error);
    set_header(r.headers_mut(), "payment-required", &v);
    r
}

/// 402 with a challenge whose requirement advertises a real, current blockhash with
/// `lastValidBlockHeight: 1` ([`FaultKind::StaleLastValidHeight`]).
fn stale_challenge(bill: &Bill<'_>) -> Response {
    let mut r = json_response(
        StatusCode::PAYMENT_REQUIRED,
        &payment_required_body(bill.credits, "Payment required"),
    );
    let (hash, _) = lock(&bill.state.ledger).latest_blockhash();
    let mut extra = Map::new();
    extra.insert("recentBlockhash".into(), Value::from(hash.to_string()));
    extra.insert("lastValidBlockHeight".into(), Value::from(1u64));
    let accepts = requirement_with(bill.state, bill.credits, extra);
    let v = payment_required_header(bill.state, accepts, bill.uri, None);
    set_header(r.headers_mut(), "payment-required", &v);
    r
}

/// The lie of [`FaultKind::SettleThen402Invalid`]: a fresh challenge saying the payment was
/// refused at verification (so nothing would have been charged).
fn invalid_challenge(bill: &Bill<'_>) -> Response {
    challenge(
        bill,
        MSG_DESTINATION,
        Some("invalid_exact_svm_payload_recipient_mismatch"),
    )
}

/// The wallet address of a wallet GET (`/api/v1/intel/wallet/{address}[/...]`).
fn wallet_of(bill: &Bill<'_>) -> Option<String> {
    if !bill.template.starts_with("/api/v1/intel/wallet/{address}") {
        return None;
    }
    bill.uri
        .path()
        .split('/')
        .nth(5)
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
}

fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// The lie of [`FaultKind::SettleThen202`]: the documented free fallback, without any
/// settlement header, for a real job (see the fault's documentation).
fn fake_fallback(bill: &Bill<'_>, response: Response) -> Response {
    let state = bill.state;
    let now = state.clock.now_ms();
    if let Some(wallet) = wallet_of(bill) {
        let id = lock(&state.intel).fallback_job(
            Some(&wallet),
            now,
            millis(state.config.flash_analysis),
        );
        let body = json!({
            "status": "queued",
            "walletAddress": wallet,
            "jobId": id,
            "prepaidJobId": id,
            "monitoringUrl": format!("{}/jobs/{id}", crate::intel::PREFIX),
            "message": "Wallet analysis queued.",
        });
        return json_response(StatusCode::ACCEPTED, &body);
    }
    if response.status() == StatusCode::ACCEPTED {
        let mut r = response;
        r.headers_mut().remove("payment-response");
        r.headers_mut().remove("x-payment-response");
        return r;
    }
    let id = lock(&state.intel).fallback_job(None, now, millis(state.config.job_duration));
    let body = json!({
        "status": "queued",
        "jobId": id,
        "monitoringUrl": format!("{}/jobs/{id}", crate::intel::PREFIX),
        "message": "Request queued.",
    });
    json_response(StatusCode::ACCEPTED, &body)
}

/// The answer to a held payment ([`FaultKind::HoldAndSubmitLater`]): 402 "invalid", the 202
/// fallback, or an error with that status.
fn held_answer(bill: &Bill<'_>, status: u16, response: Response) -> Response {
    match status {
        402 => invalid_challenge(bill),
        202 => fake_fallback(bill, response),
        s => {
            let status = StatusCode::from_u16(s).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            intel_error(status, status.canonical_reason().unwrap_or("Error"))
        }
    }
}

fn settlement_failure(
    bill: &Bill<'_>,
    message: &str,
    reason: &str,
    detail: &str,
    tx: &str,
    payer: &str,
) -> Response {
    let mut r = json_response(
        StatusCode::PAYMENT_REQUIRED,
        &payment_required_body(bill.credits, message),
    );
    let s = SettlementResponse {
        success: false,
        error_reason: Some(reason.to_owned()),
        error_message: Some(detail.to_owned()),
        payer: (!payer.is_empty()).then(|| payer.to_owned()),
        transaction: tx.to_owned(),
        network: networks::SOLANA_MAINNET.to_owned(),
        amount: None,
        extensions: None,
    };
    set_header(r.headers_mut(), "payment-response", &s.encode());
    r
}

fn route_label(bill: &Bill<'_>) -> String {
    format!("{} {}", bill.method, bill.template)
}

fn release(state: &Shared, key: &[u8; 64]) {
    let mut replay = lock(&state.replay);
    if let Some((_, false)) = replay.get(key) {
        replay.remove(key);
    }
}

fn rollback_jobs(state: &Shared, jobs: &[String]) {
    if !jobs.is_empty() {
        lock(&state.intel).remove_jobs(jobs);
    }
}

/// Bills one request around `handler`.
pub(crate) async fn run<F, Fut>(bill: Bill<'_>, handler: F) -> Response
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Outcome>,
{
    let state = bill.state;
    // A path that a settle-then-202-forever fault took over answers the fallback, free.
    if lock(&state.forever_202).contains(bill.uri.path()) {
        return fake_fallback(&bill, json_response(StatusCode::OK, &json!({})));
    }
    // 1. Who pays.
    let payer = if let Some(raw) = bill.headers.get("x-api-key") {
        let key = raw.to_str().unwrap_or("").trim();
        if key.is_empty() {
            return intel_error(StatusCode::UNAUTHORIZED, "API key is missing.");
        }
        let intel = lock(&state.intel);
        match intel.key_credits(key) {
            None => return intel_error(StatusCode::UNAUTHORIZED, "Invalid or inactive API key."),
            Some(c) if c < bill.credits => {
                return json_response(
                    StatusCode::PAYMENT_REQUIRED,
                    &payment_required_body(bill.credits, "Insufficient credits"),
                );
            }
            Some(_) => Payer::Key(key.to_owned()),
        }
    } else if let Some((raw, via_x_payment)) = bill
        .headers
        .get("payment-signature")
        .map(|v| (v, false))
        .or_else(|| bill.headers.get("x-payment").map(|v| (v, true)))
    {
        let Ok(value) = raw.to_str() else {
            return challenge(&bill, "invalid payment payload: header is not text", None);
        };
        let req = requirement(state, bill.credits);
        let (facilitator, asset_program) = {
            let l = lock(&state.ledger);
            (
                l.facilitator.pubkey(),
                l.mint_program(&l.usdc_mint).unwrap_or(TOKEN_PROGRAM_ID),
            )
        };
        let (pay_to, asset) = {
            let l = lock(&state.ledger);
            (l.treasury, l.usdc_mint)
        };
        let expect = Expect {
            mode: state.config.mode,
            requirement: &req,
            pay_to,
            asset,
            asset_program,
            facilitator,
            via_x_payment,
        };
        let verified = match verify(value, &expect) {
            Ok(v) => v,
            Err(Refusal { message, reason }) => {
                return challenge(&bill, &message, Some(reason));
            }
        };
        if state.config.documented_form_only {
            let legacy = matches!(
                verified.tx.message,
                solana_message::VersionedMessage::Legacy(_)
            );
            if !verified.flat || !legacy {
                return challenge(
                    &bill,
                    "invalid payment payload: expected the flat payload and a legacy transaction",
                    Some("invalid_payload"),
                );
            }
        }
        // maxTimeoutSeconds: a payment presented longer after its blockhash than the
        // requirement allows is refused before settlement. An already expired blockhash
        // keeps Sova's documented outcome ("transaction confirmation failed" at settlement).
        let age_ms = {
            let l = lock(&state.ledger);
            let hash = verified.tx.message.recent_blockhash();
            l.blockhash_valid(hash)
                .then(|| l.blockhash_age_ms(hash))
                .flatten()
        };
        if let Some(age_ms) = age_ms
            && age_ms > state.config.max_timeout_seconds.saturating_mul(1000)
        {
            return challenge(
                &bill,
                &format!(
                    "payment expired: its blockhash is {} ms old, above maxTimeoutSeconds ({} s)",
                    age_ms, state.config.max_timeout_seconds
                ),
                Some("invalid_exact_svm_payload_transaction_expired"),
            );
        }
        // The independent verifier of `sova-x402` (client-side pre-flight rules), against
        // the requirement as the payment's version states it.
        let preflight_req = if verified.version == 1 {
            v1_requirement(state, bill.credits, bill.uri).unwrap_or_else(|| req.clone())
        } else {
            req.clone()
        };
        let report = sova_x402::verify(
            &preflight_req,
            value,
            &sova_x402::VerifyOptions::default().verbose(false),
        );
        let preflight: Vec<String> = report
            .failures()
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect();
        if state.config.strict_preflight && !preflight.is_empty() {
            return challenge(
                &bill,
                &format!("invalid payment: {}", preflight.join("; ")),
                Some("invalid_payload"),
            );
        }
        // Replay: reserve the authority signature.
        {
            let now = state.clock.now_ms();
            let window = i64::try_from(state.config.replay_window.as_millis()).unwrap_or(i64::MAX);
            let mut replay = lock(&state.replay);
            if replay.len() > 100_000 {
                replay.retain(|_, (at, settled)| !*settled || now - *at < window);
            }
            match replay.get(&verified.replay_key) {
                Some((at, true)) if now - *at < window => {
                    return challenge(&bill, MSG_REPLAY, Some("duplicate_settlement"));
                }
                Some((_, false)) => {
                    return challenge(&bill, MSG_REPLAY, Some("duplicate_settlement"));
                }
                _ => {
                    replay.insert(verified.replay_key, (now, false));
                }
            }
        }
        Payer::X402(Box::new((verified, preflight)))
    } else {
        let malformed = !lock(&state.faults)
            .take(bill.method, bill.template, bill.uri.path(), |k| {
                matches!(k, FaultKind::MalformedChallenge)
            })
            .is_empty();
        if malformed {
            let mut r = json_response(
                StatusCode::PAYMENT_REQUIRED,
                &payment_required_body(bill.credits, "Payment required"),
            );
            set_header(r.headers_mut(), "payment-required", "%%not-a-challenge%%");
            return r;
        }
        let stale = lock(&state.faults).peek(bill.method, bill.template, bill.uri.path(), |k| {
            matches!(k, FaultKind::StaleLastValidHeight { .. })
        });
        if stale {
            return stale_challenge(&bill);
        }
        return challenge(&bill, "Payment required", None);
    };

    // 2. The handler.
    let (response, rollback) = match handler().await {
        Outcome::Free(r) => {
            if let Payer::X402(v) = &payer {
                release(state, &v.0.replay_key);
            }
            return r;
        }
        Outcome::Charge { response, rollback } => (response, rollback),
    };

    // 3. Billing-point faults.
    let faults = {
        let path = bill.uri.path().to_owned();
        let x402 = matches!(payer, Payer::X402(_));
        lock(&state.faults).take(bill.method, bill.template, &path, |k| {
            !k.is_front() && (x402 || !k.x402_only()) && !matches!(k, FaultKind::MalformedChallenge)
        })
    };
    let has = |f: &dyn Fn(&FaultKind) -> bool| faults.iter().any(f);
    if has(&|k| matches!(k, FaultKind::DropBeforeSettlement)) {
        if let Payer::X402(v) = &payer {
            release(state, &v.0.replay_key);
        }
        rollback_jobs(state, &rollback);
        return bill.conn.drop_connection().await;
    }
    let label = route_label(&bill);

    // 4. Charge.
    let mut response = response;
    let mut payment_index = None;
    match payer {
        Payer::Key(key) => {
            let ok = lock(&state.intel).charge(&key, bill.credits);
            if !ok {
                rollback_jobs(state, &rollback);
                return json_response(
                    StatusCode::PAYMENT_REQUIRED,
                    &payment_required_body(bill.credits, "Insufficient credits"),
                );
            }
            let mut ins = lock(&state.inspect);
            *ins.credits_used.entry(key).or_default() += bill.credits;
        }
        Payer::X402(v) => {
            let (verified, preflight_failures) = *v;
            let pending = Pending {
                verified,
                preflight_failures,
                label: label.clone(),
                path: bill.uri.path().to_owned(),
            };
            let expire = has(&|k| matches!(k, FaultKind::ExpireBlockhash));
            let held = faults.iter().find_map(|k| match k {
                FaultKind::HoldAndSubmitLater { status, delay_ms }
                | FaultKind::StaleLastValidHeight { status, delay_ms } => {
                    Some((*status, *delay_ms))
                }
                _ => None,
            });
            if let Some((status, delay_ms)) = held {
                if expire {
                    lock(&state.ledger).expire_blockhashes();
                }
                hold_and_submit_later(state, pending, delay_ms);
                if status != 202 {
                    rollback_jobs(state, &rollback);
                }
                return held_answer(&bill, status, response);
            }
            let payer_s = pending.verified.payer.to_string();
            let amount = pending.verified.amount;
            let v1 = pending.verified.version == 1;
            let (sig_s, index) = match submit(state, pending, expire) {
                Ok(done) => done,
                Err(e) => {
                    rollback_jobs(state, &rollback);
                    let detail = match &e {
                        SendError::BlockhashNotFound => "expired or unknown blockhash".to_owned(),
                        SendError::Failed { reason, logs } => {
                            let tail: Vec<&str> =
                                logs.iter().rev().take(2).map(String::as_str).collect();
                            format!("{reason}: {}", tail.join(" | "))
                        }
                    };
                    return settlement_failure(
                        &bill,
                        MSG_CONFIRMATION,
                        "transaction_failed",
                        &detail,
                        "",
                        &payer_s,
                    );
                }
            };
            payment_index = Some(index);
            if has(&|k| matches!(k, FaultKind::SettlementPending)) {
                rollback_jobs(state, &rollback);
                return settlement_failure(
                    &bill,
                    "settlement pending",
                    "settlement_pending",
                    "transaction broadcast; confirmation not observed",
                    &sig_s,
                    &payer_s,
                );
            }
            let s = SettlementResponse {
                success: true,
                error_reason: None,
                error_message: None,
                payer: Some(payer_s),
                transaction: sig_s.clone(),
                network: networks::SOLANA_MAINNET.to_owned(),
                amount: Some(amount.to_string()),
                extensions: None,
            };
            if v1 {
                // x402 v1: the settlement is base64 JSON in `X-PAYMENT-RESPONSE`.
                set_header(response.headers_mut(), "x-payment-response", &s.encode());
            } else {
                // Sova documents only `X-Payment-Response: <signature>` (reference §3.5); the
                // standard `PAYMENT-RESPONSE` is sent in Sova mode only when asked for.
                if state.config.mode == Mode::Sova {
                    set_header(response.headers_mut(), "x-payment-response", &sig_s);
                }
                if state.config.mode == Mode::Standard || state.config.standard_settlement_headers {
                    set_header(response.headers_mut(), "payment-response", &s.encode());
                }
            }
        }
    }

    // 5. After-settlement faults, then delivery.
    if has(&|k| matches!(k, FaultKind::DropAfterSettlement)) {
        return bill.conn.drop_connection().await;
    }
    for f in &faults {
        match f {
            FaultKind::StatusAfterSettlement { status } => {
                let status =
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return intel_error(status, "Injected failure after settlement");
            }
            FaultKind::SettleThen500 => {
                return intel_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Injected failure after settlement",
                );
            }
            FaultKind::SettleThen4xx { status } => {
                let status = StatusCode::from_u16(*status)
                    .ok()
                    .filter(StatusCode::is_client_error)
                    .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
                return intel_error(status, status.canonical_reason().unwrap_or("Error"));
            }
            FaultKind::SettleThen402Invalid => return invalid_challenge(&bill),
            FaultKind::SettleThen202 => return fake_fallback(&bill, response),
            FaultKind::SettleThen202Forever => {
                lock(&state.forever_202).insert(bill.uri.path().to_owned());
                return fake_fallback(&bill, response);
            }
            FaultKind::SettleThenTruncatedBody => return truncated(response).await,
            FaultKind::TimeoutThenRefused { hang_ms, refuse_ms } => {
                bill.conn
                    .refuse_connections(Duration::from_millis((*refuse_ms).min(600_000)));
                tokio::time::sleep(Duration::from_millis((*hang_ms).min(600_000))).await;
                return bill.conn.drop_connection().await;
            }
            _ => {}
        }
    }
    let mut ins = lock(&state.inspect);
    if let Some(i) = payment_index
        && let Some(p) = ins.payments.get_mut(i)
    {
        p.delivered = true;
    }
    *ins.deliveries.entry(label).or_default() += 1;
    drop(ins);
    response
}

/// The same answer (status, settlement headers) with its body cut in half.
async fn truncated(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let cut = bytes.slice(..bytes.len() / 2);
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(cut))
}

/// A verified x402 payment on its way to the ledger.
struct Pending {
    verified: Verified,
    preflight_failures: Vec<String>,
    label: String,
    path: String,
}

/// Submits a verified payment (co-signed by the facilitator in standard mode), marks its
/// replay entry, and records it when it lands: its signature and its index in the payment
/// records.
fn submit(state: &Shared, p: Pending, expire: bool) -> Result<(String, usize), SendError> {
    let Pending {
        verified:
            Verified {
                mut tx,
                payer,
                amount,
                replay_key,
                memo,
                ..
            },
        preflight_failures,
        label,
        path,
    } = p;
    let (result, signatures) = {
        let mut ledger = lock(&state.ledger);
        if expire {
            ledger.expire_blockhashes();
        }
        if state.config.mode == Mode::Standard {
            ledger.cosign(&mut tx);
        }
        let signatures: Vec<String> = tx.signatures.iter().map(ToString::to_string).collect();
        (ledger.send(tx), signatures)
    };
    let sig = match result {
        Ok(sig) => sig,
        Err(e) => {
            let mut replay = lock(&state.replay);
            match &e {
                SendError::BlockhashNotFound => {
                    replay.remove(&replay_key);
                }
                SendError::Failed { .. } => {
                    replay.insert(replay_key, (state.clock.now_ms(), true));
                }
            }
            return Err(e);
        }
    };
    lock(&state.replay).insert(replay_key, (state.clock.now_ms(), true));
    let sig_s = sig.to_string();
    let mut ins = lock(&state.inspect);
    ins.payments.push(PaymentRecord {
        signature: sig_s.clone(),
        payer_signature: solana_signature::Signature::from(replay_key).to_string(),
        signatures,
        payer: payer.to_string(),
        amount,
        memo,
        route: label,
        path,
        mode: state.config.mode.as_str().to_owned(),
        settled_at_ms: state.clock.now_ms(),
        delivered: false,
        preflight_failures,
    });
    Ok((sig_s, ins.payments.len() - 1))
}

/// Counts a held payment until its submission ran (or its task was dropped).
struct HeldGuard(Shared);

impl Drop for HeldGuard {
    fn drop(&mut self) {
        self.0.held.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Submits `p` to the ledger `delay_ms` from now, on a task of its own.
fn hold_and_submit_later(state: &Shared, p: Pending, delay_ms: u64) {
    state.held.fetch_add(1, Ordering::SeqCst);
    let guard = HeldGuard(state.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(delay_ms.min(600_000))).await;
        // Landed or failed (an expired blockhash simply fails, as on a real chain).
        let _ = submit(&guard.0, p, false);
        drop(guard);
    });
}
