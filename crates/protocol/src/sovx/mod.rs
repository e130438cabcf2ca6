//! Sovera SovX: the SX Connect and SX Users endpoints of `reference/sovera-sx-api.md` as
//! typed data.
//!
//! * **Envelopes.** Every endpoint but [`HealthRequest`] answers `{success, data, meta}`;
//!   its output is [`SxResponse<T>`] (`data` and [`Meta`]). Error envelopes
//!   (`{success: false, errors: [{code, message}], meta}`), a 2xx with `success: false`, and
//!   non-JSON error pages all become an [`ApiError`](crate::ApiError) with
//!   [`Service::Sx`](crate::Service::Sx), the status, the codes ([`error_codes`]), the
//!   messages, the trace id (`meta.trace_id`, else the `x-trace-id` header) and the raw body.
//!   Any 2xx is a success.
//! * **Trace ids.** Every request type has `.trace_id(..)`, sent as `x-trace-id`.
//! * **Credentials.** Endpoints declare what they need ([`Credential::SxOwner`],
//!   [`Credential::SxOwnerOrUser`], [`Credential::SxUser`]); clients attach an
//!   [`OwnerKey`] or a [`UserToken`] with [`apply_credential`]. A user token goes to
//!   `x-api-key` by default or to `Authorization: Bearer` ([`UserTokenPlacement`],
//!   per group with [`PlacementPolicy`]); never both.
//! * **Routes.** Every path is in one table, [`routes`]. Paths Sovera has not documented are
//!   the reference's conventional REST paths and say **unconfirmed path** in their docs; any
//!   request can be pointed elsewhere with `.route_override(method, template)`.
//! * **Lists** take a typed query, one per list endpoint ([`TransactionQuery`] shared by the
//!   three transaction lists, [`WithdrawalQuery`], [`TransferQuery`], [`WalletQuery`],
//!   [`MonetizationSettingsQuery`]): pagination, sort, status, currency, pair, date ranges,
//!   serialized into the `filter[...]` family ([`Filter`]: `filter[limit]`, `filter[skip]`,
//!   `filter[sort]`, `filter[where][field]`); `Default` sends nothing. Pagination details
//!   stay JSON in [`Meta::pagination`].
//! * **Money** is [`Decimal`], sent and read as JSON numbers.
//!
//! **Out of scope:** the SX Customers area (login, customers, credential minting, the email
//! poller, webhooks — catalogue rows 2 and 42–53) is a tenant-admin surface with session
//! Bearer tokens and is not modelled here; use [`RawRequest`](crate::RawRequest) if needed.
//!
//! ```
//! use sova_protocol::{BaseUrl, Endpoint, sovx};
//!
//! let base = BaseUrl::parse(sovx::SANDBOX_BASE_URL)?;
//! let call = sovx::GenerateUserTokensRequest::new(["f4057807-52cf-4083-9ecb-283ef354fb2b"]).trace_id("t-1");
//! let request = call.to_request(&base)?;
//! assert_eq!(request.uri().to_string(), "https://api.sandbox.sovera.io/sovx/v1/users/tokens");
//! assert_eq!(request.headers()["x-trace-id"], "t-1");
//! assert_eq!(request.body(), br#"{"user_ids":["f4057807-52cf-4083-9ecb-283ef354fb2b"]}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Credential::SxOwner`]: crate::Credential::SxOwner
//! [`Credential::SxOwnerOrUser`]: crate::Credential::SxOwnerOrUser
//! [`Credential::SxUser`]: crate::Credential::SxUser

mod auth;
mod connect;
mod envelope;
mod filter;
mod query;
mod request;
pub mod routes;
mod types;
mod users;

pub use auth::{
    API_KEY_HEADER, OwnerKey, PlacementPolicy, SecretError, SxCredential, UserToken,
    UserTokenPlacement, apply_credential,
};
pub use connect::*;
pub use envelope::{
    ErrorCode, Health, Meta, SxResponse, TRACE_ID_HEADER, api_error, error_codes, parse_envelope,
};
pub use filter::{Condition, Filter};
pub use query::{
    MonetizationSettingsQuery, Sort, SortOrder, Timestamp, TransactionQuery, TransferQuery,
    WalletQuery, WithdrawalQuery,
};
pub use request::{RequestOptions, RouteOverride, SxEndpoint};
pub use routes::{Group, Route, RouteStatus};
pub use rust_decimal::Decimal;
pub use types::*;
pub use users::*;

/// The sandbox base URL.
pub const SANDBOX_BASE_URL: &str = "https://api.sandbox.sovera.io/sovx/v1";

/// The production base URL — **not documented**; inferred from Sovera's Cards product. Make
/// it configurable.
pub const PRODUCTION_BASE_URL: &str = "https://api.sovera.io/sovx/v1";

#[cfg(test)]
mod tests;
