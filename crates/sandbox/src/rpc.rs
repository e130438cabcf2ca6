//! A Solana JSON-RPC subset on `POST /rpc`, enough for a standard client to build, send and
//! check payments: getLatestBlockhash, getAccountInfo, getMultipleAccounts, getBalance,
//! getTokenAccountBalance, getSignaturesForAddress (with memos), getSignatureStatuses,
//! sendTransaction, simulateTransaction, requestAirdrop, isBlockhashValid,
//! getMinimumBalanceForRentExemption, getSlot, getBlockHeight, getHealth, getVersion.

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};
use solana_hash::Hash;
use solana_pubkey::Pubkey;
use solana_signature::Signature;

use crate::ledger::{Ledger, SendError, decode_transaction};
use crate::respond::json_response;
use crate::state::{Shared, lock};

/// JSON-RPC error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
const SEND_FAILED: i64 = -32002;
const MIN_CONTEXT_SLOT_NOT_REACHED: i64 = -32016;

struct RpcError(i64, String);

fn err(code: i64, msg: impl Into<String>) -> RpcError {
    RpcError(code, msg.into())
}

/// `POST /rpc`: a single request or a batch.
pub(crate) async fn handle(State(state): State<Shared>, body: Bytes) -> Response {
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return json_response(
                StatusCode::OK,
                &json!({"jsonrpc": "2.0", "error": {"code": PARSE_ERROR, "message": format!("Parse error: {e}")}, "id": Value::Null}),
            );
        }
    };
    let out = match parsed {
        Value::Array(items) if !items.is_empty() && items.len() <= 100 => {
            Value::Array(items.iter().map(|r| one(&state, r)).collect())
        }
        Value::Array(_) => {
            json!({"jsonrpc": "2.0", "error": {"code": INVALID_REQUEST, "message": "Invalid request: batch must hold 1 to 100 requests"}, "id": Value::Null})
        }
        v => one(&state, &v),
    };
    json_response(StatusCode::OK, &out)
}

fn one(state: &Shared, req: &Value) -> Value {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let result = match (
        req.get("method").and_then(Value::as_str),
        req.get("jsonrpc").and_then(Value::as_str),
    ) {
        (Some(m), Some("2.0")) => {
            let params = req.get("params").cloned().unwrap_or(Value::Array(vec![]));
            let params = match params {
                Value::Array(a) => a,
                Value::Null => vec![],
                other => vec![other],
            };
            dispatch(state, m, &params)
        }
        _ => Err(err(INVALID_REQUEST, "Invalid request")),
    };
    match result {
        Ok(v) => json!({"jsonrpc": "2.0", "result": v, "id": id}),
        Err(RpcError(code, message)) => {
            json!({"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": id})
        }
    }
}

fn pubkey_param(params: &[Value], i: usize) -> Result<Pubkey, RpcError> {
    let s = params.get(i).and_then(Value::as_str).ok_or_else(|| {
        err(
            INVALID_PARAMS,
            "Invalid params: expected a base58 public key",
        )
    })?;
    Pubkey::from_str(s).map_err(|_| err(INVALID_PARAMS, "Invalid param: Invalid"))
}

fn config(params: &[Value], i: usize) -> Option<&serde_json::Map<String, Value>> {
    params.get(i).and_then(Value::as_object)
}

/// `minContextSlot` in a config object: a node that has not reached it refuses, as Solana's
/// RPC does (-32016).
fn min_context_slot(config: Option<&Value>, slot: u64) -> Result<(), RpcError> {
    match config
        .and_then(|c| c.get("minContextSlot"))
        .and_then(Value::as_u64)
    {
        Some(min) if slot < min => Err(err(
            MIN_CONTEXT_SLOT_NOT_REACHED,
            format!("Minimum context slot has not been reached (node at {slot}, asked {min})"),
        )),
        _ => Ok(()),
    }
}

fn context(ledger: &Ledger, value: Value) -> Value {
    json!({"context": {"slot": ledger.slot(), "apiVersion": "2.2.0"}, "value": value})
}

fn encode_account(acc: &solana_account::Account, encoding: &str) -> Result<Value, RpcError> {
    let data = match encoding {
        "base64" => json!([
            base64::engine::general_purpose::STANDARD.encode(&acc.data),
            "base64"
        ]),
        "base58" => {
            if acc.data.len() > 128 {
                return Err(err(
                    INVALID_PARAMS,
                    "Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.",
                ));
            }
            json!([bs58::encode(&acc.data).into_string(), "base58"])
        }
        "jsonParsed" => json!([
            base64::engine::general_purpose::STANDARD.encode(&acc.data),
            "base64"
        ]),
        other => {
            return Err(err(
                INVALID_PARAMS,
                format!("Invalid params: unknown encoding {other}"),
            ));
        }
    };
    Ok(json!({
        "data": data,
        "executable": acc.executable,
        "lamports": acc.lamports,
        "owner": acc.owner.to_string(),
        "rentEpoch": u64::MAX,
        "space": acc.data.len(),
    }))
}

fn ui_amount(amount: u64, decimals: u8) -> (f64, String) {
    let d = 10u64.pow(u32::from(decimals.min(19)));
    let whole = amount / d;
    let frac = amount % d;
    let s = if decimals == 0 {
        whole.to_string()
    } else {
        let f = format!("{frac:0width$}", width = usize::from(decimals));
        let f = f.trim_end_matches('0');
        if f.is_empty() {
            whole.to_string()
        } else {
            format!("{whole}.{f}")
        }
    };
    (amount as f64 / d as f64, s)
}

fn signature_param(v: &Value) -> Result<Signature, RpcError> {
    v.as_str()
        .and_then(|s| Signature::from_str(s).ok())
        .ok_or_else(|| err(INVALID_PARAMS, "Invalid param: Invalid signature"))
}

fn dispatch(state: &Shared, method: &str, params: &[Value]) -> Result<Value, RpcError> {
    match method {
        "getHealth" => Ok(json!("ok")),
        "getVersion" => Ok(json!({"solana-core": "2.2.0-sova-sandbox", "feature-set": 0})),
        "getSlot" => Ok(json!(lock(&state.ledger).slot())),
        "getBlockHeight" => Ok(json!(lock(&state.ledger).block_height())),
        "getEpochInfo" => {
            let l = lock(&state.ledger);
            let slot = l.slot();
            min_context_slot(params.first(), slot)?;
            Ok(json!({
                "absoluteSlot": slot,
                "blockHeight": l.block_height(),
                "epoch": slot / 432_000,
                "slotIndex": slot % 432_000,
                "slotsInEpoch": 432_000,
                "transactionCount": Value::Null,
            }))
        }
        "getGenesisHash" => Ok(json!("5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp")),
        "getLatestBlockhash" => {
            let mut l = lock(&state.ledger);
            let (hash, last) = l.latest_blockhash();
            Ok(context(
                &l,
                json!({"blockhash": hash.to_string(), "lastValidBlockHeight": last}),
            ))
        }
        "isBlockhashValid" => {
            let s = params
                .first()
                .and_then(Value::as_str)
                .ok_or_else(|| err(INVALID_PARAMS, "Invalid params"))?;
            let h = Hash::from_str(s)
                .map_err(|_| err(INVALID_PARAMS, "Invalid param: Invalid blockhash"))?;
            let l = lock(&state.ledger);
            Ok(context(&l, json!(l.blockhash_valid(&h))))
        }
        "getBalance" => {
            let k = pubkey_param(params, 0)?;
            let l = lock(&state.ledger);
            Ok(context(&l, json!(l.balance(&k))))
        }
        "getMinimumBalanceForRentExemption" => {
            let n = params
                .first()
                .and_then(Value::as_u64)
                .ok_or_else(|| err(INVALID_PARAMS, "Invalid params"))?;
            let n = usize::try_from(n.min(10 * 1024 * 1024)).unwrap_or(0);
            Ok(json!(lock(&state.ledger).minimum_balance(n)))
        }
        "getAccountInfo" => {
            let k = pubkey_param(params, 0)?;
            let enc = config(params, 1)
                .and_then(|c| c.get("encoding"))
                .and_then(Value::as_str)
                .unwrap_or("base58");
            let l = lock(&state.ledger);
            let v = match l.account(&k) {
                Some(acc) if acc.lamports > 0 => encode_account(&acc, enc)?,
                _ => Value::Null,
            };
            Ok(context(&l, v))
        }
        "getMultipleAccounts" => {
            let keys = params
                .first()
                .and_then(Value::as_array)
                .ok_or_else(|| err(INVALID_PARAMS, "Invalid params: expected an array of keys"))?;
            if keys.len() > 100 {
                return Err(err(INVALID_PARAMS, "Too many inputs provided; max 100"));
            }
            let enc = config(params, 1)
                .and_then(|c| c.get("encoding"))
                .and_then(Value::as_str)
                .unwrap_or("base64");
            let l = lock(&state.ledger);
            let mut out = Vec::new();
            for k in keys {
                let k = k
                    .as_str()
                    .and_then(|s| Pubkey::from_str(s).ok())
                    .ok_or_else(|| err(INVALID_PARAMS, "Invalid param: Invalid"))?;
                out.push(match l.account(&k) {
                    Some(acc) if acc.lamports > 0 => encode_account(&acc, enc)?,
                    _ => Value::Null,
                });
            }
            Ok(context(&l, Value::Array(out)))
        }
        "getTokenAccountBalance" => {
            let k = pubkey_param(params, 0)?;
            let l = lock(&state.ledger);
            let (amount, decimals, _) = l
                .token_balance(&k)
                .ok_or_else(|| err(INVALID_PARAMS, "Invalid param: could not find account"))?;
            let (ui, ui_s) = ui_amount(amount, decimals);
            Ok(context(
                &l,
                json!({"amount": amount.to_string(), "decimals": decimals, "uiAmount": ui, "uiAmountString": ui_s}),
            ))
        }
        "getSignaturesForAddress" => {
            min_context_slot(params.get(1), lock(&state.ledger).slot())?;
            let k = pubkey_param(params, 0)?;
            let cfg = config(params, 1);
            let limit = cfg
                .and_then(|c| c.get("limit"))
                .and_then(Value::as_u64)
                .unwrap_or(1000);
            if limit == 0 || limit > 1000 {
                return Err(err(INVALID_PARAMS, "Invalid limit; max 1000"));
            }
            let before = match cfg.and_then(|c| c.get("before")) {
                Some(v) if !v.is_null() => Some(signature_param(v)?),
                _ => None,
            };
            let until = match cfg.and_then(|c| c.get("until")) {
                Some(v) if !v.is_null() => Some(signature_param(v)?),
                _ => None,
            };
            let l = lock(&state.ledger);
            let list = l.signatures_for(
                &k,
                usize::try_from(limit).unwrap_or(1000),
                before.as_ref(),
                until.as_ref(),
            );
            Ok(Value::Array(
                list.into_iter()
                    .map(|(sig, r)| {
                        json!({
                            "signature": sig.to_string(),
                            "slot": r.slot,
                            "err": r.err.as_ref().map(|e| json!({"InstructionError": e})).unwrap_or(Value::Null),
                            "memo": r.memo,
                            "blockTime": r.block_time_s,
                            "confirmationStatus": "finalized",
                        })
                    })
                    .collect(),
            ))
        }
        "getSignatureStatuses" => {
            let sigs = params.first().and_then(Value::as_array).ok_or_else(|| {
                err(
                    INVALID_PARAMS,
                    "Invalid params: expected an array of signatures",
                )
            })?;
            if sigs.len() > 256 {
                return Err(err(INVALID_PARAMS, "Too many inputs provided; max 256"));
            }
            let l = lock(&state.ledger);
            let mut out = Vec::new();
            for s in sigs {
                let sig = signature_param(s)?;
                out.push(match l.signature_status(&sig) {
                    Some(r) => {
                        let e = r.err.as_ref().map(|e| json!({"InstructionError": e}));
                        json!({
                            "slot": r.slot,
                            "confirmations": Value::Null,
                            "err": e.clone().unwrap_or(Value::Null),
                            "status": match e { Some(e) => json!({"Err": e}), None => json!({"Ok": Value::Null}) },
                            "confirmationStatus": "finalized",
                        })
                    }
                    None => Value::Null,
                });
            }
            Ok(context(&l, Value::Array(out)))
        }
        "sendTransaction" | "simulateTransaction" => {
            let data = params.first().and_then(Value::as_str).ok_or_else(|| {
                err(
                    INVALID_PARAMS,
                    "Invalid params: expected an encoded transaction",
                )
            })?;
            let enc = config(params, 1)
                .and_then(|c| c.get("encoding"))
                .and_then(Value::as_str)
                .unwrap_or("base58");
            let bytes = match enc {
                "base64" => base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map_err(|e| err(INVALID_PARAMS, format!("invalid base64 encoding: {e}")))?,
                "base58" => bs58::decode(data)
                    .into_vec()
                    .map_err(|e| err(INVALID_PARAMS, format!("invalid base58 encoding: {e}")))?,
                other => {
                    return Err(err(
                        INVALID_PARAMS,
                        format!("unsupported encoding: {other}"),
                    ));
                }
            };
            let tx = decode_transaction(&bytes).map_err(|e| {
                err(
                    INVALID_PARAMS,
                    format!("failed to deserialize transaction: {e}"),
                )
            })?;
            if method == "simulateTransaction" {
                let l = lock(&state.ledger);
                let value = match l.simulate(tx) {
                    Ok((units, logs)) => {
                        json!({"err": Value::Null, "logs": logs, "accounts": Value::Null, "unitsConsumed": units})
                    }
                    Err((e, logs)) => {
                        json!({"err": e, "logs": logs, "accounts": Value::Null, "unitsConsumed": 0})
                    }
                };
                return Ok(context(&l, value));
            }
            let first = tx.signatures.first().copied();
            let mut l = lock(&state.ledger);
            if let Some(sig) = first
                && l.signature_status(&sig).is_some()
            {
                return Err(err(
                    SEND_FAILED,
                    "Transaction simulation failed: This transaction has already been processed",
                ));
            }
            match l.send(tx) {
                Ok(sig) => Ok(json!(sig.to_string())),
                Err(SendError::BlockhashNotFound) => Err(err(
                    SEND_FAILED,
                    "Transaction simulation failed: Blockhash not found",
                )),
                Err(SendError::Failed { reason, logs }) => Err(RpcError(
                    SEND_FAILED,
                    format!(
                        "Transaction simulation failed: {reason}; logs: {}",
                        logs.join(" | ")
                    ),
                )),
            }
        }
        "requestAirdrop" => {
            let k = pubkey_param(params, 0)?;
            let lamports = params
                .get(1)
                .and_then(Value::as_u64)
                .ok_or_else(|| err(INVALID_PARAMS, "Invalid params: expected lamports"))?;
            if lamports > 1_000_000_000_000_000 {
                return Err(err(INVALID_PARAMS, "airdrop request too large"));
            }
            let sig = lock(&state.ledger).airdrop(&k, lamports);
            Ok(json!(sig.to_string()))
        }
        other => Err(err(
            METHOD_NOT_FOUND,
            format!(
                "Method not found: {}",
                other.chars().take(64).collect::<String>()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ui_amounts() {
        assert_eq!(super::ui_amount(1_500_000, 6).1, "1.5");
        assert_eq!(super::ui_amount(2_000_000, 6).1, "2");
        assert_eq!(super::ui_amount(15_000, 6).1, "0.015");
    }
}
