//! The Sova Rust SDK: typed clients for **Sova Intel** and **Sovera SovX**, paying per call
//! with Solana USDC over x402.
//!
//! * `sova::intel::Client` (feature `async`, default) and `sova::blocking::intel::Client`
//!   (feature `blocking`): every Intel endpoint as a typed method, 202 job follow-ups,
//!   retries with backoff, timeouts.
//! * The call logic is one sans-IO state machine ([`call::CallMachine`]) that both clients
//!   drive with a short loop.
//!
//! **State (issue 4 in progress):** x402 payments and the SovX clients are not wired in yet;
//! paid Intel calls work with an API key.
#![forbid(unsafe_code)]
// Without a client feature only the shared core is compiled.
#![cfg_attr(
    not(any(feature = "async", feature = "blocking")),
    allow(dead_code, unused_macros, unused_imports)
)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

#[cfg(feature = "async")]
mod async_client;
#[cfg(feature = "blocking")]
pub mod blocking;
#[cfg(feature = "blocking")]
mod blocking_intel;
#[cfg(feature = "blocking")]
mod blocking_sx;
pub mod call;
#[cfg(any(feature = "async", feature = "blocking"))]
mod driver;
mod error;
pub mod intel;
mod shell;
pub mod sx;

pub use error::{Error, PaymentRef, Reached};
pub use sova_protocol as protocol;
pub use sova_protocol::transport::Timeouts;
