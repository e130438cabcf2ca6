//! Progress notifications during job waits, on protocol versions 2025-11-25 and 2026-07-28
//! (issue 18 points 2 and 5). Prints the count per wait.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use rmcp::model::ProtocolVersion;
use rmcp::{ClientLifecycleMode, ClientServiceExt, ServiceExt};
use serde_json::json;

use common::*;

async fn waits_report_progress(version: ProtocolVersion, seed: u8) {
    let sb = sandbox(false).await;
    let (http, _stop) = serve_http(server(&sb, seed, |b| b.approve_above(None))).await;
    let user = User::without_elicitation();
    let client: Client = if version == ProtocolVersion::V_2026_07_28 {
        user.clone()
            .serve_with_lifecycle(
                transport(&http),
                ClientLifecycleMode::Discover {
                    preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                },
            )
            .await
            .unwrap()
    } else {
        user.clone().serve(transport(&http)).await.unwrap()
    };
    // The rmcp client puts a progress token of its own on every request; notifications of
    // one call are those received until the next call starts (calls are sequential).
    let settle = || async { tokio::time::sleep(std::time::Duration::from_millis(300)).await };
    let take = || std::mem::take(&mut *user.progress.lock().unwrap());

    // A job the tool waits for.
    let r = call_with_progress(
        &client,
        "token_holder_profiles",
        json!({"mint": MINT, "topN": 5}),
        "t-holders",
    )
    .await;
    assert_eq!(ok(&r)["status"], "completed", "{}", text(&r));
    settle().await;
    let holders = take();
    // A queued job continued by job_wait.
    let q = call(
        &client,
        "wallet_similarity",
        json!({"wallets": [WALLET, WALLET2], "waitSeconds": 0}),
    )
    .await;
    let handle = ok(&q)["job"]["handle"].as_str().unwrap().to_owned();
    settle().await;
    let queued = take();
    let w = call_with_progress(&client, "job_wait", json!({"handle": handle}), "t-wait").await;
    assert_eq!(ok(&w)["status"], "completed", "{}", text(&w));
    settle().await;
    let waited = take();
    // No wait, no notification.
    ok(&call(&client, "budget_status", json!({})).await);
    settle().await;
    assert!(
        take().is_empty(),
        "a call that waits for nothing reports nothing"
    );
    assert!(
        queued.len() <= 1,
        "waitSeconds 0: one status read at most: {queued:?}"
    );
    for (name, got) in [("token_holder_profiles", holders), ("job_wait", waited)] {
        println!("PROGRESS {version} {name}: {} notifications", got.len());
        assert!(
            !got.is_empty(),
            "{version} {name}: no progress notification"
        );
        assert!(
            got.windows(2).all(|w| w[1].1 > w[0].1),
            "progress increases: {got:?}"
        );
        assert!(
            got.iter()
                .all(|p| p.2.contains("s elapsed") && p.2.contains("job ")),
            "{got:?}"
        );
        assert!(
            got.iter().all(|p| p.0 == got[0].0),
            "one token per call: {got:?}"
        );
    }
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_waits_report_progress_on_2025_11_25() {
    waits_report_progress(ProtocolVersion::V_2025_11_25, 60).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_waits_report_progress_on_2026_07_28() {
    waits_report_progress(ProtocolVersion::V_2026_07_28, 61).await;
}
