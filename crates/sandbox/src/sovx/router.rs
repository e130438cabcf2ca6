//! The route table of SovX (mounted under `/sovx/v1`) and the health check.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::json;

use crate::clock::iso8601;
use crate::respond::json_response;
use crate::state::{Shared, lock};

use super::accounts::{
    currencies, currency_pairs, owner_balance, owner_transactions, user_balance, user_transactions,
};
use super::fees::{create_setting, delete_setting, get_setting, list_settings, update_setting};
use super::movements::{
    create_transfer, create_withdrawal, get_transfer, get_withdrawal, list_transfers,
    list_withdrawals, transfer_action, withdrawal_action,
};
use super::trading::{create_quote, place_order};
use super::users::{
    activate_user, bulk_tokens, create_user, deactivate_user, delete_user, get_user, list_users,
    update_user, user_token,
};
use super::wallets::{
    create_address, create_wallet, get_wallet, list_addresses, list_wallets, wallet_balances,
    wallet_transactions,
};

/// The SovX router (mounted under `/sovx/v1`).
pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/health", get(health))
        .route("/users", post(create_user).get(list_users))
        .route("/users/tokens", post(bulk_tokens))
        .route(
            "/users/{user_id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/users/{user_id}/activate", post(activate_user))
        .route("/users/{user_id}/deactivate", post(deactivate_user))
        .route("/users/{user_id}/token", post(user_token))
        .route(
            "/users/{user_id}/wallets",
            post(create_wallet).get(list_wallets),
        )
        .route("/users/{user_id}/accounts/balance", get(user_balance))
        .route(
            "/users/{user_id}/accounts/transactions",
            get(user_transactions),
        )
        .route("/users/{user_id}/trading/quotes", post(create_quote))
        .route("/users/{user_id}/trading/orders", post(place_order))
        .route(
            "/users/{user_id}/accounts/crypto/withdrawals",
            post(create_withdrawal).get(list_withdrawals),
        )
        .route(
            "/users/{user_id}/accounts/crypto/withdrawals/{op_id}",
            get(get_withdrawal),
        )
        .route(
            "/users/{user_id}/accounts/crypto/withdrawals/{op_id}/{action}",
            post(withdrawal_action),
        )
        .route(
            "/monetization/settings",
            get(list_settings).post(create_setting),
        )
        .route(
            "/monetization/settings/{id}",
            get(get_setting)
                .put(update_setting)
                .patch(update_setting)
                .delete(delete_setting),
        )
        .route("/accounts/balance", get(owner_balance))
        .route("/accounts/transactions", get(owner_transactions))
        .route("/currencies", get(currencies))
        .route("/currency-pairs", get(currency_pairs))
        .route("/wallets/{wallet_id}", get(get_wallet))
        .route("/wallets/{wallet_id}/balances", get(wallet_balances))
        .route(
            "/wallets/{wallet_id}/transactions",
            get(wallet_transactions),
        )
        .route(
            "/wallets/{wallet_id}/addresses",
            post(create_address).get(list_addresses),
        )
        .route(
            "/wallets/{wallet_id}/transfers",
            post(create_transfer).get(list_transfers),
        )
        .route("/wallets/{wallet_id}/transfers/{op_id}", get(get_transfer))
        .route(
            "/wallets/{wallet_id}/transfers/{op_id}/{action}",
            post(transfer_action),
        )
}

async fn health(State(state): State<Shared>) -> Response {
    let now = state.clock.now_ms();
    let started = lock(&state.sovx).started_ms;
    json_response(
        StatusCode::OK,
        &json!({"status": "ok", "timestamp": iso8601(now), "uptime": ((now - started).max(0) / 1000)}),
    )
}
