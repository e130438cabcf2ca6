//! The durable ledger across real OS processes: eight processes pay through one SQLite
//! file (or one PostgreSQL server) against one sandbox, under one budget.
//!
//! The parent test starts the sandbox and re-runs this test binary as child processes
//! with `SOVA_LEDGER_CHILD` set: the same test then acts as a child); each child pays with its own
//! client and reports what happened on its last line.
#![cfg(all(feature = "blocking", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support {
    pub(crate) mod ledger_payer;
    #[cfg(feature = "postgres")]
    pub(crate) mod postgres;
}

const WALLET: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";

use std::process::Command;
use std::time::Duration;

use sova::blocking::intel;
use sova_sandbox::{Mode, Sandbox};
use sova_x402::ledger::{Query, Status};
use sova_x402::{Keypair, Ledger, programs};

/// The price of a wallet HUD (1 credit), in USDC base units.
const PRICE: u64 = 15_000;
const PROCESSES: usize = 8;
const CALLS: usize = 25;
/// The budget lets exactly this many payments through.
const ALLOWED: u64 = 100;
const SEED: u8 = 41;

/// When this process is one of a test's children (`SOVA_LEDGER_CHILD` set by the parent),
/// it pays and reports instead of running the test, and the test returns.
fn as_child() -> bool {
    match std::env::var("SOVA_LEDGER_CHILD") {
        Ok(spec) => {
            child_pays(&spec);
            true
        }
        Err(_) => false,
    }
}

/// One child: `CALLS` paid calls, then a `RESULT paid=… refused=… other=…` line.
fn child_pays(spec: &str) {
    let mut parts = spec.splitn(3, '|');
    let (base, rpc, ledger) = (
        parts.next().unwrap().to_owned(),
        parts.next().unwrap().to_owned(),
        parts.next().unwrap().to_owned(),
    );
    let ledger = Ledger::open(&ledger).unwrap();
    let payer = support::ledger_payer::payer(SEED, ALLOWED * PRICE, ledger, None);
    let client = intel::ClientBuilder::new()
        .base_url(base)
        .x402(payer)
        .rpc_url(rpc)
        .build_blocking()
        .unwrap();
    let (mut paid, mut refused, mut other) = (0, 0, Vec::new());
    for _ in 0..CALLS {
        match client.wallet_hud(WALLET) {
            Ok(hud) if hud.receipt.is_some() => paid += 1,
            Ok(_) => other.push("no receipt".to_owned()),
            Err(sova::Error::PaymentRefused(_)) => refused += 1,
            Err(e) => other.push(e.to_string()),
        }
    }
    println!("RESULT paid={paid} refused={refused} other={}", other.len());
    for o in other {
        println!("OTHER {o}");
    }
}

/// Runs `PROCESSES` children on `ledger` and returns (paid, refused, other) summed.
/// The children re-run this binary's test `test` (which acts as a child, see [`as_child`]).
fn run_children(sb: &Sandbox, ledger: &str, test: &str) -> (u64, u64, u64) {
    let exe = std::env::current_exe().unwrap();
    let spec = format!("{}|{}|{ledger}", sb.intel_base_url(), sb.rpc_url());
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            Command::new(&exe)
                .args(["--exact", test, "--nocapture", "--test-threads=1"])
                .env("SOVA_LEDGER_CHILD", &spec)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut sums = (0, 0, 0);
    for c in children {
        let out = c.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        // The test harness prints "test child_pays ... " before the child's first line.
        let line = text
            .lines()
            .find_map(|l| l.find("RESULT ").map(|i| &l[i..]))
            .unwrap_or_else(|| panic!("a child printed no result:\n{text}"));
        for l in text.lines().filter(|l| l.starts_with("OTHER ")) {
            eprintln!("{l}");
        }
        let num = |k: &str| -> u64 {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(k))
                .unwrap()
                .parse()
                .unwrap()
        };
        sums.0 += num("paid=");
        sums.1 += num("refused=");
        sums.2 += num("other=");
    }
    sums
}

fn sandbox() -> Sandbox {
    let sb = Sandbox::builder()
        .mode(Mode::Sova)
        .sync_hold(Duration::from_millis(50))
        .start_blocking()
        .unwrap();
    let kp = Keypair::from_seed([SEED; 32]);
    sb.fund_wallet(&kp.pubkey(), 1_000_000_000, 1_000_000_000);
    sb.warm_wallet(WALLET);
    sb
}

/// Checks the chain (the sandbox's settlements) against the journal and the budget.
fn check(sb: &Sandbox, ledger: &Ledger, paid: u64, refused: u64, other: u64, label: &str) {
    let settled = sb.payments();
    eprintln!(
        "{label}: {PROCESSES} processes x {CALLS} calls: paid {paid}, refused {refused}, other {other}; the sandbox settled {}",
        settled.len()
    );
    assert_eq!(
        other, 0,
        "every call either paid or was refused by the budget"
    );
    assert_eq!(
        paid, ALLOWED,
        "the budget allows exactly {ALLOWED} payments"
    );
    assert_eq!(refused, (PROCESSES * CALLS) as u64 - ALLOWED);
    assert_eq!(settled.len() as u64, ALLOWED, "overspend must be 0");
    let journal = ledger.list(Query::default()).unwrap();
    for s in &settled {
        let e = journal
            .iter()
            .find(|e| e.signature.as_deref() == Some(s.signature.as_str()))
            .unwrap_or_else(|| panic!("settled payment {} is not in the journal", s.signature));
        assert_eq!(e.status, Status::Settled, "{e:?}");
        assert!(
            e.record.is_some() && e.transaction.is_some(),
            "write-ahead record kept"
        );
    }
    let held = ledger
        .held(
            &Keypair::from_seed([SEED; 32]).pubkey().to_string(),
            sova_x402::ledger::Scope::Wallet,
            &programs::USDC_MAINNET.to_string(),
            0,
        )
        .unwrap();
    assert_eq!(
        held,
        ALLOWED * PRICE,
        "the journal holds exactly what was paid"
    );
}

#[test]
fn eight_processes_share_one_sqlite_budget() {
    if as_child() {
        return;
    }
    let sb = sandbox();
    let dir = tempfile_dir("sqlite-procs");
    let path = dir.join("ledger.sqlite3");
    let location = format!("sqlite:{}", path.display());
    let (paid, refused, other) =
        run_children(&sb, &location, "eight_processes_share_one_sqlite_budget");
    let ledger = Ledger::open(&location).unwrap();
    check(&sb, &ledger, paid, refused, other, "sqlite");
}

/// The fleet: eight processes, one PostgreSQL server (each process its own connection, as
/// machines of a fleet would have), one budget.
#[cfg(feature = "postgres")]
#[test]
fn eight_processes_share_one_postgres_budget() {
    if as_child() {
        return;
    }
    let pg = support::postgres::TestPostgres::start("fleet");
    let sb = sandbox();
    let (paid, refused, other) =
        run_children(&sb, &pg.url, "eight_processes_share_one_postgres_budget");
    let ledger = Ledger::open(&pg.url).unwrap();
    check(&sb, &ledger, paid, refused, other, "postgres");
}

/// A fresh directory under the target directory (no system temp clean-up races).
pub(crate) fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let base = std::env::var_os("CARGO_TARGET_TMPDIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!(
        "{name}-{}-{}",
        std::process::id(),
        sova_x402::ledger::new_id("")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
