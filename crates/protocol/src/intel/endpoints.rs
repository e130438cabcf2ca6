//! Sova Intel endpoints.

use http::{HeaderMap, Method, Response, StatusCode};

use super::errors::api_error;
use super::types::*;
use crate::endpoint::insert_header;
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
