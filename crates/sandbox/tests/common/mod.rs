//! Test helpers: a raw HTTP client (reqwest, no sova client) and payments built directly with
//! the Solana crates.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};
use solana_hash::Hash;
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_message::{Message, VersionedMessage, v0};
use solana_pubkey::Pubkey;
use solana_signature::Signature;
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;
use sova_sandbox::{Sandbox, TOKEN_PROGRAM_ID, USDC_MINT, ata};

pub(crate) const MAINNET: &str = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp";
pub(crate) const MEMO: Pubkey =
    Pubkey::from_str_const("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");
pub(crate) const COMPUTE_BUDGET: Pubkey =
    Pubkey::from_str_const("ComputeBudget111111111111111111111111111111");
pub(crate) const WALLET: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
pub(crate) const MINT: &str = "So11111111111111111111111111111111111111112";

/// A response read fully.
#[derive(Debug)]
pub(crate) struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

pub(crate) fn client() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder().build().unwrap()
}

pub(crate) async fn send(
    c: &reqwest::Client,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Resp {
    try_send(c, method, url, headers, body).await.unwrap()
}

pub(crate) async fn try_send(
    c: &reqwest::Client,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Result<Resp, reqwest::Error> {
    let mut rb = c.request(Method::from_bytes(method.as_bytes()).unwrap(), url);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    if let Some(b) = body {
        rb = rb
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let r = rb.send().await?;
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await?;
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Resp {
        status,
        headers,
        body,
        text,
    })
}

pub(crate) async fn get(c: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> Resp {
    send(c, "GET", url, headers, None).await
}

pub(crate) async fn post(
    c: &reqwest::Client,
    url: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> Resp {
    send(c, "POST", url, headers, Some(body)).await
}

pub(crate) async fn rpc(c: &reqwest::Client, sb: &Sandbox, method: &str, params: Value) -> Value {
    let r = post(
        c,
        &sb.rpc_url(),
        &[],
        &json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
    )
    .await;
    assert_eq!(r.status, 200);
    r.body
}

pub(crate) async fn blockhash(c: &reqwest::Client, sb: &Sandbox) -> Hash {
    let v = rpc(
        c,
        sb,
        "getLatestBlockhash",
        json!([{"commitment": "confirmed"}]),
    )
    .await;
    v["result"]["value"]["blockhash"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// A funded payer.
pub(crate) fn payer(sb: &Sandbox, usdc: u64) -> Keypair {
    let kp = Keypair::new();
    sb.fund_wallet(&kp.pubkey(), 1_000_000_000, usdc);
    kp
}

pub(crate) fn transfer_ix(payer: &Pubkey, dest_owner: &Pubkey, amount: u64) -> Instruction {
    let src = ata(payer, &USDC_MINT, &TOKEN_PROGRAM_ID);
    let dst = ata(dest_owner, &USDC_MINT, &TOKEN_PROGRAM_ID);
    let mut data = vec![12u8];
    data.extend_from_slice(&amount.to_le_bytes());
    data.push(6);
    Instruction {
        program_id: TOKEN_PROGRAM_ID,
        accounts: vec![
            AccountMeta::new(src, false),
            AccountMeta::new_readonly(USDC_MINT, false),
            AccountMeta::new(dst, false),
            AccountMeta::new_readonly(*payer, true),
        ],
        data,
    }
}

pub(crate) fn memo_ix(text: &str) -> Instruction {
    Instruction {
        program_id: MEMO,
        accounts: vec![],
        data: text.as_bytes().to_vec(),
    }
}

pub(crate) fn cu_ixs() -> Vec<Instruction> {
    let mut limit = vec![2u8];
    limit.extend_from_slice(&20_000u32.to_le_bytes());
    let mut price = vec![3u8];
    price.extend_from_slice(&1u64.to_le_bytes());
    vec![
        Instruction {
            program_id: COMPUTE_BUDGET,
            accounts: vec![],
            data: limit,
        },
        Instruction {
            program_id: COMPUTE_BUDGET,
            accounts: vec![],
            data: price,
        },
    ]
}

/// Sova's documented self-paid layout: a legacy message with one TransferChecked.
pub(crate) fn legacy_payment(
    payer: &Keypair,
    dest_owner: &Pubkey,
    amount: u64,
    bh: Hash,
) -> VersionedTransaction {
    let msg = Message::new_with_blockhash(
        &[transfer_ix(&payer.pubkey(), dest_owner, amount)],
        Some(&payer.pubkey()),
        &bh,
    );
    VersionedTransaction::try_new(VersionedMessage::Legacy(msg), &[payer]).unwrap()
}

/// Self-paid v0 layout: compute budget + TransferChecked + memo nonce.
pub(crate) fn v0_payment(
    payer: &Keypair,
    dest_owner: &Pubkey,
    amount: u64,
    bh: Hash,
    memo: &str,
) -> VersionedTransaction {
    let mut ixs = cu_ixs();
    ixs.push(transfer_ix(&payer.pubkey(), dest_owner, amount));
    ixs.push(memo_ix(memo));
    let msg = v0::Message::try_compile(&payer.pubkey(), &ixs, &[], bh).unwrap();
    VersionedTransaction::try_new(VersionedMessage::V0(msg), &[payer]).unwrap()
}

/// Sponsored layout: fee payer = facilitator at slot 0 (zero signature), payer signs slot 1.
pub(crate) fn sponsored_payment(
    payer: &Keypair,
    facilitator: &Pubkey,
    dest_owner: &Pubkey,
    amount: u64,
    bh: Hash,
    memo: &str,
) -> VersionedTransaction {
    let mut ixs = cu_ixs();
    ixs.push(transfer_ix(&payer.pubkey(), dest_owner, amount));
    ixs.push(memo_ix(memo));
    let msg = VersionedMessage::V0(v0::Message::try_compile(facilitator, &ixs, &[], bh).unwrap());
    let bytes = msg.serialize();
    let keys = msg.static_account_keys();
    let idx = keys.iter().position(|k| *k == payer.pubkey()).unwrap();
    let n = usize::from(msg.header().num_required_signatures);
    let mut signatures = vec![Signature::default(); n];
    signatures[idx] = payer.sign_message(&bytes);
    VersionedTransaction {
        signatures,
        message: msg,
    }
}

pub(crate) fn wire(tx: &VersionedTransaction) -> String {
    b64(&wincode::serialize(tx).unwrap())
}

/// Decodes a `PAYMENT-REQUIRED` header into JSON.
pub(crate) fn decode_required(r: &Resp) -> Value {
    let h = r
        .header("payment-required")
        .expect("PAYMENT-REQUIRED header");
    serde_json::from_slice(&unb64(&h)).unwrap()
}

pub(crate) fn flat_payload(tx_b64: &str) -> String {
    b64(json!({"x402Version": 2, "scheme": "exact", "network": MAINNET, "payload": {"transaction": tx_b64}}).to_string().as_bytes())
}

pub(crate) fn spec_payload(accepted: &Value, tx_b64: &str) -> String {
    b64(
        json!({"x402Version": 2, "accepted": accepted, "payload": {"transaction": tx_b64}})
            .to_string()
            .as_bytes(),
    )
}

pub(crate) fn hybrid_payload(accepted: &Value, tx_b64: &str) -> String {
    b64(json!({"x402Version": 2, "scheme": "exact", "network": MAINNET, "accepted": accepted, "payload": {"transaction": tx_b64}})
        .to_string()
        .as_bytes())
}

/// The Intel error shape: `{statusCode, message}` matching the status.
pub(crate) fn assert_intel_error(r: &Resp, status: u16) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(
        r.body["statusCode"].as_u64(),
        Some(u64::from(status)),
        "{}",
        r.text
    );
    assert!(r.body["message"].is_string(), "{}", r.text);
}

/// The SovX error envelope.
pub(crate) fn assert_sovx_error(r: &Resp, status: u16, code: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["success"], json!(false), "{}", r.text);
    let e = &r.body["errors"][0];
    assert!(
        e["code"].is_string() && e["message"].is_string(),
        "{}",
        r.text
    );
    if let Some(c) = code {
        assert_eq!(e["code"], json!(c), "{}", r.text);
    }
    assert_eq!(r.body["meta"]["version"], json!("v1"));
    assert!(r.body["meta"]["trace_id"].is_string());
}

/// In a workspace build, reqwest is compiled with `rustls-no-provider` (the async transport
/// brings its own ring-based TLS configuration), so a plain `reqwest::Client` needs a
/// process-wide provider. These tests only speak plain HTTP on loopback.
pub(crate) fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
