//! The payment ledger on the command line: `--budget` counted across runs in a shared
//! `--ledger` file, `sova payments list | show | reconcile | report`, reconciliation at the
//! start of a paying command, and payment events on stderr. Each case runs the `sova` binary
//! against the embedded sandbox.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::*;
use sova_sandbox::{Fault, FaultKind, Mode};

/// Exit codes, as documented in `sova --help`.
mod code {
    pub(crate) const OK: i32 = 0;
    pub(crate) const FAILURE: i32 = 1;
    pub(crate) const POLICY: i32 = 3;
    pub(crate) const CHARGED: i32 = 6;
}

const HUD: &str = "GET /api/v1/intel/wallet/{address}/hud";

/// A ledger file in a directory of its own (not the test's HOME, so nothing else uses it).
fn ledger_file(name: &str) -> (PathBuf, String) {
    let dir = temp_dir(name);
    let file = dir.join("ledger.sqlite3");
    let s = file.to_str().unwrap().to_owned();
    (dir, s)
}

#[test]
fn three_runs_with_budget_0_02_pay_once_and_the_other_two_exit_3() {
    let env = Env::new("budget-runs", Mode::Sova);
    let (dir, ledger) = ledger_file("budget-runs-ledger");
    let hud = [
        "--ledger", &ledger, "--budget", "0.02", "intel", "hud", WALLET,
    ];
    env.run(&hud).expect(code::OK);
    for _ in 0..2 {
        let r = env.run(&hud).expect(code::POLICY);
        assert!(r.stderr.contains("budget"), "{}", r.stderr);
    }
    let paid = env.my_payments();
    assert_eq!(paid.len(), 1, "one payment in three runs");
    assert_eq!(paid[0].amount, 15_000);
    // The journal holds the one payment, settled.
    let l = env
        .run(&["--ledger", &ledger, "--json", "payments", "list"])
        .expect(code::OK)
        .json();
    let list = l["payments"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{l:#}");
    assert_eq!(list[0]["status"], "settled");
    assert_eq!(list[0]["amount"], 15_000);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn list_show_and_report_read_the_journal() {
    let env = Env::new("payments-read", Mode::Sova);
    let (dir, ledger) = ledger_file("payments-read-ledger");
    let with = |args: &[&str]| {
        let mut all = vec!["--ledger", ledger.as_str()];
        all.extend_from_slice(args);
        env.run(&all)
    };
    // Nothing yet.
    let r = with(&["payments", "list"]).expect(code::OK);
    assert!(r.stdout.contains("no payments"), "{}", r.stdout);
    with(&["intel", "hud", WALLET]).expect(code::OK);
    with(&["intel", "pricing"]).expect(code::OK);
    let sig = env.my_payments()[0].payer_signature.clone();

    // The table: amount in USDC with base units, status, endpoint, signature.
    let r = with(&["payments", "list"]).expect(code::OK);
    for needle in ["0.015000 (15000)", "settled", "hud", sig.as_str(), "STATUS"] {
        assert!(r.stdout.contains(needle), "{needle:?} in:\n{}", r.stdout);
    }
    let l = with(&["--json", "payments", "list", "--status", "settled"])
        .expect(code::OK)
        .json();
    let e = &l["payments"][0];
    let id = e["id"].as_str().unwrap().to_owned();
    assert_eq!(e["signature"], sig.as_str());
    assert_eq!(e["amountUsdc"], "0.015000");
    assert_eq!(e["charge"], "charged");
    assert!(e["record"]["blockhash"].is_string(), "{e:#}");
    let none = with(&["--json", "payments", "list", "--status", "expired"])
        .expect(code::OK)
        .json();
    assert_eq!(none["payments"].as_array().unwrap().len(), 0);

    // One payment in full, by id or by signature.
    let r = with(&["payments", "show", &id]).expect(code::OK);
    for needle in [
        "blockhash",
        "last valid height",
        "source account",
        "15000 base units",
    ] {
        assert!(r.stdout.contains(needle), "{needle:?} in:\n{}", r.stdout);
    }
    let by_sig = with(&["--json", "payments", "show", &sig])
        .expect(code::OK)
        .json();
    assert_eq!(by_sig["id"], id.as_str());
    let r = with(&["payments", "show", "pay_nope"]).expect(code::FAILURE);
    assert!(r.stderr.contains("no payment pay_nope"), "{}", r.stderr);

    // The report: totals per status and per day; the CSV over a time range.
    let rep = with(&["--json", "payments", "report", "--since", "1d"])
        .expect(code::OK)
        .json();
    assert_eq!(rep["total"]["count"], 1, "{rep:#}");
    assert_eq!(rep["total"]["charged"], 15_000);
    assert_eq!(rep["byStatus"][0]["status"], "settled");
    assert_eq!(rep["byDay"].as_array().unwrap().len(), 1);
    let r = with(&["payments", "report"]).expect(code::OK);
    assert!(r.stdout.contains("payments by day"), "{}", r.stdout);
    let csv = with(&["payments", "report", "--csv", "--since", "2020-01-01"]).expect(code::OK);
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.stdout);
    assert!(lines[0].starts_with("id,request_id,created,updated,status,charge,amount"));
    assert!(lines[1].contains(&sig) && lines[1].contains(",settled,charged,15000,0.015000,"));
    // A range with nothing in it: the header alone.
    let csv = with(&["payments", "report", "--csv", "--until", "2020-01-01"]).expect(code::OK);
    assert_eq!(csv.stdout.lines().count(), 1, "{}", csv.stdout);
    let _ = std::fs::remove_dir_all(dir);
}

/// Every paid request of the HUD is dropped before the sandbox settles it: the call ends
/// with its payment uncertain (exit 6), journaled, never on the chain.
fn lose_a_payment(env: &Env, ledger: &str) -> String {
    env.sb
        .add_fault(Fault::on(HUD, FaultKind::DropBeforeSettlement).times(50));
    let r = env.run(&[
        "--ledger",
        ledger,
        "--timeout",
        "3",
        "--budget",
        "0.02",
        "intel",
        "hud",
        WALLET,
    ]);
    assert_eq!(r.code, code::CHARGED, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("sova payments reconcile"),
        "the hint names the command that reconciles:\n{}",
        r.stderr
    );
    env.sb.clear_faults();
    assert!(env.my_payments().is_empty(), "nothing settled");
    let l = env
        .run(&["--ledger", ledger, "--json", "payments", "list"])
        .expect(code::OK)
        .json();
    let e = &l["payments"][0];
    assert!(e["status"] == "uncertain" || e["status"] == "sent", "{l:#}");
    e["id"].as_str().unwrap().to_owned()
}

#[test]
fn payments_reconcile_exits_6_while_uncertain_then_releases_the_expired_payment() {
    let env = Env::new("reconcile-cmd", Mode::Sova);
    let (dir, ledger) = ledger_file("reconcile-cmd-ledger");
    let id = lose_a_payment(&env, &ledger);
    // Its blockhash is still valid: it may still land.
    let r = env
        .run(&["--ledger", &ledger, "payments", "reconcile"])
        .expect(code::CHARGED);
    assert!(
        r.stdout.contains(&id) && r.stdout.contains("still"),
        "{}",
        r.stdout
    );
    // The chain moves past its blockhash: our RPC proves it can never land.
    env.sb.expire_blockhashes();
    let r = env
        .run(&["--ledger", &ledger, "--json", "payments", "reconcile"])
        .expect(code::OK)
        .json();
    assert_eq!(r["checked"][0]["id"], id.as_str(), "{r:#}");
    assert_eq!(r["checked"][0]["after"], "expired");
    assert_eq!(r["releasedAmount"], 15_000);
    assert_eq!(r["pending"], 0);
    // Its budget came back: the same budget pays again.
    env.run(&[
        "--ledger", &ledger, "--budget", "0.02", "intel", "hud", WALLET,
    ])
    .expect(code::OK);
    assert_eq!(env.my_payments().len(), 1);
    // Nothing open: reconcile says so.
    let r = env
        .run(&["--ledger", &ledger, "payments", "reconcile"])
        .expect(code::OK);
    assert!(r.stdout.contains("nothing to reconcile"), "{}", r.stdout);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_paying_command_reconciles_what_an_earlier_run_left_open() {
    let env = Env::new("reconcile-start", Mode::Sova);
    let (dir, ledger) = ledger_file("reconcile-start-ledger");
    let id = lose_a_payment(&env, &ledger);
    env.sb.expire_blockhashes();
    // Without reconciliation the lost 0.015 would still hold the 0.02 budget (exit 3).
    let r = env
        .run(&[
            "--ledger", &ledger, "--budget", "0.02", "intel", "hud", WALLET,
        ])
        .expect(code::OK);
    assert!(
        r.stderr.contains(&id) && r.stderr.contains("expired"),
        "{}",
        r.stderr
    );
    let s = env
        .run(&["--ledger", &ledger, "--json", "payments", "show", &id])
        .expect(code::OK)
        .json();
    assert_eq!(s["status"], "expired");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn payment_events_are_logged_on_stderr_with_v_and_never_a_secret() {
    let env = Env::new("events", Mode::Sova);
    let (dir, ledger) = ledger_file("events-ledger");
    let r = env
        .run(&["--ledger", &ledger, "intel", "hud", WALLET])
        .expect(code::OK);
    assert!(!r.stderr.contains("payment event"), "{}", r.stderr);
    let r = env
        .run(&["--ledger", &ledger, "-v", "intel", "hud", WALLET2])
        .expect(code::OK);
    for status in ["reserved", "signed", "sent", "settled"] {
        assert!(
            r.stderr.contains("payment event") && r.stderr.contains(&format!("status={status}")),
            "{status}:\n{}",
            r.stderr
        );
    }
    // RUST_LOG chooses too.
    let r: Run = sova_cmd(&env.home)
        .env("RUST_LOG", "sova::payments=info")
        .args(env.globals())
        .args(["--ledger", &ledger, "intel", "hud", WALLET])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, code::OK, "{}", r.stderr);
    assert!(r.stderr.contains("status=settled"), "{}", r.stderr);
    // -vv: debug logs, still no secret.
    let r = env
        .run(&["--ledger", &ledger, "-vv", "intel", "hud", WALLET])
        .expect(code::OK);
    let key = std::fs::read_to_string(&env.keypair).unwrap();
    assert!(!r.stderr.contains(&env.results_key), "{}", r.stderr);
    assert!(
        !r.stderr.contains(key.trim()),
        "the keypair is never logged"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_postgres_password_is_never_shown() {
    let home = temp_dir("ledger-secret");
    let url = "postgres://sova:hunter2@127.0.0.1:1/sova";
    let help: Run = sova_cmd(&home)
        .env("SOVA_LEDGER", url)
        .arg("--help")
        .output()
        .unwrap()
        .into();
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("--ledger"), "{}", help.stdout);
    assert!(!help.stdout.contains("hunter2"), "{}", help.stdout);
    // A server that does not answer: the error names it without the password.
    let r = sova(&home, &["--ledger", url, "-vv", "payments", "list"]).expect(code::FAILURE);
    assert!(r.stderr.contains("ledger"), "{}", r.stderr);
    assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
    assert!(!r.stdout.contains("hunter2"), "{}", r.stdout);
    let _ = std::fs::remove_dir_all(home);
}

#[test]
fn budget_and_times_are_checked_on_the_command_line() {
    let home = temp_dir("ledger-usage");
    let r = sova(&home, &["--budget", "3/fortnight", "payments", "list"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("fortnight"), "{}", r.stderr);
    let r = sova(&home, &["payments", "report", "--since", "yesterday"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    // The default ledger is the SQLite file under HOME.
    let r = sova(&home, &["--json", "payments", "list"]).expect(code::OK);
    let d = r.json();
    assert!(
        d["ledger"]
            .as_str()
            .unwrap()
            .contains(".local/share/sova/ledger.sqlite3"),
        "{d:#}"
    );
    let _ = std::fs::remove_dir_all(home);
}
