//! Sans-IO Solana JSON-RPC calls: each type builds its request body and parses the answer.
//! The SDK's transports execute them; nothing here performs I/O.
//!
//! ```
//! use sova_x402::rpc::{GetLatestBlockhash, RpcCall};
//! let call = GetLatestBlockhash::default();
//! assert_eq!(
//!     call.body(1),
//!     r#"{"jsonrpc":"2.0","id":1,"method":"getLatestBlockhash","params":[{"commitment":"confirmed"}]}"#
//! );
//! let answer = br#"{"jsonrpc":"2.0","id":1,"result":{"context":{"slot":2792},
//!   "value":{"blockhash":"EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N","lastValidBlockHeight":3090}}}"#;
//! let latest = call.parse(answer)?;
//! assert_eq!(latest.last_valid_block_height, Some(3090));
//! # Ok::<(), sova_x402::rpc::RpcError>(())
//! ```

use serde::Deserialize;
use serde_json::{Value, json};
use solana_pubkey::Pubkey;
use sova_protocol::http;

use crate::blockhash::LatestBlockhash;
use crate::mint::{MintError, MintInfo};

/// Why an RPC answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The node answered with a JSON-RPC error.
    #[error("the Solana RPC node refused {method}: {message} (code {code})")]
    Node {
        /// The method called.
        method: &'static str,
        /// JSON-RPC error code.
        code: i64,
        /// The node's message.
        message: String,
    },
    /// The answer is not the JSON this method returns.
    #[error("the Solana RPC answer to {method} is not what the method returns: {problem}")]
    Malformed {
        /// The method called.
        method: &'static str,
        /// What was wrong.
        problem: String,
    },
    /// The mint account is missing or is not a mint.
    #[error(transparent)]
    Mint(#[from] MintError),
    /// The RPC URL is not usable. The message never shows it: RPC URLs often carry a
    /// provider key.
    #[error("the Solana RPC URL is not a valid http(s) URL (not shown: it may hold a key)")]
    BadUrl {
        /// The URL given.
        url: String,
    },
}

/// A JSON-RPC call: method, params, and how to read the answer.
pub trait RpcCall {
    /// What a successful answer yields.
    type Output;

    /// The method name.
    fn method(&self) -> &'static str;

    /// The `params` array.
    fn params(&self) -> Value;

    /// Reads the `result` member of a successful answer.
    fn parse_result(&self, result: &Value) -> Result<Self::Output, RpcError>;

    /// The request body.
    fn body(&self, id: u64) -> String {
        // Written by hand so the member order is fixed whatever serde_json's features are.
        format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"{}","params":{}}}"#,
            self.method(),
            self.params()
        )
    }

    /// A `POST` request to `rpc_url` with the body and a JSON content type.
    fn http_request(&self, rpc_url: &str, id: u64) -> Result<http::Request<Vec<u8>>, RpcError> {
        let bad = || RpcError::BadUrl {
            url: rpc_url.to_owned(),
        };
        if !(rpc_url.starts_with("http://") || rpc_url.starts_with("https://")) {
            return Err(bad());
        }
        http::Request::post(rpc_url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(self.body(id).into_bytes())
            .map_err(|_| bad())
    }

    /// Reads a whole JSON-RPC answer (`{"result": …}` or `{"error": …}`).
    fn parse(&self, body: &[u8]) -> Result<Self::Output, RpcError> {
        let method = self.method();
        let v: Value = serde_json::from_slice(body).map_err(|e| RpcError::Malformed {
            method,
            problem: format!("not JSON ({e})"),
        })?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(RpcError::Node {
                method,
                code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("no message")
                    .chars()
                    .take(300)
                    .collect(),
            });
        }
        let result = v.get("result").ok_or_else(|| RpcError::Malformed {
            method,
            problem: "neither `result` nor `error` is present".into(),
        })?;
        self.parse_result(result)
    }
}

fn malformed(method: &'static str, problem: impl Into<String>) -> RpcError {
    RpcError::Malformed {
        method,
        problem: problem.into(),
    }
}

fn from_value<T: for<'de> Deserialize<'de>>(
    method: &'static str,
    v: &Value,
) -> Result<T, RpcError> {
    T::deserialize(v).map_err(|e| malformed(method, e.to_string()))
}

/// `getLatestBlockhash` at commitment `confirmed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GetLatestBlockhash;

impl RpcCall for GetLatestBlockhash {
    type Output = LatestBlockhash;
    fn method(&self) -> &'static str {
        "getLatestBlockhash"
    }
    fn params(&self) -> Value {
        json!([{"commitment": "confirmed"}])
    }
    fn parse_result(&self, result: &Value) -> Result<LatestBlockhash, RpcError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct V {
            blockhash: String,
            last_valid_block_height: u64,
        }
        let m = self.method();
        let value = result
            .get("value")
            .ok_or_else(|| malformed(m, "no `value`"))?;
        let v: V = from_value(m, value)?;
        let blockhash = LatestBlockhash::parse(&v.blockhash)
            .ok_or_else(|| malformed(m, "the blockhash is not base58 of 32 bytes"))?;
        let context_slot = result
            .get("context")
            .and_then(|c| c.get("slot"))
            .and_then(Value::as_u64);
        Ok(LatestBlockhash {
            blockhash,
            last_valid_block_height: Some(v.last_valid_block_height),
            context_slot,
        })
    }
}

/// `getBlockHeight` at commitment `confirmed` (to tell whether a blockhash has expired).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GetBlockHeight;

impl RpcCall for GetBlockHeight {
    type Output = u64;
    fn method(&self) -> &'static str {
        "getBlockHeight"
    }
    fn params(&self) -> Value {
        json!([{"commitment": "confirmed"}])
    }
    fn parse_result(&self, result: &Value) -> Result<u64, RpcError> {
        result.as_u64().ok_or_else(|| {
            malformed(
                self.method(),
                "the block height is not a non-negative integer",
            )
        })
    }
}

/// `getEpochInfo` at commitment `confirmed`, answered only by a node that has seen
/// `min_context_slot`: the block height and the slot it was read at, as one consistent
/// pair. Reconciliation reads it first, so a node lagging behind the one that gave us the
/// blockhash cannot pass for proof that the blockhash expired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GetEpochInfo {
    /// The slot the answering node must have reached (the slot our blockhash was read at).
    pub min_context_slot: Option<u64>,
}

/// A `getEpochInfo` answer: the block height and the slot it was read at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochInfo {
    /// The block height.
    pub block_height: u64,
    /// The slot the node was at.
    pub absolute_slot: u64,
}

impl RpcCall for GetEpochInfo {
    type Output = EpochInfo;
    fn method(&self) -> &'static str {
        "getEpochInfo"
    }
    fn params(&self) -> Value {
        match self.min_context_slot {
            Some(s) => json!([{"commitment": "confirmed", "minContextSlot": s}]),
            None => json!([{"commitment": "confirmed"}]),
        }
    }
    fn parse_result(&self, result: &Value) -> Result<EpochInfo, RpcError> {
        let m = self.method();
        let field = |k: &str| {
            result
                .get(k)
                .and_then(Value::as_u64)
                .ok_or_else(|| malformed(m, format!("`{k}` is not a non-negative integer")))
        };
        let info = EpochInfo {
            block_height: field("blockHeight")?,
            absolute_slot: field("absoluteSlot")?,
        };
        if let Some(min) = self.min_context_slot
            && info.absolute_slot < min
        {
            return Err(malformed(
                m,
                format!(
                    "the node is at slot {} behind the required {min}",
                    info.absolute_slot
                ),
            ));
        }
        Ok(info)
    }
}

/// `getTokenAccountBalance` of a token account, in base units. A node that does not find
/// the account answers with an error; [`GetTokenBalance::missing`] tells it apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetTokenBalance {
    /// The token account.
    pub account: Pubkey,
}

impl GetTokenBalance {
    /// Whether `e` says the account does not exist (nothing held).
    pub fn missing(e: &RpcError) -> bool {
        matches!(e, RpcError::Node { message, .. } if message.contains("could not find account"))
    }
}

impl RpcCall for GetTokenBalance {
    type Output = u64;
    fn method(&self) -> &'static str {
        "getTokenAccountBalance"
    }
    fn params(&self) -> Value {
        json!([self.account.to_string(), {"commitment": "confirmed"}])
    }
    fn parse_result(&self, result: &Value) -> Result<u64, RpcError> {
        result
            .get("value")
            .and_then(|v| v.get("amount"))
            .and_then(Value::as_str)
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| malformed(self.method(), "no `value.amount` in base units"))
    }
}

/// The `context.slot` of a JSON-RPC answer (`{"result": {"context": {"slot": …}}}`), when
/// present: the slot the node answered at.
pub fn context_slot(body: &[u8]) -> Option<u64> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("result")?.get("context")?.get("slot")?.as_u64()
}

/// `getAccountInfo` of a mint (base64 encoding), read into a [`MintInfo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetMintInfo {
    /// The mint.
    pub mint: Pubkey,
}

impl GetMintInfo {
    /// The call for `mint`.
    pub fn new(mint: Pubkey) -> Self {
        GetMintInfo { mint }
    }
}

impl RpcCall for GetMintInfo {
    type Output = MintInfo;
    fn method(&self) -> &'static str {
        "getAccountInfo"
    }
    fn params(&self) -> Value {
        json!([self.mint.to_string(), {"commitment": "confirmed", "encoding": "base64"}])
    }
    fn parse_result(&self, result: &Value) -> Result<MintInfo, RpcError> {
        let m = self.method();
        let value = result
            .get("value")
            .ok_or_else(|| malformed(m, "no `value`"))?;
        if value.is_null() {
            return Err(MintError::NotFound {
                mint: self.mint.to_string(),
            }
            .into());
        }
        let owner = value
            .get("owner")
            .and_then(Value::as_str)
            .and_then(|o| o.parse::<Pubkey>().ok())
            .ok_or_else(|| malformed(m, "the account has no valid `owner`"))?;
        let data = match value.get("data") {
            Some(Value::Array(parts)) => match parts.as_slice() {
                [Value::String(d), Value::String(enc)] if enc == "base64" => d.as_str(),
                _ => return Err(malformed(m, "`data` is not [<base64>, \"base64\"]")),
            },
            _ => return Err(malformed(m, "`data` is not [<base64>, \"base64\"]")),
        };
        let bytes = if data.is_empty() {
            Vec::new()
        } else {
            sova_protocol::x402::b64::decode(data)
                .map_err(|e| malformed(m, format!("`data` is not base64: {e}")))?
        };
        Ok(MintInfo::from_account(self.mint, &owner, &bytes)?)
    }
}

/// One entry of a `getSignaturesForAddress` answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SignatureInfo {
    /// Transaction signature (base58).
    pub signature: String,
    /// Slot it landed in.
    #[serde(default)]
    pub slot: u64,
    /// The error, if it failed (`null` on success).
    #[serde(default)]
    pub err: Option<Value>,
    /// Memo text as the node reports it (`"[32] <memo>"`).
    #[serde(default)]
    pub memo: Option<String>,
    /// Block time (seconds since the epoch).
    #[serde(default)]
    pub block_time: Option<i64>,
    /// `processed`, `confirmed` or `finalized`.
    #[serde(default)]
    pub confirmation_status: Option<String>,
}

/// `getSignaturesForAddress` (commitment `confirmed`), newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetSignaturesForAddress {
    /// The address (for reconciliation, the payer's token account).
    pub address: Pubkey,
    /// At most this many entries (1–1000).
    pub limit: u16,
    /// Start searching backwards from this signature.
    pub before: Option<String>,
    /// The slot the answering node must have reached.
    pub min_context_slot: Option<u64>,
}

impl GetSignaturesForAddress {
    /// The newest `limit` signatures touching `address`.
    pub fn new(address: Pubkey, limit: u16) -> Self {
        GetSignaturesForAddress {
            address,
            limit: limit.clamp(1, 1000),
            before: None,
            min_context_slot: None,
        }
    }
}

impl RpcCall for GetSignaturesForAddress {
    type Output = Vec<SignatureInfo>;
    fn method(&self) -> &'static str {
        "getSignaturesForAddress"
    }
    fn params(&self) -> Value {
        // Members in alphabetical order, so the text is the same with or without
        // serde_json's `preserve_order`.
        let mut cfg = match &self.before {
            Some(b) => json!({"before": b, "commitment": "confirmed", "limit": self.limit}),
            None => json!({"commitment": "confirmed", "limit": self.limit}),
        };
        if let (Some(s), Some(o)) = (self.min_context_slot, cfg.as_object_mut()) {
            o.insert("minContextSlot".into(), json!(s));
        }
        json!([self.address.to_string(), cfg])
    }
    fn parse_result(&self, result: &Value) -> Result<Vec<SignatureInfo>, RpcError> {
        from_value(self.method(), result)
    }
}

/// One entry of a `getSignatureStatuses` answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SignatureStatus {
    /// Slot it landed in.
    #[serde(default)]
    pub slot: u64,
    /// Confirmations (`null` once rooted).
    #[serde(default)]
    pub confirmations: Option<u64>,
    /// The error, if it failed.
    #[serde(default)]
    pub err: Option<Value>,
    /// `processed`, `confirmed` or `finalized`.
    #[serde(default)]
    pub confirmation_status: Option<String>,
}

/// `getSignatureStatuses` with `searchTransactionHistory`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetSignatureStatuses {
    /// Signatures (base58), at most 256.
    pub signatures: Vec<String>,
}

impl RpcCall for GetSignatureStatuses {
    type Output = Vec<Option<SignatureStatus>>;
    fn method(&self) -> &'static str {
        "getSignatureStatuses"
    }
    fn params(&self) -> Value {
        json!([self.signatures, {"searchTransactionHistory": true}])
    }
    fn parse_result(&self, result: &Value) -> Result<Vec<Option<SignatureStatus>>, RpcError> {
        let m = self.method();
        let value = result
            .get("value")
            .ok_or_else(|| malformed(m, "no `value`"))?;
        let out: Vec<Option<SignatureStatus>> = from_value(m, value)?;
        if out.len() != self.signatures.len() {
            return Err(malformed(
                m,
                format!(
                    "{} statuses for {} signatures",
                    out.len(),
                    self.signatures.len()
                ),
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mint::TokenProgram;
    use crate::programs::{TOKEN_2022_PROGRAM_ID, USDC_MAINNET};

    #[test]
    fn bodies() {
        let a = Pubkey::new_from_array([1; 32]);
        assert_eq!(
            GetMintInfo::new(a).body(7),
            format!(
                r#"{{"jsonrpc":"2.0","id":7,"method":"getAccountInfo","params":["{a}",{{"commitment":"confirmed","encoding":"base64"}}]}}"#
            )
        );
        let mut g = GetSignaturesForAddress::new(a, 5000);
        g.before = Some("sig".into());
        assert!(g.body(1).contains(r#""limit":1000"#), "{}", g.body(1));
        assert!(g.body(1).contains(r#""before":"sig""#));
        assert!(
            GetSignatureStatuses {
                signatures: vec!["x".into()]
            }
            .body(1)
            .contains("searchTransactionHistory")
        );
        let r = GetLatestBlockhash
            .http_request("http://127.0.0.1:8899", 1)
            .unwrap();
        assert_eq!(r.method(), http::Method::POST);
        assert!(GetLatestBlockhash.http_request("ftp://x", 1).is_err());
        assert!(
            GetLatestBlockhash
                .http_request("http://bad url", 1)
                .is_err()
        );
    }

    #[test]
    fn answers() {
        let e = GetLatestBlockhash
            .parse(
                br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"Node is behind"}}"#,
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the Solana RPC node refused getLatestBlockhash: Node is behind (code -32005)"
        );
        assert!(GetLatestBlockhash.parse(b"<html>").is_err());
        assert!(
            GetLatestBlockhash
                .parse(br#"{"result":{"value":{"blockhash":"zz","lastValidBlockHeight":1}}}"#)
                .is_err()
        );
        assert!(GetLatestBlockhash.parse(br#"{"result":{"value":{"blockhash":"11111111111111111111111111111111","lastValidBlockHeight":-1}}}"#).is_err());
        assert_eq!(GetBlockHeight.parse(br#"{"result":1233}"#).unwrap(), 1233);

        let mint = Pubkey::new_from_array([2; 32]);
        let mut data = vec![0u8; 82];
        data[44] = 9;
        data[45] = 1;
        let body = format!(
            r#"{{"result":{{"context":{{"slot":1}},"value":{{"data":["{}","base64"],"owner":"{TOKEN_2022_PROGRAM_ID}","lamports":1,"executable":false}}}}}}"#,
            sova_protocol::x402::b64::encode(&data)
        );
        let info = GetMintInfo::new(mint).parse(body.as_bytes()).unwrap();
        assert_eq!((info.decimals, info.program), (9, TokenProgram::Token2022));
        let e = GetMintInfo::new(USDC_MAINNET)
            .parse(br#"{"result":{"value":null}}"#)
            .unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        assert!(
            GetMintInfo::new(mint)
                .parse(br#"{"result":{"value":{"data":"x","owner":"y"}}}"#)
                .is_err()
        );

        let sigs = GetSignaturesForAddress::new(mint, 10)
            .parse(br#"{"result":[{"signature":"abc","slot":114,"err":null,"memo":"[32] deadbeef","blockTime":null,"confirmationStatus":"finalized"}]}"#)
            .unwrap();
        assert_eq!(sigs[0].memo.as_deref(), Some("[32] deadbeef"));
        let st = GetSignatureStatuses { signatures: vec!["a".into(), "b".into()] }
            .parse(br#"{"result":{"context":{"slot":82},"value":[{"slot":48,"confirmations":null,"err":null,"status":{"Ok":null},"confirmationStatus":"finalized"},null]}}"#)
            .unwrap();
        assert_eq!(st[0].as_ref().unwrap().slot, 48);
        assert!(st[1].is_none());
        assert!(
            GetSignatureStatuses {
                signatures: vec!["a".into()]
            }
            .parse(br#"{"result":{"value":[null,null]}}"#)
            .is_err()
        );
    }
}
