//! What a model reads: every tool's default answer, its text size and its structured size.
//! Prints the figures (`cargo test -p sova-mcp --test results -- --nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use rmcp::ServiceExt;
use serde_json::{Value, json};

use common::*;

/// Calls every tool with its default arguments; returns (tool, text chars, structured bytes).
async fn default_answers(client: &Client) -> Vec<(String, usize, usize, bool)> {
    let mut out = Vec::new();
    let mut rec = |tool: &str, r: &rmcp::model::CallToolResult| {
        let t = text(r);
        assert!(
            !t.contains("{\n  \""),
            "{tool}: pretty-printed JSON in the text: {t}"
        );
        let s = serde_json::to_string(doc(r)).unwrap().len();
        out.push((
            tool.to_owned(),
            t.chars().count(),
            s,
            r.is_error == Some(true),
        ));
    };
    let wallets = json!([WALLET, WALLET2, WALLET3]);
    for (tool, args) in [
        ("wallet_hud", json!({"address": WALLET})),
        ("wallet_profile", json!({"address": WALLET})),
        ("wallet_token_pnl", json!({"address": WALLET})),
        ("batch_wallet_hud", json!({"wallets": wallets})),
        ("token_holder_profiles", json!({"mint": MINT})),
        ("wallet_similarity", json!({"wallets": wallets})),
        ("deep_token_analysis", json!({"mint": MINT})),
    ] {
        let r = call(client, tool, args).await;
        rec(tool, &r);
    }
    // The job tools on a queued job.
    let q = call(
        client,
        "token_holder_profiles",
        json!({"mint": MINT, "waitSeconds": 0}),
    )
    .await;
    let d = ok(&q).clone();
    let handle = d["job"]["handle"].as_str().unwrap().to_owned();
    let st = call(client, "job_status", json!({"jobId": d["job"]["jobId"]})).await;
    rec("job_status", &st);
    let w = call(client, "job_wait", json!({"handle": handle})).await;
    rec("job_wait", &w);
    for tool in ["pricing", "budget_status", "spend_report", "payments"] {
        let r = call(client, tool, json!({})).await;
        rec(tool, &r);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_default_answer_fits_a_model() {
    let sb = sandbox(false).await;
    let server = server(&sb, 40, |b| b.approve_above(None).budget(50_000_000));
    let (url, _stop) = serve_http(server).await;
    let client: Client = User::without_elicitation()
        .serve(transport(&url))
        .await
        .unwrap();
    let figures = default_answers(&client).await;
    let mut too_big = Vec::new();
    for (tool, chars, bytes, error) in &figures {
        println!(
            "SIZE {tool:<24} text {chars:>7} chars  structured {bytes:>7} bytes{}",
            if *error { " (error)" } else { "" }
        );
        if *chars > 4_000 || *bytes > 64_000 {
            too_big.push(format!("{tool}: {chars} chars"));
        }
        assert!(!error, "{tool} failed");
    }
    assert!(
        too_big.is_empty(),
        "texts above 4,000 characters: {too_big:?}"
    );
    let _: Value = Value::Null;
    assert!(figures.iter().all(|f| f.1 > 0));
    client.cancel().await.unwrap();
}

/// Large results are narrowed by offset/limit; more rows of the same result come free from
/// job_wait, and the text says how.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_results_page_free_through_job_wait() {
    let sb = sandbox(false).await;
    let server = server(&sb, 41, |b| b.approve_above(None));
    let (url, _stop) = serve_http(server).await;
    let client: Client = User::without_elicitation()
        .serve(transport(&url))
        .await
        .unwrap();
    let r = call(
        &client,
        "token_holder_profiles",
        json!({"mint": MINT, "topN": 20, "limit": 5}),
    )
    .await;
    let d = ok(&r).clone();
    assert_eq!(d["view"]["limit"], 5, "{d}");
    let list = "profiles";
    let total = d["view"]["lists"][list].as_u64().unwrap();
    assert!(total > 5, "{total}");
    let t = text(&r);
    assert!(t.contains("job_wait") && t.contains("offset 5"), "{t}");
    let handle = t
        .split("handle ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let first = d["data"][list].clone();
    let w = call(
        &client,
        "job_wait",
        json!({"handle": handle, "offset": 5, "limit": 5}),
    )
    .await;
    let next = ok(&w)["data"][list].clone();
    assert_eq!(next.as_array().unwrap().len(), 5);
    assert_ne!(next, first, "the next rows");
    assert!(receipt(&w).is_none(), "paging is free");
    assert_eq!(ledger(&sb).len(), 1);
    client.cancel().await.unwrap();
}
