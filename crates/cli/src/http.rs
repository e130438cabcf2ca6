//! Small HTTP helpers on the SDK's blocking transport: Solana JSON-RPC and the sandbox's admin
//! routes (faucet).

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};
use sova_protocol::http;
use sova_transport_blocking::{BlockingTransport, Timeouts, UreqTransport};
use sova_x402::rpc::RpcCall;

use crate::err::CliError;

const TIMEOUT: Duration = Duration::from_secs(30);

fn transport() -> &'static UreqTransport {
    static T: OnceLock<UreqTransport> = OnceLock::new();
    T.get_or_init(|| UreqTransport::new(&Timeouts::new()))
}

/// Sends a request and returns the status and body.
pub(crate) fn send(request: http::Request<Vec<u8>>) -> Result<(u16, Vec<u8>), CliError> {
    let target = request.uri().to_string();
    let response = transport().send(request, TIMEOUT).map_err(|e| {
        CliError::network(format!(
            "{target}: {}",
            crate::err::one_line(&e.to_string())
        ))
        .hint("is it running and reachable? check the URL")
    })?;
    Ok((response.status().as_u16(), response.into_body()))
}

/// Sends a request and returns the status and the `PAYMENT-REQUIRED` header, if any.
pub(crate) fn send_headers(
    request: http::Request<Vec<u8>>,
) -> Result<(u16, Option<String>), CliError> {
    let target = request.uri().to_string();
    let response = transport().send(request, TIMEOUT).map_err(|e| {
        CliError::network(format!(
            "{target}: {}",
            crate::err::one_line(&e.to_string())
        ))
    })?;
    let required = response
        .headers()
        .get("payment-required")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok((response.status().as_u16(), required))
}

/// POSTs JSON and reads a JSON answer.
pub(crate) fn post_json(url: &str, body: &Value) -> Result<(u16, Value), CliError> {
    let request = http::Request::post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.to_string().into_bytes())
        .map_err(|_| CliError::usage(format!("{url:?} is not a valid URL")))?;
    let (status, bytes) = send(request)?;
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((status, v))
}

/// Runs a typed RPC call of `sova-x402`.
pub(crate) fn rpc_call<C: RpcCall>(rpc_url: &str, call: &C) -> Result<C::Output, CliError> {
    let request = call
        .http_request(rpc_url, 1)
        .map_err(|e| CliError::usage(e.to_string()).hint("pass --rpc http(s)://…"))?;
    let (status, body) = send(request)?;
    if !(200..300).contains(&status) {
        return Err(CliError::network(format!(
            "the RPC at {rpc_url} answered HTTP {status}"
        )));
    }
    call.parse(&body)
        .map_err(|e| CliError::network(e.to_string()).hint("check --rpc"))
}

/// A raw JSON-RPC call: the `result` member.
pub(crate) fn rpc(rpc_url: &str, method: &str, params: Value) -> Result<Value, CliError> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let (status, v) = post_json(rpc_url, &body).map_err(|e| e.hint("check --rpc"))?;
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        let msg = err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        return Err(CliError::new(
            crate::err::code::API,
            "rpc",
            format!("{method} failed: {msg}"),
        ));
    }
    if !(200..300).contains(&status) {
        return Err(CliError::network(format!(
            "the RPC at {rpc_url} answered HTTP {status}"
        )));
    }
    Ok(v.get("result").cloned().unwrap_or(Value::Null))
}
