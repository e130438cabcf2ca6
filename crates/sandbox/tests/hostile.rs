//! A hostile server over raw HTTP: the fault kinds that settle and then lie about it, hold a
//! payment and submit it later, advertise a stale block height, or hang and then refuse
//! connections — and the honest 202 fallback, which must not burn the payment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use solana_hash::Hash;
use solana_keypair::Keypair;
use sova_protocol::x402::FailureReason;
use sova_sandbox::{Fault, FaultKind, Mode, Sandbox};

const HUD: &str = "GET /api/v1/intel/wallet/{address}/hud";

fn hud_url(sb: &Sandbox) -> String {
    format!("{}/intel/wallet/{WALLET}/hud", sb.intel_base_url())
}

fn profile_url(sb: &Sandbox) -> String {
    format!("{}/intel/wallet/{WALLET}", sb.intel_base_url())
}

/// A signed payment for `url` in the sandbox's mode: the header value and the payer's
/// signature.
struct Payment {
    header: String,
    payer_signature: String,
}

async fn accepted_for(c: &reqwest::Client, url: &str) -> Value {
    let r = get(c, url, &[]).await;
    assert_eq!(r.status, 402, "{}", r.text);
    decode_required(&r)["accepts"][0].clone()
}

async fn pay_with(
    c: &reqwest::Client,
    sb: &Sandbox,
    payer: &Keypair,
    url: &str,
    bh: Hash,
    memo: &str,
) -> Payment {
    let accepted = accepted_for(c, url).await;
    let amount: u64 = accepted["amount"].as_str().unwrap().parse().unwrap();
    match sb.mode() {
        Mode::Standard => {
            let tx = sponsored_payment(payer, &sb.facilitator(), &sb.treasury(), amount, bh, memo);
            let sig = tx.signatures[1].to_string();
            Payment {
                header: spec_payload(&accepted, &wire(&tx)),
                payer_signature: sig,
            }
        }
        _ => {
            let tx = v0_payment(payer, &sb.treasury(), amount, bh, memo);
            Payment {
                header: hybrid_payload(&accepted, &wire(&tx)),
                payer_signature: tx.signatures[0].to_string(),
            }
        }
    }
}

async fn pay(c: &reqwest::Client, sb: &Sandbox, payer: &Keypair, url: &str, memo: &str) -> Payment {
    let bh = blockhash(c, sb).await;
    pay_with(c, sb, payer, url, bh, memo).await
}

async fn sandbox(mode: Mode) -> Sandbox {
    Sandbox::builder().mode(mode).start().await.unwrap()
}

/// What the SDK's classifier makes of a 402: the settlement reason, the challenge's `error`,
/// or the body's message — in that order, as a client reads it.
fn says_nothing_charged(r: &Resp) -> bool {
    let challenge = decode_required(r);
    let text = challenge["error"]
        .as_str()
        .or(r.body["message"].as_str())
        .unwrap()
        .to_owned();
    FailureReason::classify(&text).nothing_charged()
        && FailureReason::classify(r.body["message"].as_str().unwrap()).nothing_charged()
}

async fn job_completes(c: &reqwest::Client, sb: &Sandbox, job_id: &str) {
    for _ in 0..200 {
        let r = get(c, &format!("{}/jobs/{job_id}", sb.intel_base_url()), &[]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        if r.body["status"] == json!("completed") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("job {job_id} never completed");
}

#[tokio::test]
async fn honest_fallback_does_not_burn_the_payment_and_the_recall_settles_it() {
    for mode in [Mode::Sova, Mode::Standard] {
        let sb = Sandbox::builder()
            .mode(mode)
            .sync_hold(Duration::from_millis(10))
            .flash_analysis(Duration::from_millis(80))
            .start()
            .await
            .unwrap();
        let c = client();
        let payer = payer(&sb, 10_000_000);
        let p = pay(&c, &sb, &payer, &profile_url(&sb), "fallback").await;

        // The cold wallet: 202, free, nothing settled, the payment not burned.
        let r = get(&c, &profile_url(&sb), &[("payment-signature", &p.header)]).await;
        assert_eq!(r.status, 202, "{mode:?}: {}", r.text);
        assert!(r.header("payment-response").is_none());
        assert!(r.header("x-payment-response").is_none());
        assert!(sb.payments().is_empty());
        let job = r.body["prepaidJobId"].as_str().unwrap().to_owned();
        assert_eq!(r.body["jobId"], json!(job));
        assert_eq!(r.body["walletAddress"], json!(WALLET));
        job_completes(&c, &sb, &job).await;

        // The re-call resends the SAME signed payment with the job id: settled now, once.
        let r = get(
            &c,
            &profile_url(&sb),
            &[("payment-signature", &p.header), ("x-prepaid-job-id", &job)],
        )
        .await;
        assert_eq!(r.status, 200, "{mode:?}: {}", r.text);
        let pays = sb.payments();
        assert_eq!(pays.len(), 1);
        assert_eq!(pays[0].payer_signature, p.payer_signature);
        assert!(pays[0].delivered);
        assert_eq!(pays[0].path, format!("/api/v1/intel/wallet/{WALLET}"));
        if mode == Mode::Sova {
            // Only what Sova documents: the bare signature.
            assert!(r.header("payment-response").is_none());
            assert_eq!(
                r.header("x-payment-response").as_deref(),
                Some(pays[0].signature.as_str())
            );
        } else {
            let s: Value =
                serde_json::from_slice(&unb64(&r.header("payment-response").unwrap())).unwrap();
            assert_eq!(s["success"], json!(true));
            assert_eq!(s["transaction"], json!(pays[0].signature));
        }
        match mode {
            Mode::Standard => {
                // The first signature is the facilitator's; the payer's is the other one.
                assert_eq!(pays[0].signatures.len(), 2);
                assert_ne!(pays[0].signature, pays[0].payer_signature);
                assert_eq!(pays[0].signatures[0], pays[0].signature);
                assert_eq!(pays[0].signatures[1], pays[0].payer_signature);
            }
            _ => {
                assert_eq!(pays[0].signatures, vec![pays[0].signature.clone()]);
                assert_eq!(pays[0].signature, pays[0].payer_signature);
            }
        }
        // And only once.
        let r = get(
            &c,
            &profile_url(&sb),
            &[("payment-signature", &p.header), ("x-prepaid-job-id", &job)],
        )
        .await;
        assert_eq!(
            r.body["message"],
            json!("transaction already used (replay attack)")
        );
        assert_eq!(sb.payments().len(), 1);
    }
}

#[tokio::test]
async fn settle_then_202_charges_and_claims_the_answer_was_free() {
    for mode in [Mode::Sova, Mode::Standard] {
        let sb = sandbox(mode).await;
        let c = client();
        let payer = payer(&sb, 10_000_000);
        let p = pay(&c, &sb, &payer, &hud_url(&sb), "s202").await;
        sb.add_fault(Fault::on(HUD, FaultKind::SettleThen202).times(1));
        let r = get(&c, &hud_url(&sb), &[("payment-signature", &p.header)]).await;
        assert_eq!(r.status, 202, "{}", r.text);
        assert!(r.header("payment-response").is_none());
        assert!(r.header("x-payment-response").is_none());
        for field in ["jobId", "prepaidJobId", "monitoringUrl", "message"] {
            assert!(r.body[field].is_string(), "{field}: {}", r.text);
        }
        assert_eq!(r.body["status"], json!("queued"));
        assert_eq!(r.body["walletAddress"], json!(WALLET));
        let pays = sb.payments();
        assert_eq!(pays.len(), 1, "it was settled");
        assert_eq!(pays[0].payer_signature, p.payer_signature);
        assert!(!pays[0].delivered);
        assert_eq!(sb.usdc_balance(&sb.treasury()), 15_000);

        // The job is real and completes; a re-call with it pays again (the first payment
        // is spent: the same header is a replay).
        let job = r.body["prepaidJobId"].as_str().unwrap().to_owned();
        job_completes(&c, &sb, &job).await;
        let r = get(
            &c,
            &hud_url(&sb),
            &[("payment-signature", &p.header), ("x-prepaid-job-id", &job)],
        )
        .await;
        assert_eq!(r.status, 402);
        assert!(!says_nothing_charged(&r));
        let p2 = pay(&c, &sb, &payer, &hud_url(&sb), "s202-again").await;
        let r = get(
            &c,
            &hud_url(&sb),
            &[
                ("payment-signature", &p2.header),
                ("x-prepaid-job-id", &job),
            ],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(sb.payments().len(), 2);
    }

    // Another route: a 202 with a real job.
    let sb = sandbox(Mode::Sova).await;
    let c = client();
    let payer = payer(&sb, 10_000_000);
    let url = format!("{}/intel/wallet/{WALLET}/tokens", sb.intel_base_url());
    let p = pay(&c, &sb, &payer, &url, "tokens").await;
    let r = post(
        &c,
        &format!("{}/faults", sb.admin_url()),
        &[],
        &json!({"kind": "settle_then_202", "route": "/api/v1/intel/wallet/*", "times": 1}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = get(&c, &url, &[("payment-signature", &p.header)]).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert!(r.header("payment-response").is_none());
    let job = r.body["jobId"].as_str().unwrap().to_owned();
    job_completes(&c, &sb, &job).await;
    assert_eq!(sb.payments().len(), 1);
}

#[tokio::test]
async fn settle_then_402_invalid_says_nothing_was_charged() {
    for mode in [Mode::Sova, Mode::Standard] {
        let sb = sandbox(mode).await;
        let c = client();
        let payer = payer(&sb, 10_000_000);
        let p = pay(&c, &sb, &payer, &hud_url(&sb), "s402").await;
        let r = post(
            &c,
            &format!("{}/faults", sb.admin_url()),
            &[],
            &json!({"kind": "settle_then_402_invalid", "route": HUD, "times": 1}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let r = get(&c, &hud_url(&sb), &[("payment-signature", &p.header)]).await;
        assert_intel_error(&r, 402);
        assert!(r.header("payment-response").is_none());
        assert!(says_nothing_charged(&r), "{mode:?}: {}", r.text);
        assert_eq!(decode_required(&r)["accepts"].as_array().unwrap().len(), 1);
        let pays = sb.payments();
        assert_eq!(pays.len(), 1, "it was settled all the same");
        assert_eq!(pays[0].payer_signature, p.payer_signature);
        assert!(!pays[0].delivered);
    }
}

#[tokio::test]
async fn settle_then_4xx_and_500() {
    let sb = sandbox(Mode::Standard).await;
    let c = client();
    let payer = payer(&sb, 10_000_000);
    let cases = [
        (
            json!({"kind": "settle_then_4xx", "route": HUD, "times": 1}),
            422,
        ),
        (
            json!({"kind": "settle_then_4xx", "status": 400, "route": HUD, "times": 1}),
            400,
        ),
        (
            json!({"kind": "settle_then_500", "route": HUD, "times": 1}),
            500,
        ),
    ];
    for (i, (fault, status)) in cases.into_iter().enumerate() {
        let p = pay(&c, &sb, &payer, &hud_url(&sb), &format!("s4xx-{i}")).await;
        let r = post(&c, &format!("{}/faults", sb.admin_url()), &[], &fault).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let r = get(&c, &hud_url(&sb), &[("payment-signature", &p.header)]).await;
        assert_intel_error(&r, status);
        assert!(r.header("payment-response").is_none());
        let pays = sb.payments();
        assert_eq!(pays.len(), i + 1);
        assert_eq!(pays[i].payer_signature, p.payer_signature);
        assert!(!pays[i].delivered);
    }
}

#[tokio::test]
async fn hold_and_submit_later_lies_then_lands_the_payment() {
    for mode in [Mode::Sova, Mode::Standard] {
        let sb = sandbox(mode).await;
        let c = client();
        let payer = payer(&sb, 10_000_000);

        // Default: 402 "nothing charged", then the transaction lands.
        let p = pay(&c, &sb, &payer, &hud_url(&sb), "hold-402").await;
        let r = post(
            &c,
            &format!("{}/faults", sb.admin_url()),
            &[],
            &json!({"kind": "hold_and_submit_later", "route": HUD, "times": 1, "delay_ms": 300}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let r = get(&c, &hud_url(&sb), &[("payment-signature", &p.header)]).await;
        assert_intel_error(&r, 402);
        assert!(says_nothing_charged(&r), "{mode:?}: {}", r.text);
        assert!(sb.payments().is_empty(), "not settled before the answer");
        assert_eq!(sb.held_pending(), 1);
        let r = get(&c, &format!("{}/inspect", sb.admin_url()), &[]).await;
        assert_eq!(r.body["heldPending"], json!(1));
        // Held, the payment is still reserved: a resend is a replay.
        let r = get(&c, &hud_url(&sb), &[("payment-signature", &p.header)]).await;
        assert_eq!(
            r.body["message"],
            json!("transaction already used (replay attack)")
        );
        sb.flush_held().await;
        assert_eq!(sb.held_pending(), 0);
        let pays = sb.payments();
        assert_eq!(pays.len(), 1, "submitted after the answer");
        assert_eq!(pays[0].payer_signature, p.payer_signature);
        assert!(!pays[0].delivered);

        // 503, then lands.
        let p = pay(&c, &sb, &payer, &hud_url(&sb), "hold-503").await;
        sb.add_fault(
            Fault::on(
                HUD,
                FaultKind::HoldAndSubmitLater {
                    status: 503,
                    delay_ms: 20,
                },
            )
            .times(1),
        );
        let r = get(&c, &hud_url(&sb), &[("payment-signature", &p.header)]).await;
        assert_intel_error(&r, 503);
        sb.flush_held().await;
        assert_eq!(sb.payments().len(), 2);
        assert_eq!(sb.payments()[1].payer_signature, p.payer_signature);

        // 202 (the free fallback), then lands.
        let p = pay(&c, &sb, &payer, &hud_url(&sb), "hold-202").await;
        sb.add_fault(
            Fault::on(
                HUD,
                FaultKind::HoldAndSubmitLater {
                    status: 202,
                    delay_ms: 20,
                },
            )
            .times(1),
        );
        let r = get(&c, &hud_url(&sb), &[("payment-signature", &p.header)]).await;
        assert_eq!(r.status, 202, "{}", r.text);
        assert!(r.body["prepaidJobId"].is_string());
        assert!(r.header("payment-response").is_none());
        sb.flush_held().await;
        assert_eq!(sb.payments().len(), 3);

        // When the blockhash expired before the submission, it simply fails; the payment is
        // no longer reserved (and can no longer land).
        let p = pay(&c, &sb, &payer, &hud_url(&sb), "hold-expired").await;
        sb.add_fault(
            Fault::on(
                HUD,
                FaultKind::HoldAndSubmitLater {
                    status: 402,
                    delay_ms: 200,
                },
            )
            .times(1),
        );
        let r = get(&c, &hud_url(&sb), &[("payment-signature", &p.header)]).await;
        assert_eq!(r.status, 402);
        sb.expire_blockhashes();
        sb.flush_held().await;
        assert_eq!(sb.payments().len(), 3);
        let r = get(&c, &hud_url(&sb), &[("payment-signature", &p.header)]).await;
        assert_eq!(r.body["message"], json!("transaction confirmation failed"));
    }
}

#[tokio::test]
async fn hold_faults_ignore_api_key_requests() {
    let sb = sandbox(Mode::Sova).await;
    let c = client();
    let key = sb.create_api_key(10);
    sb.add_fault(Fault::on(
        HUD,
        FaultKind::HoldAndSubmitLater {
            status: 402,
            delay_ms: 0,
        },
    ));
    let r = get(&c, &hud_url(&sb), &[("x-api-key", &key)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = get(&c, &format!("{}/faults", sb.admin_url()), &[]).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(sb.held_pending(), 0);
}

#[tokio::test]
async fn stale_last_valid_height_advertises_height_1_and_holds_the_payment() {
    for mode in [Mode::Sova, Mode::Standard] {
        let sb = sandbox(mode).await;
        let c = client();
        let payer = payer(&sb, 10_000_000);
        sb.add_fault(
            Fault::on(
                HUD,
                FaultKind::StaleLastValidHeight {
                    status: 503,
                    delay_ms: 100,
                },
            )
            .times(1),
        );
        // Every challenge while the rule is installed advertises the stale height.
        for _ in 0..2 {
            let accepted = accepted_for(&c, &hud_url(&sb)).await;
            assert_eq!(accepted["extra"]["lastValidBlockHeight"], json!(1));
            let hash = accepted["extra"]["recentBlockhash"].as_str().unwrap();
            let v = rpc(
                &c,
                &sb,
                "isBlockhashValid",
                json!([hash, {"commitment": "confirmed"}]),
            )
            .await;
            assert_eq!(
                v["result"]["value"],
                json!(true),
                "a real, current blockhash"
            );
        }
        let accepted = accepted_for(&c, &hud_url(&sb)).await;
        let bh: Hash = accepted["extra"]["recentBlockhash"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let height = rpc(&c, &sb, "getBlockHeight", json!([])).await["result"]
            .as_u64()
            .unwrap();
        assert!(height > 1, "the chain is past the advertised height");
        let p = pay_with(&c, &sb, &payer, &hud_url(&sb), bh, "stale").await;
        let r = get(&c, &hud_url(&sb), &[("payment-signature", &p.header)]).await;
        assert_intel_error(&r, 503);
        assert!(sb.payments().is_empty());
        assert_eq!(sb.held_pending(), 1);
        sb.flush_held().await;
        let pays = sb.payments();
        assert_eq!(pays.len(), 1, "the server landed it after all");
        assert_eq!(pays[0].payer_signature, p.payer_signature);

        // The use is consumed: challenges are normal again.
        let accepted = accepted_for(&c, &hud_url(&sb)).await;
        assert!(accepted["extra"].get("lastValidBlockHeight").is_none());
        assert!(accepted["extra"].get("recentBlockhash").is_none());
    }
}

#[tokio::test]
async fn timeout_then_refused_closes_only_its_port_then_reopens_it() {
    for mode in [Mode::Sova, Mode::Standard] {
        let sb = Sandbox::builder()
            .mode(mode)
            .listeners(2)
            .start()
            .await
            .unwrap();
        assert_eq!(sb.addrs().len(), 2);
        assert_eq!(sb.addrs()[0], sb.addr());
        assert!(sb.intel_base_url_at(2).is_none());
        let c = client();
        let payer = payer(&sb, 10_000_000);
        let side = sb.intel_base_url_at(1).unwrap();
        let url = format!("{side}/intel/wallet/{WALLET}/hud");
        // The second port serves the same sandbox.
        let p = pay(&c, &sb, &payer, &url, "refused").await;
        let r = post(
            &c,
            &format!("{}/faults", sb.admin_url()),
            &[],
            &json!({"kind": "timeout_then_refused", "route": HUD, "times": 1,
                    "hang_ms": 1_500, "refuse_ms": 700}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let timed = reqwest::Client::builder()
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let e = try_send(
            &timed,
            "GET",
            &url,
            &[("payment-signature", &p.header)],
            None,
        )
        .await
        .unwrap_err();
        assert!(e.is_timeout(), "{e}");
        // Settled before the hang.
        let pays = sb.payments();
        assert_eq!(pays.len(), 1);
        assert_eq!(pays[0].payer_signature, p.payer_signature);
        assert!(!pays[0].delivered);
        // A retry on that port is refused; the other port answers.
        let e = try_send(
            &timed,
            "GET",
            &url,
            &[("payment-signature", &p.header)],
            None,
        )
        .await
        .unwrap_err();
        assert!(e.is_connect(), "{e:?}");
        let fresh = client();
        let e = try_send(&fresh, "GET", &url, &[], None).await.unwrap_err();
        assert!(e.is_connect(), "{e:?}");
        assert_eq!(get(&fresh, &hud_url(&sb), &[]).await.status, 402);
        // Then it is bound again on the same port.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let r = get(&fresh, &url, &[("payment-signature", &p.header)]).await;
        assert_eq!(
            r.body["message"],
            json!("transaction already used (replay attack)")
        );
        assert_eq!(sb.payments().len(), 1);
    }
}
