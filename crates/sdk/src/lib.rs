//! The Sova Rust SDK: typed clients for **Sova Intel** and **Sovera SovX**, paying per call
//! with Solana USDC over x402.
//!
//! * `sova::intel::Client` (feature `async`, default) and `sova::blocking::intel::Client`
//!   (feature `blocking`): every Intel endpoint as a typed method, `202` job follow-ups,
//!   retries with backoff, timeouts, and x402 payments from a Solana wallet under a spend
//!   policy.
//! * `sova::sx::Client` and `sova::blocking::sx::Client`: every Sovera SovX endpoint.
//! * The logic of a call is written once, as sans-IO state machines ([`flow`]); the async
//!   and blocking [`runner`]s are the only code that differs between the two clients.
//!
//! # Money safety
//!
//! The spend policy is checked before anything is signed; a payment is signed once per
//! logical request and rides on every resend of it. After the free `202` of a wallet GET,
//! the documented re-call with `X-Prepaid-Job-Id` carries the same payment: Sova documents
//! that the re-call is where the charge happens, not how an x402 payment gets there
//! (reference §13), so the SDK never signs a second one for it. A payment's budget is
//! released only when it never left this process or our own Solana RPC proves it can never
//! land; the server's word that nothing was charged is not enough. See [`flow`].
#![forbid(unsafe_code)]
// Without a client feature only the shared core is compiled.
#![cfg_attr(
    not(any(feature = "async", feature = "blocking")),
    allow(dead_code, unused_macros, unused_imports)
)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

#[cfg(feature = "blocking")]
pub mod blocking;
pub mod call;
mod error;
pub mod flow;
pub mod intel;
mod payment;
pub mod runner;
pub mod sx;
pub mod transport;

pub use call::{CallOptions, Paid, Receipt};
pub use error::{Error, PaymentRef, PaymentState, Reached};
pub use sova_protocol as protocol;
pub use sova_protocol::transport::Timeouts;
