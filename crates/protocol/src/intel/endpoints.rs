//! Sova Intel endpoints.

use http::{HeaderMap, Method, Response, StatusCode};

use super::errors::api_error;
use super::types::*;
use crate::endpoint::{insert_header, json_body};
use crate::{BuildError, Credential, DecodeError, DecodeErrorKind, Endpoint, ResponseError, decode};

/// Decodes a 2xx JSON body or turns an error status into an [`crate::ApiError`].
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(response: &Response<Vec<u8>>) -> Result<T, ResponseError> {
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
        Ok(b) => Err(BuildError::input(field, format!("a Solana address is 32 bytes, this one decodes to {}", b.len()))),
        Err(_) => Err(BuildError::input(field, "not valid base58")),
    }
}

/// `GET /intel/wallet/{address}/hud` — the wallet HUD signal (1 credit).
///
/// May answer `202` ([`Fetched::Queued`]); re-call with [`Self::prepaid_job_id`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletHudRequest {
    /// The wallet (base58).
    pub address: String,
    /// `X-Prepaid-Job-Id` from an earlier 202.
    pub prepaid_job_id: Option<String>,
}

impl WalletHudRequest {
    /// A HUD request for `address`.
    pub fn new(address: impl Into<String>) -> Self {
        WalletHudRequest { address: address.into(), prepaid_job_id: None }
    }

    /// The re-call after a 202: carries `X-Prepaid-Job-Id`.
    pub fn prepaid_job_id(mut self, id: impl Into<String>) -> Self {
        self.prepaid_job_id = Some(id.into());
        self
    }
}

impl Endpoint for WalletHudRequest {
    type Output = Fetched<WalletHud>;

    fn name(&self) -> &'static str {
        "intel.wallet_hud"
    }
    fn method(&self) -> Method {
        Method::GET
    }
    fn path(&self) -> Result<String, BuildError> {
        Ok(format!("/intel/wallet/{}/hud", crate::base::encode_segment(&self.address)))
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
    fn parse(&self, response: &Response<Vec<u8>>) -> Result<Self::Output, ResponseError> {
        parse_fetched(response)
    }
}

/// Parses a synchronous answer: `200` (or another 2xx carrying data) decodes; `202` and
/// `206`, which these endpoints do not document, are [`DecodeErrorKind::UnexpectedStatus`]
/// with the raw body kept.
pub(crate) fn parse_sync<T: serde::de::DeserializeOwned>(response: &Response<Vec<u8>>) -> Result<T, ResponseError> {
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
pub(crate) fn parse_accepted<T: serde::de::DeserializeOwned>(response: &Response<Vec<u8>>) -> Result<T, ResponseError> {
    match response.status() {
        StatusCode::OK | StatusCode::CREATED | StatusCode::ACCEPTED => Ok(decode::json(response)?),
        s if s.is_success() => Err(DecodeError::new(s, DecodeErrorKind::UnexpectedStatus, response.body()).into()),
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
        return Err(BuildError::input(field, format!("between {min} and {max} addresses are accepted, got {n}")));
    }
    for (i, a) in addresses.iter().enumerate() {
        if let Err(e) = check_address(field, a) {
            let reason = match e {
                BuildError::InvalidInput { reason, .. } => reason,
                other => other.to_string(),
            };
            return Err(BuildError::input(field, format!("entry {i} ({a:?}): {reason}")));
        }
    }
    Ok(())
}

/// Checks a `topN` against its endpoint's range.
pub(crate) fn check_top_n(top_n: u32, max: u32) -> Result<(), BuildError> {
    if (1..=max).contains(&top_n) {
        Ok(())
    } else {
        Err(BuildError::input("topN", format!("must be between 1 and {max}, got {top_n}")))
    }
}

/// `GET /intel/wallet/{address}` — the full wallet profile (5 credits).
///
/// May answer `202` ([`Fetched::Queued`]): poll the job, then re-call with
/// [`Self::prepaid_job_id`] (one charge in total). Never read this result from the result
/// store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletProfileRequest {
    /// The wallet (base58).
    pub address: String,
    /// `X-Prepaid-Job-Id` from an earlier 202.
    pub prepaid_job_id: Option<String>,
}

impl WalletProfileRequest {
    /// A profile request for `address`.
    pub fn new(address: impl Into<String>) -> Self {
        WalletProfileRequest { address: address.into(), prepaid_job_id: None }
    }

    /// The re-call after a 202: carries `X-Prepaid-Job-Id`.
    pub fn prepaid_job_id(mut self, id: impl Into<String>) -> Self {
        self.prepaid_job_id = Some(id.into());
        self
    }
}

impl Endpoint for WalletProfileRequest {
    type Output = Fetched<WalletProfileResponse>;

    fn name(&self) -> &'static str {
        "intel.wallet_profile"
    }
    fn method(&self) -> Method {
        Method::GET
    }
    fn path(&self) -> Result<String, BuildError> {
        Ok(format!("/intel/wallet/{}", crate::base::encode_segment(&self.address)))
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
    fn parse(&self, response: &Response<Vec<u8>>) -> Result<Self::Output, ResponseError> {
        parse_fetched(response)
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
        WalletTokensRequest { address: address.into(), params: TokenPnlParams::default() }
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
        Ok(format!("/intel/wallet/{}/tokens", crate::base::encode_segment(&self.address)))
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
                format!("must be between 1 and {}, got {size}", TokenPnlParams::MAX_PAGE_SIZE),
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
        BatchHudRequest { wallets: wallets.into_iter().map(Into::into).collect() }
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
        json_body(&WalletsBody { wallets: &self.wallets })
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
