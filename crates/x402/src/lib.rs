//! Safe, fast Solana USDC payments for x402 v2 (and v1 challenges, paid in `X-PAYMENT`).
//!
//! From a decoded `PAYMENT-REQUIRED` ([`sova_protocol::x402::PaymentRequired`]) to a signed
//! `PAYMENT-SIGNATURE`, with the guarantees existing x402 clients lack:
//!
//! * **Selection and spend policy before any signature.** Options are filtered by scheme
//!   (`exact`), network and an asset allowlist; a shared [`SpendPolicy`] enforces per-payment
//!   caps, cumulative budgets (reserved atomically, released when nothing was charged), a
//!   payments-per-minute limit and pinned recipients per host. Every refusal names its rule
//!   and figures.
//! * **Both fee modes.** Sponsored (`extra.feePayer`: v0, compute budget, `TransferChecked`,
//!   Memo; the facilitator signs slot 0) and self-paid (Sova Intel: the payer pays its fee and
//!   signs alone). Self-paid payments are allowed only for Sova Intel hosts unless enabled
//!   ([`SelfPaid`]); for those hosts the payer sends what Sova documents — the legacy
//!   one-`TransferChecked` transaction and the flat payload — adding a Memo nonce only when
//!   it already signed an otherwise identical payment; other hosts get v0 with a Memo nonce.
//! * **Program-aware token accounts** (classic Token and Token-2022), the exact amount, the
//!   seller's memo honoured, compute budget clamped to what every facilitator accepts.
//! * **Sans-IO.** Time, randomness and RPC are inputs: [`Payer::prepare`] answers
//!   [`Prepared::NeedBlockhash`] or [`Prepared::NeedMintInfo`] with a ready-made
//!   [`rpc`] call when it lacks data; the caller runs it and prepares again.
//! * **Pre-flight verification.** [`verify`] implements the union of facilitator checks and
//!   runs on every payment before it is returned.
//! * **Reconciliation.** A [`PaymentRecord`] tells which RPC calls find the payment on chain
//!   and reads their answers into a [`Reconciliation`], so an ambiguous outcome is settled
//!   without paying twice.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use sova_protocol::x402::{PaymentRequired, PaymentRequirements, networks, USDC_MAINNET_MINT};
//! use sova_x402::rpc::RpcCall;
//! use sova_x402::{Keypair, Payer, PrepareContext, Prepared, SpendPolicy, programs, verify, VerifyOptions};
//!
//! let payer = Payer::builder()
//!     .signer(Keypair::from_seed([1; 32]))
//!     .policy(Arc::new(
//!         SpendPolicy::builder()
//!             .max_per_payment(programs::USDC_MAINNET, 100_000)
//!             .budget(programs::USDC_MAINNET, 5_000_000)
//!             .build(),
//!     ))
//!     .build()?;
//!
//! // A Sova-style 402: no `extra`, so the payment is self-paid.
//! let required = PaymentRequired {
//!     x402_version: 2,
//!     error: None,
//!     resource: None,
//!     accepts: vec![PaymentRequirements::new(
//!         networks::SOLANA_MAINNET,
//!         USDC_MAINNET_MINT,
//!         15_000,
//!         "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM",
//!         60,
//!         Default::default(),
//!     )],
//!     extensions: None,
//! };
//! let ctx = PrepareContext::new(Instant::now()).host("api.sova-intel.com");
//! let payment = match payer.prepare(&required, &ctx)? {
//!     Prepared::Ready(p) => *p,
//!     Prepared::NeedBlockhash(call) => {
//!         // Run `call.http_request(rpc_url, 1)` with any HTTP client; here, a canned answer.
//!         let answer = br#"{"jsonrpc":"2.0","id":1,"result":{"context":{"slot":1},
//!             "value":{"blockhash":"EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N","lastValidBlockHeight":3090}}}"#;
//!         let latest = call.parse(answer)?;
//!         payer.prepare(&required, &ctx.blockhash(latest))?.ready().expect("blockhash supplied")
//!     }
//!     other => panic!("unexpected {other:?}"),
//! };
//! assert_eq!(payment.record().amount, 15_000);
//! assert_eq!(payment.record().last_valid_block_height, Some(3090));
//! // Send `payment.header_value()` as PAYMENT-SIGNATURE. The verifier agrees:
//! assert!(verify(&required, payment.header_value(), &VerifyOptions::default()).passed());
//! // The server said nothing was charged? Give the budget back:
//! let record = payment.release();
//! assert_eq!(payer.policy().spent(&programs::USDC_MAINNET), 0);
//! # let _ = record;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod ata;
mod blockhash;
mod error;
mod keys;
pub mod ledger;
mod mint;
mod nonce;
mod payer;
mod policy;
pub mod programs;
mod record;
pub mod rpc;
pub mod tx;
mod verify;
pub mod wire;

pub use ata::associated_token_address;
pub use blockhash::{BlockhashCache, BlockhashSource, DEFAULT_MAX_AGE, LatestBlockhash};
pub use error::{Error, Refusal, RefusalReason};
pub use keys::{KeyError, Keypair, Signer, SignerError, default_keypair_path};
pub use ledger::{Budget, Ledger, Window};
pub use mint::{MintError, MintInfo, MintRegistry, TokenProgram};
pub use nonce::{NonceError, NonceSource, OsNonce, SeededNonce, nonce_hex};
pub use payer::{
    AssetConfig, PAYMENT_IDENTIFIER, Payer, PayerBuilder, PendingPayment, Preference,
    PrepareContext, Prepared, PreparedPayment, SOVA_INTEL_HOSTS, SelfPaid, SelfPaidLayout,
};
pub use policy::{
    AssetLimits, PolicyRefusal, Reservation, ReserveFor, SpendPolicy, SpendPolicyBuilder,
};
pub use record::{
    Evidence, MAX_SIGNATURE_PAGES, PaymentMode, PaymentRecord, ReconcileCalls, Reconciliation,
    SIGNATURE_PAGE, memo_matches,
};
pub use verify::{
    Against, Check, Report, VerifyOptions, verify, verify_payload, verify_transaction,
};

pub use solana_hash::Hash;
pub use solana_pubkey::Pubkey;
pub use solana_signature::Signature;
