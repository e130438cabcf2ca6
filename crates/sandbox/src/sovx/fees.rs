//! Monetization settings (fees and spreads) and the lookup of the setting that applies.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::clock::iso8601;
use crate::respond::Ctx;
use crate::state::{Shared, lock};

use super::accounts::{CURRENCIES, PAIRS};
use super::query::{Req, apply_filters, list_query, num};
use super::reply::{dec, done};
use super::store::{Setting, SovxStore};

fn setting_json(s: &Setting) -> Value {
    let feature = match s.feature.as_str() {
        "RFQ" => "RFQ Quote",
        "SPOT_TRADE" => "Spot Trading",
        _ => "Withdrawal",
    };
    let method = match s.method.as_str() {
        "FEE_RATE" => "Fee Rate",
        "FEE_FLAT" => "Flat Fee",
        _ => "Spread Adjustment",
    };
    json!({
        "id": s.id, "feature": feature, "feature_code": s.feature, "method": method, "method_code": s.method,
        "amount": dec(s.amount), "customer_id": "sovbs-sandbox", "currency": s.currency, "pair": s.pair,
        "created_at": iso8601(s.created_ms), "updated_at": iso8601(s.updated_ms),
    })
}

pub(super) async fn list_settings(State(state): State<Shared>, ctx: Ctx) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let q = list_query(&req.uri).map_err(|e| req.bad(e))?;
        let mut items: Vec<Value> = store.settings.iter().map(setting_json).collect();
        apply_filters(&mut items, &q);
        Ok(req.reply.list(items, &q))
    })())
}

fn setting_id(req: &Req, id: &str) -> Result<u64, Response> {
    id.parse::<u64>()
        .map_err(|_| req.not_found("SETTING_NOT_FOUND", "Monetization setting"))
}

pub(super) async fn get_setting(
    State(state): State<Shared>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let id = setting_id(&req, &id)?;
        let s = store
            .settings
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| req.not_found("SETTING_NOT_FOUND", "Monetization setting"))?;
        Ok(req.reply.ok(StatusCode::OK, setting_json(s)))
    })())
}

pub(super) fn positive_amount(
    req: &Req,
    v: Option<&Value>,
    field: &str,
) -> Result<Decimal, Response> {
    match v.and_then(num) {
        Some(d) if d > Decimal::ZERO => Ok(d),
        _ => Err(req.bad(format!("{field} must be a number greater than 0"))),
    }
}

pub(super) async fn create_setting(State(state): State<Shared>, ctx: Ctx, body: Bytes) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let b = req.body(&body)?;
        let feature = b.get("feature").and_then(Value::as_str).unwrap_or("");
        if !["RFQ", "SPOT_TRADE", "WITHDRAW"].contains(&feature) {
            return Err(req.bad("feature must be one of RFQ, SPOT_TRADE, WITHDRAW"));
        }
        let method = b.get("method").and_then(Value::as_str).unwrap_or("");
        if !["FEE_RATE", "FEE_FLAT", "SPREAD_ADJUSTMENT"].contains(&method) {
            return Err(req.bad("method must be one of FEE_RATE, FEE_FLAT, SPREAD_ADJUSTMENT"));
        }
        let amount = positive_amount(&req, b.get("amount"), "amount")?;
        if method != "FEE_FLAT" && amount >= Decimal::ONE {
            return Err(req.bad("amount is a decimal fraction (0.01 = 1%) and must be below 1"));
        }
        let pair = match b.get("pair") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if PAIRS.iter().any(|x| x.0.eq_ignore_ascii_case(p)) => {
                Some(p.to_ascii_uppercase())
            }
            Some(_) => return Err(req.bad("pair must be a supported trading pair, e.g. BTCUSD")),
        };
        let currency = match b.get("currency") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if CURRENCIES.iter().any(|c| c.0.eq_ignore_ascii_case(s)) => {
                Some(s.to_ascii_lowercase())
            }
            Some(_) => return Err(req.bad("currency must be a supported currency code")),
        };
        store.next_setting += 1;
        let s = Setting {
            id: store.next_setting,
            feature: feature.to_owned(),
            method: method.to_owned(),
            amount,
            pair,
            currency,
            created_ms: req.reply.now,
            updated_ms: req.reply.now,
        };
        let out = setting_json(&s);
        store.settings.push(s);
        Ok(req.reply.ok(StatusCode::CREATED, out))
    })())
}

pub(super) async fn update_setting(
    State(state): State<Shared>,
    Path(id): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let id = setting_id(&req, &id)?;
        let b = req.body(&body)?;
        let v = b.get("new_monetization_amount").or_else(|| b.get("amount"));
        let amount = positive_amount(&req, v, "amount")?;
        let now = req.reply.now;
        let s = store
            .settings
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or_else(|| req.not_found("SETTING_NOT_FOUND", "Monetization setting"))?;
        if s.method != "FEE_FLAT" && amount >= Decimal::ONE {
            return Err(req.bad("amount is a decimal fraction (0.01 = 1%) and must be below 1"));
        }
        s.amount = amount;
        s.updated_ms = now;
        Ok(req.reply.ok(StatusCode::OK, setting_json(s)))
    })())
}

pub(super) async fn delete_setting(
    State(state): State<Shared>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let id = setting_id(&req, &id)?;
        let before = store.settings.len();
        store.settings.retain(|s| s.id != id);
        if before == store.settings.len() {
            return Err(req.not_found("SETTING_NOT_FOUND", "Monetization setting"));
        }
        Ok(req
            .reply
            .ok(StatusCode::OK, json!({"id": id, "deleted": true})))
    })())
}

pub(super) fn fee_setting(
    store: &SovxStore,
    feature: &str,
    pair: Option<&str>,
    currency: Option<&str>,
) -> Option<Setting> {
    let matches = |s: &&Setting| {
        s.feature == feature
            && s.pair
                .as_deref()
                .is_none_or(|p| pair.is_some_and(|q| p.eq_ignore_ascii_case(q)))
            && s.currency
                .as_deref()
                .is_none_or(|c| currency.is_some_and(|q| c.eq_ignore_ascii_case(q)))
    };
    // The most specific setting wins.
    store
        .settings
        .iter()
        .filter(matches)
        .max_by_key(|s| (s.pair.is_some() as u8) + (s.currency.is_some() as u8))
        .cloned()
}
