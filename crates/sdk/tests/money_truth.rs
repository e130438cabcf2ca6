//! What the SDK tells the user about their money, against the sandbox's hostile kinds,
//! counted on the sandbox ledger: raw requests never overpay, resume never pays twice, and
//! every error states its payment.
#![cfg(feature = "async")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use sova::protocol::http::Method;
use sova::protocol::jobs::{FollowUp, HandlePayment, JobHandle, PollConfig};
use sova::protocol::x402::networks;
use sova::protocol::{Credential, RawRequest};
use sova::{Error, PaymentState};
use sova_sandbox::{Fault, FaultKind, Mode, Sandbox};
use sova_x402::{Keypair, Payer, SpendPolicy, programs};

const WALLET: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";

async fn sandbox() -> Sandbox {
    Sandbox::builder()
        .mode(Mode::Sova)
        .sync_hold(Duration::from_millis(100))
        .flash_analysis(Duration::from_millis(30))
        .job_duration(Duration::from_millis(30))
        .start()
        .await
        .unwrap()
}

/// A funded payer of its own (seed), capped generously.
fn funded_payer(sb: &Sandbox, seed: u8) -> Arc<Payer> {
    let kp = Keypair::from_seed([seed; 32]);
    sb.fund_wallet(&kp.pubkey(), 1_000_000_000, 10_000_000);
    let policy = SpendPolicy::builder()
        .max_per_payment(programs::USDC_MAINNET, 1_000_000)
        .budget(programs::USDC_MAINNET, 10_000_000)
        .build();
    Arc::new(
        Payer::builder()
            .sova_host("127.0.0.1")
            .signer(kp)
            .policy(Arc::new(policy))
            .build()
            .unwrap(),
    )
}

fn client(sb: &Sandbox, payer: Arc<Payer>) -> sova::intel::Client {
    sova::intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .x402(payer)
        .rpc_url(sb.rpc_url())
        .poll(PollConfig {
            interval: Duration::from_millis(10),
            max_wait: Duration::from_secs(10),
        })
        .build()
        .unwrap()
}

/// A 3-credit raw call, then 1-credit raw calls: each pays exactly its own route's price.
/// Before the requirement cache was keyed by method and path template, every raw request
/// shared one entry, so the 1-credit calls were prepaid at 3 credits (45,000 base units).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_requests_pay_their_own_route_price() {
    let sb = sandbox().await;
    sb.warm_wallet(WALLET);
    let c = client(&sb, funded_payer(&sb, 61));
    let tokens = RawRequest::new(
        Method::GET,
        format!("/intel/wallet/{WALLET}/tokens"),
        Credential::IntelPaid,
    );
    let hud = RawRequest::new(
        Method::GET,
        format!("/intel/wallet/{WALLET}/hud"),
        Credential::IntelPaid,
    );
    let r = c.send_paid(&tokens).await.unwrap();
    assert_eq!(r.value.status(), 200);
    assert_eq!(r.receipt.as_ref().unwrap().amount, 45_000);
    for _ in 0..3 {
        let r = c.send_paid(&hud).await.unwrap();
        assert_eq!(
            r.value.status(),
            200,
            "{:?}",
            String::from_utf8_lossy(r.value.body())
        );
        assert_eq!(r.receipt.as_ref().unwrap().amount, 15_000);
    }
    let amounts: Vec<u64> = sb.payments().iter().map(|p| p.amount).collect();
    assert_eq!(amounts, vec![45_000, 15_000, 15_000, 15_000]);
}

fn hud_path(wallet: &str) -> String {
    format!("/api/v1/intel/wallet/{wallet}/hud")
}

/// Settle, then `202` forever: the first call's error carries the **charged** payment and a
/// handle that records it; resuming the handle does not sign a second payment (one
/// settlement on the ledger). On main the error said only "may have been charged", the
/// handle recorded no payment, and the CLI's resume paid again every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settle_then_202_forever_then_resume_pays_once() {
    let sb = sandbox().await;
    sb.warm_wallet(WALLET);
    sb.add_fault(Fault::on(hud_path(WALLET), FaultKind::SettleThen202Forever).times(1));
    let c = client(&sb, funded_payer(&sb, 62));
    let e = c.wallet_hud(WALLET).await.unwrap_err();
    assert_eq!(e.payment_state(), PaymentState::Charged, "{e}");
    let Error::JobPending {
        handle, payment, ..
    } = &e
    else {
        panic!("expected a pending job, got {e}");
    };
    let p = payment.as_deref().unwrap();
    assert_eq!(p.amount, 15_000);
    assert_eq!(sb.payments().len(), 1);
    assert_eq!(sb.payments()[0].payer_signature, p.signature);
    let handle = JobHandle::decode(handle).unwrap();
    let carried = handle
        .payment
        .clone()
        .expect("the handle carries the payment");
    assert_eq!(carried.state, PaymentState::Charged);
    assert_eq!(carried.signature, p.signature);
    // Resume, twice: never a second settlement.
    for _ in 0..2 {
        let e = c.resume::<serde_json::Value>(&handle).await.unwrap_err();
        assert_eq!(e.payment_state(), PaymentState::Charged, "{e}");
        assert_eq!(e.payment().unwrap().signature, p.signature);
    }
    assert_eq!(sb.payments().len(), 1, "resume paid again");
}

/// A resume whose server asks to be paid again is refused with the reason, for a charged
/// handle and for a handle that records no payment; a handle whose payment is proven
/// uncharged may pay once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_refuses_to_pay_again_and_says_why() {
    let sb = sandbox().await;
    sb.warm_wallet(WALLET);
    let c = client(&sb, funded_payer(&sb, 63));
    let handle = |payment: Option<HandlePayment>| JobHandle {
        job_id: None,
        follow_up: FollowUp::PrepaidRecall {
            endpoint: "wallet_hud".into(),
            address: WALLET.into(),
            prepaid_job_id: "flash-1".into(),
        },
        also: Vec::new(),
        queued_at_unix: None,
        origin: None,
        payment,
    };
    let charged = HandlePayment::new(
        PaymentState::Charged,
        "5igPaid",
        15_000,
        programs::USDC_MAINNET.to_string(),
    );
    let e = c
        .resume::<serde_json::Value>(&handle(Some(charged)))
        .await
        .unwrap_err();
    let Error::ResumeRefused { reason, payment } = &e else {
        panic!("expected a refusal, got {e}");
    };
    assert!(reason.contains("already paid"), "{reason}");
    assert_eq!(payment.as_deref().unwrap().signature, "5igPaid");
    assert_eq!(e.payment_state(), PaymentState::Charged);

    let e = c
        .resume::<serde_json::Value>(&handle(None))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::ResumeRefused { reason, .. } if reason.contains("records no payment")),
        "{e}"
    );
    assert!(sb.payments().is_empty(), "nothing was paid");

    let released = HandlePayment::new(
        PaymentState::NotCharged,
        "5igGone",
        15_000,
        programs::USDC_MAINNET.to_string(),
    );
    let ok = c
        .resume_paid::<serde_json::Value>(&handle(Some(released)))
        .await
        .unwrap();
    assert_eq!(ok.receipt.as_ref().unwrap().amount, 15_000);
    assert_eq!(sb.payments().len(), 1);
}

/// Hold the payment, answer 503, then submit it: the error is not "the server failed" but a
/// possibly charged payment naming the signature that lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_then_503_reports_the_payment() {
    let sb = sandbox().await;
    sb.warm_wallet(WALLET);
    sb.add_fault(
        Fault::on(
            hud_path(WALLET),
            FaultKind::HoldAndSubmitLater {
                status: 503,
                delay_ms: 100,
            },
        )
        .times(1),
    );
    let c = client(&sb, funded_payer(&sb, 64));
    let e = c.wallet_hud(WALLET).await.unwrap_err();
    sb.flush_held().await;
    assert_ne!(e.payment_state(), PaymentState::NotCharged, "{e}");
    assert!(e.may_have_charged());
    let landed = sb.payments();
    assert_eq!(landed.len(), 1);
    assert_eq!(e.payment().unwrap().signature, landed[0].payer_signature);
}

/// Settle (settlement header present), then a truncated body: charged, not an ordinary
/// parse error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_then_truncated_body_is_charged() {
    let sb = sandbox().await;
    sb.warm_wallet(WALLET);
    sb.add_fault(Fault::on(hud_path(WALLET), FaultKind::SettleThenTruncatedBody).times(1));
    let c = client(&sb, funded_payer(&sb, 65));
    let e = c.wallet_hud(WALLET).await.unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e}");
    assert_eq!(e.payment_state(), PaymentState::Charged, "{e}");
    let p = e.payment().unwrap();
    assert_eq!(sb.payments()[0].payer_signature, p.signature);
    assert!(p.transaction.is_some());
    assert!(
        e.to_string().contains("0.015000 USDC (15000 base units)"),
        "{e}"
    );
}

/// A malformed `PAYMENT-REQUIRED` is the server's fault, with its own kind; nothing was paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_challenge_is_a_protocol_error() {
    let sb = sandbox().await;
    sb.warm_wallet(WALLET);
    sb.add_fault(Fault::on(hud_path(WALLET), FaultKind::MalformedChallenge).times(1));
    let c = client(&sb, funded_payer(&sb, 66));
    let e = c.wallet_hud(WALLET).await.unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
    assert_eq!(e.payment_state(), PaymentState::NotCharged);
    assert!(sb.payments().is_empty());
}

/// A network mismatch names what is offered and what is expected, and is not a budget
/// problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_mismatch_names_both_networks() {
    let sb = sandbox().await;
    sb.warm_wallet(WALLET);
    let payer = Arc::new(
        Payer::builder()
            .sova_host("127.0.0.1")
            .network(networks::SOLANA_DEVNET)
            .signer(Keypair::from_seed([67; 32]))
            .policy(Arc::new(SpendPolicy::unlimited()))
            .build()
            .unwrap(),
    );
    let c = client(&sb, payer);
    let e = c.wallet_hud(WALLET).await.unwrap_err();
    assert!(matches!(e, Error::PaymentMismatch(_)), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains(networks::SOLANA_MAINNET) && text.contains(networks::SOLANA_DEVNET),
        "{text}"
    );
    assert_eq!(e.payment_state(), PaymentState::NotCharged);
}
