//! Sova Intel over raw HTTP: shapes, charging, the 202 fallback, jobs and results.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use sova_sandbox::{Clock, Sandbox};

async fn sandbox() -> Sandbox {
    Sandbox::builder()
        .job_duration(Duration::from_millis(50))
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn unauthenticated_paid_call_gets_x402_challenge() {
    let sb = sandbox().await;
    let c = client();
    for (path, credits) in [
        (format!("/intel/wallet/{WALLET}/hud"), 1u64),
        (format!("/intel/wallet/{WALLET}"), 5),
        (format!("/intel/wallet/{WALLET}/tokens"), 3),
    ] {
        let r = get(&c, &format!("{}{path}", sb.intel_base_url()), &[]).await;
        assert_intel_error(&r, 402);
        assert_eq!(r.body["required"], json!(credits));
        assert_eq!(r.body["error"], json!("Payment required"));
        let pr = decode_required(&r);
        assert_eq!(pr["x402Version"], json!(2));
        assert!(
            pr.get("resource").is_none() && pr.get("error").is_none(),
            "Sova mode omits resource/error"
        );
        let a = &pr["accepts"][0];
        assert_eq!(a["scheme"], json!("exact"));
        assert_eq!(a["network"], json!(MAINNET));
        assert_eq!(
            a["asset"],
            json!("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
        );
        assert_eq!(a["amount"], json!((credits * 15_000).to_string()));
        assert_eq!(a["payTo"], json!(sb.treasury().to_string()));
        assert_eq!(a["maxTimeoutSeconds"], json!(60));
        assert!(a.get("extra").is_none());
    }
    for (path, credits) in [
        ("/intel/wallets/batch-hud", 5u64),
        (
            "/intel/token/So11111111111111111111111111111111111111112/holders",
            20,
        ),
        (
            "/intel/token/So11111111111111111111111111111111111111112/holders/agent",
            20,
        ),
        (
            "/intel/token/So11111111111111111111111111111111111111112/holders/deep",
            35,
        ),
        ("/intel/wallets/similarity", 20),
        ("/intel/wallets/similarity/agent", 20),
    ] {
        let r = post(
            &c,
            &format!("{}{path}", sb.intel_base_url()),
            &[],
            &json!({}),
        )
        .await;
        assert_intel_error(&r, 402);
        assert_eq!(
            decode_required(&r)["accepts"][0]["amount"],
            json!((credits * 15_000).to_string())
        );
    }
}

#[tokio::test]
async fn api_key_charges_get_on_200_only() {
    let sb = sandbox().await;
    let c = client();
    let key = sb.create_api_key(10);
    assert!(key.starts_with("ak_"));
    let base = sb.intel_base_url();
    let h = [("X-Api-Key", key.as_str())];

    let r = get(&c, &format!("{base}/intel/wallet/{WALLET}/hud"), &h).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for k in [
        "walletAddress",
        "signalType",
        "behaviorCode",
        "winRate",
        "trimmedMeanPnl",
        "avgTxValueSol",
        "avgTradesPerDay",
        "uniqueTokensPerDay",
        "currentHoldingsSol",
        "dataQualityTier",
        "isBot",
        "isWhale",
        "calculatedAt",
        "provenance",
    ] {
        assert!(r.body.get(k).is_some(), "hud lacks {k}");
    }
    assert!(r.body["winRate"].is_f64() && r.body["isBot"].is_boolean());
    assert_eq!(sb.credits(&key), Some(9));
    // Deterministic by address.
    let again = get(&c, &format!("{base}/intel/wallet/{WALLET}/hud"), &h).await;
    assert_eq!(again.body["behaviorCode"], r.body["behaviorCode"]);
    assert_eq!(again.body["winRate"], r.body["winRate"]);
    assert_eq!(sb.credits(&key), Some(8));

    // Errors are free.
    let bad = get(&c, &format!("{base}/intel/wallet/not-an-address/hud"), &h).await;
    assert_intel_error(&bad, 400);
    let sys = get(
        &c,
        &format!("{base}/intel/wallet/11111111111111111111111111111111"),
        &h,
    )
    .await;
    assert_intel_error(&sys, 422);
    assert_eq!(sys.body["skipReason"], json!("known-wallet"));
    assert_eq!(sb.credits(&key), Some(8));

    let bad_page = get(
        &c,
        &format!("{base}/intel/wallet/{WALLET}/tokens?pageSize=101"),
        &h,
    )
    .await;
    assert_intel_error(&bad_page, 400);
    // Profile (5) and tokens (3).
    let p = get(&c, &format!("{base}/intel/wallet/{WALLET}"), &h).await;
    assert_eq!(p.status, 200);
    assert_eq!(p.body["status"], json!("ok"));
    for k in [
        "lastAnalyzedAt",
        "realizedPnl",
        "profitableTradesCount",
        "totalTradesCount",
        "currentSolBalance",
        "knownType",
        "knownLabel",
    ] {
        assert!(p.body["summary"].get(k).is_some(), "summary lacks {k}");
    }
    assert_eq!(sb.credits(&key), Some(3));
    let t = get(
        &c,
        &format!("{base}/intel/wallet/{WALLET}/tokens?page=1&pageSize=5&sortBy=roi&sortOrder=ASC"),
        &h,
    )
    .await;
    assert_eq!(t.status, 200, "{}", t.text);
    assert_eq!(t.body["pageSize"], json!(5));
    assert!(t.body["data"].as_array().unwrap().len() <= 5);
    assert_eq!(sb.credits(&key), Some(0));

    // Out of credits → 402 {error, required}.
    let r = get(&c, &format!("{base}/intel/wallet/{WALLET}/hud"), &h).await;
    assert_intel_error(&r, 402);
    assert_eq!(r.body["required"], json!(1));
    assert_eq!(sb.credits_used().get(&key), Some(&10));

    // Invalid key → 401.
    let r = get(
        &c,
        &format!("{base}/intel/wallet/{WALLET}/hud"),
        &[("X-Api-Key", "ak_00")],
    )
    .await;
    assert_intel_error(&r, 401);
}

#[tokio::test]
async fn sync_hold_falls_back_to_202_and_prepaid_recall_is_charged_once() {
    let clock = Clock::manual(1_768_473_000_000);
    let sb = Sandbox::builder()
        .clock(clock.clone())
        .sync_hold(Duration::from_millis(30))
        .flash_analysis(Duration::from_secs(10))
        .start()
        .await
        .unwrap();
    let c = client();
    let key = sb.create_api_key(5);
    let h = [("x-api-key", key.as_str())];
    let url = format!("{}/intel/wallet/{WALLET}/hud", sb.intel_base_url());
    let r = get(&c, &url, &h).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["status"], json!("queued"));
    assert_eq!(r.body["walletAddress"], json!(WALLET));
    let job = r.body["jobId"].as_str().unwrap().to_owned();
    assert_eq!(r.body["prepaidJobId"], json!(job));
    assert_eq!(
        r.body["monitoringUrl"],
        json!(format!("/api/v1/jobs/{job}"))
    );
    assert_eq!(sb.credits(&key), Some(5), "the 202 fallback is free");

    // Poll /jobs/{id} without auth.
    let status_url = format!("{}/jobs/{job}", sb.intel_base_url());
    let s = get(&c, &status_url, &[]).await;
    assert_eq!(s.status, 200);
    assert_eq!(s.body["status"], json!("waiting"));
    clock.advance(Duration::from_secs(5));
    let s = get(&c, &status_url, &[]).await;
    assert_eq!(s.body["status"], json!("active"));
    assert_eq!(s.body["progress"], json!(50));
    // Still cold: another 202 on the same job, still free.
    let again = get(
        &c,
        &url,
        &[("x-api-key", key.as_str()), ("X-Prepaid-Job-Id", &job)],
    )
    .await;
    assert_eq!(again.status, 202);
    assert_eq!(again.body["jobId"], json!(job));
    assert_eq!(sb.credits(&key), Some(5));
    clock.advance(Duration::from_secs(5));
    let s = get(&c, &status_url, &[]).await;
    assert_eq!(s.body["status"], json!("completed"));
    assert_eq!(s.body["progress"], json!(100));
    let r = get(
        &c,
        &url,
        &[("x-api-key", key.as_str()), ("X-Prepaid-Job-Id", &job)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(sb.credits(&key), Some(4), "one charge in total");
    let bad = get(
        &c,
        &format!(
            "{}/intel/wallet/{}/hud",
            sb.intel_base_url(),
            "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"
        ),
        &[
            ("x-api-key", key.as_str()),
            ("X-Prepaid-Job-Id", "intel-flash-nope"),
        ],
    )
    .await;
    assert_intel_error(&bad, 400);
    let missing = get(&c, &format!("{}/jobs/nope", sb.intel_base_url()), &[]).await;
    assert_intel_error(&missing, 404);
}

async fn wait_completed(c: &reqwest::Client, sb: &Sandbox, job: &str) {
    for _ in 0..200 {
        let s = get(c, &format!("{}/jobs/{job}", sb.intel_base_url()), &[]).await;
        if s.body["status"] == json!("completed") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("job {job} did not complete");
}

#[tokio::test]
async fn post_jobs_charge_on_202_and_store_results_under_documented_keys() {
    let sb = sandbox().await;
    let c = client();
    let key = sb.create_api_key(1000);
    let h = [("x-api-key", key.as_str())];
    let base = sb.intel_base_url();

    let r = post(
        &c,
        &format!("{base}/intel/token/{MINT}/holders"),
        &h,
        &json!({"topN": 5}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let job = r.body["jobId"].as_str().unwrap().to_owned();
    assert!(r.body["requestId"].is_string());
    assert_eq!(sb.credits(&key), Some(980));
    let by_key = |k: String| format!("{base}/jobs/result/by-key?key={k}");
    wait_completed(&c, &sb, &job).await;
    let res = get(&c, &by_key(format!("holder-profiles:result:{job}")), &h).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["mode"], json!("token"));
    assert_eq!(res.body["profiles"].as_array().unwrap().len(), 5);
    assert_eq!(res.body["metadata"]["totalHoldersRequested"], json!(5));
    assert_eq!(res.body["profiles"][0]["rank"], json!(1));

    let r = post(
        &c,
        &format!("{base}/intel/token/{MINT}/holders/agent"),
        &h,
        &json!({}),
    )
    .await;
    assert_eq!(r.status, 202);
    assert_eq!(r.body["topN"], json!(20));
    let job = r.body["jobId"].as_str().unwrap();
    assert_eq!(
        r.body["agentResultKey"],
        json!(format!("holder-profiles:agent:result:{job}"))
    );
    assert_eq!(
        r.body["resultKey"],
        json!(format!("holder-profiles:result:{job}"))
    );
    wait_completed(&c, &sb, job).await;
    let res = get(
        &c,
        &by_key(
            r.body["agentResultKey"]
                .as_str()
                .unwrap()
                .replace(':', "%3A"),
        ),
        &h,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(res.body["aggregate"]["behaviorDistribution"].is_array());
    assert!(res.body["profiles"][0]["holdingsSummary"]["topHoldings"].is_array());

    let wallets = json!({"wallets": [WALLET, "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T", "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"]});
    let r = post(
        &c,
        &format!("{base}/intel/wallets/similarity"),
        &h,
        &wallets,
    )
    .await;
    assert_eq!(r.status, 202);
    let req = r.body["requestId"].as_str().unwrap().to_owned();
    wait_completed(&c, &sb, r.body["jobId"].as_str().unwrap()).await;
    let res = get(&c, &by_key(format!("similarity:result:{req}")), &h).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["vectorTypeUsed"], json!("combined"));
    assert_eq!(
        res.body["pairwiseSimilarities"].as_array().unwrap().len(),
        3
    );

    let r = post(
        &c,
        &format!("{base}/intel/wallets/similarity/agent"),
        &h,
        &wallets,
    )
    .await;
    assert_eq!(r.status, 202);
    assert_eq!(r.body["walletCount"], json!(3));
    wait_completed(&c, &sb, r.body["jobId"].as_str().unwrap()).await;
    let res = get(
        &c,
        &by_key(r.body["agentResultKey"].as_str().unwrap().to_owned()),
        &h,
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["metadata"]["totalPairs"], json!(3));
    assert!(res.body["coordinationScore"].is_number());

    let r = post(
        &c,
        &format!("{base}/intel/token/{MINT}/holders/deep"),
        &h,
        &json!({"topN": 4}),
    )
    .await;
    assert_eq!(r.status, 202);
    assert_eq!(r.body["similarity"]["jobId"], Value::Null);
    let hp = r.body["holderProfiles"]["jobId"]
        .as_str()
        .unwrap()
        .to_owned();
    let sim_key = r.body["similarity"]["resultKey"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_completed(&c, &sb, &hp).await;
    let mut ok = false;
    for _ in 0..100 {
        let res = get(&c, &by_key(sim_key.clone()), &h).await;
        if res.status == 200 {
            ok = true;
            break;
        }
        assert_intel_error(&res, 404);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(ok);
    // 20 + 20 + 20 + 20 + 35 credits.
    assert_eq!(sb.credits(&key), Some(1000 - 115));

    // Validation errors are free.
    let bad = post(
        &c,
        &format!("{base}/intel/token/{MINT}/holders/agent"),
        &h,
        &json!({"topN": 51}),
    )
    .await;
    assert_intel_error(&bad, 400);
    let bad = post(
        &c,
        &format!("{base}/intel/wallets/similarity"),
        &h,
        &json!({"wallets": [WALLET]}),
    )
    .await;
    assert_intel_error(&bad, 400);
    let bad = post(
        &c,
        &format!("{base}/intel/token/bad/holders"),
        &h,
        &json!({}),
    )
    .await;
    assert_intel_error(&bad, 400);
    assert_eq!(sb.credits(&key), Some(1000 - 115));
    let missing = get(&c, &by_key("holder-profiles:result:nope".into()), &h).await;
    assert_intel_error(&missing, 404);
}

#[tokio::test]
async fn results_expire_after_fifteen_minutes() {
    let clock = Clock::manual(1_768_473_000_000);
    let sb = Sandbox::builder()
        .clock(clock.clone())
        .job_duration(Duration::from_secs(10))
        .start()
        .await
        .unwrap();
    let c = client();
    let key = sb.create_api_key(100);
    let h = [("x-api-key", key.as_str())];
    let r = post(
        &c,
        &format!("{}/intel/token/{MINT}/holders", sb.intel_base_url()),
        &h,
        &json!({"topN": 3}),
    )
    .await;
    let job = r.body["jobId"].as_str().unwrap().to_owned();
    let url = format!(
        "{}/jobs/result/by-key?key=holder-profiles:result:{job}",
        sb.intel_base_url()
    );
    let s = get(&c, &format!("{}/jobs/{job}", sb.intel_base_url()), &[]).await;
    assert_eq!(s.body["status"], json!("waiting"));
    assert_intel_error(&get(&c, &url, &h).await, 404);
    clock.advance(Duration::from_secs(5));
    let s = get(&c, &format!("{}/jobs/{job}", sb.intel_base_url()), &[]).await;
    assert_eq!(s.body["status"], json!("active"));
    assert_eq!(s.body["progress"], json!(50));
    clock.advance(Duration::from_secs(5));
    assert_eq!(get(&c, &url, &h).await.status, 200);
    clock.advance(Duration::from_secs(15 * 60 - 1));
    assert_eq!(get(&c, &url, &h).await.status, 200);
    clock.advance(Duration::from_secs(1));
    assert_intel_error(&get(&c, &url, &h).await, 404);
}

#[tokio::test]
async fn batch_hud_has_huds_queued_and_skipped() {
    let sb = Sandbox::builder()
        .flash_analysis(Duration::from_millis(100))
        .sync_hold(Duration::from_secs(10))
        .start()
        .await
        .unwrap();
    let c = client();
    let key = sb.create_api_key(100);
    let h = [("x-api-key", key.as_str())];
    // Warm one wallet through a GET (held until its flash analysis finishes).
    let warm = get(
        &c,
        &format!("{}/intel/wallet/{WALLET}/hud", sb.intel_base_url()),
        &h,
    )
    .await;
    assert_eq!(warm.status, 200);
    let cold = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T";
    let body = json!({"wallets": [WALLET, cold, "11111111111111111111111111111111", "garbage"]});
    let r = post(
        &c,
        &format!("{}/intel/wallets/batch-hud", sb.intel_base_url()),
        &h,
        &body,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["huds"][WALLET].is_object());
    assert_eq!(r.body["queued"][0]["walletAddress"], json!(cold));
    assert!(r.body["queued"][0]["jobId"].is_string());
    assert!(r.body["queued"][0]["monitoringUrl"].is_string());
    assert_eq!(r.body["skipped"].as_array().unwrap().len(), 2);
    assert_eq!(sb.credits(&key), Some(100 - 1 - 5));
    let too_many: Vec<String> = (0..31).map(|_| WALLET.to_owned()).collect();
    let bad = post(
        &c,
        &format!("{}/intel/wallets/batch-hud", sb.intel_base_url()),
        &h,
        &json!({"wallets": too_many}),
    )
    .await;
    assert_intel_error(&bad, 400);
}

#[tokio::test]
async fn pricing_is_free_on_both_paths_and_unknown_routes_are_shaped() {
    let sb = sandbox().await;
    let c = client();
    for p in ["/intel/pricing", "/pricing"] {
        let r = get(&c, &format!("{}{p}", sb.intel_base_url()), &[]).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["creditPriceUsd"], json!(0.015));
        assert_eq!(r.body["endpoints"].as_array().unwrap().len(), 9);
    }
    let r = get(&c, &format!("{}/nope", sb.intel_base_url()), &[]).await;
    assert_intel_error(&r, 404);
    let r = send(
        &c,
        "DELETE",
        &format!("{}/intel/pricing", sb.intel_base_url()),
        &[],
        None,
    )
    .await;
    assert_intel_error(&r, 405);
    let r = post(
        &c,
        &format!("{}/intel/wallets/batch-hud", sb.intel_base_url()),
        &[("x-api-key", &sb.create_api_key(9))],
        &json!([1]),
    )
    .await;
    assert_intel_error(&r, 400);
}

/// `GET /jobs/result/by-key` requires a credential by default (401 without a key, as the docs'
/// "Authentication required"); a key with no credits is enough; the option opens it.
#[tokio::test]
async fn results_by_key_require_an_api_key_by_default() {
    for open in [false, true] {
        let mut b = Sandbox::builder().job_duration(Duration::from_millis(50));
        if open {
            b = b.results_require_auth(false);
        }
        let sb = b.start().await.unwrap();
        let c = client();
        let payer_key = sb.create_api_key(100);
        let reader = sb.create_api_key(0);
        let r = post(
            &c,
            &format!("{}/intel/token/{MINT}/holders", sb.intel_base_url()),
            &[("x-api-key", payer_key.as_str())],
            &json!({"topN": 3}),
        )
        .await;
        let job = r.body["jobId"].as_str().unwrap().to_owned();
        wait_completed(&c, &sb, &job).await;
        let url = format!(
            "{}/jobs/result/by-key?key=holder-profiles:result:{job}",
            sb.intel_base_url()
        );
        let bare = get(&c, &url, &[]).await;
        if open {
            assert_eq!(bare.status, 200, "{}", bare.text);
        } else {
            assert_intel_error(&bare, 401);
            assert!(bare.header("payment-required").is_none(), "never a charge");
        }
        let with_key = get(&c, &url, &[("x-api-key", reader.as_str())]).await;
        assert_eq!(with_key.status, 200, "{}", with_key.text);
        assert_eq!(sb.credits(&reader), Some(0), "reading is free");
        assert_intel_error(&get(&c, &url, &[("x-api-key", "ak_00")]).await, 401);
    }
}

/// The deep bundle's documented partial failure: 206, nothing charged.
#[tokio::test]
async fn deep_can_answer_206_partial_success_free() {
    let sb = Sandbox::builder()
        .deep_partial_failure(true)
        .start()
        .await
        .unwrap();
    let c = client();
    let key = sb.create_api_key(100);
    let r = post(
        &c,
        &format!("{}/intel/token/{MINT}/holders/deep", sb.intel_base_url()),
        &[("x-api-key", key.as_str())],
        &json!({"topN": 3}),
    )
    .await;
    assert_eq!(r.status, 206, "{}", r.text);
    assert!(r.body["message"].as_str().unwrap().contains("0cr charged"));
    assert_eq!(r.body["similarity"]["status"], json!("failed"));
    assert_eq!(sb.credits(&key), Some(100), "0 credits charged");
    // Still validated first.
    let bad = post(
        &c,
        &format!("{}/intel/token/{MINT}/holders/deep", sb.intel_base_url()),
        &[("x-api-key", key.as_str())],
        &json!({"topN": 99}),
    )
    .await;
    assert_intel_error(&bad, 400);
    // The other job endpoints are unaffected.
    let ok = post(
        &c,
        &format!("{}/intel/token/{MINT}/holders", sb.intel_base_url()),
        &[("x-api-key", key.as_str())],
        &json!({"topN": 3}),
    )
    .await;
    assert_eq!(ok.status, 202);
}

/// `fail_jobs(1)`: the next POST job is charged, then fails without a result; later jobs run.
#[tokio::test]
async fn an_injected_job_failure_is_charged_and_has_no_result() {
    let sb = Sandbox::builder()
        .job_duration(Duration::from_millis(50))
        .fail_jobs(1)
        .start()
        .await
        .unwrap();
    let c = client();
    let key = sb.create_api_key(100);
    let h = [("x-api-key", key.as_str())];
    let url = format!("{}/intel/token/{MINT}/holders", sb.intel_base_url());
    let first = post(&c, &url, &h, &json!({"topN": 3})).await;
    assert_eq!(first.status, 202);
    let job = first.body["jobId"].as_str().unwrap().to_owned();
    assert_eq!(sb.credits(&key), Some(80), "charged on the 202");
    tokio::time::sleep(Duration::from_millis(80)).await;
    let st = get(&c, &format!("{}/jobs/{job}", sb.intel_base_url()), &h).await;
    assert_eq!(st.body["status"], json!("failed"), "{}", st.text);
    assert!(st.body["failedReason"].is_string());
    let bare = get(&c, &format!("{}/jobs/{job}", sb.intel_base_url()), &[]).await;
    assert_eq!(bare.body["status"], json!("failed"));
    assert!(
        bare.body.get("failedReason").is_none(),
        "only for authenticated callers"
    );
    let res = get(
        &c,
        &format!(
            "{}/jobs/result/by-key?key=holder-profiles:result:{job}",
            sb.intel_base_url()
        ),
        &h,
    )
    .await;
    assert_intel_error(&res, 404);
    // The next job completes.
    let second = post(&c, &url, &h, &json!({"topN": 3})).await;
    let job2 = second.body["jobId"].as_str().unwrap().to_owned();
    wait_completed(&c, &sb, &job2).await;
}
