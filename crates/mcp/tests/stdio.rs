//! The `sova-mcp` binary as an MCP client starts it: a child process over stdio, configured by
//! environment variables, against the embedded sandbox. Lists and calls every tool, reads the
//! resources, approves and declines payments, and checks the session's receipts against the
//! sandbox ledger.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Stdio;

use rmcp::ServiceExt;
use rmcp::model::{ReadResourceRequestParams, ResourceContents};
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

use common::*;

/// Starts `sova-mcp` over stdio, paying from `seed`'s funded wallet on `sb`.
async fn start(sb: &sova_sandbox::Sandbox, seed: u8, user: User, env: &[(&str, &str)]) -> Client {
    let kp = funded(sb, seed);
    let secret = bs58::encode(kp.as_solana().to_bytes()).into_string();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sova-mcp"));
    cmd.env_clear()
        .env("SOVA_BASE_URL", sb.intel_base_url())
        .env("SOLANA_RPC_URL", sb.rpc_url())
        .env("SOLANA_PRIVATE_KEY", secret)
        // Job results are read with a key; paid calls still pay with x402.
        .env("SOVA_RESULTS_API_KEY", sb.create_api_key(0))
        .env("SOVA_POLL_INTERVAL_MS", "50")
        .env("SOVA_WAIT_TIMEOUT_MS", "10000");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    user.serve(transport).await.unwrap()
}

const TOOLS: &[&str] = &[
    "wallet_hud",
    "wallet_profile",
    "wallet_token_pnl",
    "batch_wallet_hud",
    "token_holder_profiles",
    "wallet_similarity",
    "deep_token_analysis",
    "job_status",
    "job_wait",
    "pricing",
    "budget_status",
    "spend_report",
    "payments",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_over_stdio_and_the_receipts_match_the_ledger() {
    let sb = sandbox(false).await;
    let user = User::approving();
    let client = start(
        &sb,
        11,
        user.clone(),
        &[("SOVA_MCP_APPROVE_ABOVE", "0.1"), ("SOVA_BUDGET", "5")],
    )
    .await;

    // Tools and their schemas.
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, TOOLS);
    for t in &tools {
        assert_eq!(
            t.input_schema.get("type"),
            Some(&json!("object")),
            "{}",
            t.name
        );
        let d = t.description.as_deref().unwrap_or_default().to_lowercase();
        assert!(!d.contains("retry"), "{}: {d}", t.name);
    }
    let hud_schema = &tools[0].input_schema;
    assert!(hud_schema["properties"]["address"]["pattern"].is_string());
    assert_eq!(hud_schema["required"], json!(["address"]));

    // Resources.
    let resources = client.list_all_resources().await.unwrap();
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(uris, ["sova://pricing", "sova://help", "sova://budget"]);
    for uri in uris {
        let r = client
            .read_resource(ReadResourceRequestParams::new(uri))
            .await
            .unwrap();
        assert!(!r.contents.is_empty(), "{uri}");
    }

    // Every paid tool, each paid once; the receipt in _meta names the ledger's transaction.
    let mut paid = 0u64;
    let mut expect_paid = |r: &rmcp::model::CallToolResult, credits: u64| {
        let rec = receipt(r).unwrap_or_else(|| panic!("no receipt: {}", text(r)));
        assert_eq!(rec["amount"]["baseUnits"], credits * CREDIT, "{}", text(r));
        let tx = rec["transaction"].as_str().unwrap();
        assert_eq!(
            ledger(&sb).get(tx),
            Some(&(credits * CREDIT)),
            "receipt {tx} on the ledger"
        );
        assert!(text(r).contains(tx), "the model reads the transaction");
        paid += credits * CREDIT;
    };
    let r = call(&client, "wallet_hud", json!({"address": WALLET})).await;
    assert_eq!(ok(&r)["data"]["walletAddress"], WALLET);
    expect_paid(&r, 1);
    let r = call(&client, "wallet_profile", json!({"address": WALLET})).await;
    assert_eq!(ok(&r)["data"]["walletAddress"], WALLET);
    expect_paid(&r, 5);
    let r = call(
        &client,
        "wallet_token_pnl",
        json!({"address": WALLET, "page": 1, "pageSize": 5, "sortBy": "roi", "sortOrder": "asc"}),
    )
    .await;
    assert!(ok(&r)["data"]["data"].is_array(), "{}", text(&r));
    expect_paid(&r, 3);
    let r = call(
        &client,
        "batch_wallet_hud",
        json!({"wallets": [WALLET, WALLET2]}),
    )
    .await;
    assert!(ok(&r)["data"]["huds"].is_object());
    expect_paid(&r, 5);
    // The job tools cost more than the 0.10 USDC threshold: the user is asked each time.
    let r = call(
        &client,
        "token_holder_profiles",
        json!({"mint": MINT, "topN": 5}),
    )
    .await;
    assert!(
        ok(&r)["data"]["profiles"]
            .as_array()
            .is_some_and(|p| !p.is_empty()),
        "{}",
        text(&r)
    );
    expect_paid(&r, 20);
    let r = call(
        &client,
        "token_holder_profiles",
        json!({"mint": MINT, "topN": 5, "shape": "full", "waitSeconds": 0}),
    )
    .await;
    let d = ok(&r).clone();
    assert_eq!(d["status"], "pending");
    expect_paid(&r, 20);
    let st = call(&client, "job_status", json!({"jobId": d["job"]["jobId"]})).await;
    assert!(ok(&st)["data"]["status"].is_string());
    let w = call(
        &client,
        "job_wait",
        json!({"handle": d["job"]["handle"], "waitSeconds": 20}),
    )
    .await;
    assert_eq!(ok(&w)["status"], "completed", "{}", text(&w));
    assert!(receipt(&w).is_none());
    let r = call(
        &client,
        "wallet_similarity",
        json!({"wallets": [WALLET, WALLET2]}),
    )
    .await;
    assert_eq!(ok(&r)["status"], "completed", "{}", text(&r));
    expect_paid(&r, 20);
    let r = call(
        &client,
        "wallet_similarity",
        json!({"wallets": [WALLET, WALLET2, WALLET3], "shape": "full"}),
    )
    .await;
    assert_eq!(ok(&r)["status"], "completed", "{}", text(&r));
    expect_paid(&r, 20);
    let r = call(
        &client,
        "deep_token_analysis",
        json!({"mint": MINT, "topN": 5}),
    )
    .await;
    let d = ok(&r);
    assert_eq!(d["status"], "completed", "{}", text(&r));
    assert!(
        d["data"]["holderProfiles"].is_object() && d["data"]["similarity"].is_object(),
        "{d}"
    );
    expect_paid(&r, 35);
    assert_eq!(
        user.questions().len(),
        5,
        "asked once per job tool: {:?}",
        user.questions()
    );

    // Free tools.
    let r = call(&client, "pricing", json!({})).await;
    assert!(ok(&r)["data"].is_object());

    // A declined approval signs nothing.
    user.set(Answer::Decline);
    let before = ledger(&sb);
    let r = call(&client, "deep_token_analysis", json!({"mint": MINT})).await;
    err(&r, "payment_declined");
    assert_eq!(ledger(&sb), before);

    // Bad input: a clear tool error, nothing sent.
    for (tool, args) in [
        ("wallet_hud", json!({"address": "not-a-wallet"})),
        (
            "wallet_hud",
            json!({"address": "0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl"}),
        ),
        ("wallet_hud", json!({"adress": WALLET})),
        ("wallet_hud", json!({})),
        ("batch_wallet_hud", json!({"wallets": [WALLET, "nope"]})),
        ("wallet_similarity", json!({"wallets": [WALLET]})),
        ("token_holder_profiles", json!({"mint": MINT, "topN": 500})),
        ("job_wait", json!({"handle": "not-a-handle"})),
        (
            "wallet_token_pnl",
            json!({"address": WALLET, "sortBy": "luck"}),
        ),
    ] {
        let r = call(&client, tool, args.clone()).await;
        let d = err(&r, "invalid_input");
        assert!(
            d["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Nothing was"),
            "{tool} {args}: {}",
            text(&r)
        );
    }
    assert_eq!(ledger(&sb), before, "bad input pays nothing");

    // The report is the ledger; the budget agrees.
    let report = call(&client, "spend_report", json!({})).await;
    let rep = ok(&report);
    assert_report_matches_ledger(&sb, rep);
    assert_eq!(rep["data"]["total"]["baseUnits"], paid);
    assert!(rep["data"]["uncertain"].as_array().unwrap().is_empty());
    for p in rep["data"]["payments"].as_array().unwrap() {
        assert!(p["time"].as_str().unwrap().ends_with('Z'));
        assert!(p["endpoint"].as_str().unwrap().starts_with("intel."));
    }
    let b = call(&client, "budget_status", json!({})).await;
    let b = ok(&b);
    assert_eq!(b["data"]["spent"]["baseUnits"], paid);
    assert_eq!(b["data"]["remaining"]["baseUnits"], 5_000_000 - paid);
    assert_eq!(b["data"]["budget"]["usdc"], "5.000000");
    assert_eq!(b["data"]["approveAbove"]["baseUnits"], 100_000);
    let read = client
        .read_resource(ReadResourceRequestParams::new("sova://budget"))
        .await
        .unwrap();
    let ResourceContents::TextResourceContents { text, .. } = &read.contents[0] else {
        panic!("the budget is text");
    };
    let budget: Value = serde_json::from_str(text).unwrap();
    assert_eq!(budget["spent"]["baseUnits"], paid);
    client.cancel().await.unwrap();
}
