//! What the SDK tells the user about their money, against the sandbox's hostile kinds,
//! counted on the sandbox ledger: raw requests never overpay, resume never pays twice, and
//! every error states its payment.
#![cfg(feature = "async")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use sova::protocol::http::Method;
use sova::protocol::jobs::PollConfig;
use sova::protocol::{Credential, RawRequest};
use sova_sandbox::{Mode, Sandbox};
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
