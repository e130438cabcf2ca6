//! The server's money on the durable payment ledger: two servers on one SQLite file share one
//! budget and one journal, the budget survives a restart, and payments whose outcome is
//! unknown are reconciled at start, in the background and on demand (`payments`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use rmcp::ServiceExt;
use serde_json::{Value, json};
use sova_x402::Ledger;

/// A fresh ledger file path in the temporary directory.
fn ledger_file(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "sova-mcp-ledger-{name}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("ledger.sqlite3")
}

async fn connect(http: &Http) -> Client {
    User::without_elicitation()
        .serve(transport(http))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_ledger_file_share_the_budget_and_it_survives_a_restart() {
    let sb = sandbox(false).await;
    let file = ledger_file("shared");
    let location = format!("sqlite:{}", file.display());
    // Each server opens the file itself, as two processes would: two connections.
    let first = server(&sb, 61, |b| {
        b.approve_above(None)
            .budget(20_000) // 0.02 USDC a rolling day: one HUD, not two
            .ledger(Ledger::open(&location).unwrap())
    });
    let second = server(&sb, 61, |b| {
        b.approve_above(None)
            .budget(20_000)
            .ledger(Ledger::open(&location).unwrap())
    });
    assert!(first.ledger().is_durable());
    let (h1, stop1) = serve_http(first).await;
    let (h2, _stop2) = serve_http(second).await;
    let c1 = connect(&h1).await;
    let c2 = connect(&h2).await;

    // The first server pays 0.015 USDC.
    let r = call(&c1, "wallet_hud", json!({"address": WALLET})).await;
    ok(&r);
    assert_eq!(sb.payments().len(), 1);

    // The second sees the spend in its budget and its report…
    let b = call(&c2, "budget_status", json!({})).await;
    let d = ok(&b);
    assert_eq!(d["data"]["spent"]["baseUnits"], 15_000, "{}", text(&b));
    assert_eq!(d["data"]["remaining"]["baseUnits"], 5_000);
    assert_eq!(d["data"]["window"], "day");
    assert_eq!(d["data"]["ledgerDurable"], true);
    assert!(
        text(&b).contains("0.015000 of 0.020000 USDC spent"),
        "{}",
        text(&b)
    );
    let report = call(&c2, "spend_report", json!({})).await;
    assert_report_matches_ledger(&sb, ok(&report));

    // …and refuses a second HUD: the shared budget has 0.005 left. Nothing is paid.
    let r = call(&c2, "wallet_hud", json!({"address": WALLET2})).await;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    assert!(text(&r).to_lowercase().contains("budget"), "{}", text(&r));
    assert_eq!(
        sb.payments().len(),
        1,
        "nothing paid past the shared budget"
    );

    // A restart: a new server on the same file still sees the spend.
    c1.cancel().await.unwrap();
    let _ = stop1.send(());
    let third = server(&sb, 61, |b| {
        b.approve_above(None)
            .budget(20_000)
            .ledger(Ledger::open(&location).unwrap())
    });
    let (h3, _stop3) = serve_http(third).await;
    let c3 = connect(&h3).await;
    let b = call(&c3, "budget_status", json!({})).await;
    assert_eq!(ok(&b)["data"]["spent"]["baseUnits"], 15_000, "{}", text(&b));
    let p = call(&c3, "payments", json!({})).await;
    let d = ok(&p);
    assert_eq!(d["data"]["payments"].as_array().unwrap().len(), 1);
    assert_eq!(d["data"]["payments"][0]["state"], "charged");
    assert_eq!(d["data"]["payments"][0]["tool"], "wallet_hud");
    assert!(
        text(&p).contains("settled (charged) 0.015000 USDC"),
        "{}",
        text(&p)
    );
    c2.cancel().await.unwrap();
    c3.cancel().await.unwrap();
}

/// Makes one HUD payment whose outcome is unknown: the answer is lost after settlement and
/// our RPC cannot be reached. Returns the payer signature.
async fn uncertain_payment(sb: &sova_sandbox::Sandbox, client: &Client) -> String {
    // A first call warms the blockhash cache, so the next payment needs no RPC to be signed.
    ok(&call(client, "wallet_token_pnl", json!({"address": WALLET})).await);
    let drop = sb.add_fault(sova_sandbox::Fault {
        route: Some("GET /api/v1/intel/wallet/{address}/hud".into()),
        kind: sova_sandbox::FaultKind::DropAfterSettlement,
        times: Some(1),
    });
    let rpc = sb.add_fault(sova_sandbox::Fault {
        route: Some("POST /rpc".into()),
        kind: sova_sandbox::FaultKind::Status { status: 503 },
        times: None,
    });
    let r = call(client, "wallet_hud", json!({"address": WALLET})).await;
    let d = err(&r, "payment_uncertain");
    let sig = d["payment"]["signature"].as_str().unwrap().to_owned();
    sb.remove_fault(drop);
    sb.remove_fault(rpc);
    sig
}

/// The journal's state of the payment signed `sig`, through the `payments` tool.
async fn state_of(client: &Client, sig: &str) -> Value {
    let p = call(client, "payments", json!({"limit": 20})).await;
    ok(&p)["data"]["payments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["payerSignature"] == sig)
        .map(|e| e["state"].clone())
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_lists_the_journal_and_reconciles_on_demand() {
    let sb = sandbox(false).await;
    let ledger = Ledger::memory();
    let l = ledger.clone();
    // No background pass after the one at start: only the tool reconciles.
    let s = server(&sb, 62, move |b| {
        b.approve_above(None)
            .ledger(l)
            .reconcile_every(Duration::from_secs(3600))
    });
    let (h, _stop) = serve_http(s).await;
    let c = connect(&h).await;
    let sig = uncertain_payment(&sb, &c).await;
    assert_eq!(state_of(&c, &sig).await, "may_have_charged");
    let b = call(&c, "budget_status", json!({})).await;
    assert_eq!(ok(&b)["data"]["uncertainPayments"], 1, "{}", text(&b));
    // Paging: one per page, newest first, with how to get more.
    let p = call(&c, "payments", json!({"limit": 1})).await;
    let d = ok(&p);
    assert_eq!(d["data"]["payments"][0]["payerSignature"], sig.as_str());
    assert_eq!(d["data"]["hasMore"], true);
    assert!(text(&p).contains("payments with offset 1"), "{}", text(&p));
    let p = call(&c, "payments", json!({"limit": 1, "offset": 1})).await;
    assert_eq!(ok(&p)["data"]["payments"][0]["tool"], "wallet_token_pnl");
    let p = call(&c, "payments", json!({"state": "may_have_charged"})).await;
    assert_eq!(ok(&p)["data"]["payments"].as_array().unwrap().len(), 1);

    // On demand: the RPC answers again and finds the payment landed.
    let before = sb.payments().len();
    let r = call(&c, "payments", json!({"reconcile": true})).await;
    let d = ok(&r);
    assert_eq!(
        d["data"]["reconciled"]["checked"][0]["after"],
        "landed",
        "{}",
        text(&r)
    );
    assert!(
        text(&r).starts_with("Reconciled 1 payments with our RPC: 1 charged"),
        "{}",
        text(&r)
    );
    assert_eq!(state_of(&c, &sig).await, "charged");
    assert_eq!(sb.payments().len(), before, "reconciling never pays");
    let report = call(&c, "spend_report", json!({})).await;
    let rep = ok(&report);
    assert_eq!(rep["data"]["uncertain"].as_array().unwrap().len(), 0);
    assert_eq!(rep["data"]["payments"].as_array().unwrap().len(), 2);
    c.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncertain_payments_are_reconciled_at_start_and_in_the_background() {
    let sb = sandbox(false).await;
    let ledger = Ledger::memory();
    let l = ledger.clone();
    let s = server(&sb, 63, move |b| {
        b.approve_above(None)
            .ledger(l)
            .reconcile_every(Duration::from_secs(3600))
    });
    let (h, stop) = serve_http(s).await;
    let c = connect(&h).await;
    let sig = uncertain_payment(&sb, &c).await;
    assert_eq!(state_of(&c, &sig).await, "may_have_charged");
    c.cancel().await.unwrap();
    let _ = stop.send(());

    // At start: a new server on the same ledger resolves it before any tool is called.
    let l = ledger.clone();
    let s = server(&sb, 63, move |b| {
        b.approve_above(None)
            .ledger(l)
            .reconcile_every(Duration::from_secs(3600))
    });
    let guard = s.start_reconciler();
    assert!(
        eventually(|| landed(&ledger, &sig)).await,
        "resolved by the pass at start"
    );
    drop(guard);

    // In the background: a payment that becomes uncertain while the server runs is resolved
    // by the periodic pass, with no tool call.
    let l = ledger.clone();
    let s = server(&sb, 63, move |b| {
        b.approve_above(None)
            .ledger(l)
            .reconcile_every(Duration::from_millis(100))
    });
    let (h, _stop) = serve_http(s).await;
    let c = connect(&h).await;
    let sig2 = {
        // Keep the RPC down until the call ends, then let the background pass see it.
        uncertain_payment(&sb, &c).await
    };
    assert!(
        eventually(|| landed(&ledger, &sig2)).await,
        "resolved in the background"
    );
    c.cancel().await.unwrap();
}

fn landed(ledger: &Ledger, sig: &str) -> bool {
    ledger
        .list(sova_x402::ledger::Query::default())
        .unwrap()
        .iter()
        .any(|e| {
            e.signature.as_deref() == Some(sig)
                && e.status.charge() == sova_x402::ledger::Charge::Charged
        })
}

/// Polls `f` until it holds (a liveness wait, not a timing assertion).
async fn eventually(f: impl Fn() -> bool) -> bool {
    for _ in 0..600 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
