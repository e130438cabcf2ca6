//! Quotes and orders.

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::clock::iso8601;
use crate::respond::Ctx;
use crate::state::{Shared, lock};

use super::accounts::PAIRS;
use super::fees::{fee_setting, positive_amount};
use super::query::{Caller, Req};
use super::reply::{dec, done};
use super::store::{Quote, SovxStore, Wallet};
use super::wallets::wallet_for;

pub(super) fn active_user_wallet<'a>(
    req: &Req,
    store: &'a SovxStore,
    c: &Caller,
    wallet_id: &str,
) -> Result<&'a Wallet, Response> {
    let w = wallet_for(req, store, c, wallet_id)?;
    let active = store
        .users
        .get(&w.user_id)
        .is_some_and(|u| u.status == "ACTIVE" && !u.deleted);
    if !active {
        return Err(req.reply.err(
            StatusCode::FORBIDDEN,
            "USER_NOT_ACTIVE",
            "The user is not active",
        ));
    }
    Ok(w)
}

pub(super) async fn create_quote(
    State(state): State<Shared>,
    Path(wallet_id): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.user_only(&c)?;
        active_user_wallet(&req, &store, &c, &wallet_id)?;
        let b = req.body(&body)?;
        let pair_in = b
            .get("pair")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let Some(&(pair, _, _, price)) = PAIRS.iter().find(|p| p.0 == pair_in) else {
            return Err(req.bad("pair must be a supported pair, e.g. btcusd"));
        };
        let side = match b.get("side").and_then(Value::as_str) {
            Some(s @ ("buy" | "sell")) => s.to_owned(),
            _ => return Err(req.bad("side must be buy or sell")),
        };
        let quantity = b.get("quantity").filter(|v| !v.is_null());
        let amount = b.get("amount").filter(|v| !v.is_null());
        let mid = Decimal::from_str(price).unwrap_or(Decimal::ONE);
        let setting = fee_setting(&store, "RFQ", Some(pair), None);
        let mut px = mid;
        if let Some(s) = setting.as_ref().filter(|s| s.method == "SPREAD_ADJUSTMENT") {
            px = if side == "buy" {
                mid * (Decimal::ONE + s.amount)
            } else {
                mid * (Decimal::ONE - s.amount)
            };
        }
        let (qty, amt) = match (quantity, amount) {
            (Some(q), None) => {
                let q = positive_amount(&req, Some(q), "quantity")?;
                (q, (q * px).round_dp(8))
            }
            (None, Some(a)) => {
                let a = positive_amount(&req, Some(a), "amount")?;
                ((a / px).round_dp(8), a)
            }
            _ => {
                return Err(req.bad(
                    "send exactly one of quantity (base currency) or amount (quote currency)",
                ));
            }
        };
        if qty <= Decimal::ZERO {
            return Err(req.bad("the quote is too small"));
        }
        let now = req.reply.now;
        let ttl = i64::try_from(state.config.quote_ttl.as_millis()).unwrap_or(300_000);
        let id = format!(
            "{}-{}-11f0-{}",
            store.rng.hex(4),
            store.rng.hex(2),
            store.rng.hex(2)
        );
        let q = Quote {
            wallet_id: wallet_id.clone(),
            pair,
            side: side.clone(),
            quantity: qty,
            amount: amt,
            price: px,
            created_ms: now,
            expires_ms: now + ttl,
            used: false,
        };
        let price_key = if side == "buy" {
            "buy_price"
        } else {
            "sell_price"
        };
        let mut out = json!({
            "quote_id": id, "pair": pair, "side": side, "amount": dec(amt), "quantity": dec(qty),
            "created_at": iso8601(q.created_ms), "expired_at": iso8601(q.expires_ms),
        });
        if let Value::Object(m) = &mut out {
            m.insert(price_key.into(), dec(px));
        }
        store.quotes.insert(id, q);
        Ok(req.reply.ok(StatusCode::CREATED, out))
    })())
}

pub(super) async fn place_order(
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
        let Some(quote_id) = b.get("quote_id").and_then(Value::as_str).map(str::to_owned) else {
            return Err(req.bad("quote_id is required"));
        };
        let q = store
            .quotes
            .get(&quote_id)
            .filter(|q| q.wallet_id == wallet_id)
            .cloned()
            .ok_or_else(|| req.not_found("QUOTE_NOT_FOUND", "Quote"))?;
        if q.used {
            return Err(req.reply.err(
                StatusCode::CONFLICT,
                "QUOTE_ALREADY_USED",
                "This quote has already been executed",
            ));
        }
        if req.reply.now >= q.expires_ms {
            return Err(req.reply.err(
                StatusCode::BAD_REQUEST,
                "QUOTE_EXPIRED",
                "The quote has expired; request a new one",
            ));
        }
        let (_, base, quote_cur, _) = PAIRS
            .iter()
            .find(|p| p.0 == q.pair)
            .copied()
            .unwrap_or(PAIRS[0]);
        let setting = fee_setting(&store, "RFQ", Some(q.pair), None)
            .filter(|s| s.method != "SPREAD_ADJUSTMENT")
            .or_else(|| fee_setting(&store, "SPOT_TRADE", Some(q.pair), None));
        let fee = match &setting {
            Some(s) if s.method == "FEE_RATE" => (q.amount * s.amount).round_dp(8),
            Some(s) if s.method == "FEE_FLAT" => s.amount,
            _ => Decimal::ZERO,
        };
        let (debit_cur, debit, credit_cur, credit) = if q.side == "buy" {
            (quote_cur, q.amount + fee, base, q.quantity)
        } else {
            (
                base,
                q.quantity,
                quote_cur,
                (q.amount - fee).max(Decimal::ZERO),
            )
        };
        let w = store
            .wallets
            .get_mut(&wallet_id)
            .ok_or_else(|| req.not_found("WALLET_NOT_FOUND", "Wallet"))?;
        let available = w
            .balances
            .get(debit_cur)
            .map(|b| b.balance - b.held)
            .unwrap_or_default();
        if available < debit {
            return Err(req.reply.err(
                StatusCode::BAD_REQUEST,
                "INSUFFICIENT_BALANCE",
                format!(
                    "Insufficient {debit_cur} balance: available {}, required {}",
                    available.normalize(),
                    debit.normalize()
                ),
            ));
        }
        w.balances.entry(debit_cur.to_owned()).or_default().balance -= debit;
        w.balances.entry(credit_cur.to_owned()).or_default().balance += credit;
        w.updated_ms = req.reply.now;
        if let Some(qq) = store.quotes.get_mut(&quote_id) {
            qq.used = true;
        }
        *store.owner_fees.entry(quote_cur.to_owned()).or_default() += fee;
        let order_id = store.rng.uuid();
        let now = iso8601(req.reply.now);
        let order = json!({
            "order_id": order_id, "id": order_id, "quote_id": quote_id, "wallet_id": wallet_id, "pair": q.pair,
            "side": q.side, "quantity": dec(q.quantity), "amount": dec(q.amount), "price": dec(q.price),
            "fee": dec(fee), "fee_currency": quote_cur, "status": "COMPLETED", "created_at": now, "updated_at": now,
        });
        let mut tx = order.clone();
        if let Value::Object(m) = &mut tx {
            m.insert("id".into(), Value::from(store.rng.uuid()));
            m.insert("type".into(), Value::from("TRADE"));
            m.insert("user_id".into(), Value::from(uid));
            m.insert("currency".into(), Value::from(base));
        }
        store.push_tx(tx);
        Ok(req.reply.ok(StatusCode::CREATED, order))
    })())
}
