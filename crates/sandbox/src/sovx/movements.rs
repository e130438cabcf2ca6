//! Withdrawals and transfers, with the two-step confirmation-code flow.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::clock::iso8601;
use crate::respond::Ctx;
use crate::state::{Shared, lock};

use super::fees::{fee_setting, positive_amount};
use super::query::{Caller, Req, apply_filters, is_uuid, list_query, num};
use super::reply::{R, dec, done};
use super::store::{Pending, SovxStore};
use super::trading::active_user_wallet;
use super::users::{acting_active_user, live_user};
use super::wallets::wallet_for;

fn pending_json(p: &Pending) -> Value {
    let mut m = p.body.clone();
    m.insert("id".into(), Value::from(p.id.clone()));
    m.insert("status".into(), Value::from(p.status));
    m.insert("currency".into(), Value::from(p.currency.clone()));
    m.insert("amount".into(), dec(p.amount));
    m.insert("fee".into(), dec(p.fee));
    m.insert("created_at".into(), Value::from(iso8601(p.created_ms)));
    m.insert("updated_at".into(), Value::from(iso8601(p.updated_ms)));
    if p.kind == "withdrawal" {
        m.insert("user_id".into(), Value::from(p.user_id.clone()));
        m.insert(
            "withdraw".into(),
            json!({"id": p.numeric_id, "status": p.status, "idempotency_key": p.idempotency_key, "is_duplicate": false}),
        );
    } else {
        m.insert("source_wallet_id".into(), Value::from(p.wallet_id.clone()));
    }
    Value::Object(m)
}

pub(super) async fn create_withdrawal(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        acting_active_user(&req, &store, &c, &user_id, "withdraw")?;
        let b = req.body(&body)?;
        let currency = match b.get("currency") {
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 10 => {
                s.to_ascii_lowercase()
            }
            _ => return Err(req.bad("currency is required, e.g. btc")),
        };
        let amount = positive_amount(&req, b.get("amount"), "amount")?;
        match b.get("address") {
            Some(Value::String(a)) if !a.trim().is_empty() && a.len() <= 256 => {}
            _ => return Err(req.bad("address is required")),
        }
        match b.get("memo") {
            None | Some(Value::Null) => {}
            Some(Value::String(m)) if m.chars().count() <= 255 => {}
            _ => return Err(req.bad("memo must be a string of at most 255 characters")),
        }
        if !store.wallets.values().any(|w| w.user_id == user_id) {
            return Err(req.reply.err(
                StatusCode::BAD_REQUEST,
                "WALLET_REQUIRED",
                "The user needs a wallet before withdrawing",
            ));
        }
        let fee = fee_setting(&store, "WITHDRAW", None, Some(&currency))
            .map(|s| {
                if s.method == "FEE_FLAT" {
                    s.amount
                } else {
                    (amount * s.amount).round_dp(8)
                }
            })
            .unwrap_or_default();
        let need = amount + fee;
        let wallet_id = store
            .wallets
            .values()
            .filter(|w| w.user_id == user_id)
            .find(|w| {
                w.balances
                    .get(&currency)
                    .is_some_and(|b| b.balance - b.held >= need)
            })
            .map(|w| w.id.clone())
            .ok_or_else(|| {
                req.reply.err(
                    StatusCode::BAD_REQUEST,
                    "INSUFFICIENT_BALANCE",
                    format!("Insufficient {currency} balance for amount plus fees"),
                )
            })?;
        if let Some(w) = store.wallets.get_mut(&wallet_id) {
            w.balances.entry(currency.clone()).or_default().held += need;
        }
        let id = store.rng.uuid();
        store.next_numeric += 1;
        let idem = store.rng.uuid();
        let now = req.reply.now;
        let mut body_out = Map::new();
        for k in ["address", "memo"] {
            if let Some(v) = b.get(k) {
                body_out.insert(k.into(), v.clone());
            }
        }
        let p = Pending {
            id: id.clone(),
            numeric_id: store.next_numeric.to_string(),
            kind: "withdrawal",
            user_id: user_id.clone(),
            wallet_id,
            destination_wallet_id: None,
            currency,
            amount,
            fee,
            status: "PENDING",
            body: body_out,
            idempotency_key: idem,
            created_ms: now,
            updated_ms: now,
        };
        let out = pending_json(&p);
        store.pending.insert(id.clone(), p);
        store.new_code(&id);
        Ok(req.reply.ok(StatusCode::CREATED, out))
    })())
}

fn pending_for<'a>(
    req: &Req,
    store: &'a SovxStore,
    id: &str,
    kind: &str,
    owner_check: impl Fn(&Pending) -> bool,
) -> Result<&'a Pending, Response> {
    let p = store
        .find_pending(id)
        .filter(|p| p.kind == kind && owner_check(p));
    p.ok_or_else(|| {
        req.not_found(
            if kind == "withdrawal" {
                "WITHDRAWAL_NOT_FOUND"
            } else {
                "TRANSFER_NOT_FOUND"
            },
            if kind == "withdrawal" {
                "Withdrawal"
            } else {
                "Transfer"
            },
        )
    })
}

pub(super) async fn list_withdrawals(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.self_or_owner(&c, &user_id)?;
        live_user(&req, &store, &user_id)?;
        pending_list(&req, &store, |p| {
            p.kind == "withdrawal" && p.user_id == user_id
        })
    })())
}

/// A filtered, paginated list of pending operations (withdrawals or transfers).
fn pending_list(req: &Req, store: &SovxStore, keep: impl Fn(&Pending) -> bool) -> R {
    let q = list_query(&req.uri).map_err(|e| req.bad(e))?;
    let mut items: Vec<Value> = store
        .pending
        .values()
        .filter(|p| keep(p))
        .map(pending_json)
        .collect();
    apply_filters(&mut items, &q);
    Ok(req.reply.list(items, &q))
}

pub(super) async fn get_withdrawal(
    State(state): State<Shared>,
    Path((user_id, op_id)): Path<(String, String)>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.self_or_owner(&c, &user_id)?;
        live_user(&req, &store, &user_id)?;
        let p = pending_for(&req, &store, &op_id, "withdrawal", |p| p.user_id == user_id)?;
        Ok(req.reply.ok(StatusCode::OK, pending_json(p)))
    })())
}

/// Confirm, resend or cancel a pending operation.
fn pending_action(req: &Req, store: &mut SovxStore, id: &str, action: &str, body: &[u8]) -> R {
    let Some(p) = store.find_pending(id).cloned() else {
        return Err(req.not_found("NOT_FOUND", "Operation"));
    };
    if !["confirm", "resend", "cancel"].contains(&action) {
        return Err(req.reply.err(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!(
                "Unknown action {}",
                action.chars().take(32).collect::<String>()
            ),
        ));
    }
    if p.status != "PENDING" {
        return Err(req.reply.err(
            StatusCode::BAD_REQUEST,
            "INVALID_STATE",
            format!("The operation is {}, not PENDING", p.status),
        ));
    }
    let now = req.reply.now;
    let need = p.amount + p.fee;
    match action {
        "resend" => {
            store.new_code(&p.id);
            Ok(req.reply.ok(StatusCode::OK, json!({"id": p.id, "status": "PENDING", "message": "A new confirmation code has been sent"})))
        }
        "cancel" => {
            if let Some(w) = store.wallets.get_mut(&p.wallet_id) {
                let b = w.balances.entry(p.currency.clone()).or_default();
                b.held = (b.held - need).max(Decimal::ZERO);
            }
            store.codes.remove(&p.id);
            let e = store
                .pending
                .get_mut(&p.id)
                .ok_or_else(|| req.not_found("NOT_FOUND", "Operation"))?;
            e.status = "CANCELLED";
            e.updated_ms = now;
            Ok(req.reply.ok(StatusCode::OK, pending_json(e)))
        }
        _ => {
            let b = req.body(body)?;
            let code = match b.get("code").or_else(|| b.get("otp")) {
                Some(Value::String(s)) => s.trim().to_owned(),
                Some(Value::Number(n)) => format!("{:06}", n.as_u64().unwrap_or(u64::MAX)),
                _ => return Err(req.bad("code is required")),
            };
            if store.codes.get(&p.id) != Some(&code) {
                return Err(req.reply.err(
                    StatusCode::BAD_REQUEST,
                    "INVALID_CODE",
                    "The confirmation code is invalid",
                ));
            }
            if let Some(dest) = &p.destination_wallet_id {
                let ok = store.wallets.contains_key(dest);
                if !ok {
                    return Err(req.not_found("WALLET_NOT_FOUND", "Destination wallet"));
                }
            }
            if let Some(w) = store.wallets.get_mut(&p.wallet_id) {
                let b = w.balances.entry(p.currency.clone()).or_default();
                b.held = (b.held - need).max(Decimal::ZERO);
                b.balance -= need;
                w.updated_ms = now;
            }
            if let Some(dest) = &p.destination_wallet_id
                && let Some(w) = store.wallets.get_mut(dest)
            {
                w.balances.entry(p.currency.clone()).or_default().balance += p.amount;
                w.updated_ms = now;
            }
            if p.fee > Decimal::ZERO {
                *store.owner_fees.entry(p.currency.clone()).or_default() += p.fee;
            }
            store.codes.remove(&p.id);
            let ts = iso8601(now);
            let (kind, dest_user) = if p.kind == "withdrawal" {
                ("WITHDRAWAL", None)
            } else {
                (
                    "TRANSFER_OUT",
                    p.destination_wallet_id
                        .as_ref()
                        .and_then(|d| store.wallets.get(d))
                        .map(|w| w.user_id.clone()),
                )
            };
            let tx_id = store.rng.uuid();
            store.push_tx(json!({
                "id": tx_id, "type": kind, "status": "COMPLETED", "currency": p.currency, "amount": dec(p.amount),
                "fee": dec(p.fee), "wallet_id": p.wallet_id, "user_id": p.user_id, "reference_id": p.id,
                "created_at": ts, "updated_at": ts,
            }));
            if let (Some(dest), Some(du)) = (&p.destination_wallet_id, dest_user) {
                let tx_id = store.rng.uuid();
                store.push_tx(json!({
                    "id": tx_id, "type": "TRANSFER_IN", "status": "COMPLETED", "currency": p.currency,
                    "amount": dec(p.amount), "fee": 0, "wallet_id": dest, "user_id": du, "reference_id": p.id,
                    "created_at": ts, "updated_at": ts,
                }));
            }
            let e = store
                .pending
                .get_mut(&p.id)
                .ok_or_else(|| req.not_found("NOT_FOUND", "Operation"))?;
            e.status = "COMPLETED";
            e.updated_ms = now;
            Ok(req.reply.ok(StatusCode::OK, pending_json(e)))
        }
    }
}

pub(super) async fn withdrawal_action(
    State(state): State<Shared>,
    Path((user_id, op_id, action)): Path<(String, String, String)>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.self_or_owner(&c, &user_id)?;
        live_user(&req, &store, &user_id)?;
        let id = pending_for(&req, &store, &op_id, "withdrawal", |p| p.user_id == user_id)?
            .id
            .clone();
        pending_action(&req, &mut store, &id, &action, &body)
    })())
}

pub(super) async fn create_transfer(
    State(state): State<Shared>,
    Path(wallet_id): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        let uid = req.user_only(&c)?;
        active_user_wallet(&req, &store, &c, &wallet_id)?;
        let b = req.body(&body)?;
        let dest = match b.get("destination_wallet_id") {
            Some(Value::String(d)) if is_uuid(d) => d.to_ascii_lowercase(),
            _ => return Err(req.bad("destination_wallet_id must be a UUID")),
        };
        if dest == wallet_id {
            return Err(req.bad("destination_wallet_id must differ from the source wallet"));
        }
        let kind = match b.get("type").and_then(Value::as_str) {
            Some(t @ ("PAYIN" | "PAYOUT")) => t.to_owned(),
            _ => return Err(req.bad("type must be PAYIN or PAYOUT")),
        };
        for (k, max) in [("purpose", 255), ("description", 500)] {
            match b.get(k) {
                Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= max => {}
                _ => return Err(req.bad(format!("{k} is required (at most {max} characters)"))),
            }
        }
        let currency = match b.get("currency") {
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 10 => {
                s.to_ascii_lowercase()
            }
            _ => return Err(req.bad("currency is required (at most 10 characters)")),
        };
        let amount = match b.get("amount").and_then(num) {
            Some(a) if a >= Decimal::new(1, 6) => a,
            _ => return Err(req.bad("amount must be a positive number of at least 0.000001")),
        };
        let dest_ok = store
            .wallets
            .get(&dest)
            .and_then(|w| store.users.get(&w.user_id))
            .is_some_and(|u| u.status == "ACTIVE" && !u.deleted);
        if !store.wallets.contains_key(&dest) {
            return Err(req.not_found("WALLET_NOT_FOUND", "Destination wallet"));
        }
        if !dest_ok {
            return Err(req.reply.err(
                StatusCode::BAD_REQUEST,
                "WALLET_NOT_ACTIVE",
                "The destination wallet is not active",
            ));
        }
        let w = store
            .wallets
            .get_mut(&wallet_id)
            .ok_or_else(|| req.not_found("WALLET_NOT_FOUND", "Wallet"))?;
        let bal = w.balances.entry(currency.clone()).or_default();
        if bal.balance - bal.held < amount {
            return Err(req.reply.err(
                StatusCode::BAD_REQUEST,
                "INSUFFICIENT_BALANCE",
                format!("Insufficient available {currency} balance"),
            ));
        }
        bal.held += amount;
        let id = store.rng.uuid();
        let now = req.reply.now;
        let mut body_out = Map::new();
        body_out.insert("destination_wallet_id".into(), Value::from(dest.clone()));
        body_out.insert("type".into(), Value::from(kind));
        for k in ["purpose", "description"] {
            if let Some(v) = b.get(k) {
                body_out.insert(k.into(), v.clone());
            }
        }
        let idem = store.rng.uuid();
        let p = Pending {
            id: id.clone(),
            numeric_id: id.clone(),
            kind: "transfer",
            user_id: uid,
            wallet_id: wallet_id.clone(),
            destination_wallet_id: Some(dest),
            currency,
            amount,
            fee: Decimal::ZERO,
            status: "PENDING",
            body: body_out,
            idempotency_key: idem,
            created_ms: now,
            updated_ms: now,
        };
        let out = pending_json(&p);
        store.pending.insert(id.clone(), p);
        store.new_code(&id);
        Ok(req.reply.ok(StatusCode::CREATED, out))
    })())
}

fn transfer_wallet_check(
    req: &Req,
    store: &SovxStore,
    c: &Caller,
    wallet_id: &str,
) -> Result<(), Response> {
    req.user_only(c)?;
    wallet_for(req, store, c, wallet_id)?;
    Ok(())
}

pub(super) async fn list_transfers(
    State(state): State<Shared>,
    Path(wallet_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        transfer_wallet_check(&req, &store, &c, &wallet_id)?;
        pending_list(&req, &store, |p| {
            p.kind == "transfer"
                && (p.wallet_id == wallet_id
                    || p.destination_wallet_id.as_deref() == Some(wallet_id.as_str()))
        })
    })())
}

pub(super) async fn get_transfer(
    State(state): State<Shared>,
    Path((wallet_id, op_id)): Path<(String, String)>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        transfer_wallet_check(&req, &store, &c, &wallet_id)?;
        let p = pending_for(&req, &store, &op_id, "transfer", |p| {
            p.wallet_id == wallet_id
                || p.destination_wallet_id.as_deref() == Some(wallet_id.as_str())
        })?;
        Ok(req.reply.ok(StatusCode::OK, pending_json(p)))
    })())
}

pub(super) async fn transfer_action(
    State(state): State<Shared>,
    Path((wallet_id, op_id, action)): Path<(String, String, String)>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        transfer_wallet_check(&req, &store, &c, &wallet_id)?;
        let id = pending_for(&req, &store, &op_id, "transfer", |p| {
            p.wallet_id == wallet_id
        })?
        .id
        .clone();
        pending_action(&req, &mut store, &id, &action, &body)
    })())
}
