//! Over 1,000 paid calls from 16 concurrent tasks with faults injected (dropped connections
//! before and after settlement, 5xx after settlement, settlement pending, expired
//! blockhashes, 503s): the payments on the sandbox ledger equal the delivered answers plus
//! the payments the client reported as possibly charged — never more.
#![cfg(feature = "async")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sova_sandbox::{Fault, FaultKind, Mode, Sandbox};
use sova_x402::{Keypair, Payer, SpendPolicy, programs};

const CALLS: u64 = 1_024;
const TASKS: u64 = 16;
const HUD: &str = "GET /api/v1/intel/wallet/{address}/hud";

fn fault(i: u64) -> Option<FaultKind> {
    match i % 16 {
        0 => Some(FaultKind::DropAfterSettlement),
        3 => Some(FaultKind::StatusAfterSettlement { status: 500 }),
        5 => Some(FaultKind::DropBeforeSettlement),
        7 => Some(FaultKind::SettlementPending),
        9 => Some(FaultKind::ExpireBlockhash),
        11 => Some(FaultKind::Status { status: 503 }),
        _ => None,
    }
}

async fn run(mode: Mode) {
    let sb = Sandbox::builder().mode(mode).start().await.unwrap();
    let kp = Keypair::from_seed([42; 32]);
    sb.fund_wallet(&kp.pubkey(), 10_000_000_000, 100_000_000);
    let policy = SpendPolicy::builder()
        .max_per_payment(programs::USDC_MAINNET, 100_000)
        .budget(programs::USDC_MAINNET, 100_000_000)
        .build();
    let payer = Arc::new(
        Payer::builder()
            .signer(kp)
            .policy(Arc::new(policy))
            .build()
            .unwrap(),
    );
    let client = sova::intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .x402(payer)
        .rpc_url(sb.rpc_url())
        .retry(sova::protocol::retry::RetryPolicy {
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            ..Default::default()
        })
        .build()
        .unwrap();
    let sb = Arc::new(sb);
    let next = Arc::new(AtomicU64::new(0));
    let (ok, uncertain, failed) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (client, sb, next) = (client.clone(), sb.clone(), next.clone());
        let (ok, uncertain, failed) = (ok.clone(), uncertain.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= CALLS {
                    break;
                }
                if let Some(kind) = fault(i).filter(|_| std::env::var("NO_FAULTS").is_err()) {
                    sb.add_fault(Fault {
                        route: Some(HUD.into()),
                        kind,
                        times: Some(1),
                    });
                }
                match client
                    .wallet_hud("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM")
                    .await
                {
                    Ok(h) => {
                        assert!(h.receipt.is_some());
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) if e.may_have_charged() => {
                        assert!(e.payment().is_some(), "{e}");

                        uncertain.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        if std::env::var("SHOW_FAILED").is_ok() {
                            eprintln!("call {i} failed: {e}");
                        }
                        assert!(e.payment().is_none_or(|_| !e.may_have_charged()));
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (ok, uncertain, failed) = (
        ok.load(Ordering::Relaxed),
        uncertain.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
    );
    let ledger = sb.payments();
    let delivered = ledger.iter().filter(|p| p.delivered).count() as u64;
    eprintln!(
        "{mode:?}: {ok} delivered, {uncertain} possibly charged, {failed} failed; ledger {} payments",
        ledger.len()
    );
    assert_eq!(ok + uncertain + failed, CALLS);
    assert_eq!(
        delivered, ok,
        "every delivered answer was paid exactly once"
    );
    assert!(
        ledger.len() as u64 <= ok + uncertain,
        "a payment was made that the client did not report"
    );
    assert!(ok >= CALLS / 2, "most calls succeed");
    // No two payments for one call: every settled transaction is distinct.
    let mut sigs: Vec<&str> = ledger.iter().map(|p| p.signature.as_str()).collect();
    sigs.sort_unstable();
    sigs.dedup();
    assert_eq!(sigs.len(), ledger.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_paid_under_faults() {
    run(Mode::Sova).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sponsored_under_faults() {
    run(Mode::Standard).await;
}
