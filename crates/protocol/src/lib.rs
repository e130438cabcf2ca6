//! Sans-IO protocol types for the Sova APIs.
//!
//! This crate knows every request and response of **Sova Intel** and **Sovera SovX** as typed
//! data, the **x402 v2** header codec, and the pure decisions (retry, job follow-up) that the
//! SDK's clients execute. It performs no I/O: there is no HTTP client, no async runtime, no
//! clock and no randomness here. Requests are built as [`http::Request<Vec<u8>>`] and answers
//! are parsed from [`http::Response<Vec<u8>>`], so any HTTP stack can drive it.
//!
//! ```
//! use sova_protocol::{BaseUrl, Endpoint, intel};
//!
//! let base = BaseUrl::parse(intel::DEFAULT_BASE_URL)?;
//! let hud = intel::WalletHudRequest::new("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM");
//! let request = hud.to_request(&base)?;
//! assert_eq!(
//!     request.uri().to_string(),
//!     "https://api.sova-intel.com/api/v1/intel/wallet/9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM/hud"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub use http;

mod base;
#[macro_use]
mod open_enum;
pub mod decode;
mod endpoint;
mod error;
pub mod intel;
pub mod jobs;
pub mod retry;
pub mod sovx;
pub mod time;
pub mod transport;
pub mod units;
pub mod x402;

pub use base::BaseUrl;
pub use endpoint::{Credential, Endpoint, RawRequest, RawResponse};
pub use error::{
    ApiError, ApiErrorDetail, BodyKind, BuildError, DecodeError, DecodeErrorKind, ResponseError,
    Service,
};
