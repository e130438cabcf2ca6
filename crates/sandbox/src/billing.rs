//! Charging a paid Intel call: API-key credits or an x402 payment settled on the ledger.
//!
//! The order follows the reference servers: authenticate (key, payment or neither → 402
//! challenge), verify the payment, run the handler, and charge only when the handler's answer
//! is billable (a GET's 200, a POST job's 202). Billing-point faults act here.

use std::future::Future;

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
use crate::verify::{Expect, MSG_CONFIRMATION, MSG_REPLAY, Refusal, Verified, verify};

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
    let mut extra = Map::new();
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

/// The `PAYMENT-REQUIRED` value for `credits` (Sova mode: no `resource`, `error` or `extra`).
pub(crate) fn payment_required_header(
    state: &Shared,
    credits: u64,
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
        accepts: vec![requirement(state, credits)],
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

/// 402 with a fresh challenge.
pub(crate) fn challenge(bill: &Bill<'_>, message: &str, error: Option<&str>) -> Response {
    let mut r = json_response(
        StatusCode::PAYMENT_REQUIRED,
        &payment_required_body(bill.credits, message),
    );
    let v = payment_required_header(bill.state, bill.credits, bill.uri, error);
    set_header(r.headers_mut(), "payment-required", &v);
    r
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
    } else if let Some(raw) = bill
        .headers
        .get("payment-signature")
        .or_else(|| bill.headers.get("x-payment"))
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
        };
        let verified = match verify(value, &expect) {
            Ok(v) => v,
            Err(Refusal { message, reason }) => {
                return challenge(&bill, &message, Some(reason));
            }
        };
        // The independent verifier of `sova-x402` (client-side pre-flight rules).
        let report = sova_x402::verify(
            &req,
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
        lock(&state.faults).take(bill.method, bill.template, &path, false)
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
            let (
                Verified {
                    mut tx,
                    payer,
                    amount,
                    replay_key,
                    memo,
                },
                preflight_failures,
            ) = *v;
            let result = {
                let mut ledger = lock(&state.ledger);
                if has(&|k| matches!(k, FaultKind::ExpireBlockhash)) {
                    ledger.expire_blockhashes();
                }
                if state.config.mode == Mode::Standard {
                    ledger.cosign(&mut tx);
                }
                ledger.send(tx)
            };
            let payer_s = payer.to_string();
            let sig = match result {
                Ok(sig) => sig,
                Err(e) => {
                    {
                        let mut replay = lock(&state.replay);
                        match &e {
                            SendError::BlockhashNotFound => {
                                replay.remove(&replay_key);
                            }
                            SendError::Failed { .. } => {
                                replay.insert(replay_key, (state.clock.now_ms(), true));
                            }
                        }
                    }
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
            lock(&state.replay).insert(replay_key, (state.clock.now_ms(), true));
            let sig_s = sig.to_string();
            {
                let mut ins = lock(&state.inspect);
                ins.payments.push(PaymentRecord {
                    signature: sig_s.clone(),
                    payer: payer_s.clone(),
                    amount,
                    memo,
                    route: label.clone(),
                    mode: state.config.mode.as_str().to_owned(),
                    settled_at_ms: state.clock.now_ms(),
                    delivered: false,
                    preflight_failures,
                });
                payment_index = Some(ins.payments.len() - 1);
            }
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
            set_header(response.headers_mut(), "payment-response", &s.encode());
            if state.config.mode == Mode::Sova {
                set_header(response.headers_mut(), "x-payment-response", &sig_s);
            }
        }
    }

    // 5. After-settlement faults, then delivery.
    if has(&|k| matches!(k, FaultKind::DropAfterSettlement)) {
        return bill.conn.drop_connection().await;
    }
    for f in &faults {
        if let FaultKind::StatusAfterSettlement { status } = f {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return intel_error(status, "Injected failure after settlement");
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
