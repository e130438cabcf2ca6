#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, dead_code)] // criterion_group! generates undocumented items
//! Sandbox figures: start-up time of the embedded server, and paid HUD calls per second over
//! loopback with 16 concurrent clients (verification and ledger settlement included).
//! Run with `cargo bench -p sova-sandbox`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{flat_payload, sponsored_payment, v0_payment, wire};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use solana_keypair::Keypair;
use solana_signer::Signer;
use sova_sandbox::{Mode, Sandbox};

const CLIENTS: usize = 16;
const WALLET: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";

fn runtime() -> tokio::runtime::Runtime {
    common::install_crypto_provider();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn startup(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("startup");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    g.bench_function("embedded sandbox start", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let sb = rt.block_on(Sandbox::builder().start()).unwrap();
                total += t.elapsed();
                rt.block_on(sb.shutdown());
            }
            total
        })
    });
    g.finish();
}

/// Runs `per_client` paid HUD calls on each of 16 concurrent clients; returns the elapsed time.
async fn paid_round(
    sb: &Sandbox,
    payers: &[Arc<Keypair>],
    per_client: u64,
    nonce: &AtomicU64,
    mode: Mode,
) -> Duration {
    let url = format!("{}/intel/wallet/{WALLET}/hud", sb.intel_base_url());
    let treasury = sb.treasury();
    let facilitator = sb.facilitator();
    let (bh, _) = sb.latest_blockhash();
    let accepted = {
        let r = reqwest::get(&url).await.unwrap();
        let h = r
            .headers()
            .get("payment-required")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let v: serde_json::Value = serde_json::from_slice(&common::unb64(&h)).unwrap();
        v["accepts"][0].clone()
    };
    let start = Instant::now();
    let mut tasks = Vec::new();
    for p in payers {
        let p = p.clone();
        let url = url.clone();
        let accepted = accepted.clone();
        let base = nonce.fetch_add(per_client, Ordering::SeqCst);
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for i in 0..per_client {
                let memo = format!("bench-{}", base + i);
                let header = match mode {
                    Mode::Standard => common::spec_payload(
                        &accepted,
                        &wire(&sponsored_payment(
                            &p,
                            &facilitator,
                            &treasury,
                            15_000,
                            bh,
                            &memo,
                        )),
                    ),
                    _ => flat_payload(&wire(&v0_payment(&p, &treasury, 15_000, bh, &memo))),
                };
                let r = client
                    .get(&url)
                    .header("payment-signature", header)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 200);
                let _ = r.bytes().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed()
}

fn paid_hud(c: &mut Criterion) {
    let rt = runtime();
    for mode in [Mode::Sova, Mode::Standard] {
        let sb = Sandbox::builder().mode(mode).start_blocking().unwrap();
        let payers: Vec<Arc<Keypair>> = (0..CLIENTS)
            .map(|_| {
                let kp = Keypair::new();
                sb.fund_wallet(&kp.pubkey(), 100_000_000_000, 1_000_000_000_000);
                Arc::new(kp)
            })
            .collect();
        let nonce = AtomicU64::new(0);
        // A direct figure, printed for the report.
        let calls = 50u64;
        let d = rt.block_on(paid_round(&sb, &payers, calls, &nonce, mode));
        let total = calls * CLIENTS as u64;
        println!(
            "paid HUD ({}): {total} calls by {CLIENTS} clients in {:.2?} = {:.0} calls/s",
            mode.as_str(),
            d,
            total as f64 / d.as_secs_f64()
        );
        let mut g = c.benchmark_group(format!(
            "paid hud x402 {} ({CLIENTS} clients)",
            mode.as_str()
        ));
        g.sample_size(10).measurement_time(Duration::from_secs(10));
        g.throughput(Throughput::Elements(CLIENTS as u64));
        g.bench_function("16 concurrent paid calls", |b| {
            b.iter_custom(|iters| rt.block_on(paid_round(&sb, &payers, iters, &nonce, mode)))
        });
        g.finish();
        assert_eq!(sb.payments().len() as u64, nonce.load(Ordering::SeqCst));
    }
}

fn api_key_hud(c: &mut Criterion) {
    let rt = runtime();
    let sb = Sandbox::builder().start_blocking().unwrap();
    let key = sb.create_api_key(u64::MAX / 2);
    let url = format!("{}/intel/wallet/{WALLET}/hud", sb.intel_base_url());
    let mut g = c.benchmark_group(format!("api-key hud ({CLIENTS} clients)"));
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(CLIENTS as u64));
    g.bench_function("16 concurrent calls", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                let mut tasks = Vec::new();
                for _ in 0..CLIENTS {
                    let url = url.clone();
                    let key = key.clone();
                    tasks.push(tokio::spawn(async move {
                        let client = reqwest::Client::new();
                        for _ in 0..iters {
                            let r = client
                                .get(&url)
                                .header("x-api-key", &key)
                                .send()
                                .await
                                .unwrap();
                            assert_eq!(r.status().as_u16(), 200);
                            let _ = r.bytes().await.unwrap();
                        }
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

criterion_group!(benches, startup, paid_hud, api_key_hud);
criterion_main!(benches);
