//! Crash recovery: processes paying through one SQLite ledger are killed with SIGKILL at
//! random points — after the reservation, after signing, after the send, and after the
//! answer but before the journal update — then a restarted client reconciles once the
//! blockhashes expire. Every payment on the chain must be in the journal, none paid twice,
//! the budget must hold at least what the chain took, and nothing may stay stuck.
//!
//! The children are this test binary, re-running this test with `SOVA_CRASH_CHILD` set (it
//! then acts as a child). Each wraps the SQLite store to kill itself at its point, on a call chosen at
//! random.
#![cfg(all(feature = "blocking", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support {
    pub(crate) mod ledger_payer;
}

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sova::blocking::intel;
use sova_sandbox::{Mode, Sandbox};
use sova_x402::ledger::{Op, Query, Reply, SqliteStore, Status, Store};
use sova_x402::{Keypair, Ledger, programs};

const WALLET: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
const SEED: u8 = 43;
const PRICE: u64 = 15_000;
/// Children per kill point, and calls each child makes at most.
const CHILDREN: usize = 6;
const CALLS: usize = 20;
const POINTS: [&str; 4] = ["reserve", "sign", "send", "answer"];

/// Kills this process with SIGKILL (no destructor, no flush: a real crash).
fn die() -> ! {
    let _ = Command::new("kill")
        .args(["-9", &std::process::id().to_string()])
        .status();
    std::thread::sleep(Duration::from_secs(10));
    unreachable!("SIGKILL did not arrive");
}

/// A SQLite store that kills the process at `point` of the `victim`-th payment.
struct CrashStore {
    inner: SqliteStore,
    point: &'static str,
    victim: usize,
    reserved: Arc<AtomicUsize>,
    victim_id: Option<String>,
}

impl Store for CrashStore {
    fn apply(&mut self, ops: &[Op]) -> Result<Vec<Reply>, sova_x402::ledger::LedgerError> {
        // "answer": the server answered; the journal update never happens.
        if self.point == "answer"
            && let Some(id) = &self.victim_id
            && ops.iter().any(|o| {
                matches!(o, Op::Transition(t) if &t.id == id && t.to != Status::Signed && t.to != Status::Sent)
            })
        {
            die();
        }
        let replies = self.inner.apply(ops)?;
        for (op, reply) in ops.iter().zip(&replies) {
            match op {
                // Only a granted reservation is a payment (a duplicate digest is retried).
                Op::Reserve(r)
                    if *reply == Reply::Reserve(sova_x402::ledger::ReserveOutcome::Reserved) =>
                {
                    let n = self.reserved.fetch_add(1, Ordering::SeqCst);
                    if n == self.victim {
                        self.victim_id = Some(r.id.clone());
                        if self.point == "reserve" {
                            die();
                        }
                    }
                }
                Op::Transition(t) if Some(&t.id) == self.victim_id.as_ref() => {
                    if self.point == "sign" && t.to == Status::Signed {
                        die();
                    }
                    if self.point == "send" && t.to == Status::Sent {
                        // The request leaves right after this write: die while it is in
                        // flight (the server may or may not have it).
                        let delay = 1 + (std::process::id() % 15);
                        std::thread::spawn(move || {
                            std::thread::sleep(Duration::from_millis(u64::from(delay)));
                            die();
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(replies)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

fn client(base: &str, rpc: &str, ledger: Ledger, scope: &str) -> intel::Client {
    let payer = support::ledger_payer::payer(SEED, 1_000 * PRICE, ledger, Some(scope));
    intel::ClientBuilder::new()
        .base_url(base)
        .x402(payer)
        .rpc_url(rpc)
        .build_blocking()
        .unwrap()
}

/// A child (run by the test with `SOVA_CRASH_CHILD` set): pays until it kills itself at its
/// point.
fn child_crashes(spec: &str) {
    let p: Vec<&str> = spec.split('|').collect();
    let (base, rpc, path, point, victim) = (p[0], p[1], p[2], p[3], p[4].parse().unwrap());
    let point = POINTS.iter().find(|x| **x == point).copied().unwrap();
    let store = CrashStore {
        inner: SqliteStore::open(std::path::Path::new(path)).unwrap(),
        point,
        victim,
        reserved: Arc::default(),
        victim_id: None,
    };
    let client = client(base, rpc, Ledger::worker(Box::new(store)).unwrap(), point);
    for _ in 0..CALLS {
        let _ = client.wallet_hud(WALLET);
    }
    // A kill scheduled during the last send still lands before this.
    std::thread::sleep(Duration::from_millis(200));
    println!("SURVIVED");
}

#[test]
fn sigkill_at_every_point_then_recover() {
    if let Ok(spec) = std::env::var("SOVA_CRASH_CHILD") {
        child_crashes(&spec);
        return;
    }
    let sb = Sandbox::builder()
        .mode(Mode::Sova)
        .sync_hold(Duration::from_millis(50))
        .start_blocking()
        .unwrap();
    sb.fund_wallet(
        &Keypair::from_seed([SEED; 32]).pubkey(),
        1_000_000_000,
        1_000_000_000,
    );
    sb.warm_wallet(WALLET);
    let dir = std::env::temp_dir().join(sova_x402::ledger::new_id("sova-crash-"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ledger.sqlite3");
    let exe = std::env::current_exe().unwrap();
    let mut killed = HashMap::new();
    for point in POINTS {
        for c in 0..CHILDREN {
            // The call to die on: spread over the run, different per child.
            let victim = (c * 7 + point.len() * 3) % CALLS;
            let spec = format!(
                "{}|{}|{}|{point}|{victim}",
                sb.intel_base_url(),
                sb.rpc_url(),
                path.display()
            );
            let out = Command::new(&exe)
                .args([
                    "--exact",
                    "sigkill_at_every_point_then_recover",
                    "--nocapture",
                ])
                .env("SOVA_CRASH_CHILD", &spec)
                .output()
                .unwrap();
            let survived = String::from_utf8_lossy(&out.stdout).contains("SURVIVED");
            assert!(!survived, "the child at {point}/{victim} was not killed");
            *killed.entry(point).or_insert(0) += 1;
        }
    }
    let ledger = Ledger::sqlite(&path).unwrap();
    // The chain (the sandbox's settlements) before recovery.
    let chain = sb.payments();
    // A restarted process reconciles once every blockhash has expired.
    sb.expire_blockhashes();
    let restarted = client(
        &sb.intel_base_url(),
        &sb.rpc_url(),
        ledger.clone(),
        "restart",
    );
    let report = restarted
        .reconcile_pending_reclaiming_after(Duration::ZERO)
        .unwrap();
    let after = ledger.list(Query::default()).unwrap();
    let by_sig: HashMap<&str, &sova_x402::ledger::Entry> = after
        .iter()
        .filter_map(|e| e.signature.as_deref().map(|s| (s, e)))
        .collect();
    let chain_sigs: HashSet<&str> = chain.iter().map(|p| p.signature.as_str()).collect();
    let stuck: Vec<_> = after.iter().filter(|e| !e.status.is_final()).collect();
    let mut requests = HashSet::new();
    let mut double = 0;
    for p in &chain {
        let e = by_sig
            .get(p.signature.as_str())
            .unwrap_or_else(|| panic!("chain payment {} is not in the journal", p.signature));
        assert!(
            matches!(e.status, Status::Settled | Status::Landed),
            "a landed payment must end charged: {e:?}"
        );
        if !requests.insert(e.request_id.clone()) {
            double += 1;
        }
    }
    // The crash table: per kill point, calls, chain payments, journaled, double, stuck.
    eprintln!(
        "| kill point | processes killed | paid calls | chain payments | journaled | double | stuck |"
    );
    eprintln!("|---|---|---|---|---|---|---|");
    for point in POINTS {
        let mine: Vec<&sova_x402::ledger::Entry> = after
            .iter()
            .filter(|e| e.scope.as_deref() == Some(point))
            .collect();
        let on_chain = mine
            .iter()
            .filter(|e| {
                e.signature
                    .as_deref()
                    .is_some_and(|s| chain_sigs.contains(s))
            })
            .count();
        let mut reqs = HashSet::new();
        let dbl = mine
            .iter()
            .filter(|e| {
                e.signature
                    .as_deref()
                    .is_some_and(|s| chain_sigs.contains(s))
            })
            .filter(|e| !reqs.insert(e.request_id.clone()))
            .count();
        eprintln!(
            "| {point} | {} | {} | {on_chain} | {} | {dbl} | {} |",
            killed[point],
            mine.len(),
            mine.len(),
            mine.iter().filter(|e| !e.status.is_final()).count()
        );
    }
    let chain_total: u64 = chain.iter().map(|p| p.amount).sum();
    let held = ledger
        .held(
            &Keypair::from_seed([SEED; 32]).pubkey().to_string(),
            sova_x402::ledger::Scope::Wallet,
            &programs::USDC_MAINNET.to_string(),
            0,
        )
        .unwrap();
    let count = |s: Status| after.iter().filter(|e| e.status == s).count();
    eprintln!(
        "{} processes killed ({} per point), {} payments journaled; chain {} payments ({} base units); after recovery: settled {}, landed {}, expired {}, released {}, failed {}; reconcile checked {}, reclaimed {}; double {double}; stuck {}",
        POINTS.len() * CHILDREN,
        CHILDREN,
        after.len(),
        chain.len(),
        chain_total,
        count(Status::Settled),
        count(Status::Landed),
        count(Status::Expired),
        count(Status::Released),
        count(Status::Failed),
        report.checked.len(),
        report.reclaimed.len(),
        stuck.len()
    );
    assert!(
        after.len() >= 200,
        "at least 200 paid calls: {}",
        after.len()
    );
    assert_eq!(double, 0, "no logical request paid twice");
    assert!(held >= chain_total, "budget {held} < chain {chain_total}");
    assert!(stuck.is_empty(), "stuck after recovery: {stuck:?}");
    let _ = std::fs::remove_dir_all(dir);
}
