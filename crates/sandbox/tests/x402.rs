//! x402 over raw HTTP: payments built with the Solana crates, settled on the sandbox ledger.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use solana_keypair::Keypair;
use solana_pubkey::Pubkey;
use solana_signer::Signer;
use sova_sandbox::{Clock, Fault, FaultKind, Mode, Sandbox};

fn hud_url(sb: &Sandbox) -> String {
    format!("{}/intel/wallet/{WALLET}/hud", sb.intel_base_url())
}

async fn challenge(c: &reqwest::Client, sb: &Sandbox) -> Value {
    let r = get(c, &hud_url(sb), &[]).await;
    assert_eq!(r.status, 402);
    decode_required(&r)["accepts"][0].clone()
}

#[tokio::test]
async fn sova_mode_accepts_flat_hybrid_and_spec_payloads() {
    let sb = Sandbox::start().await.unwrap();
    let c = client();
    let payer = payer(&sb, 1_000_000);
    let accepted = challenge(&c, &sb).await;
    let treasury = sb.treasury();
    let before = sb.usdc_balance(&treasury);

    // Flat, documented legacy layout.
    let bh = blockhash(&c, &sb).await;
    let tx = legacy_payment(&payer, &treasury, 15_000, bh);
    let sig = tx.signatures[0].to_string();
    let r = get(
        &c,
        &hud_url(&sb),
        &[("payment-signature", &flat_payload(&wire(&tx)))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.header("x-payment-response").as_deref(),
        Some(sig.as_str())
    );
    // Sova documents only the bare signature: no standard header by default.
    assert!(r.header("payment-response").is_none());
    assert_eq!(sb.usdc_balance(&treasury), before + 15_000);
    assert_eq!(sb.usdc_balance(&payer.pubkey()), 1_000_000 - 15_000);

    // Hybrid and spec with the v0 + memo layout.
    let tx = v0_payment(&payer, &treasury, 15_000, bh, "nonce-1");
    let r = get(
        &c,
        &hud_url(&sb),
        &[("PAYMENT-SIGNATURE", &hybrid_payload(&accepted, &wire(&tx)))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tx = v0_payment(&payer, &treasury, 15_000, bh, "nonce-2");
    let r = get(
        &c,
        &hud_url(&sb),
        &[("payment-signature", &spec_payload(&accepted, &wire(&tx)))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(sb.usdc_balance(&treasury), before + 45_000);

    let pays = sb.payments();
    assert!(
        pays.iter().all(|p| p.preflight_failures.is_empty()),
        "sova-x402's verifier agrees: {pays:?}"
    );
    assert_eq!(pays.len(), 3);
    assert_eq!(pays[0].signature, sig);
    assert_eq!(pays[0].amount, 15_000);
    assert!(
        pays.iter()
            .all(|p| p.delivered && p.payer == payer.pubkey().to_string())
    );
    assert_eq!(pays[1].memo.as_deref(), Some("[7] nonce-1"));

    // The memo shows in getSignaturesForAddress.
    let v = rpc(
        &c,
        &sb,
        "getSignaturesForAddress",
        json!([payer.pubkey().to_string(), {"limit": 10}]),
    )
    .await;
    let list = v["result"].as_array().unwrap();
    assert!(list.iter().any(|e| e["memo"] == json!("[7] nonce-2")));
    assert!(list.iter().any(|e| e["signature"] == json!(sig)));
}

#[tokio::test]
async fn verification_failures_use_sova_strings() {
    let sb = Sandbox::start().await.unwrap();
    let c = client();
    let payer = payer(&sb, 1_000_000);
    let treasury = sb.treasury();
    let bh = blockhash(&c, &sb).await;

    // Raw payTo as the destination owner of a different account: wrong ATA.
    let other = Pubkey::new_unique();
    sb.fund_wallet(&other, 0, 0);
    let tx = legacy_payment(&payer, &other, 15_000, bh);
    let r = get(
        &c,
        &hud_url(&sb),
        &[("payment-signature", &flat_payload(&wire(&tx)))],
    )
    .await;
    assert_intel_error(&r, 402);
    assert_eq!(
        r.body["message"],
        json!("transfer destination does not match treasury ATA")
    );
    assert!(r.header("payment-required").is_some());

    // Underpayment.
    let tx = legacy_payment(&payer, &treasury, 14_999, bh);
    let r = get(
        &c,
        &hud_url(&sb),
        &[("payment-signature", &flat_payload(&wire(&tx)))],
    )
    .await;
    assert_eq!(
        r.body["message"],
        json!("USDC amount 14999 < required 15000")
    );

    // Wrong amount for a pricier route.
    let tx = legacy_payment(&payer, &treasury, 15_000, bh);
    let r = get(
        &c,
        &format!("{}/intel/wallet/{WALLET}", sb.intel_base_url()),
        &[("payment-signature", &flat_payload(&wire(&tx)))],
    )
    .await;
    assert_eq!(
        r.body["message"],
        json!("USDC amount 15000 < required 75000")
    );

    // Replay.
    let r = get(
        &c,
        &hud_url(&sb),
        &[("payment-signature", &flat_payload(&wire(&tx)))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = get(
        &c,
        &hud_url(&sb),
        &[("payment-signature", &flat_payload(&wire(&tx)))],
    )
    .await;
    assert_intel_error(&r, 402);
    assert_eq!(
        r.body["message"],
        json!("transaction already used (replay attack)")
    );

    // Garbage header.
    let r = get(&c, &hud_url(&sb), &[("payment-signature", "!!!")]).await;
    assert_intel_error(&r, 402);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid payment payload")
    );

    // Insufficient USDC: lands and fails on chain → confirmation failed.
    let poor = payer_with(&sb, 10);
    let tx = legacy_payment(&poor, &treasury, 15_000, bh);
    let r = get(
        &c,
        &hud_url(&sb),
        &[("payment-signature", &flat_payload(&wire(&tx)))],
    )
    .await;
    assert_intel_error(&r, 402);
    assert_eq!(r.body["message"], json!("transaction confirmation failed"));
    let s: Value = serde_json::from_slice(&unb64(&r.header("payment-response").unwrap())).unwrap();
    assert_eq!(s["success"], json!(false));
    assert_eq!(sb.payments().len(), 1);
}

fn payer_with(sb: &Sandbox, usdc: u64) -> Keypair {
    payer(sb, usdc)
}

#[tokio::test]
async fn expired_blockhash_fails_and_replay_window_is_24h() {
    let clock = Clock::manual(1_768_473_000_000);
    let sb = Sandbox::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let c = client();
    let payer = payer(&sb, 1_000_000);
    let treasury = sb.treasury();
    let bh = blockhash(&c, &sb).await;
    let tx = legacy_payment(&payer, &treasury, 15_000, bh);
    // 151 slots later the blockhash is gone.
    clock.advance(Duration::from_millis(400 * 151));
    let r = get(
        &c,
        &hud_url(&sb),
        &[("payment-signature", &flat_payload(&wire(&tx)))],
    )
    .await;
    assert_intel_error(&r, 402);
    assert_eq!(r.body["message"], json!("transaction confirmation failed"));
    assert_eq!(sb.usdc_balance(&treasury), 0);

    // A forced expiry (admin route) does the same.
    let bh = blockhash(&c, &sb).await;
    let tx = v0_payment(&payer, &treasury, 15_000, bh, "a");
    let r = post(
        &c,
        &format!("{}/ledger/expire-blockhash", sb.admin_url()),
        &[],
        &json!({}),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = get(
        &c,
        &hud_url(&sb),
        &[("payment-signature", &flat_payload(&wire(&tx)))],
    )
    .await;
    assert_eq!(r.body["message"], json!("transaction confirmation failed"));

    // A settled payment is refused as a replay even after the blockhash expired, for 24 h.
    let bh = blockhash(&c, &sb).await;
    let tx = v0_payment(&payer, &treasury, 15_000, bh, "b");
    let header = flat_payload(&wire(&tx));
    assert_eq!(
        get(&c, &hud_url(&sb), &[("payment-signature", &header)])
            .await
            .status,
        200
    );
    clock.advance(Duration::from_secs(23 * 3600));
    let r = get(&c, &hud_url(&sb), &[("payment-signature", &header)]).await;
    assert_eq!(
        r.body["message"],
        json!("transaction already used (replay attack)")
    );
}

#[tokio::test]
async fn standard_mode_facilitator_cosigns_and_pays_fees() {
    let sb = Sandbox::builder()
        .mode(Mode::Standard)
        .start()
        .await
        .unwrap();
    let c = client();
    let r = get(&c, &hud_url(&sb), &[]).await;
    assert_eq!(r.status, 402);
    let pr = decode_required(&r);
    assert_eq!(pr["error"], json!("Payment required"));
    assert!(pr["resource"]["url"].as_str().unwrap().ends_with("/hud"));
    let accepted = pr["accepts"][0].clone();
    let fee_payer: Pubkey = accepted["extra"]["feePayer"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(fee_payer, sb.facilitator());

    let payer = payer(&sb, 1_000_000);
    let sol_before = sb.sol_balance(&payer.pubkey());
    let bh = blockhash(&c, &sb).await;
    let tx = sponsored_payment(&payer, &fee_payer, &sb.treasury(), 15_000, bh, "std-1");
    let r = get(
        &c,
        &hud_url(&sb),
        &[("PAYMENT-SIGNATURE", &spec_payload(&accepted, &wire(&tx)))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.header("x-payment-response").is_none());
    let s: Value = serde_json::from_slice(&unb64(&r.header("payment-response").unwrap())).unwrap();
    assert_eq!(s["success"], json!(true));
    assert_eq!(s["payer"], json!(payer.pubkey().to_string()));
    assert_eq!(
        sb.sol_balance(&payer.pubkey()),
        sol_before,
        "the facilitator paid the fee"
    );
    assert_eq!(sb.usdc_balance(&sb.treasury()), 15_000);
    assert_eq!(sb.payments()[0].preflight_failures, Vec::<String>::new());

    // Flat payloads and self-paid transactions are refused in standard mode.
    let tx = sponsored_payment(&payer, &fee_payer, &sb.treasury(), 15_000, bh, "std-2");
    let r = get(
        &c,
        &hud_url(&sb),
        &[("PAYMENT-SIGNATURE", &flat_payload(&wire(&tx)))],
    )
    .await;
    assert_intel_error(&r, 402);
    let tx = v0_payment(&payer, &sb.treasury(), 15_000, bh, "std-3");
    let r = get(
        &c,
        &hud_url(&sb),
        &[("PAYMENT-SIGNATURE", &spec_payload(&accepted, &wire(&tx)))],
    )
    .await;
    assert_intel_error(&r, 402);
    assert!(r.body["message"].as_str().unwrap().contains("fee payer"));
    // A mismatching `accepted`.
    let mut wrong = accepted.clone();
    wrong["amount"] = json!("1");
    let tx = sponsored_payment(&payer, &fee_payer, &sb.treasury(), 15_000, bh, "std-4");
    let r = get(
        &c,
        &hud_url(&sb),
        &[("PAYMENT-SIGNATURE", &spec_payload(&wrong, &wire(&tx)))],
    )
    .await;
    assert_eq!(r.body["message"], json!("No matching payment requirements"));
}

#[tokio::test]
async fn x402_post_job_settles_on_202_and_fallback_is_not_settled() {
    let sb = Sandbox::builder()
        .sync_hold(Duration::from_millis(20))
        .flash_analysis(Duration::from_secs(60))
        .job_duration(Duration::from_millis(10))
        .start()
        .await
        .unwrap();
    let c = client();
    let payer = payer(&sb, 10_000_000);
    let bh = blockhash(&c, &sb).await;
    let tx = v0_payment(&payer, &sb.treasury(), 15_000, bh, "hold");
    let header = flat_payload(&wire(&tx));
    let r = get(&c, &hud_url(&sb), &[("payment-signature", &header)]).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert!(r.header("payment-response").is_none());
    assert_eq!(
        sb.usdc_balance(&sb.treasury()),
        0,
        "the 202 fallback settles nothing"
    );
    assert!(sb.payments().is_empty());

    let tx = v0_payment(&payer, &sb.treasury(), 300_000, bh, "job");
    let r = post(
        &c,
        &format!("{}/intel/token/{MINT}/holders", sb.intel_base_url()),
        &[("payment-signature", &flat_payload(&wire(&tx)))],
        &json!({"topN": 2}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert!(r.header("x-payment-response").is_some());
    assert_eq!(sb.usdc_balance(&sb.treasury()), 300_000);
}

#[tokio::test]
async fn faults_around_settlement() {
    let sb = Sandbox::start().await.unwrap();
    let c = client();
    let payer = payer(&sb, 10_000_000);
    let treasury = sb.treasury();
    let route = "GET /api/v1/intel/wallet/{address}/hud";

    // Dropped before settlement: no answer, nothing paid; the same payment works afterwards.
    sb.add_fault(Fault::on(route, FaultKind::DropBeforeSettlement).times(1));
    let bh = blockhash(&c, &sb).await;
    let tx = v0_payment(&payer, &treasury, 15_000, bh, "f1");
    let header = flat_payload(&wire(&tx));
    assert!(
        try_send(
            &c,
            "GET",
            &hud_url(&sb),
            &[("payment-signature", &header)],
            None
        )
        .await
        .is_err()
    );
    assert_eq!(sb.usdc_balance(&treasury), 0);
    assert_eq!(
        get(&c, &hud_url(&sb), &[("payment-signature", &header)])
            .await
            .status,
        200
    );

    // Dropped after settlement: paid, not delivered; a resend is a replay.
    sb.add_fault(Fault::on(route, FaultKind::DropAfterSettlement).times(1));
    let tx = v0_payment(&payer, &treasury, 15_000, bh, "f2");
    let header = flat_payload(&wire(&tx));
    assert!(
        try_send(
            &c,
            "GET",
            &hud_url(&sb),
            &[("payment-signature", &header)],
            None
        )
        .await
        .is_err()
    );
    assert_eq!(sb.usdc_balance(&treasury), 30_000);
    let p = sb.payments();
    assert_eq!(p.len(), 2);
    assert!(!p[1].delivered);
    let r = get(&c, &hud_url(&sb), &[("payment-signature", &header)]).await;
    assert_eq!(
        r.body["message"],
        json!("transaction already used (replay attack)")
    );

    // 5xx after settlement.
    sb.add_fault(Fault::on(route, FaultKind::StatusAfterSettlement { status: 500 }).times(1));
    let tx = v0_payment(&payer, &treasury, 15_000, bh, "f3");
    let r = get(
        &c,
        &hud_url(&sb),
        &[("payment-signature", &flat_payload(&wire(&tx)))],
    )
    .await;
    assert_intel_error(&r, 500);
    assert_eq!(sb.usdc_balance(&treasury), 45_000);

    // Settlement pending: 402 with the signature; the chain knows it.
    sb.add_fault(Fault::on(route, FaultKind::SettlementPending).times(1));
    let tx = v0_payment(&payer, &treasury, 15_000, bh, "f4");
    let sig = tx.signatures[0].to_string();
    let r = get(
        &c,
        &hud_url(&sb),
        &[("payment-signature", &flat_payload(&wire(&tx)))],
    )
    .await;
    assert_eq!(r.status, 402);
    let s: Value = serde_json::from_slice(&unb64(&r.header("payment-response").unwrap())).unwrap();
    assert_eq!(s["errorReason"], json!("settlement_pending"));
    assert_eq!(s["transaction"], json!(sig));
    let st = rpc(&c, &sb, "getSignatureStatuses", json!([[sig]])).await;
    assert_eq!(
        st["result"]["value"][0]["confirmationStatus"],
        json!("finalized")
    );

    // Forced blockhash expiry at settlement.
    sb.add_fault(Fault::on(route, FaultKind::ExpireBlockhash).times(1));
    let tx = v0_payment(&payer, &treasury, 15_000, bh, "f5");
    let r = get(
        &c,
        &hud_url(&sb),
        &[("payment-signature", &flat_payload(&wire(&tx)))],
    )
    .await;
    assert_eq!(r.body["message"], json!("transaction confirmation failed"));

    // 429 with Retry-After, 503 and latency, through the admin route.
    let r = post(
        &c,
        &format!("{}/faults", sb.admin_url()),
        &[],
        &json!({"route": route, "kind": "rate_limit", "retry_after_secs": 3, "times": 1}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = get(&c, &hud_url(&sb), &[]).await;
    assert_intel_error(&r, 429);
    assert_eq!(r.header("retry-after").as_deref(), Some("3"));
    sb.add_fault(Fault::global(FaultKind::Status { status: 503 }).times(1));
    assert_intel_error(
        &get(&c, &format!("{}/intel/pricing", sb.intel_base_url()), &[]).await,
        503,
    );
    sb.add_fault(
        Fault::latency(Some("/api/v1/intel/pricing"), Duration::from_millis(150)).times(1),
    );
    let t = std::time::Instant::now();
    assert_eq!(
        get(&c, &format!("{}/intel/pricing", sb.intel_base_url()), &[])
            .await
            .status,
        200
    );
    assert!(t.elapsed() >= Duration::from_millis(150));

    // Inspection over HTTP.
    let r = get(&c, &format!("{}/inspect", sb.admin_url()), &[]).await;
    assert_eq!(r.body["payments"].as_array().unwrap().len(), 4);
    assert!(r.body["requests"][route].as_u64().unwrap() >= 8);
    assert_eq!(sb.deliveries().get(route), Some(&1));
}

#[tokio::test]
async fn api_key_drop_after_charge_is_counted() {
    let sb = Sandbox::start().await.unwrap();
    let c = client();
    let key = sb.create_api_key(3);
    sb.add_fault(Fault::on("/api/v1/intel/wallet/*", FaultKind::DropAfterSettlement).times(1));
    assert!(
        try_send(&c, "GET", &hud_url(&sb), &[("x-api-key", &key)], None)
            .await
            .is_err()
    );
    assert_eq!(sb.credits(&key), Some(2));
    sb.add_fault(Fault::on("/api/v1/intel/wallet/*", FaultKind::DropBeforeSettlement).times(1));
    assert!(
        try_send(&c, "GET", &hud_url(&sb), &[("x-api-key", &key)], None)
            .await
            .is_err()
    );
    assert_eq!(sb.credits(&key), Some(2));
}

/// The sandbox refuses any amount but the exact price, as strict facilitators do, whether or
/// not the strict pre-flight is on (it accepted any amount at or above the price before).
#[tokio::test]
async fn overpayment_is_refused_before_settlement() {
    for strict in [false, true] {
        let sb = Sandbox::builder()
            .strict_preflight(strict)
            .start()
            .await
            .unwrap();
        let c = client();
        let payer = payer(&sb, 1_000_000);
        let bh = blockhash(&c, &sb).await;
        let tx = v0_payment(&payer, &sb.treasury(), 20_000, bh, "over");
        let r = get(
            &c,
            &hud_url(&sb),
            &[("payment-signature", &flat_payload(&wire(&tx)))],
        )
        .await;
        assert_intel_error(&r, 402);
        assert_eq!(
            r.body["message"],
            json!("USDC amount 20000 > required 15000 (the exact amount is required)"),
            "{}",
            r.text
        );
        assert_eq!(sb.usdc_balance(&sb.treasury()), 0);
        assert!(sb.payments().is_empty());
    }
}

/// maxTimeoutSeconds: a payment presented later than the requirement allows after its
/// blockhash is refused before settlement (402, fresh challenge, nothing charged); the same
/// payment in time settles.
#[tokio::test]
async fn a_payment_older_than_max_timeout_seconds_is_refused() {
    let clock = Clock::manual(1_768_473_000_000);
    let sb = Sandbox::builder()
        .clock(clock.clone())
        .max_timeout_seconds(2)
        .start()
        .await
        .unwrap();
    let c = client();
    assert_eq!(challenge(&c, &sb).await["maxTimeoutSeconds"], json!(2));
    let payer = payer(&sb, 1_000_000);
    let treasury = sb.treasury();
    let bh = blockhash(&c, &sb).await;
    let late = legacy_payment(&payer, &treasury, 15_000, bh);
    clock.advance(Duration::from_millis(400 * 6)); // 2.4 s: the blockhash is still valid
    let r = get(
        &c,
        &hud_url(&sb),
        &[("payment-signature", &flat_payload(&wire(&late)))],
    )
    .await;
    assert_intel_error(&r, 402);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("maxTimeoutSeconds"),
        "{}",
        r.text
    );
    assert!(r.header("payment-required").is_some(), "a fresh challenge");
    assert!(r.header("payment-response").is_none(), "nothing settled");
    assert_eq!(sb.usdc_balance(&treasury), 0);
    // A payment over a fresh blockhash, presented in time, settles.
    let bh = blockhash(&c, &sb).await;
    let tx = v0_payment(&payer, &treasury, 15_000, bh, "in-time");
    clock.advance(Duration::from_millis(400 * 4)); // 1.6 s
    let r = get(
        &c,
        &hud_url(&sb),
        &[("payment-signature", &flat_payload(&wire(&tx)))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(sb.usdc_balance(&treasury), 15_000);
}

/// Sova mode sends only the documented `X-Payment-Response: <signature>`; the builder option
/// adds the standard `PAYMENT-RESPONSE` beside it.
#[tokio::test]
async fn sova_mode_standard_settlement_headers_are_opt_in() {
    let sb = Sandbox::builder()
        .standard_settlement_headers(true)
        .start()
        .await
        .unwrap();
    let c = client();
    let payer = payer(&sb, 1_000_000);
    let treasury = sb.treasury();
    let bh = blockhash(&c, &sb).await;
    let tx = legacy_payment(&payer, &treasury, 15_000, bh);
    let sig = tx.signatures[0].to_string();
    let r = get(
        &c,
        &hud_url(&sb),
        &[("payment-signature", &flat_payload(&wire(&tx)))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.header("x-payment-response").as_deref(),
        Some(sig.as_str())
    );
    let settle: Value =
        serde_json::from_slice(&unb64(&r.header("payment-response").unwrap())).unwrap();
    assert_eq!(settle["success"], json!(true));
    assert_eq!(settle["transaction"], json!(sig));
    assert_eq!(settle["payer"], json!(payer.pubkey().to_string()));
    assert_eq!(settle["network"], json!(MAINNET));
}
