//! One contract, three backends: the in-memory store, a SQLite file and a PostgreSQL
//! server (started by the test on loopback, or `.ci/run`'s). Reservations are atomic under
//! concurrency (no lost update), budgets count over rolling windows and scopes, the
//! duplicate memory refuses a second identical message, the journal only moves forward, and
//! unsent payments of stopped processes are reclaimed.
#![cfg(all(feature = "sqlite", feature = "postgres"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support {
    pub(crate) mod postgres;
}

use std::sync::Arc;
use std::thread;

use sova_x402::ledger::{
    Cap, Entry, Ledger, Query, ReserveOutcome, ReserveRequest, Scope, Status, Transition,
    TransitionOutcome,
};
use sova_x402::{Budget, PolicyRefusal, Window};

const USDC: &str = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
const T0: u64 = 1_800_000_000_000;
const DAY: u64 = 86_400_000;

fn request(id: &str, payer: &str, amount: u64, now_ms: u64, caps: Vec<Cap>) -> ReserveRequest {
    ReserveRequest {
        id: id.to_owned(),
        request_id: format!("req_{id}"),
        payer: payer.to_owned(),
        scope: None,
        asset: USDC.to_owned(),
        amount,
        pay_to: "treasury".to_owned(),
        host: Some("api.sova-intel.com".to_owned()),
        endpoint: Some("intel.wallet_hud".to_owned()),
        caps,
        per_minute: None,
        message_digest: None,
        now_ms,
    }
}

fn pool(amount: u64, window: Window) -> Vec<Cap> {
    vec![Cap {
        scope: Scope::Wallet,
        asset: USDC.to_owned(),
        budget: Budget::new(amount, window),
    }]
}

fn refused(o: &ReserveOutcome) -> bool {
    matches!(o, ReserveOutcome::Refused(_))
}

/// Every rule of the contract, on one backend.
fn contract(ledger: &Ledger, label: &str) {
    let w = format!("wallet-{label}");
    // A budget of 3 payments of 10 over a rolling day.
    let caps = pool(30, Window::Day);
    for i in 0..3 {
        let o = ledger
            .reserve(request(
                &format!("{label}-a{i}"),
                &w,
                10,
                T0 + i,
                caps.clone(),
            ))
            .unwrap();
        assert_eq!(o, ReserveOutcome::Reserved, "{label}");
    }
    let o = ledger
        .reserve(request(
            &format!("{label}-a3"),
            &w,
            10,
            T0 + 3,
            caps.clone(),
        ))
        .unwrap();
    match o {
        ReserveOutcome::Refused(PolicyRefusal::OverBudget {
            spent, remaining, ..
        }) => assert_eq!((spent, remaining), (30, 0), "{label}"),
        other => panic!("{label}: {other:?}"),
    }
    // The same id again is the same reservation (idempotent), not a new one.
    assert_eq!(
        ledger
            .reserve(request(
                &format!("{label}-a0"),
                &w,
                10,
                T0 + 4,
                caps.clone()
            ))
            .unwrap(),
        ReserveOutcome::Reserved
    );
    assert_eq!(ledger.held(&w, Scope::Wallet, USDC, 0).unwrap(), 30);
    // Released before sending: the budget comes back.
    let rel = Transition::new(&format!("{label}-a2"), Status::Released, T0 + 5);
    assert_eq!(ledger.transition(rel).unwrap(), TransitionOutcome::Applied);
    assert_eq!(ledger.held(&w, Scope::Wallet, USDC, 0).unwrap(), 20);
    // The journal moves forward only: a released payment cannot be sent.
    let sent = Transition::new(&format!("{label}-a2"), Status::Sent, T0 + 6);
    assert_eq!(
        ledger.transition(sent).unwrap(),
        TransitionOutcome::Conflict(Status::Released)
    );
    assert_eq!(
        ledger
            .transition(Transition::new("nope", Status::Sent, T0))
            .unwrap(),
        TransitionOutcome::NotFound
    );
    // signed → sent → settled, then landed (the chain confirms); never back to sent.
    let id0 = format!("{label}-a0");
    for s in [
        Status::Signed,
        Status::Sent,
        Status::Settled,
        Status::Landed,
    ] {
        assert_eq!(
            ledger.transition(Transition::new(&id0, s, T0 + 7)).unwrap(),
            TransitionOutcome::Applied,
            "{label} {s}"
        );
    }
    assert!(matches!(
        ledger
            .transition(Transition::new(&id0, Status::Sent, T0 + 8))
            .unwrap(),
        TransitionOutcome::Conflict(Status::Landed)
    ));
    // A day later the window has rolled: the budget is whole again.
    assert_eq!(
        ledger
            .reserve(request(
                &format!("{label}-b0"),
                &w,
                30,
                T0 + DAY + 10,
                caps.clone()
            ))
            .unwrap(),
        ReserveOutcome::Reserved
    );
    // Another wallet has a budget of its own.
    assert_eq!(
        ledger
            .reserve(request(
                &format!("{label}-c0"),
                &format!("{w}-2"),
                30,
                T0,
                caps
            ))
            .unwrap(),
        ReserveOutcome::Reserved
    );
    // Sub-caps inside a pool: the agent may spend 15 of the wallet's 100.
    let sw = format!("{w}-scoped");
    let scoped = vec![
        Cap {
            scope: Scope::Wallet,
            asset: USDC.to_owned(),
            budget: Budget::new(100, Window::Total),
        },
        Cap {
            scope: Scope::Named("agent".into()),
            asset: USDC.to_owned(),
            budget: Budget::new(15, Window::Total),
        },
    ];
    let mut r = request(&format!("{label}-s0"), &sw, 10, T0, scoped.clone());
    r.scope = Some("agent".into());
    assert_eq!(ledger.reserve(r.clone()).unwrap(), ReserveOutcome::Reserved);
    r.id = format!("{label}-s1");
    assert!(
        refused(&ledger.reserve(r.clone()).unwrap()),
        "{label}: sub-cap"
    );
    let mut other = request(&format!("{label}-s2"), &sw, 80, T0, scoped);
    other.scope = Some("bot".into());
    assert_eq!(ledger.reserve(other).unwrap(), ReserveOutcome::Reserved);
    // Payments per minute, shared.
    let pw = format!("{w}-rate");
    for i in 0..2 {
        let mut r = request(
            &format!("{label}-p{i}"),
            &pw,
            1,
            T0 + i,
            pool(100, Window::Total),
        );
        r.per_minute = Some(2);
        assert_eq!(ledger.reserve(r).unwrap(), ReserveOutcome::Reserved);
    }
    let mut r = request(
        &format!("{label}-p2"),
        &pw,
        1,
        T0 + 2,
        pool(100, Window::Total),
    );
    r.per_minute = Some(2);
    assert!(matches!(
        ledger.reserve(r.clone()).unwrap(),
        ReserveOutcome::Refused(PolicyRefusal::RateLimited { .. })
    ));
    r.now_ms = T0 + 61_000;
    assert_eq!(ledger.reserve(r).unwrap(), ReserveOutcome::Reserved);
    // The duplicate memory.
    let mut d = request(
        &format!("{label}-d0"),
        &format!("{w}-dup"),
        1,
        T0,
        pool(100, Window::Total),
    );
    d.message_digest = Some(format!("{label}-digest"));
    assert_eq!(ledger.reserve(d.clone()).unwrap(), ReserveOutcome::Reserved);
    d.id = format!("{label}-d1");
    assert_eq!(ledger.reserve(d).unwrap(), ReserveOutcome::Duplicate);
    // Reclaim: reservations idle since before the cut-off are released; signed and sent
    // payments stay for the chain to decide.
    let rw = format!("{w}-reclaim");
    for (i, s) in [Status::Reserved, Status::Signed, Status::Sent]
        .iter()
        .enumerate()
    {
        let id = format!("{label}-r{i}");
        ledger
            .reserve(request(&id, &rw, 1, T0, pool(100, Window::Total)))
            .unwrap();
        if *s != Status::Reserved {
            ledger
                .transition(Transition::new(&id, Status::Signed, T0))
                .unwrap();
        }
        if *s == Status::Sent {
            ledger
                .transition(Transition::new(&id, Status::Sent, T0))
                .unwrap();
        }
    }
    let mut ids = ledger.reclaim(T0 + 1, T0 + 2).unwrap();
    ids.retain(|i| i.starts_with(&format!("{label}-r")));
    ids.sort();
    assert_eq!(ids, vec![format!("{label}-r0")], "{label}");
    let listed: Vec<Entry> = ledger
        .list(Query {
            payer: Some(rw),
            ..Query::default()
        })
        .unwrap();
    let open: Vec<&Entry> = listed
        .iter()
        .filter(|e| e.status.needs_reconciliation())
        .collect();
    assert_eq!(open.len(), 2, "{label}: signed and sent wait for the chain");
}

/// 16 threads race for a budget of 50 payments: exactly 50 get through.
fn race(ledger: &Ledger, label: &str) {
    let w = format!("race-{label}");
    let ledger = Arc::new(ledger.clone());
    let handles: Vec<_> = (0..16)
        .map(|t| {
            let (ledger, w, label) = (Arc::clone(&ledger), w.clone(), label.to_owned());
            thread::spawn(move || {
                let mut ok = 0;
                for i in 0..10 {
                    let r = request(
                        &format!("{label}-race-{t}-{i}"),
                        &w,
                        7,
                        T0,
                        pool(350, Window::Day),
                    );
                    if ledger.reserve(r).unwrap() == ReserveOutcome::Reserved {
                        ok += 1;
                    }
                }
                ok
            })
        })
        .collect();
    let total: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, 50, "{label}: no lost update");
    assert_eq!(ledger.held(&w, Scope::Wallet, USDC, 0).unwrap(), 350);
}

#[test]
fn memory_store_keeps_the_contract() {
    let l = Ledger::memory();
    contract(&l, "mem");
    race(&l, "mem");
}

#[test]
fn sqlite_store_keeps_the_contract_across_handles() {
    let dir = std::env::temp_dir().join(sova_x402::ledger::new_id("sova-ledger-test-"));
    let path = dir.join("nested").join("ledger.sqlite3");
    let l = Ledger::sqlite(&path).unwrap();
    contract(&l, "sqlite");
    // Two handles on one file (two processes' worth of connections) race for one budget.
    let l2 = Ledger::sqlite(&path).unwrap();
    race(&l2, "sqlite");
    assert_eq!(
        l.held("race-sqlite", Scope::Wallet, USDC, 0).unwrap(),
        350,
        "a second connection sees the same journal"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn postgres_store_keeps_the_contract() {
    let pg = support::postgres::TestPostgres::start("contract");
    let l = Ledger::open(&pg.url).unwrap();
    contract(&l, "pg");
    // Separate connections race: the advisory lock serializes each wallet's reservations.
    let handles: Vec<Ledger> = (0..4).map(|_| Ledger::open(&pg.url).unwrap()).collect();
    let w = "race-pg-multi";
    let threads: Vec<_> = handles
        .into_iter()
        .enumerate()
        .map(|(t, l)| {
            thread::spawn(move || {
                (0..20)
                    .filter(|i| {
                        let r = request(&format!("pgm-{t}-{i}"), w, 5, T0, pool(100, Window::Day));
                        l.reserve(r).unwrap() == ReserveOutcome::Reserved
                    })
                    .count()
            })
        })
        .collect();
    let got: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(got, 20, "exactly the budget, across connections");
    race(&l, "pg");
    // The location never shows the password.
    assert!(!format!("{l:?}").contains("password"));
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_error() {
    let dir = std::env::temp_dir().join(sova_x402::ledger::new_id("sova-ledger-schema-"));
    let path = dir.join("ledger.sqlite3");
    drop(Ledger::sqlite(&path).unwrap());
    let c = postgres_free_sqlite_bump(&path);
    assert!(c, "bumped");
    let e = Ledger::sqlite(&path).unwrap_err().to_string();
    assert!(e.contains("newer than this SDK"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Sets the file's schema version above this SDK's.
fn postgres_free_sqlite_bump(path: &std::path::Path) -> bool {
    sova_x402::ledger::testing::set_schema_version(path, 999).is_ok()
}
