//! Sova Intel endpoints.

use std::fmt;
use std::marker::PhantomData;

use http::{HeaderMap, Method, Response, StatusCode};
use serde_json::Value;

use super::errors::api_error;
use super::types::*;
use crate::endpoint::{insert_header, json_body};
use crate::{
    BuildError, Credential, DecodeError, DecodeErrorKind, Endpoint, ResponseError, decode,
};

/// Decodes a 2xx JSON body or turns an error status into an [`crate::ApiError`].
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    response: &Response<Vec<u8>>,
) -> Result<T, ResponseError> {
    if !response.status().is_success() {
        return Err(api_error(response).into());
    }
    Ok(decode::json(response)?)
}

/// Parses the GET-fallback answers: 200 → `Ready`, 202 → `Queued`.
pub(crate) fn parse_fetched<T: serde::de::DeserializeOwned>(
    response: &Response<Vec<u8>>,
) -> Result<Fetched<T>, ResponseError> {
    match response.status() {
        StatusCode::ACCEPTED => Ok(Fetched::Queued(decode::json(response)?)),
        s if s.is_success() && s != StatusCode::OK => {
            Err(DecodeError::new(s, DecodeErrorKind::UnexpectedStatus, response.body()).into())
        }
        _ => parse_json(response).map(Fetched::Ready),
    }
}

/// Checks a base58 Solana address (wallet or mint) without decoding it twice.
pub(crate) fn check_address(field: &'static str, address: &str) -> Result<(), BuildError> {
    match bs58::decode(address).into_vec() {
        Ok(b) if b.len() == 32 => Ok(()),
        Ok(b) => Err(BuildError::input(
            field,
            format!(
                "a Solana address is 32 bytes, this one decodes to {}",
                b.len()
            ),
        )),
        Err(_) => Err(BuildError::input(field, "not valid base58")),
    }
}

/// Declares a wallet GET that may fall back to a job (`202` with `prepaidJobId`): the
/// struct, its constructor, the `X-Prepaid-Job-Id` re-call and its [`Endpoint`] impl.
macro_rules! fallback_get_endpoint {
    (
        $(#[$meta:meta])*
        $name:ident, $endpoint_name:literal, $suffix:literal, $output:ty, $new_doc:literal
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// The wallet (base58).
            pub address: String,
            /// `X-Prepaid-Job-Id` from an earlier 202.
            pub prepaid_job_id: Option<String>,
        }

        impl $name {
            #[doc = $new_doc]
            pub fn new(address: impl Into<String>) -> Self {
                $name {
                    address: address.into(),
                    prepaid_job_id: None,
                }
            }

            /// The re-call after a 202: carries `X-Prepaid-Job-Id`.
            pub fn prepaid_job_id(mut self, id: impl Into<String>) -> Self {
                self.prepaid_job_id = Some(id.into());
                self
            }
        }

        impl Endpoint for $name {
            type Output = Fetched<$output>;

            fn name(&self) -> &'static str {
                $endpoint_name
            }
            fn method(&self) -> Method {
                Method::GET
            }
            fn path(&self) -> Result<String, BuildError> {
                Ok(format!("/intel/wallet/{}{}", crate::base::encode_segment(&self.address), $suffix))
            }
            fn validate(&self) -> Result<(), BuildError> {
                check_address("address", &self.address)
            }
            fn headers(&self, headers: &mut HeaderMap) -> Result<(), BuildError> {
                if let Some(id) = &self.prepaid_job_id {
                    insert_header(headers, super::PREPAID_JOB_ID_HEADER, id)?;
                }
                Ok(())
            }
            fn credential(&self) -> Credential {
                Credential::IntelPaid
            }
            fn free_accepted(&self) -> bool {
                true
            }
            fn parse(&self, response: &Response<Vec<u8>>) -> Result<Self::Output, ResponseError> {
                parse_fetched(response)
            }
        }
    };
}

fallback_get_endpoint! {
    /// `GET /intel/wallet/{address}/hud` — the wallet HUD signal (1 credit).
    ///
    /// May answer `202` ([`Fetched::Queued`]); re-call with [`Self::prepaid_job_id`].
    WalletHudRequest, "intel.wallet_hud", "/hud", WalletHud, "A HUD request for `address`."
}

fallback_get_endpoint! {
    /// `GET /intel/wallet/{address}` — the full wallet profile (5 credits).
    ///
    /// May answer `202` ([`Fetched::Queued`]): poll the job, then re-call with
    /// [`Self::prepaid_job_id`] (one charge in total). Never read this result from the result
    /// store.
    WalletProfileRequest, "intel.wallet_profile", "", WalletProfileResponse, "A profile request for `address`."
}

/// Parses a synchronous answer: `200` (or another 2xx carrying data) decodes; `202` and
/// `206`, which these endpoints do not document, are [`DecodeErrorKind::UnexpectedStatus`]
/// with the raw body kept.
pub(crate) fn parse_sync<T: serde::de::DeserializeOwned>(
    response: &Response<Vec<u8>>,
) -> Result<T, ResponseError> {
    match response.status() {
        s @ (StatusCode::ACCEPTED | StatusCode::PARTIAL_CONTENT | StatusCode::NO_CONTENT) => {
            Err(DecodeError::new(s, DecodeErrorKind::UnexpectedStatus, response.body()).into())
        }
        _ => parse_json(response),
    }
}

/// Parses the answer of a POST job: `202` is the documented success; `200` and `201` are
/// accepted too when the body decodes. Other 2xx (e.g. `206`, partial success of a bundle)
/// are [`DecodeErrorKind::UnexpectedStatus`] with the raw body kept.
pub(crate) fn parse_accepted<T: serde::de::DeserializeOwned>(
    response: &Response<Vec<u8>>,
) -> Result<T, ResponseError> {
    match response.status() {
        StatusCode::OK | StatusCode::CREATED | StatusCode::ACCEPTED => Ok(decode::json(response)?),
        s if s.is_success() => {
            Err(DecodeError::new(s, DecodeErrorKind::UnexpectedStatus, response.body()).into())
        }
        _ => Err(api_error(response).into()),
    }
}

/// Checks a list of addresses: its length and every entry.
pub(crate) fn check_addresses(
    field: &'static str,
    addresses: &[String],
    min: usize,
    max: usize,
) -> Result<(), BuildError> {
    let n = addresses.len();
    if n < min || n > max {
        return Err(BuildError::input(
            field,
            format!("between {min} and {max} addresses are accepted, got {n}"),
        ));
    }
    for (i, a) in addresses.iter().enumerate() {
        if let Err(e) = check_address(field, a) {
            let reason = match e {
                BuildError::InvalidInput { reason, .. } => reason,
                other => other.to_string(),
            };
            return Err(BuildError::input(
                field,
                format!("entry {i} ({a:?}): {reason}"),
            ));
        }
    }
    Ok(())
}

/// Checks a `topN` against its endpoint's range.
pub(crate) fn check_top_n(top_n: u32, max: u32) -> Result<(), BuildError> {
    if (1..=max).contains(&top_n) {
        Ok(())
    } else {
        Err(BuildError::input(
            "topN",
            format!("must be between 1 and {max}, got {top_n}"),
        ))
    }
}

/// `GET /intel/wallet/{address}/tokens` — per-token PnL, paginated (3 credits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletTokensRequest {
    /// The wallet (base58).
    pub address: String,
    /// Page, page size and sort; unset values are not sent.
    pub params: TokenPnlParams,
}

impl WalletTokensRequest {
    /// The first page with the server's defaults.
    pub fn new(address: impl Into<String>) -> Self {
        WalletTokensRequest {
            address: address.into(),
            params: TokenPnlParams::default(),
        }
    }

    /// Sets the query parameters.
    pub fn params(mut self, params: TokenPnlParams) -> Self {
        self.params = params;
        self
    }
}

impl Endpoint for WalletTokensRequest {
    type Output = TokenPnlResponse;

    fn name(&self) -> &'static str {
        "intel.wallet_tokens"
    }
    fn method(&self) -> Method {
        Method::GET
    }
    fn path(&self) -> Result<String, BuildError> {
        Ok(format!(
            "/intel/wallet/{}/tokens",
            crate::base::encode_segment(&self.address)
        ))
    }
    fn query(&self) -> Vec<(String, String)> {
        self.params.to_query()
    }
    fn validate(&self) -> Result<(), BuildError> {
        check_address("address", &self.address)?;
        if self.params.page == Some(0) {
            return Err(BuildError::input("page", "pages are numbered from 1"));
        }
        if let Some(size) = self.params.page_size
            && !(1..=TokenPnlParams::MAX_PAGE_SIZE).contains(&size)
        {
            return Err(BuildError::input(
                "pageSize",
                format!(
                    "must be between 1 and {}, got {size}",
                    TokenPnlParams::MAX_PAGE_SIZE
                ),
            ));
        }
        Ok(())
    }
    fn credential(&self) -> Credential {
        Credential::IntelPaid
    }
    fn parse(&self, response: &Response<Vec<u8>>) -> Result<Self::Output, ResponseError> {
        parse_sync(response)
    }
}

#[derive(serde::Serialize)]
struct WalletsBody<'a> {
    wallets: &'a [String],
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct TopNBody {
    top_n: u32,
}

/// `POST /intel/wallets/batch-hud` — HUDs of 1 to 30 wallets (5 credits flat).
///
/// Always a `200`; wallets without data are listed in `queued` (latest API) or `notFound`
/// (earlier API). Not idempotent: every call is charged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchHudRequest {
    /// The wallets (base58), 1 to 30.
    pub wallets: Vec<String>,
}

impl BatchHudRequest {
    /// The most wallets one call accepts.
    pub const MAX_WALLETS: usize = 30;

    /// A batch for these wallets.
    pub fn new<I, S>(wallets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        BatchHudRequest {
            wallets: wallets.into_iter().map(Into::into).collect(),
        }
    }
}

impl Endpoint for BatchHudRequest {
    type Output = BatchHudResponse;

    fn name(&self) -> &'static str {
        "intel.batch_hud"
    }
    fn method(&self) -> Method {
        Method::POST
    }
    fn path(&self) -> Result<String, BuildError> {
        Ok("/intel/wallets/batch-hud".to_owned())
    }
    fn body(&self) -> Result<Option<Vec<u8>>, BuildError> {
        json_body(&WalletsBody {
            wallets: &self.wallets,
        })
    }
    fn validate(&self) -> Result<(), BuildError> {
        check_addresses("wallets", &self.wallets, 1, Self::MAX_WALLETS)
    }
    fn credential(&self) -> Credential {
        Credential::IntelPaid
    }
    fn idempotent(&self) -> bool {
        false
    }
    fn parse(&self, response: &Response<Vec<u8>>) -> Result<Self::Output, ResponseError> {
        parse_sync(response)
    }
}

/// Declares a `POST /intel/token/{mint}/…` job endpoint with a `{"topN": n}` body.
macro_rules! token_job_endpoint {
    (
        $(#[$meta:meta])*
        $name:ident, $endpoint_name:literal, $suffix:literal, $max:literal, $output:ty
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// The token mint (base58).
            pub mint: String,
            /// How many top holders to analyse (default 20).
            pub top_n: u32,
        }

        impl $name {
            /// The largest `topN` this endpoint accepts.
            pub const MAX_TOP_N: u32 = $max;

            /// A request for the top 20 holders of `mint`.
            pub fn new(mint: impl Into<String>) -> Self {
                $name { mint: mint.into(), top_n: DEFAULT_TOP_N }
            }

            /// Sets how many top holders to analyse.
            pub fn top_n(mut self, top_n: u32) -> Self {
                self.top_n = top_n;
                self
            }
        }

        impl Endpoint for $name {
            type Output = $output;

            fn name(&self) -> &'static str {
                $endpoint_name
            }
            fn method(&self) -> Method {
                Method::POST
            }
            fn path(&self) -> Result<String, BuildError> {
                Ok(format!("/intel/token/{}/holders{}", crate::base::encode_segment(&self.mint), $suffix))
            }
            fn body(&self) -> Result<Option<Vec<u8>>, BuildError> {
                json_body(&TopNBody { top_n: self.top_n })
            }
            fn validate(&self) -> Result<(), BuildError> {
                check_address("mint", &self.mint)?;
                check_top_n(self.top_n, Self::MAX_TOP_N)
            }
            fn credential(&self) -> Credential {
                Credential::IntelPaid
            }
            fn idempotent(&self) -> bool {
                false
            }
            fn parse(&self, response: &Response<Vec<u8>>) -> Result<Self::Output, ResponseError> {
                parse_accepted(response)
            }
        }
    };
}

/// Declares a `POST /intel/wallets/similarity…` job endpoint with a `{"wallets": […]}` body.
macro_rules! similarity_job_endpoint {
    (
        $(#[$meta:meta])*
        $name:ident, $endpoint_name:literal, $path:literal, $output:ty
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// The wallets (base58), 2 to 30.
            pub wallets: Vec<String>,
        }

        impl $name {
            /// The fewest wallets one call accepts.
            pub const MIN_WALLETS: usize = 2;
            /// The most wallets one call accepts.
            pub const MAX_WALLETS: usize = 30;

            /// A similarity request for these wallets.
            pub fn new<I, S>(wallets: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: Into<String>,
            {
                $name { wallets: wallets.into_iter().map(Into::into).collect() }
            }
        }

        impl Endpoint for $name {
            type Output = $output;

            fn name(&self) -> &'static str {
                $endpoint_name
            }
            fn method(&self) -> Method {
                Method::POST
            }
            fn path(&self) -> Result<String, BuildError> {
                Ok($path.to_owned())
            }
            fn body(&self) -> Result<Option<Vec<u8>>, BuildError> {
                json_body(&WalletsBody { wallets: &self.wallets })
            }
            fn validate(&self) -> Result<(), BuildError> {
                check_addresses("wallets", &self.wallets, Self::MIN_WALLETS, Self::MAX_WALLETS)
            }
            fn credential(&self) -> Credential {
                Credential::IntelPaid
            }
            fn idempotent(&self) -> bool {
                false
            }
            fn parse(&self, response: &Response<Vec<u8>>) -> Result<Self::Output, ResponseError> {
                parse_accepted(response)
            }
        }
    };
}

/// The `topN` the API uses when none is given.
pub const DEFAULT_TOP_N: u32 = 20;

token_job_endpoint! {
    /// `POST /intel/token/{mint}/holders` — profiles of the top 1 to 100 holders, async
    /// (20 credits, charged on the 202).
    ///
    /// Poll [`JobAccepted::holder_profiles_handle`], then fetch a [`HolderProfilesResult`]
    /// from `holder-profiles:result:{jobId}` within 15 minutes.
    HoldersRequest, "intel.holders", "", 100, JobAccepted
}

token_job_endpoint! {
    /// `POST /intel/token/{mint}/holders/agent` — holder profiles in the compact agent shape,
    /// top 1 to 50 holders, async (20 credits).
    ///
    /// Fetch an [`AgentHolderProfilesResult`] from the returned `agentResultKey`.
    HoldersAgentRequest, "intel.holders_agent", "/agent", 50, HolderProfilesAgentJobAccepted
}

token_job_endpoint! {
    /// `POST /intel/token/{mint}/holders/deep` — holder profiles followed by the similarity
    /// of those holders, top 1 to 50, async bundle (35 credits).
    ///
    /// Poll the holder job, then poll the similarity key until it stops answering 404.
    DeepRequest, "intel.holders_deep", "/deep", 50, DeepJobAccepted
}

similarity_job_endpoint! {
    /// `POST /intel/wallets/similarity` — similarity of 2 to 30 wallets, async (20 credits).
    ///
    /// Poll [`JobAccepted::similarity_handle`], then fetch a [`SimilarityResult`] from
    /// `similarity:result:{requestId}` (built from **requestId**, not jobId).
    SimilarityRequest, "intel.similarity", "/intel/wallets/similarity", JobAccepted
}

similarity_job_endpoint! {
    /// `POST /intel/wallets/similarity/agent` — similarity in the compact agent shape, 2 to
    /// 30 wallets, async (20 credits).
    ///
    /// Fetch an [`AgentSimilarityResult`] from the returned `agentResultKey`.
    SimilarityAgentRequest, "intel.similarity_agent", "/intel/wallets/similarity/agent", SimilarityAgentJobAccepted
}

/// `GET /jobs/{jobId}` — the state of a job (free; the API key is sent when there is one).
/// Poll about every 5 s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatusRequest {
    /// The job id (opaque).
    pub job_id: String,
}

impl JobStatusRequest {
    /// A status request for `job_id`.
    pub fn new(job_id: impl Into<String>) -> Self {
        JobStatusRequest {
            job_id: job_id.into(),
        }
    }
}

impl Endpoint for JobStatusRequest {
    type Output = JobStatus;

    fn name(&self) -> &'static str {
        "intel.job_status"
    }
    fn method(&self) -> Method {
        Method::GET
    }
    fn path(&self) -> Result<String, BuildError> {
        Ok(format!(
            "/jobs/{}",
            crate::base::encode_segment(&self.job_id)
        ))
    }
    fn validate(&self) -> Result<(), BuildError> {
        let id = self.job_id.trim();
        if id.is_empty() {
            return Err(BuildError::input("jobId", "the job id is empty"));
        }
        if id == "." || id == ".." {
            return Err(BuildError::input(
                "jobId",
                "must not be a relative path segment",
            ));
        }
        Ok(())
    }
    /// Free; the API key is sent when the client has one (the server then includes the
    /// failure reason of a failed job), and nothing otherwise.
    fn credential(&self) -> Credential {
        Credential::IntelOptional
    }
    fn parse(&self, response: &Response<Vec<u8>>) -> Result<Self::Output, ResponseError> {
        parse_sync(response)
    }
}

/// `GET /jobs/result/by-key?key=…` — the result of a completed POST job, typed as `T`.
///
/// A `404` means **not ready or expired** (results live 15 minutes); it surfaces as an
/// [`crate::ApiError`] with status 404 (see [`is_not_ready`]). Use `T = serde_json::Value`
/// for the raw document.
pub struct ResultByKeyRequest<T> {
    /// The result key, e.g. `holder-profiles:result:{jobId}`.
    pub key: String,
    output: PhantomData<fn() -> T>,
}

impl<T> ResultByKeyRequest<T> {
    /// A request for the result stored under `key`.
    pub fn new(key: impl Into<String>) -> Self {
        ResultByKeyRequest {
            key: key.into(),
            output: PhantomData,
        }
    }

    /// The result request of a job handle: its `FetchResult` or `PollResultKey` key; `None`
    /// for a GET-fallback handle (which is re-called, not fetched from the store).
    pub fn for_handle(handle: &crate::jobs::JobHandle) -> Option<Self> {
        match &handle.follow_up {
            crate::jobs::FollowUp::FetchResult { result_key }
            | crate::jobs::FollowUp::PollResultKey { result_key } => {
                Some(Self::new(result_key.clone()))
            }
            _ => None,
        }
    }

    /// The same key, decoded as another type.
    pub fn cast<U>(self) -> ResultByKeyRequest<U> {
        ResultByKeyRequest::new(self.key)
    }
}

impl<T> Clone for ResultByKeyRequest<T> {
    fn clone(&self) -> Self {
        ResultByKeyRequest::new(self.key.clone())
    }
}

impl<T> PartialEq for ResultByKeyRequest<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<T> Eq for ResultByKeyRequest<T> {}

impl<T> fmt::Debug for ResultByKeyRequest<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResultByKeyRequest")
            .field("key", &self.key)
            .field("output", &std::any::type_name::<T>())
            .finish()
    }
}

impl<T: serde::de::DeserializeOwned> Endpoint for ResultByKeyRequest<T> {
    type Output = T;

    fn name(&self) -> &'static str {
        "intel.result_by_key"
    }
    fn method(&self) -> Method {
        Method::GET
    }
    fn path(&self) -> Result<String, BuildError> {
        Ok("/jobs/result/by-key".to_owned())
    }
    fn query(&self) -> Vec<(String, String)> {
        vec![("key".to_owned(), self.key.clone())]
    }
    fn validate(&self) -> Result<(), BuildError> {
        if self.key.trim().is_empty() {
            return Err(BuildError::input("key", "the result key is empty"));
        }
        Ok(())
    }
    fn credential(&self) -> Credential {
        Credential::IntelAuthenticated
    }
    fn parse(&self, response: &Response<Vec<u8>>) -> Result<Self::Output, ResponseError> {
        parse_sync(response)
    }
}

/// Whether an error from [`ResultByKeyRequest`] means "not ready yet, or expired" (`404`).
pub fn is_not_ready(error: &ResponseError) -> bool {
    error
        .as_api()
        .is_some_and(|e| e.status == StatusCode::NOT_FOUND)
}

/// A `206 Partial Content` answer: "partial success — one of two bundled jobs failed — 0cr
/// charged, retry individually" ([D-errors]; most likely the deep bundle,
/// `POST /intel/token/{mint}/holders/deep`). Its body is not documented, so it is read
/// leniently and kept whole.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PartialSuccess {
    /// The body's `message`, when it is JSON with a string `message`.
    pub message: Option<String>,
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub body: Value,
    /// The raw body.
    pub raw: Vec<u8>,
}

impl PartialSuccess {
    /// Reads a `206` answer; `None` for any other status.
    ///
    /// ```
    /// use sova_protocol::http::Response;
    /// use sova_protocol::intel::PartialSuccess;
    /// let r = Response::builder().status(206).body(br#"{"message":"one job failed"}"#.to_vec()).unwrap();
    /// assert_eq!(PartialSuccess::from_response(&r).unwrap().message.as_deref(), Some("one job failed"));
    /// let r = Response::builder().status(206).body(b"<html>".to_vec()).unwrap();
    /// assert!(PartialSuccess::from_response(&r).unwrap().body.is_null());
    /// ```
    pub fn from_response(response: &Response<Vec<u8>>) -> Option<PartialSuccess> {
        if response.status() != StatusCode::PARTIAL_CONTENT {
            return None;
        }
        let raw = response.body().clone();
        let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        let message = body
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Some(PartialSuccess { message, body, raw })
    }
}

/// Where the pricing endpoint lives: the docs and skill.md disagree (§12 row 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PricingPath {
    /// `/intel/pricing` (the docs; tried first).
    #[default]
    Intel,
    /// `/pricing` (skill.md; the fallback on 404).
    Root,
}

impl PricingPath {
    /// The path below the base URL.
    pub fn as_str(self) -> &'static str {
        match self {
            PricingPath::Intel => "/intel/pricing",
            PricingPath::Root => "/pricing",
        }
    }

    /// The path to try after a 404 on this one, if any.
    pub fn fallback(self) -> Option<PricingPath> {
        match self {
            PricingPath::Intel => Some(PricingPath::Root),
            PricingPath::Root => None,
        }
    }
}

/// `GET /intel/pricing` (or `/pricing`) — current prices (free, no credential). The shape is
/// undocumented, so the output is raw JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PricingRequest {
    /// Which path to call.
    pub path: PricingPath,
}

impl PricingRequest {
    /// A request on the documented path, `/intel/pricing`.
    pub fn new() -> Self {
        PricingRequest::default()
    }

    /// A request on another path.
    pub fn at(path: PricingPath) -> Self {
        PricingRequest { path }
    }

    /// The request to send after a 404 on this one, if any.
    pub fn fallback(&self) -> Option<PricingRequest> {
        self.path.fallback().map(PricingRequest::at)
    }
}

impl Endpoint for PricingRequest {
    type Output = Value;

    fn name(&self) -> &'static str {
        "intel.pricing"
    }
    fn method(&self) -> Method {
        Method::GET
    }
    fn path(&self) -> Result<String, BuildError> {
        Ok(self.path.as_str().to_owned())
    }
    fn credential(&self) -> Credential {
        Credential::None
    }
    fn parse(&self, response: &Response<Vec<u8>>) -> Result<Self::Output, ResponseError> {
        parse_sync(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BaseUrl, BodyKind};

    const WALLET: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
    const W1: &str = "2rPTgeNDLWeY1GPcPtB7t76PXu9eZfpzcUHxDxkhYzAU";
    const MINT: &str = "So11111111111111111111111111111111111111112";

    fn base() -> BaseUrl {
        BaseUrl::parse(crate::intel::DEFAULT_BASE_URL).unwrap()
    }

    fn build<E: Endpoint>(e: &E) -> http::Request<Vec<u8>> {
        e.to_request(&base()).unwrap()
    }

    fn invalid<E: Endpoint>(e: &E) -> (&'static str, String) {
        match e.to_request(&base()).unwrap_err() {
            BuildError::InvalidInput { field, reason } => (field, reason),
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    fn resp(status: u16, ct: &str, body: &str) -> Response<Vec<u8>> {
        Response::builder()
            .status(status)
            .header("content-type", ct)
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    fn wallets(n: usize) -> Vec<String> {
        vec![WALLET.to_owned(); n]
    }

    #[test]
    fn wallet_profile_request() {
        let r = build(&WalletProfileRequest::new(WALLET));
        assert_eq!(r.method(), Method::GET);
        assert_eq!(
            r.uri().to_string(),
            format!("https://api.sova-intel.com/api/v1/intel/wallet/{WALLET}")
        );
        assert_eq!(r.headers()["accept"], "application/json");
        assert!(r.headers().get("x-prepaid-job-id").is_none());
        assert!(r.headers().get("content-type").is_none());
        assert!(r.body().is_empty());

        let req = WalletProfileRequest::new(WALLET).prepaid_job_id("intel-flash-abc123");
        let r = build(&req);
        assert_eq!(r.headers()["X-Prepaid-Job-Id"], "intel-flash-abc123");
        assert_eq!(req.credential(), Credential::IntelPaid);
        assert!(req.idempotent());
        assert_eq!(req.name(), "intel.wallet_profile");

        let bad = WalletProfileRequest::new(WALLET).prepaid_job_id("a\nb");
        assert!(matches!(
            bad.to_request(&base()),
            Err(BuildError::HeaderValue {
                name: "x-prepaid-job-id"
            })
        ));
    }

    #[test]
    fn wallet_hud_request_with_prepaid_id() {
        let r = build(&WalletHudRequest::new(WALLET).prepaid_job_id("job-1"));
        assert_eq!(r.uri().path(), format!("/api/v1/intel/wallet/{WALLET}/hud"));
        assert_eq!(r.headers()["x-prepaid-job-id"], "job-1");
    }

    #[test]
    fn wallet_tokens_request_and_query() {
        let r = build(&WalletTokensRequest::new(WALLET));
        assert_eq!(
            r.uri().to_string(),
            format!("https://api.sova-intel.com/api/v1/intel/wallet/{WALLET}/tokens")
        );
        let params = TokenPnlParams::default()
            .page(2)
            .page_size(100)
            .sort_by(TokenSortBy::Roi)
            .sort_order(SortOrder::Asc);
        let r = build(&WalletTokensRequest::new(WALLET).params(params));
        assert_eq!(r.method(), Method::GET);
        assert_eq!(
            r.uri().query(),
            Some("page=2&pageSize=100&sortBy=roi&sortOrder=ASC")
        );
        let r = build(
            &WalletTokensRequest::new(WALLET).params(
                TokenPnlParams::default()
                    .sort_by(TokenSortBy::TotalSolSpent)
                    .sort_order(SortOrder::Desc),
            ),
        );
        assert_eq!(r.uri().query(), Some("sortBy=totalSolSpent&sortOrder=DESC"));
        assert_eq!(TokenSortBy::NetSolProfitLoss.as_str(), "netSolProfitLoss");
        assert_eq!(TokenSortBy::RealizedPnlSol.as_str(), "realizedPnlSol");

        let p = |params| invalid(&WalletTokensRequest::new(WALLET).params(params));
        assert_eq!(p(TokenPnlParams::default().page_size(101)).0, "pageSize");
        assert_eq!(p(TokenPnlParams::default().page_size(0)).0, "pageSize");
        assert_eq!(p(TokenPnlParams::default().page(0)).0, "page");
        assert!(
            WalletTokensRequest::new(WALLET)
                .params(TokenPnlParams::default().page_size(1))
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn batch_hud_request() {
        let req = BatchHudRequest::new([WALLET, W1]);
        let r = build(&req);
        assert_eq!(r.method(), Method::POST);
        assert_eq!(
            r.uri().to_string(),
            "https://api.sova-intel.com/api/v1/intel/wallets/batch-hud"
        );
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(
            r.body().as_slice(),
            format!(r#"{{"wallets":["{WALLET}","{W1}"]}}"#).as_bytes()
        );
        assert!(!req.idempotent());
        assert_eq!(req.credential(), Credential::IntelPaid);

        assert!(BatchHudRequest::new(wallets(30)).validate().is_ok());
        let (field, reason) = invalid(&BatchHudRequest::new(wallets(31)));
        assert_eq!(field, "wallets");
        assert!(reason.contains("31"), "{reason}");
        assert_eq!(
            invalid(&BatchHudRequest::new(Vec::<String>::new())).0,
            "wallets"
        );
    }

    #[test]
    fn address_validation() {
        // Not base58 (0, O, I, l are excluded).
        let (field, reason) = invalid(&WalletHudRequest::new("0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl"));
        assert_eq!(field, "address");
        assert!(reason.contains("base58"), "{reason}");
        // Valid base58, wrong length.
        let (_, reason) = invalid(&WalletProfileRequest::new("abc"));
        assert!(reason.contains("32 bytes"), "{reason}");
        assert!(
            invalid(&WalletTokensRequest::new(""))
                .1
                .contains("32 bytes")
        );
        // Path injection never reaches the URL.
        assert!(
            WalletHudRequest::new("../jobs/x")
                .to_request(&base())
                .is_err()
        );
        // One bad entry in a list names its index.
        let (field, reason) = invalid(&BatchHudRequest::new([WALLET, "not-base58!"]));
        assert_eq!(field, "wallets");
        assert!(reason.contains("entry 1"), "{reason}");
        assert_eq!(invalid(&HoldersRequest::new("xyz")).0, "mint");
    }

    #[test]
    fn holders_requests() {
        let req = HoldersRequest::new(MINT);
        let r = build(&req);
        assert_eq!(r.method(), Method::POST);
        assert_eq!(
            r.uri().to_string(),
            format!("https://api.sova-intel.com/api/v1/intel/token/{MINT}/holders")
        );
        assert_eq!(r.body().as_slice(), br#"{"topN":20}"#);
        assert_eq!(r.headers()["content-type"], "application/json");
        assert!(!req.idempotent());
        assert_eq!(req.credential(), Credential::IntelPaid);
        assert_eq!(req.name(), "intel.holders");

        let r = build(&HoldersAgentRequest::new(MINT).top_n(50));
        assert_eq!(
            r.uri().path(),
            format!("/api/v1/intel/token/{MINT}/holders/agent")
        );
        assert_eq!(r.body().as_slice(), br#"{"topN":50}"#);
        let r = build(&DeepRequest::new(MINT).top_n(1));
        assert_eq!(
            r.uri().path(),
            format!("/api/v1/intel/token/{MINT}/holders/deep")
        );
        assert_eq!(r.body().as_slice(), br#"{"topN":1}"#);
        assert!(!DeepRequest::new(MINT).idempotent());
    }

    #[test]
    fn top_n_ranges() {
        assert!(HoldersRequest::new(MINT).top_n(100).validate().is_ok());
        let (field, reason) = invalid(&HoldersRequest::new(MINT).top_n(101));
        assert_eq!(field, "topN");
        assert!(reason.contains("between 1 and 100"), "{reason}");
        assert_eq!(invalid(&HoldersRequest::new(MINT).top_n(0)).0, "topN");
        assert!(HoldersAgentRequest::new(MINT).top_n(50).validate().is_ok());
        assert!(
            invalid(&HoldersAgentRequest::new(MINT).top_n(51))
                .1
                .contains("between 1 and 50")
        );
        assert!(DeepRequest::new(MINT).top_n(50).validate().is_ok());
        assert_eq!(invalid(&DeepRequest::new(MINT).top_n(51)).0, "topN");
        assert_eq!(invalid(&DeepRequest::new(MINT).top_n(0)).0, "topN");
    }

    #[test]
    fn similarity_requests() {
        let req = SimilarityRequest::new([WALLET, W1]);
        let r = build(&req);
        assert_eq!(r.method(), Method::POST);
        assert_eq!(
            r.uri().to_string(),
            "https://api.sova-intel.com/api/v1/intel/wallets/similarity"
        );
        assert_eq!(
            r.body().as_slice(),
            format!(r#"{{"wallets":["{WALLET}","{W1}"]}}"#).as_bytes()
        );
        assert!(!req.idempotent());
        let r = build(&SimilarityAgentRequest::new([WALLET, W1]));
        assert_eq!(r.uri().path(), "/api/v1/intel/wallets/similarity/agent");
        assert_eq!(
            SimilarityAgentRequest::new([WALLET, W1]).credential(),
            Credential::IntelPaid
        );

        assert!(
            invalid(&SimilarityRequest::new([WALLET]))
                .1
                .contains("between 2 and 30")
        );
        assert!(SimilarityRequest::new(wallets(30)).validate().is_ok());
        assert_eq!(invalid(&SimilarityRequest::new(wallets(31))).0, "wallets");
        assert_eq!(
            invalid(&SimilarityAgentRequest::new(wallets(31))).0,
            "wallets"
        );
        assert_eq!(
            invalid(&SimilarityAgentRequest::new([WALLET, "1111"])).0,
            "wallets"
        );
    }

    #[test]
    fn job_status_request() {
        let req = JobStatusRequest::new("holder-profiles-So111-10-1743600000000");
        let r = build(&req);
        assert_eq!(r.method(), Method::GET);
        assert_eq!(
            r.uri().to_string(),
            "https://api.sova-intel.com/api/v1/jobs/holder-profiles-So111-10-1743600000000"
        );
        assert_eq!(req.credential(), Credential::IntelOptional);
        assert!(req.idempotent());
        // `.` and `..` would change the path: refused, like SovX ids.
        for bad in [".", "..", " .. "] {
            let e = JobStatusRequest::new(bad)
                .to_request(&BaseUrl::parse("https://api.sova-intel.com/api/v1").unwrap())
                .unwrap_err();
            assert!(e.to_string().contains("relative path segment"), "{e}");
        }
        // Ids are one path segment, whatever they contain.
        assert_eq!(
            build(&JobStatusRequest::new("a/b c")).uri().path(),
            "/api/v1/jobs/a%2Fb%20c"
        );
        assert_eq!(invalid(&JobStatusRequest::new(" ")).0, "jobId");
    }

    #[test]
    fn result_by_key_request() {
        let req = ResultByKeyRequest::<Value>::new("holder-profiles:result:intel-holders-abc123");
        let r = build(&req);
        assert_eq!(r.method(), Method::GET);
        assert_eq!(
            r.uri().to_string(),
            "https://api.sova-intel.com/api/v1/jobs/result/by-key?key=holder-profiles:result:intel-holders-abc123"
        );
        assert_eq!(req.credential(), Credential::IntelAuthenticated);
        assert!(req.idempotent());
        // Characters outside the query-safe set are percent-encoded.
        let r = build(&ResultByKeyRequest::<Value>::new("a&b=c d"));
        assert_eq!(r.uri().query(), Some("key=a%26b%3Dc%20d"));
        assert_eq!(invalid(&ResultByKeyRequest::<Value>::new("")).0, "key");
        let typed: ResultByKeyRequest<JobStatus> = req.clone().cast();
        assert_eq!(typed.key, req.key);
        assert!(format!("{typed:?}").contains("JobStatus"));
    }

    #[test]
    fn result_by_key_404_is_not_ready() {
        let req = ResultByKeyRequest::<SimilarityResult>::new("similarity:result:r");
        let err = req
            .parse(&resp(
                404,
                "application/json",
                r#"{"message":"Not Found","statusCode":404}"#,
            ))
            .unwrap_err();
        assert!(is_not_ready(&err));
        assert_eq!(err.status(), StatusCode::NOT_FOUND);
        let err = req
            .parse(&resp(
                500,
                "application/json",
                r#"{"message":"boom","statusCode":500}"#,
            ))
            .unwrap_err();
        assert!(!is_not_ready(&err));
    }

    #[test]
    fn pricing_request_paths() {
        let req = PricingRequest::new();
        let r = build(&req);
        assert_eq!(
            r.uri().to_string(),
            "https://api.sova-intel.com/api/v1/intel/pricing"
        );
        assert_eq!(req.credential(), Credential::None);
        let fallback = req.fallback().unwrap();
        assert_eq!(fallback.path, PricingPath::Root);
        assert_eq!(
            build(&fallback).uri().to_string(),
            "https://api.sova-intel.com/api/v1/pricing"
        );
        assert_eq!(fallback.fallback(), None);
    }

    #[test]
    fn html_502_is_an_api_error() {
        let html = "<html><body><h1>502 Bad Gateway</h1></body></html>";
        let err = HoldersRequest::new(MINT)
            .parse(&resp(502, "text/html", html))
            .unwrap_err();
        let e = err.as_api().unwrap();
        assert_eq!(e.status, StatusCode::BAD_GATEWAY);
        assert_eq!(e.body_kind, BodyKind::Html);
        assert_eq!(e.body, html.as_bytes());
        // Same for an HTML page without a content type.
        let r = Response::builder()
            .status(502)
            .body(html.as_bytes().to_vec())
            .unwrap();
        assert_eq!(
            WalletHudRequest::new(WALLET)
                .parse(&r)
                .unwrap_err()
                .as_api()
                .unwrap()
                .body_kind,
            BodyKind::Html
        );
    }

    #[test]
    fn malformed_success_bodies_are_decode_errors() {
        let truncated = r#"{"huds":{"9Wz":{"behaviorCode":"W","winRate":0.5"#;
        let err = BatchHudRequest::new([WALLET])
            .parse(&resp(200, "application/json", truncated))
            .unwrap_err();
        assert!(matches!(
            err.as_decode().unwrap().kind,
            DecodeErrorKind::Truncated { .. }
        ));

        let err = WalletTokensRequest::new(WALLET)
            .parse(&resp(200, "application/json", ""))
            .unwrap_err();
        assert_eq!(err.as_decode().unwrap().kind, DecodeErrorKind::Empty);
        let err = HoldersRequest::new(MINT)
            .parse(&resp(202, "application/json", "  "))
            .unwrap_err();
        assert_eq!(err.as_decode().unwrap().kind, DecodeErrorKind::Empty);
        let err = JobStatusRequest::new("j")
            .parse(&resp(200, "text/html", "<html></html>"))
            .unwrap_err();
        assert_eq!(err.as_decode().unwrap().kind, DecodeErrorKind::Html);

        let err = HoldersRequest::new(MINT)
            .parse(&resp(202, "application/json", r#"{"status":"queued"}"#))
            .unwrap_err();
        assert!(
            matches!(&err.as_decode().unwrap().kind, DecodeErrorKind::Schema { message, .. } if message.contains("jobId"))
        );

        let err = JobStatusRequest::new("j")
            .parse(&resp(200, "application/json", r#"{"status":42}"#))
            .unwrap_err();
        assert!(
            matches!(&err.as_decode().unwrap().kind, DecodeErrorKind::Schema { path, .. } if path == "status")
        );

        // An empty error body is still an API error with its status.
        let err = WalletHudRequest::new(WALLET)
            .parse(&resp(500, "application/json", ""))
            .unwrap_err();
        assert_eq!(err.as_api().unwrap().body_kind, BodyKind::Empty);
    }

    #[test]
    fn unexpected_success_statuses() {
        let body = r#"{"status":"queued","jobId":"j","requestId":"r"}"#;
        // 206 (partial success of a bundle) is not decoded as an acceptance.
        let err = DeepRequest::new(MINT)
            .parse(&resp(206, "application/json", body))
            .unwrap_err();
        let d = err.as_decode().unwrap();
        assert_eq!(d.kind, DecodeErrorKind::UnexpectedStatus);
        assert_eq!(d.body, body.as_bytes());
        // A 202 on a synchronous endpoint keeps its body for the caller.
        let err = WalletTokensRequest::new(WALLET)
            .parse(&resp(202, "application/json", body))
            .unwrap_err();
        assert_eq!(
            err.as_decode().unwrap().kind,
            DecodeErrorKind::UnexpectedStatus
        );
        // 201 (NestJS's default for POST) is accepted for jobs and batch-hud.
        assert_eq!(
            HoldersRequest::new(MINT)
                .parse(&resp(201, "application/json", body))
                .unwrap()
                .job_id,
            "j"
        );
        assert!(
            BatchHudRequest::new([WALLET])
                .parse(&resp(201, "application/json", "{}"))
                .unwrap()
                .huds
                .is_empty()
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let bodies: [&[u8]; 8] = [
            b"",
            b"\xff\xfe\x00",
            b"null",
            b"[]",
            b"{\"status\":",
            b"\"text\"",
            b"{}}",
            b"\xEF\xBB\xBF{\"a\":1}",
        ];
        for body in bodies {
            for status in [200u16, 201, 202, 204, 206, 400, 402, 404, 422, 500, 502] {
                for ct in ["application/json", "text/plain", "text/html"] {
                    let r = Response::builder()
                        .status(status)
                        .header("content-type", ct)
                        .body(body.to_vec())
                        .unwrap();
                    let _ = WalletProfileRequest::new(WALLET).parse(&r);
                    let _ = BatchHudRequest::new([WALLET]).parse(&r);
                    let _ = SimilarityAgentRequest::new([WALLET, W1]).parse(&r);
                    let _ = DeepRequest::new(MINT).parse(&r);
                    let _ = JobStatusRequest::new("j").parse(&r);
                    let _ = PricingRequest::new().parse(&r);
                    let _ = ResultByKeyRequest::<AgentHolderProfilesResult>::new("k").parse(&r);
                }
            }
        }
    }
}
