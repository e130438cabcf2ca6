//! Typed x402 values and their header encodings.

use std::fmt;

use http::HeaderMap;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::b64::{self, Base64Error};
use super::headers;

/// Why an x402 value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The header value is not base64.
    #[error("the {header} value is not base64: {source}")]
    Base64 {
        /// Which value.
        header: &'static str,
        /// The base64 failure.
        #[source]
        source: Base64Error,
    },
    /// The decoded bytes are not the expected JSON.
    #[error("the {header} value is not a valid x402 document: {message} (at `{path}`)")]
    Json {
        /// Which value.
        header: &'static str,
        /// JSON path of the problem.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// An `x402Version` this SDK does not speak.
    #[error("unsupported x402Version {0} (this SDK speaks 1 and 2)")]
    Version(u64),
    /// A header value is not visible ASCII.
    #[error("the {0} header is not valid text")]
    NotText(&'static str),
    /// A settlement header that is neither base64 JSON nor a base58 signature.
    #[error("the {header} value is neither base64 JSON nor a transaction signature")]
    Settlement {
        /// Which header.
        header: &'static str,
    },
}

fn json_error(
    header: &'static str,
    e: serde_path_to_error::Error<serde_json::Error>,
) -> CodecError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let msg = inner.to_string();
    let message = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    };
    CodecError::Json {
        header,
        path,
        message,
    }
}

fn from_json<'a, T: Deserialize<'a>>(
    header: &'static str,
    bytes: &'a [u8],
) -> Result<T, CodecError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = serde_path_to_error::deserialize(&mut de).map_err(|e| json_error(header, e))?;
    de.end().map_err(|e| CodecError::Json {
        header,
        path: ".".into(),
        message: e.to_string(),
    })?;
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// Amount

/// An amount in atomic units of an asset (for USDC, millionths of a dollar).
///
/// On the wire it is a base-10 integer string (`"15000"`). Parsing rejects signs, decimals,
/// exponents, whitespace, hex and anything above `u64::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(pub u64);

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    /// Empty string.
    #[error("the amount is empty")]
    Empty,
    /// Not a plain base-10 integer.
    #[error("the amount {0:?} is not a base-10 integer of atomic units")]
    NotInteger(String),
    /// Larger than `u64::MAX`.
    #[error("the amount {0:?} is larger than the largest token amount (2^64 - 1)")]
    Overflow(String),
}

impl Amount {
    /// Parses a base-10 integer string.
    ///
    /// ```
    /// use sova_protocol::x402::Amount;
    /// assert_eq!(Amount::parse("15000").unwrap().0, 15_000);
    /// assert!(Amount::parse("1.5").is_err());
    /// assert!(Amount::parse("18446744073709551616").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, AmountError> {
        if s.is_empty() {
            return Err(AmountError::Empty);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::NotInteger(truncate(s)));
        }
        s.parse::<u64>()
            .map(Amount)
            .map_err(|_| AmountError::Overflow(truncate(s)))
    }

    /// The value in atomic units.
    pub fn get(self) -> u64 {
        self.0
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for Amount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<u64> for Amount {
    fn from(v: u64) -> Self {
        Amount(v)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    /// Accepts the documented string and, tolerantly, a non-negative JSON integer.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base-10 integer string of atomic units")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Amount, E> {
                Amount::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Amount, E> {
                Ok(Amount(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Amount, E> {
                u64::try_from(v)
                    .map(Amount)
                    .map_err(|_| E::custom(AmountError::NotInteger(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Amount, E> {
                Err(E::custom(AmountError::NotInteger(v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------------------------
// PaymentRequirements

/// One payment option of a 402 (`accepts[i]`), with its raw JSON kept for the echo.
#[derive(Clone)]
pub struct PaymentRequirements {
    /// `"exact"` for the schemes this SDK pays.
    pub scheme: String,
    /// CAIP-2 network (v1 names are normalized, e.g. `solana` → mainnet).
    pub network: String,
    /// The amount to pay, in atomic units (v2 `amount`, v1 `maxAmountRequired`).
    pub amount: Amount,
    /// The SPL mint (base58).
    pub asset: String,
    /// The recipient **wallet** (owner); pay its associated token account.
    pub pay_to: String,
    /// How long the server waits for settlement.
    pub max_timeout_seconds: Option<u64>,
    /// Scheme-specific keys (`feePayer`, `memo`, `recentBlockhash`, …).
    pub extra: Map<String, Value>,
    /// The x402 version this requirement came with.
    pub version: u64,
    /// `network` exactly as received (a v1 name such as `solana` stays one).
    wire_network: String,
    raw: Box<RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequirementsWire {
    scheme: String,
    network: String,
    #[serde(alias = "maxAmountRequired")]
    amount: Amount,
    asset: String,
    pay_to: String,
    #[serde(default)]
    max_timeout_seconds: Option<u64>,
    #[serde(default)]
    extra: Option<Map<String, Value>>,
}

impl PaymentRequirements {
    fn from_raw(raw: Box<RawValue>, version: u64) -> Result<Self, serde_json::Error> {
        let w: RequirementsWire = serde_json::from_str(raw.get())?;
        Ok(PaymentRequirements {
            scheme: w.scheme,
            network: super::networks::normalize(&w.network).to_owned(),
            wire_network: w.network,
            amount: w.amount,
            asset: w.asset,
            pay_to: w.pay_to,
            max_timeout_seconds: w.max_timeout_seconds,
            extra: w.extra.unwrap_or_default(),
            version,
            raw,
        })
    }

    /// Builds a v2 requirement (servers, sandboxes and tests); its raw JSON is the canonical
    /// serialization of the fields.
    pub fn new(
        network: &str,
        asset: &str,
        amount: u64,
        pay_to: &str,
        max_timeout_seconds: u64,
        extra: Map<String, Value>,
    ) -> Self {
        let mut obj = Map::new();
        obj.insert("scheme".into(), Value::from(super::SCHEME_EXACT));
        obj.insert("network".into(), Value::from(network));
        obj.insert("amount".into(), Value::from(amount.to_string()));
        obj.insert("asset".into(), Value::from(asset));
        obj.insert("payTo".into(), Value::from(pay_to));
        obj.insert("maxTimeoutSeconds".into(), Value::from(max_timeout_seconds));
        if !extra.is_empty() {
            obj.insert("extra".into(), Value::Object(extra.clone()));
        }
        let text = Value::Object(obj).to_string();
        let raw = RawValue::from_string(text).unwrap_or_else(|_| unreachable_raw());
        PaymentRequirements {
            scheme: super::SCHEME_EXACT.to_owned(),
            network: network.to_owned(),
            wire_network: network.to_owned(),
            amount: Amount(amount),
            asset: asset.to_owned(),
            pay_to: pay_to.to_owned(),
            max_timeout_seconds: Some(max_timeout_seconds),
            extra,
            version: 2,
            raw,
        }
    }

    /// The requirement's JSON exactly as the server sent it (for the `accepted` echo).
    pub fn raw_json(&self) -> &str {
        self.raw.get()
    }

    /// `network` exactly as the server sent it ([`PaymentRequirements::network`] is
    /// normalized to CAIP-2). A v1 payload names the network this way.
    pub fn network_as_received(&self) -> &str {
        &self.wire_network
    }

    /// A string-valued `extra` key.
    pub fn extra_str(&self, key: &str) -> Option<&str> {
        self.extra.get(key).and_then(Value::as_str)
    }

    /// `extra.feePayer`: present for sponsored (facilitator-paid) payments.
    pub fn fee_payer(&self) -> Option<&str> {
        self.extra_str("feePayer")
    }

    /// `extra.memo`: the seller memo the transaction must carry.
    pub fn memo(&self) -> Option<&str> {
        self.extra_str("memo")
    }

    /// `extra.recentBlockhash`: a server-supplied blockhash hint.
    pub fn recent_blockhash(&self) -> Option<&str> {
        self.extra_str("recentBlockhash")
    }

    /// Whether two requirements ask for the same payment (scheme, network, amount, asset,
    /// payTo), the rule the Python and Go servers use.
    pub fn same_payment(&self, other: &PaymentRequirements) -> bool {
        self.scheme == other.scheme
            && self.network == other.network
            && self.amount == other.amount
            && self.asset == other.asset
            && self.pay_to == other.pay_to
    }
}

fn unreachable_raw() -> Box<RawValue> {
    // `Value::to_string` always yields valid JSON; this is a defensive fallback only.
    RawValue::from_string("null".to_owned()).unwrap_or_else(|_| Box::<RawValue>::default())
}

impl fmt::Debug for PaymentRequirements {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentRequirements")
            .field("scheme", &self.scheme)
            .field("network", &self.network)
            .field("amount", &self.amount.0)
            .field("asset", &self.asset)
            .field("pay_to", &self.pay_to)
            .field("max_timeout_seconds", &self.max_timeout_seconds)
            .field("extra", &self.extra)
            .finish()
    }
}

impl PartialEq for PaymentRequirements {
    fn eq(&self, other: &Self) -> bool {
        self.raw.get() == other.raw.get()
    }
}

impl Serialize for PaymentRequirements {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for PaymentRequirements {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        PaymentRequirements::from_raw(raw, 2).map_err(de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// RawJson

/// A JSON value kept exactly as received (for echoes), compared by its text.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Wraps JSON text, checking that it is valid.
    pub fn from_string(json: String) -> Result<Self, serde_json::Error> {
        RawValue::from_string(json).map(RawJson)
    }

    /// Parses the value.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

// ---------------------------------------------------------------------------------------------
// PaymentRequired

/// A decoded 402 challenge: the payment options the server accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentRequired {
    /// 2 (header) or 1 (JSON body).
    pub x402_version: u64,
    /// Human text; after a failed verification the server's reason.
    pub error: Option<String>,
    /// `resource` as received (Sova's documented example has none), echoed in the payload.
    pub resource: Option<RawJson>,
    /// The payment options.
    pub accepts: Vec<PaymentRequirements>,
    /// `extensions` as received, echoed in the payload.
    pub extensions: Option<RawJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequiredWire {
    x402_version: u64,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    resource: Option<RawJson>,
    #[serde(default)]
    accepts: Vec<Box<RawValue>>,
    #[serde(default)]
    extensions: Option<RawJson>,
}

impl PaymentRequired {
    /// Decodes a v2 `PAYMENT-REQUIRED` header value.
    pub fn decode_header(value: &str) -> Result<Self, CodecError> {
        let bytes = b64::decode(value).map_err(|source| CodecError::Base64 {
            header: "PAYMENT-REQUIRED",
            source,
        })?;
        Self::from_json_bytes("PAYMENT-REQUIRED", &bytes)
    }

    /// Decodes a v1 402 JSON body (`{x402Version: 1, error, accepts}`).
    pub fn decode_body(body: &[u8]) -> Result<Self, CodecError> {
        Self::from_json_bytes("402 body", body)
    }

    fn from_json_bytes(header: &'static str, bytes: &[u8]) -> Result<Self, CodecError> {
        let w: RequiredWire = from_json(header, bytes)?;
        if w.x402_version != 1 && w.x402_version != 2 {
            return Err(CodecError::Version(w.x402_version));
        }
        let accepts = w
            .accepts
            .into_iter()
            .enumerate()
            .map(|(i, raw)| {
                PaymentRequirements::from_raw(raw, w.x402_version).map_err(|e| CodecError::Json {
                    header,
                    path: format!("accepts[{i}]"),
                    message: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PaymentRequired {
            x402_version: w.x402_version,
            error: w.error,
            resource: w.resource,
            accepts,
            extensions: w.extensions,
        })
    }

    /// Reads a 402 answer: the `PAYMENT-REQUIRED` header (any case), else a v1 JSON body
    /// carrying `x402Version`. `Ok(None)` when the answer holds no x402 challenge.
    pub fn from_response(headers: &HeaderMap, body: &[u8]) -> Result<Option<Self>, CodecError> {
        if let Some(v) = headers.get(headers::PAYMENT_REQUIRED) {
            let v = v
                .to_str()
                .map_err(|_| CodecError::NotText("PAYMENT-REQUIRED"))?;
            return Self::decode_header(v).map(Some);
        }
        // v1: the challenge is the JSON body.
        let looks_v1 = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("x402Version").cloned())
            .is_some();
        if looks_v1 {
            return Self::decode_body(body).map(Some);
        }
        Ok(None)
    }

    /// The JSON document (keys in documented order; requirements as received).
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("{\"x402Version\":");
        out.push_str(&self.x402_version.to_string());
        if let Some(e) = &self.error {
            out.push_str(",\"error\":");
            out.push_str(&Value::from(e.as_str()).to_string());
        }
        if let Some(r) = &self.resource {
            out.push_str(",\"resource\":");
            out.push_str(r.get());
        }
        out.push_str(",\"accepts\":[");
        for (i, a) in self.accepts.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(a.raw_json());
        }
        out.push(']');
        if let Some(x) = &self.extensions {
            out.push_str(",\"extensions\":");
            out.push_str(x.get());
        }
        out.push('}');
        out
    }

    /// The `PAYMENT-REQUIRED` header value (standard base64 with padding).
    pub fn encode_header(&self) -> String {
        b64::encode(self.to_json().as_bytes())
    }
}

// ---------------------------------------------------------------------------------------------
// PaymentPayload

/// Which JSON shape a `PAYMENT-SIGNATURE` takes (see `reference/x402-solana.md` §1.5).
///
/// The payer (`sova-x402`) sends [`PayloadShape::Flat`] to Sova Intel hosts, the shape Sova
/// documents, and [`PayloadShape::Hybrid`] elsewhere unless configured otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PayloadShape {
    /// `{x402Version, resource?, accepted, payload, extensions?}` — the x402 v2
    /// specification's `PaymentPayload`, which the v2 SDK servers read.
    Spec,
    /// The spec shape plus top-level `scheme` and `network`. Neither the x402 specification
    /// nor Sova documents it; the reference found that the five SDK servers it lists parse it
    /// because they ignore unknown keys. Whether Sova's server accepts it is not documented.
    /// The enum's `Default` (this SDK's choice, not a documented one).
    #[default]
    Hybrid,
    /// `{x402Version, scheme, network, payload}` — the shape Sova documents
    /// (`reference/sova-intel-api.md` §3.4; the v1 payload shape with `x402Version: 2`). The
    /// reference found no v2 SDK server that accepts it.
    Flat,
}

impl std::str::FromStr for PayloadShape {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "spec" => Ok(PayloadShape::Spec),
            "hybrid" => Ok(PayloadShape::Hybrid),
            "flat" => Ok(PayloadShape::Flat),
            other => Err(format!(
                "unknown payload shape {other:?} (expected spec, hybrid or flat)"
            )),
        }
    }
}

/// The SVM `exact` payload: a base64 wire transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExactSvmPayload {
    /// Standard base64 of the serialized (partially or fully) signed transaction.
    pub transaction: String,
}

/// A decoded or to-be-encoded `PAYMENT-SIGNATURE`.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentPayload {
    /// 2 (or 1 for v1 `X-PAYMENT`).
    pub x402_version: u64,
    /// The requirement being paid, echoed exactly as received (absent in the flat shape).
    pub accepted: Option<PaymentRequirements>,
    /// Top-level scheme (hybrid and flat shapes).
    pub scheme: Option<String>,
    /// Top-level network (hybrid and flat shapes).
    pub network: Option<String>,
    /// `resource`, echoed.
    pub resource: Option<RawJson>,
    /// The scheme payload.
    pub payload: ExactSvmPayload,
    /// `extensions`, echoed.
    pub extensions: Option<RawJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PayloadWire {
    x402_version: u64,
    #[serde(default)]
    accepted: Option<RawJson>,
    #[serde(default)]
    scheme: Option<String>,
    #[serde(default)]
    network: Option<String>,
    #[serde(default)]
    resource: Option<RawJson>,
    payload: ExactSvmPayload,
    #[serde(default)]
    extensions: Option<RawJson>,
}

impl PaymentPayload {
    /// A payload paying `accepted` with a base64 transaction, echoing the challenge's
    /// `resource` and `extensions`. Its `x402Version` is the requirement's: a v1 requirement
    /// gives a v1 payload, whose top-level `network` is the name the server used (v1 names
    /// such as `solana`); encode it with [`PayloadShape::Flat`], the v1 payload shape.
    pub fn new(
        required: Option<&PaymentRequired>,
        accepted: &PaymentRequirements,
        transaction_base64: String,
    ) -> Self {
        let v1 = accepted.version == 1;
        PaymentPayload {
            x402_version: if v1 { 1 } else { 2 },
            scheme: Some(accepted.scheme.clone()),
            network: Some(if v1 {
                accepted.network_as_received().to_owned()
            } else {
                accepted.network.clone()
            }),
            accepted: Some(accepted.clone()),
            resource: required.and_then(|r| r.resource.clone()),
            payload: ExactSvmPayload {
                transaction: transaction_base64,
            },
            extensions: required.and_then(|r| r.extensions.clone()),
        }
    }

    /// The scheme paid: the top-level key, else `accepted.scheme`.
    pub fn scheme(&self) -> Option<&str> {
        self.scheme
            .as_deref()
            .or_else(|| self.accepted.as_ref().map(|a| a.scheme.as_str()))
    }

    /// The network paid: the top-level key (normalized), else `accepted.network`.
    pub fn network(&self) -> Option<&str> {
        self.network
            .as_deref()
            .map(super::networks::normalize)
            .or_else(|| self.accepted.as_ref().map(|a| a.network.as_str()))
    }

    /// The shape this payload was decoded from.
    pub fn shape(&self) -> PayloadShape {
        match (&self.accepted, &self.scheme) {
            (Some(_), Some(_)) => PayloadShape::Hybrid,
            (Some(_), None) => PayloadShape::Spec,
            (None, _) => PayloadShape::Flat,
        }
    }

    /// The JSON document in `shape`. Flat omits `accepted`, `resource` and `extensions`;
    /// spec omits top-level `scheme`/`network`.
    pub fn to_json(&self, shape: PayloadShape) -> String {
        let mut out = String::with_capacity(128 + self.payload.transaction.len());
        out.push_str("{\"x402Version\":");
        out.push_str(&self.x402_version.to_string());
        if matches!(shape, PayloadShape::Hybrid | PayloadShape::Flat) {
            if let Some(s) = self.scheme() {
                out.push_str(",\"scheme\":");
                out.push_str(&Value::from(s).to_string());
            }
            // The top-level network as given (a v1 payload keeps its v1 name).
            if let Some(n) = self
                .network
                .as_deref()
                .or_else(|| self.accepted.as_ref().map(|a| a.network.as_str()))
            {
                out.push_str(",\"network\":");
                out.push_str(&Value::from(n).to_string());
            }
        }
        if matches!(shape, PayloadShape::Spec | PayloadShape::Hybrid) {
            if let Some(r) = &self.resource {
                out.push_str(",\"resource\":");
                out.push_str(r.get());
            }
            if let Some(a) = &self.accepted {
                out.push_str(",\"accepted\":");
                out.push_str(a.raw_json());
            }
        }
        out.push_str(",\"payload\":{\"transaction\":");
        out.push_str(&Value::from(self.payload.transaction.as_str()).to_string());
        out.push('}');
        if matches!(shape, PayloadShape::Spec | PayloadShape::Hybrid)
            && let Some(x) = &self.extensions
        {
            out.push_str(",\"extensions\":");
            out.push_str(x.get());
        }
        out.push('}');
        out
    }

    /// The `PAYMENT-SIGNATURE` header value in `shape`.
    pub fn encode(&self, shape: PayloadShape) -> String {
        b64::encode(self.to_json(shape).as_bytes())
    }

    /// Decodes a `PAYMENT-SIGNATURE` (or v1 `X-PAYMENT`) value in any of the three shapes.
    pub fn decode(value: &str) -> Result<Self, CodecError> {
        let bytes = b64::decode(value).map_err(|source| CodecError::Base64 {
            header: "PAYMENT-SIGNATURE",
            source,
        })?;
        Self::from_json_bytes(&bytes)
    }

    /// Decodes the JSON document (not base64).
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self, CodecError> {
        const H: &str = "PAYMENT-SIGNATURE";
        let w: PayloadWire = from_json(H, bytes)?;
        if w.x402_version != 1 && w.x402_version != 2 {
            return Err(CodecError::Version(w.x402_version));
        }
        let accepted = match w.accepted {
            Some(raw) => Some(
                PaymentRequirements::from_raw(raw.0, w.x402_version).map_err(|e| {
                    CodecError::Json {
                        header: H,
                        path: "accepted".into(),
                        message: e.to_string(),
                    }
                })?,
            ),
            None => None,
        };
        if accepted.is_none() && (w.scheme.is_none() || w.network.is_none()) {
            return Err(CodecError::Json {
                header: H,
                path: ".".into(),
                message: "neither `accepted` nor top-level `scheme` and `network` are present"
                    .into(),
            });
        }
        Ok(PaymentPayload {
            x402_version: w.x402_version,
            accepted,
            scheme: w.scheme,
            network: w.network,
            resource: w.resource,
            payload: w.payload,
            extensions: w.extensions,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Settlement

/// A decoded `PAYMENT-RESPONSE` (x402 v2 `SettlementResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettlementResponse {
    /// Whether settlement succeeded.
    pub success: bool,
    /// Machine reason on failure (`settlement_pending`, `transaction_failed`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_reason: Option<String>,
    /// Human text on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The token authority that paid (the client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
    /// The transaction signature (base58); empty on failure.
    #[serde(default)]
    pub transaction: String,
    /// CAIP-2 network.
    #[serde(default)]
    pub network: String,
    /// Amount settled, for schemes that report it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// Extensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Value>,
}

impl SettlementResponse {
    /// The header value (standard base64 of the JSON).
    pub fn encode(&self) -> String {
        b64::encode(serde_json::to_string(self).unwrap_or_default().as_bytes())
    }
}

/// What the server said about settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Settlement {
    /// A base64 JSON `SettlementResponse` (`PAYMENT-RESPONSE`).
    Response(SettlementResponse),
    /// Sova's `X-Payment-Response: <txSignature>`: a bare base58 signature.
    BareSignature(String),
}

impl Settlement {
    /// Reads `PAYMENT-RESPONSE`, then `X-Payment-Response` (any case). `None` when neither
    /// is present. When both are present, the JSON one wins and the bare signature fills
    /// in a missing transaction.
    pub fn from_headers(headers: &HeaderMap) -> Option<Result<Settlement, CodecError>> {
        let primary = headers.get(headers::PAYMENT_RESPONSE);
        let secondary = headers.get(headers::X_PAYMENT_RESPONSE);
        let decode = |v: &http::HeaderValue, name: &'static str| {
            v.to_str()
                .map_err(|_| CodecError::NotText(name))
                .and_then(|s| Settlement::decode(s, name))
        };
        match (primary, secondary) {
            (None, None) => None,
            (Some(p), None) => Some(decode(p, "PAYMENT-RESPONSE")),
            (None, Some(s)) => Some(decode(s, "X-Payment-Response")),
            (Some(p), Some(s)) => Some(decode(p, "PAYMENT-RESPONSE").map(|p| {
                match (p, decode(s, "X-Payment-Response")) {
                    (Settlement::Response(mut r), Ok(Settlement::BareSignature(sig)))
                        if r.transaction.is_empty() && r.success =>
                    {
                        r.transaction = sig;
                        Settlement::Response(r)
                    }
                    (p, _) => p,
                }
            })),
        }
    }

    /// Decodes one header value: base64 JSON, else a bare base58 signature of 64 bytes.
    pub fn decode(value: &str, header: &'static str) -> Result<Settlement, CodecError> {
        let v = value.trim();
        if is_signature(v) {
            return Ok(Settlement::BareSignature(v.to_owned()));
        }
        let bytes = b64::decode(v).map_err(|_| CodecError::Settlement { header })?;
        let r: SettlementResponse = from_json(header, &bytes)?;
        Ok(Settlement::Response(r))
    }

    /// The transaction signature, when known.
    pub fn transaction(&self) -> Option<&str> {
        match self {
            Settlement::Response(r) if !r.transaction.is_empty() => Some(&r.transaction),
            Settlement::Response(_) => None,
            Settlement::BareSignature(s) => Some(s),
        }
    }

    /// Whether the server reported success (a bare signature is only sent on success).
    pub fn success(&self) -> bool {
        match self {
            Settlement::Response(r) => r.success,
            Settlement::BareSignature(_) => true,
        }
    }
}

/// Whether `s` is a base58 string that decodes to 64 bytes (an ed25519 signature).
fn is_signature(s: &str) -> bool {
    (64..=88).contains(&s.len())
        && bs58::decode(s)
            .into_vec()
            .map(|b| b.len() == 64)
            .unwrap_or(false)
}
