//! Wallets, their balances and transactions, and deposit addresses.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::clock::iso8601;
use crate::respond::Ctx;
use crate::rng::Rng;
use crate::state::{Shared, lock};

use super::accounts::{bal_json, tx_list};
use super::query::{Caller, Req, apply_filters, list_query};
use super::reply::done;
use super::store::{SovxStore, Wallet};
use super::users::{acting_active_user, live_user};

fn wallet_json(w: &Wallet) -> Value {
    json!({
        "wallet_id": w.id, "vault_wallet_id": w.vault_id, "user_id": w.user_id, "name": w.name,
        "description": w.description, "wallet_type": w.wallet_type, "status": "ACTIVE",
        "networks": w.networks, "addresses": w.addresses,
        "created_at": iso8601(w.created_ms), "updated_at": iso8601(w.updated_ms),
    })
}

fn make_address(rng: &mut Rng, network: &str) -> String {
    let n = network.to_ascii_lowercase();
    if n.contains("bitcoin") {
        format!("tb1q{}", rng.hex(19))
    } else if n.contains("ethereum") || n.contains("polygon") || n.contains("base") {
        format!("0x{}", rng.hex(20))
    } else {
        rng.address()
    }
}

pub(super) async fn create_wallet(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        acting_active_user(&req, &store, &c, &user_id, "open a wallet")?;
        let b = req.body(&body)?;
        let name = match b.get("name") {
            Some(Value::String(n)) if !n.trim().is_empty() && n.chars().count() <= 100 => n.clone(),
            _ => return Err(req.bad("name is required (at most 100 characters)")),
        };
        if store
            .wallets
            .values()
            .any(|w| w.user_id == user_id && w.name == name)
        {
            return Err(req.reply.err(
                StatusCode::BAD_REQUEST,
                "DUPLICATE_WALLET_NAME",
                "A wallet with this name already exists for the user",
            ));
        }
        let networks = match b.get("networks") {
            Some(Value::Array(a)) if !a.is_empty() && a.len() <= 20 => a.clone(),
            _ => return Err(req.bad("networks must be a non-empty array of {name, currency}")),
        };
        for n in &networks {
            let ok = n
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty() && s.len() <= 100)
                && n.get("currency")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty() && s.len() <= 10);
            if !ok {
                return Err(req.bad(
                    "each network needs a name (e.g. networks/solana-devnet) and a currency",
                ));
            }
        }
        let wallet_type = match b.get("wallet_type") {
            None | Some(Value::Null) => "virtual".to_owned(),
            Some(Value::String(t)) if t == "virtual" || t == "real" => t.clone(),
            _ => return Err(req.bad("wallet_type must be virtual or real")),
        };
        let description = match b.get("description") {
            None | Some(Value::Null) => None,
            Some(Value::String(d)) if d.chars().count() <= 500 => Some(d.clone()),
            _ => return Err(req.bad("description must be a string")),
        };
        let id = store.rng.uuid();
        let vault_id = format!("wal_{}", store.rng.hex(6));
        let mut addresses = Vec::new();
        for n in &networks {
            let network = n
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim_start_matches("networks/")
                .to_owned();
            let currency = n
                .get("currency")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            let address = make_address(&mut store.rng, &network);
            let address_id = store.rng.uuid();
            addresses.push(json!({"address_id": address_id, "currency": currency, "network": network, "address": address}));
        }
        let now = req.reply.now;
        let w = Wallet {
            id: id.clone(),
            vault_id,
            user_id: user_id.clone(),
            name,
            description,
            wallet_type,
            networks,
            addresses,
            balances: BTreeMap::new(),
            created_ms: now,
            updated_ms: now,
        };
        let out = wallet_json(&w);
        store.wallets.insert(id, w);
        Ok(req.reply.ok(StatusCode::CREATED, out))
    })())
}

pub(super) async fn list_wallets(
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
        let q = list_query(&req.uri).map_err(|e| req.bad(e))?;
        let mut items: Vec<Value> = store
            .wallets
            .values()
            .filter(|w| w.user_id == user_id)
            .map(wallet_json)
            .collect();
        apply_filters(&mut items, &q);
        Ok(req.reply.list(items, &q))
    })())
}

/// Resolves a wallet the caller may act on.
/// A read of one wallet the caller may see: owner key, or the wallet's own user.
fn read_wallet(
    state: &Shared,
    ctx: Ctx,
    wallet_id: &str,
    view: impl FnOnce(&Wallet) -> Value,
) -> Response {
    let req = Req::new(state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        let w = wallet_for(&req, &store, &c, wallet_id)?;
        Ok(req.reply.ok(StatusCode::OK, view(w)))
    })())
}

pub(super) fn wallet_for<'a>(
    req: &Req,
    store: &'a SovxStore,
    c: &Caller,
    wallet_id: &str,
) -> Result<&'a Wallet, Response> {
    let w = store.wallets.get(wallet_id);
    if let (Caller::User(u), Some(w)) = (c, w)
        && &w.user_id != u
    {
        return Err(req.reply.err(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "A user token can act only on its own wallets",
        ));
    }
    let w = w.ok_or_else(|| req.not_found("WALLET_NOT_FOUND", "Wallet"))?;
    if store.users.get(&w.user_id).is_none_or(|u| u.deleted) {
        return Err(req.not_found("WALLET_NOT_FOUND", "Wallet"));
    }
    Ok(w)
}

pub(super) async fn get_wallet(
    State(state): State<Shared>,
    Path(wallet_id): Path<String>,
    ctx: Ctx,
) -> Response {
    read_wallet(&state, ctx, &wallet_id, wallet_json)
}

pub(super) async fn wallet_balances(
    State(state): State<Shared>,
    Path(wallet_id): Path<String>,
    ctx: Ctx,
) -> Response {
    read_wallet(&state, ctx, &wallet_id, |w| {
        Value::Array(w.balances.iter().map(|(cur, b)| bal_json(cur, b)).collect())
    })
}

pub(super) async fn wallet_transactions(
    State(state): State<Shared>,
    Path(wallet_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        wallet_for(&req, &store, &c, &wallet_id)?;
        tx_list(&req, &store, |t| {
            t.get("wallet_id").and_then(Value::as_str) == Some(wallet_id.as_str())
        })
    })())
}

fn addresses_json(w: &Wallet) -> Value {
    json!({
        "wallet_id": w.id, "vault_wallet_id": w.vault_id, "user_id": w.user_id, "name": w.name,
        "description": w.description, "addresses": w.addresses,
        "created_at": iso8601(w.created_ms), "updated_at": iso8601(w.updated_ms),
    })
}

pub(super) async fn create_address(
    State(state): State<Shared>,
    Path(wallet_id): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        wallet_for(&req, &store, &c, &wallet_id)?;
        let b = req.body(&body)?;
        let currency = match b.get("currency") {
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 10 => {
                s.to_ascii_lowercase()
            }
            _ => return Err(req.bad("currency is required, e.g. btc")),
        };
        let network = match b.get("network") {
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 100 => s.clone(),
            _ => return Err(req.bad("network is required, e.g. bitcoin-testnet")),
        };
        let exists = store.wallets.get(&wallet_id).is_some_and(|w| {
            w.addresses.iter().any(|a| {
                a.get("currency").and_then(Value::as_str) == Some(currency.as_str())
                    && a.get("network").and_then(Value::as_str) == Some(network.as_str())
            })
        });
        if !exists {
            let address = make_address(&mut store.rng, &network);
            let address_id = store.rng.uuid();
            let now = req.reply.now;
            if let Some(w) = store.wallets.get_mut(&wallet_id) {
                w.addresses.push(json!({"address_id": address_id, "currency": currency, "network": network, "address": address}));
                w.updated_ms = now;
            }
        }
        let w = store
            .wallets
            .get(&wallet_id)
            .ok_or_else(|| req.not_found("WALLET_NOT_FOUND", "Wallet"))?;
        Ok(req.reply.ok(StatusCode::CREATED, addresses_json(w)))
    })())
}

pub(super) async fn list_addresses(
    State(state): State<Shared>,
    Path(wallet_id): Path<String>,
    ctx: Ctx,
) -> Response {
    read_wallet(&state, ctx, &wallet_id, addresses_json)
}
