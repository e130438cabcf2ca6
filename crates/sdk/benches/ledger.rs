#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)] // criterion_group! generates undocumented items
//! The cost of the durable ledger (`cargo bench -p sova --all-features --bench ledger`):
//!
//! * per paid call against the embedded sandbox on loopback, with the in-memory ledger, a
//!   SQLite file (WAL, `synchronous = FULL`) and PostgreSQL on loopback: latency (criterion;
//!   plus median and p90 of 300 timed calls, printed) and paid calls per second with 16
//!   async tasks (printed);
//! * the disk's fsync time, the floor of a durable commit (printed);
//! * reservations per second across 8 OS processes on one SQLite file and on one PostgreSQL
//!   server, and the overspend (must be 0) (printed).
//!
//! PostgreSQL: `SOVA_TEST_POSTGRES_URL` when set, else a server started on loopback.

#[path = "../tests/support/ledger_payer.rs"]
mod ledger_payer;
#[path = "../tests/support/postgres.rs"]
mod pg;

use std::io::Write;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use sova_sandbox::{Mode, Sandbox};
use sova_x402::ledger::{
    Cap, Durability, PostgresStore, ReserveOutcome, ReserveRequest, Scope, SqliteStore,
};
use sova_x402::{Budget, Keypair, Ledger, Window};

const WALLET: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
const USDC: &str = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";

fn client(sb: &Sandbox, seed: u8, ledger: Ledger) -> sova::intel::Client {
    sb.fund_wallet(
        &Keypair::from_seed([seed; 32]).pubkey(),
        100_000_000_000,
        1_000_000_000_000,
    );
    let payer = ledger_payer::payer(seed, u64::MAX / 4, ledger, None);
    sova::intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .x402(payer)
        .rpc_url(sb.rpc_url())
        .build()
        .unwrap()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let base = std::env::var_os("CARGO_TARGET_TMPDIR")
        .map_or_else(std::env::temp_dir, std::path::PathBuf::from);
    let d = base.join(sova_x402::ledger::new_id(name));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Median and p90 of `n` sequential paid calls, and paid calls/s with 16 tasks.
fn measure(rt: &tokio::runtime::Runtime, sb: &Sandbox, label: &str, ledger: Ledger, seed: u8) {
    let c = client(sb, seed, ledger);
    rt.block_on(async {
        c.wallet_hud(WALLET).await.unwrap(); // learn the price
        let mut times = Vec::new();
        for _ in 0..300 {
            let t = Instant::now();
            c.wallet_hud(WALLET).await.unwrap();
            times.push(t.elapsed());
        }
        times.sort();
        let calls = 1600;
        let t = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..calls / 16 {
                    c.wallet_hud(WALLET).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let rate = calls as f64 / t.elapsed().as_secs_f64();
        println!(
            "ledger bench | {label}: latency median {:.0} µs, p90 {:.0} µs; {rate:.0} paid calls/s with 16 tasks",
            percentile(&times, 0.5).as_secs_f64() * 1e6,
            percentile(&times, 0.9).as_secs_f64() * 1e6,
        );
    });
}

/// The fsync floor: write 4 KiB and `fsync` 200 times.
fn fsync_floor() {
    let dir = temp_dir("sova-fsync-");
    let mut f = std::fs::File::create(dir.join("f")).unwrap();
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        f.write_all(&[7u8; 4096]).unwrap();
        f.sync_all().unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "ledger bench | fsync floor of this disk: median {:.0} µs, p90 {:.0} µs",
        percentile(&times, 0.5).as_secs_f64() * 1e6,
        percentile(&times, 0.9).as_secs_f64() * 1e6
    );
    let _ = std::fs::remove_dir_all(dir);
}

const RESERVE_CHILD: &str = "SOVA_BENCH_RESERVE_CHILD";
const PER_PROCESS: u64 = 500;
/// The budget admits 3/4 of the attempts: refusals are exercised too.
const BUDGET_UNITS: u64 = 8 * PER_PROCESS * 3 / 4;

/// A child process: `PER_PROCESS` reservations of 1 unit, printing how many were granted.
fn reserve_child(location: &str) {
    let ledger = Ledger::open(location).unwrap();
    let caps = vec![Cap {
        scope: Scope::Wallet,
        asset: USDC.to_owned(),
        budget: Budget::new(BUDGET_UNITS, Window::Day),
    }];
    let now = sova_x402::ledger::unix_ms();
    let mut granted = 0;
    for _ in 0..PER_PROCESS {
        let r = ReserveRequest {
            id: sova_x402::ledger::new_id("pay_"),
            request_id: "bench".into(),
            payer: "bench-wallet".into(),
            scope: None,
            asset: USDC.into(),
            amount: 1,
            pay_to: "treasury".into(),
            host: None,
            endpoint: None,
            caps: caps.clone(),
            per_minute: None,
            message_digest: None,
            now_ms: now,
        };
        if ledger.reserve(r).unwrap() == ReserveOutcome::Reserved {
            granted += 1;
        }
    }
    println!("GRANTED {granted}");
}

/// Reservations/s across 8 processes on one store, and the overspend.
fn reservations_across_processes(label: &str, location: &str) {
    let exe = std::env::current_exe().unwrap();
    let t = Instant::now();
    let children: Vec<_> = (0..8)
        .map(|_| {
            std::process::Command::new(&exe)
                .env(RESERVE_CHILD, location)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut granted = 0u64;
    for c in children {
        let out = c.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        granted += text
            .lines()
            .find_map(|l| l.strip_prefix("GRANTED "))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("a child printed no count: {text}"));
    }
    let elapsed = t.elapsed();
    let held = Ledger::open(location)
        .unwrap()
        .held("bench-wallet", Scope::Wallet, USDC, 0)
        .unwrap();
    let attempts = 8 * PER_PROCESS;
    println!(
        "ledger bench | {label}: {attempts} reservations across 8 processes in {:.2} s = {:.0}/s (process start included); granted {granted}, budget {BUDGET_UNITS}, held {held}, overspend {}",
        elapsed.as_secs_f64(),
        attempts as f64 / elapsed.as_secs_f64(),
        held.saturating_sub(BUDGET_UNITS)
    );
    assert_eq!(granted, BUDGET_UNITS, "exactly the budget");
    assert_eq!(held, BUDGET_UNITS, "overspend must be 0");
}

fn latency(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sb = rt
        .block_on(Sandbox::builder().mode(Mode::Sova).start())
        .unwrap();
    sb.warm_wallet(WALLET);
    let dir = temp_dir("sova-ledger-bench-");
    let pg = pg::TestPostgres::start("bench");
    let sqlite = |name: &str, d: Durability| {
        Ledger::worker(Box::new(
            SqliteStore::open(&dir.join(name)).unwrap().durability(d),
        ))
        .unwrap()
    };
    let postgres = |d: Durability| {
        Ledger::worker(Box::new(
            PostgresStore::connect(&pg.url).unwrap().durability(d),
        ))
        .unwrap()
    };
    let ledgers = [
        ("memory", Ledger::memory()),
        (
            "sqlite (WAL; write-ahead step FULL, the rest NORMAL: the default)",
            sqlite("wa.sqlite3", Durability::WriteAhead),
        ),
        (
            "sqlite (WAL, synchronous=FULL on every commit)",
            sqlite("full.sqlite3", Durability::Full),
        ),
        (
            "postgresql loopback (write-ahead step synchronous, the rest async: the default)",
            postgres(Durability::WriteAhead),
        ),
        (
            "postgresql loopback (synchronous_commit on every commit)",
            postgres(Durability::Full),
        ),
    ];
    fsync_floor();
    let mut g = c.benchmark_group("paid call by ledger");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    for (i, (label, ledger)) in ledgers.iter().enumerate() {
        measure(&rt, &sb, label, ledger.clone(), 10 + i as u8);
        let client = client(&sb, 20 + i as u8, ledger.clone());
        rt.block_on(client.wallet_hud(WALLET)).unwrap();
        g.bench_function(*label, |b| {
            b.iter(|| rt.block_on(client.wallet_hud(WALLET)).unwrap())
        });
    }
    g.finish();
    let path = dir.join("reserve.sqlite3");
    drop(Ledger::sqlite(&path).unwrap());
    reservations_across_processes("sqlite", &format!("sqlite:{}", path.display()));
    reservations_across_processes("postgresql", &pg.url);
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, latency);

fn main() {
    if let Ok(location) = std::env::var(RESERVE_CHILD) {
        reserve_child(&location);
        return;
    }
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
