//! The blocking clients against the embedded sandbox: API key, x402 (both modes), a job,
//! SovX, and a call from inside a tokio runtime (no hidden runtime in the blocking client).
#![cfg(feature = "blocking")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use sova::blocking::{intel, sx};
use sova::protocol::jobs::PollConfig;
use sova_sandbox::{Mode, Sandbox};
use sova_x402::{Keypair, Payer, SpendPolicy, programs};

const WALLET: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
const MINT: &str = "So11111111111111111111111111111111111111112";

fn sandbox(mode: Mode) -> Sandbox {
    Sandbox::builder()
        .mode(mode)
        .sync_hold(Duration::from_millis(200))
        .job_duration(Duration::from_millis(100))
        .start_blocking()
        .unwrap()
}

fn poll() -> PollConfig {
    PollConfig {
        interval: Duration::from_millis(20),
        max_wait: Duration::from_secs(20),
    }
}

fn x402(sb: &Sandbox, seed: u8) -> intel::Client {
    let kp = Keypair::from_seed([seed; 32]);
    sb.fund_wallet(&kp.pubkey(), 1_000_000_000, 5_000_000);
    let policy = SpendPolicy::builder()
        .max_per_payment(programs::USDC_MAINNET, 1_000_000)
        .budget(programs::USDC_MAINNET, 2_000_000)
        .build();
    let payer = Payer::builder()
        .sova_host("127.0.0.1") // the sandbox in Sova mode
        .signer(kp)
        .policy(Arc::new(policy))
        .build()
        .unwrap();
    intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .x402(Arc::new(payer))
        .rpc_url(sb.rpc_url())
        .poll(poll())
        .build_blocking()
        .unwrap()
}

#[test]
fn api_key_and_jobs() {
    let sb = sandbox(Mode::Sova);
    let key = sb.create_api_key(100);
    // The blocking client's own builder builds the blocking client.
    let client: intel::Client = intel::Client::builder()
        .base_url(sb.intel_base_url())
        .api_key(key.clone())
        .poll(poll())
        .build()
        .unwrap();
    let hud = client.wallet_hud(WALLET).unwrap();
    assert!(hud.receipt.is_none());
    let agent = client.holders_agent_wait(MINT, 3).unwrap();
    assert!(!agent.profiles.is_empty());
    assert_eq!(sb.credits(&key), Some(100 - 1 - 20));
    let e = intel::ClientBuilder::new()
        .api_key("not-a-key")
        .build_blocking()
        .unwrap_err();
    assert!(
        !e.to_string().contains("not-a-key"),
        "errors never echo the key: {e}"
    );
}

#[test]
fn x402_in_both_modes() {
    for (mode, seed) in [(Mode::Sova, 11), (Mode::Standard, 12)] {
        let sb = sandbox(mode);
        let client = x402(&sb, seed);
        for _ in 0..3 {
            let hud = client.wallet_hud(WALLET).unwrap();
            assert_eq!(hud.receipt.as_ref().unwrap().amount, 15_000);
        }
        let ledger = sb.payments();
        assert_eq!(ledger.len(), 3, "{mode:?}");
        assert!(ledger.iter().all(|p| p.delivered && p.amount == 15_000));
    }
}

#[test]
fn works_inside_an_async_runtime() {
    let sb = sandbox(Mode::Sova);
    let client = x402(&sb, 13);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let hud = rt.block_on(async move {
        tokio::task::spawn_blocking(move || client.wallet_hud(WALLET))
            .await
            .unwrap()
    });
    assert!(hud.unwrap().receipt.is_some());
}

#[test]
fn sovx_owner_and_user_tokens() {
    let sb = sandbox(Mode::Sova);
    let owner = sx::ClientBuilder::new()
        .base_url(sb.sovx_base_url())
        .owner_key(sb.sovx_owner_key())
        .build_blocking()
        .unwrap();
    assert_eq!(owner.health().unwrap().status, "ok");
    let currencies = owner.currencies().unwrap();
    assert!(!currencies.data.is_empty());
    // A client without the owner key cannot onboard: refused before anything is sent.
    let anonymous = sx::ClientBuilder::new()
        .base_url(sb.sovx_base_url())
        .build_blocking()
        .unwrap();
    let e = anonymous.currencies().unwrap_err();
    assert_eq!(e.reached(), sova::Reached::No);
    // A wrong owner key reaches the server and is refused with the documented envelope.
    let wrong = sx::ClientBuilder::new()
        .base_url(sb.sovx_base_url())
        .owner_key("wrong-key")
        .build_blocking()
        .unwrap();
    let e = wrong.currencies().unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(401));
    assert!(e.api().unwrap().trace_id.is_some());
}
