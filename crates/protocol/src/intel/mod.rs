//! Sova Intel: every endpoint of `reference/sova-intel-api.md` as typed data.
//!
//! Paid endpoints declare [`Credential::IntelPaid`](crate::Credential::IntelPaid): the client
//! attaches an `X-Api-Key` or pays with x402. Two async patterns exist:
//!
//! * **GET fallback** (wallet profile, HUD): a `202` with `prepaidJobId` ([`Fetched::Queued`]);
//!   poll [`JobStatusRequest`], then call again with
//!   [`WalletHudRequest::prepaid_job_id`] — charged once in total.
//! * **POST jobs** (holders, similarity, …): a `202` with `jobId`/`requestId`/result keys;
//!   poll, then fetch [`ResultByKeyRequest`] within the 15-minute TTL.

mod auth;
mod endpoints;
mod errors;
mod jobs;
mod types;

pub use auth::{ApiKey, ApiKeyError};
pub use endpoints::*;
pub use errors::api_error;
pub use jobs::JobKind;
pub use types::*;

/// The production base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.sova-intel.com/api/v1";

/// 1 credit in USDC base units (`$0.015`), inferred from the documented `/hud` price.
pub const USDC_BASE_UNITS_PER_CREDIT: u64 = 15_000;

/// The request header that carries a prepaid job id on the GET fallback re-call.
pub const PREPAID_JOB_ID_HEADER: &str = "x-prepaid-job-id";

/// The request header that carries an API key.
pub const API_KEY_HEADER: &str = "x-api-key";
