//! The Solana JSON-RPC subset and the admin routes, over raw HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use solana_keypair::Keypair;
use solana_signer::Signer;
use sova_sandbox::{Sandbox, TOKEN_PROGRAM_ID, USDC_MINT, ata};

#[tokio::test]
async fn rpc_subset_builds_and_checks_payments() {
    let sb = Sandbox::builder().token2022(true).start().await.unwrap();
    let c = client();
    let kp = Keypair::new();
    let who = kp.pubkey().to_string();

    // requestAirdrop + getBalance.
    let v = rpc(&c, &sb, "requestAirdrop", json!([who, 2_000_000_000u64])).await;
    let airdrop_sig = v["result"].as_str().unwrap().to_owned();
    let v = rpc(&c, &sb, "getBalance", json!([who])).await;
    assert_eq!(v["result"]["value"], json!(2_000_000_000u64));
    assert!(v["result"]["context"]["slot"].is_u64());

    // The USDC mint: classic Token program, 6 decimals at byte 44.
    let v = rpc(
        &c,
        &sb,
        "getAccountInfo",
        json!([USDC_MINT.to_string(), {"encoding": "base64"}]),
    )
    .await;
    let acc = &v["result"]["value"];
    assert_eq!(acc["owner"], json!(TOKEN_PROGRAM_ID.to_string()));
    let data = unb64(acc["data"][0].as_str().unwrap());
    assert_eq!(data.len(), 82);
    assert_eq!(data[44], 6);
    let v = rpc(
        &c,
        &sb,
        "getAccountInfo",
        json!([Keypair::new().pubkey().to_string(), {"encoding": "base64"}]),
    )
    .await;
    assert_eq!(v["result"]["value"], Value::Null);

    // Faucet over HTTP, then getTokenAccountBalance.
    let r = post(
        &c,
        &format!("{}/faucet", sb.admin_url()),
        &[],
        &json!({"wallet": who, "usdc": 2_500_000, "sol": 0}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["usdc"], json!(2_500_000));
    let src = ata(&kp.pubkey(), &USDC_MINT, &TOKEN_PROGRAM_ID);
    let v = rpc(&c, &sb, "getTokenAccountBalance", json!([src.to_string()])).await;
    assert_eq!(v["result"]["value"]["amount"], json!("2500000"));
    assert_eq!(v["result"]["value"]["decimals"], json!(6));
    assert_eq!(v["result"]["value"]["uiAmountString"], json!("2.5"));

    // sendTransaction (base64) of a TransferChecked with a memo; statuses and history.
    let bh = blockhash(&c, &sb).await;
    let tx = v0_payment(&kp, &sb.treasury(), 1_000_000, bh, "hello");
    let v = rpc(
        &c,
        &sb,
        "sendTransaction",
        json!([wire(&tx), {"encoding": "base64"}]),
    )
    .await;
    let sig = v["result"].as_str().unwrap().to_owned();
    assert_eq!(sig, tx.signatures[0].to_string());
    let v = rpc(
        &c,
        &sb,
        "getSignatureStatuses",
        json!([[
            sig,
            airdrop_sig,
            "1111111111111111111111111111111111111111111111111111111111111111"
        ]]),
    )
    .await;
    let st = &v["result"]["value"];
    assert_eq!(st[0]["err"], Value::Null);
    assert_eq!(st[0]["confirmationStatus"], json!("finalized"));
    assert!(st[1].is_object());
    assert_eq!(st[2], Value::Null);
    let v = rpc(
        &c,
        &sb,
        "getSignaturesForAddress",
        json!([who, {"limit": 1}]),
    )
    .await;
    assert_eq!(v["result"][0]["signature"], json!(sig));
    assert_eq!(v["result"][0]["memo"], json!("[5] hello"));
    assert_eq!(sb.usdc_balance(&sb.treasury()), 1_000_000);
    // Sending it again fails; so does an expired blockhash.
    let v = rpc(
        &c,
        &sb,
        "sendTransaction",
        json!([wire(&tx), {"encoding": "base64"}]),
    )
    .await;
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already been processed")
    );
    sb.expire_blockhashes();
    let tx = v0_payment(&kp, &sb.treasury(), 1, bh, "late");
    let v = rpc(
        &c,
        &sb,
        "sendTransaction",
        json!([wire(&tx), {"encoding": "base64"}]),
    )
    .await;
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Blockhash not found")
    );
    let v = rpc(&c, &sb, "isBlockhashValid", json!([bh.to_string()])).await;
    assert_eq!(v["result"]["value"], json!(false));

    // Errors and batches.
    let v = rpc(&c, &sb, "getNothing", json!([])).await;
    assert_eq!(v["error"]["code"], json!(-32601));
    let v = rpc(&c, &sb, "getBalance", json!(["not-a-key"])).await;
    assert_eq!(v["error"]["code"], json!(-32602));
    let r = post(&c, &sb.rpc_url(), &[], &json!([{"jsonrpc": "2.0", "id": 1, "method": "getSlot"}, {"jsonrpc": "2.0", "id": 2, "method": "getHealth"}])).await;
    assert_eq!(r.body[1]["result"], json!("ok"));
    let r = send(&c, "POST", &sb.rpc_url(), &[], None).await;
    assert_eq!(r.body["error"]["code"], json!(-32700));
    assert!(sb.token2022_mint().is_some());
}

#[tokio::test]
async fn admin_routes() {
    let sb = Sandbox::start().await.unwrap();
    let c = client();
    let info = get(&c, &format!("{}/info", sb.admin_url()), &[]).await;
    assert_eq!(info.body["intelBaseUrl"], json!(sb.intel_base_url()));
    assert_eq!(info.body["sovxBaseUrl"], json!(sb.sovx_base_url()));
    assert_eq!(info.body["rpcUrl"], json!(sb.rpc_url()));
    assert_eq!(info.body["treasury"], json!(sb.treasury().to_string()));
    let r = post(
        &c,
        &format!("{}/intel/keys", sb.admin_url()),
        &[],
        &json!({"credits": 7}),
    )
    .await;
    assert_eq!(r.status, 201);
    let key = r.body["apiKey"].as_str().unwrap().to_owned();
    assert_eq!(sb.credits(&key), Some(7));
    let r = send(
        &c,
        "PUT",
        &format!("{}/intel/keys/{key}", sb.admin_url()),
        &[],
        Some(&json!({"credits": 3})),
    )
    .await;
    assert_eq!(r.body["credits"], json!(3));
    let r = get(&c, &format!("{}/intel/keys/{key}", sb.admin_url()), &[]).await;
    assert_eq!(r.body["credits"], json!(3));
    let r = post(
        &c,
        &format!("{}/clock/advance", sb.admin_url()),
        &[],
        &json!({"seconds": 60}),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = post(
        &c,
        &format!("{}/faults", sb.admin_url()),
        &[],
        &json!({"kind": "nonsense"}),
    )
    .await;
    assert_intel_error(&r, 400);
    let r = get(&c, &format!("{}/faults", sb.admin_url()), &[]).await;
    assert_eq!(r.body, json!([]));
    let r = post(
        &c,
        &format!("{}/faucet", sb.admin_url()),
        &[],
        &json!({"wallet": "nope"}),
    )
    .await;
    assert_intel_error(&r, 400);
}

#[test]
fn blocking_start_serves_and_shuts_down_on_drop() {
    let sb = Sandbox::builder()
        .api_key("ak_0123456789abcdef", 5)
        .start_blocking()
        .unwrap();
    assert!(sb.startup_time() > Duration::ZERO);
    let addr = sb.addr();
    assert!(addr.ip().is_loopback());
    assert!(sb.intel_base_url().ends_with("/api/v1"));
    assert!(sb.sovx_base_url().ends_with("/sovx/v1"));
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!(
        "GET /api/v1/intel/wallet/{WALLET}/hud HTTP/1.1\r\nHost: x\r\nX-Api-Key: ak_0123456789abcdef\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert_eq!(sb.credits("ak_0123456789abcdef"), Some(4));
    drop(sb);
    // The port is closed after drop.
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err());
}
