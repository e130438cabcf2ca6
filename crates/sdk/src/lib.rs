//! The Sova Rust SDK: typed clients for **Sova Intel** and **Sovera SovX**, paying per call
//! with Solana USDC over x402.
//!
//! **State:** this crate is being built (issue 4). Today it holds the error type and the
//! sans-IO call machine ([`call::CallMachine`]) that both clients will drive, and re-exports
//! [`sova_protocol`] so the typed requests and responses are usable now.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod call;
mod error;

pub use error::{Error, PaymentRef, Reached};
pub use sova_protocol as protocol;
pub use sova_protocol::{intel as intel_types, sovx as sx_types};
