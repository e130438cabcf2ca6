//! Currencies and pairs, owner and user account balances and transactions.

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::respond::Ctx;
use crate::state::{Shared, lock};

use super::query::{Req, apply_filters, list_query};
use super::reply::{R, dec, done};
use super::store::{Bal, SovxStore};
use super::users::live_user;

pub(super) const PAIRS: [(&str, &str, &str, &str); 6] = [
    ("btcusd", "btc", "usd", "60000"),
    ("ethusd", "eth", "usd", "3000"),
    ("solusd", "sol", "usd", "150"),
    ("dogeusd", "doge", "usd", "0.1"),
    ("usdcusd", "usdc", "usd", "1"),
    ("ethbtc", "eth", "btc", "0.05"),
];

/// (symbol, name, precision, sign, is_fiat, min_withdrawal)
pub(super) const CURRENCIES: [(&str, &str, u32, &str, bool, &str); 6] = [
    ("USD", "US Dollar", 2, "$", true, "1"),
    ("BTC", "Bitcoin", 8, "₿", false, "0.0001"),
    ("ETH", "Ethereum", 8, "Ξ", false, "0.001"),
    ("SOL", "Solana", 9, "◎", false, "0.01"),
    ("USDC", "USD Coin", 6, "$", false, "1"),
    ("DOGE", "Dogecoin", 8, "Ð", false, "10"),
];

pub(super) fn bal_json(currency: &str, b: &Bal) -> Value {
    json!({"currency": currency, "balance": dec(b.balance), "available": dec(b.balance - b.held), "held": dec(b.held)})
}

pub(super) async fn owner_balance(State(state): State<Shared>, ctx: Ctx) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let mut base: BTreeMap<String, Bal> = [
            ("usd", "1000000"),
            ("btc", "10"),
            ("eth", "100"),
            ("sol", "1000"),
            ("usdc", "500000"),
        ]
        .iter()
        .map(|(c, v)| {
            (
                (*c).to_owned(),
                Bal {
                    balance: Decimal::from_str(v).unwrap_or_default(),
                    held: Decimal::ZERO,
                },
            )
        })
        .collect();
        for (cur, fee) in &store.owner_fees {
            base.entry(cur.clone()).or_default().balance += *fee;
        }
        let out: Vec<Value> = base.iter().map(|(c, b)| bal_json(c, b)).collect();
        Ok(req.reply.ok(StatusCode::OK, Value::Array(out)))
    })())
}

pub(super) fn tx_list(req: &Req, store: &SovxStore, keep: impl Fn(&Value) -> bool) -> R {
    let q = list_query(&req.uri).map_err(|e| req.bad(e))?;
    let mut items: Vec<Value> = store.txs.iter().filter(|t| keep(t)).cloned().collect();
    apply_filters(&mut items, &q);
    Ok(req.reply.list(items, &q))
}

pub(super) async fn owner_transactions(State(state): State<Shared>, ctx: Ctx) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        tx_list(&req, &store, |_| true)
    })())
}

pub(super) async fn currencies(State(state): State<Shared>, ctx: Ctx) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        req.caller(&store)?;
        let out: Vec<Value> = CURRENCIES
            .iter()
            .enumerate()
            .map(|(i, (sym, name, precision, sign, fiat, min))| {
                json!({
                    "id": i + 1, "symbol": sym, "name": name, "code": sym, "currency": sym,
                    "precision": precision, "ascii_sign": sign, "can_deposit": true, "can_withdraw": !fiat,
                    "min_withdrawal": dec(Decimal::from_str(min).unwrap_or_default()), "is_fiat": fiat,
                    "is_confirmations_needed": !fiat, "is_custody_enabled": true, "is_trading_enabled": true,
                })
            })
            .collect();
        Ok(req.reply.ok(StatusCode::OK, Value::Array(out)))
    })())
}

pub(super) async fn currency_pairs(State(state): State<Shared>, ctx: Ctx) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        req.caller(&store)?;
        let out: Vec<Value> = PAIRS
            .iter()
            .map(|(p, b, q, price)| {
                json!({
                    "pair": p, "symbol": format!("{}/{}", b.to_ascii_uppercase(), q.to_ascii_uppercase()),
                    "base": b, "quote": q, "price": dec(Decimal::from_str(price).unwrap_or_default()),
                    "is_trading_enabled": true,
                })
            })
            .collect();
        Ok(req.reply.ok(StatusCode::OK, Value::Array(out)))
    })())
}

pub(super) async fn user_balance(
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
        let mut totals: BTreeMap<String, Bal> = BTreeMap::new();
        for w in store.wallets.values().filter(|w| w.user_id == user_id) {
            for (cur, b) in &w.balances {
                let t = totals.entry(cur.to_ascii_uppercase()).or_default();
                t.balance += b.balance;
                t.held += b.held;
            }
        }
        let out: Vec<Value> = totals.iter().map(|(c, b)| bal_json(c, b)).collect();
        Ok(req.reply.ok(StatusCode::OK, Value::Array(out)))
    })())
}

pub(super) async fn user_transactions(
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
        tx_list(&req, &store, |t| {
            t.get("user_id").and_then(Value::as_str) == Some(user_id.as_str())
        })
    })())
}
