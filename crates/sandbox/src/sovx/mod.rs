//! Sovera SovX: users, user tokens, monetization, currencies, wallets and addresses, balances
//! and transactions, quotes and orders, withdrawals and transfers with the two-step code flow.
//! Paths follow `reference/sovera-sx-api.md` §6 (conventional paths for undocumented rows).
//!
//! The plumbing is `store` (state), `query` (caller, body, list filters), `reply`
//! (envelopes) and `router` (the route table); the handlers are grouped by API area as in
//! `sova_protocol::sovx`: `users`, `fees` (monetization), `accounts` (currencies,
//! balances, transactions), `wallets`, `trading` and `movements` (withdrawals and
//! transfers).

mod accounts;
mod fees;
mod movements;
mod query;
mod reply;
mod router;
mod store;
mod trading;
mod users;
mod wallets;

pub(crate) use reply::{error_envelope, request_trace};
pub(crate) use router::router;
pub(crate) use store::SovxStore;

/// Prefix of every SovX route.
pub(crate) const PREFIX: &str = "/sovx/v1";
