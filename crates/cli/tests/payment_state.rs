//! Payment state first: every failed paid call reports its payment (`--json`
//! `error.payment.state`) and exits 6 unless the payment is proven uncharged; no hint suggests
//! a paid retry; server faults are not blamed on the user. Each case runs the `sova` binary
//! against the embedded sandbox, made hostile by its fault switches or by a rewriting proxy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::proxy::{self, Reply};
use common::*;
use serde_json::Value;
use sova_protocol::x402::b64;
use sova_sandbox::{Fault, FaultKind, Mode};

/// Exit codes, as documented in `sova --help`.
mod code {
    pub(crate) const POLICY: i32 = 3;
    pub(crate) const API: i32 = 4;
    pub(crate) const NETWORK: i32 = 5;
    pub(crate) const CHARGED: i32 = 6;
}

const HUD: &str = "GET /api/v1/intel/wallet/{address}/hud";

/// The `error.payment` object of a `--json` error.
fn payment(r: &Run) -> Value {
    let p = r.json()["error"]["payment"].clone();
    assert!(p.is_object(), "no error.payment: {}", r.stdout);
    p
}

/// Asserts what every paid failure must show: the amount in USDC with base units, the
/// signature on a line of its own, and no hint to pay again.
#[track_caller]
fn assert_reported(r: &Run, signature: &str) {
    assert!(
        r.stderr
            .lines()
            .any(|l| l.trim() == format!("signature: {signature}")),
        "the signature on a line of its own:\n{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(" USDC ("),
        "amount in USDC:\n{}",
        r.stderr
    );
    let hint = r.json()["error"]["hint"].as_str().unwrap_or("").to_owned();
    for paid_retry in ["rerun", "retry", "resume", "again with"] {
        assert!(
            !hint.contains(paid_retry) || hint.contains("do not"),
            "a hint suggests a paid retry: {hint}"
        );
    }
}

#[test]
fn settle_then_202_forever_exits_6_charged_without_a_resume_hint() {
    let env = Env::new("s202", Mode::Sova);
    env.sb.add_fault(Fault::on(HUD, FaultKind::SettleThen202));
    let r = env
        .run(&[
            "--json",
            "--timeout",
            "20",
            "intel",
            "hud",
            WALLET,
            "--max-wait",
            "2",
        ])
        .expect(code::CHARGED);
    let p = payment(&r);
    let paid = env.my_payments();
    assert_eq!(paid.len(), 1, "one payment: {paid:?}");
    assert_eq!(p["state"], "charged", "{}", r.stdout);
    assert_eq!(p["amount"], 15_000);
    assert_eq!(p["amountUsdc"], "0.015000");
    assert_eq!(p["signature"], paid[0].payer_signature.as_str());
    assert_reported(&r, &paid[0].payer_signature);
}

#[test]
fn hold_then_503_exits_6_and_the_payment_lands() {
    let env = Env::new("hold503", Mode::Sova);
    env.sb.add_fault(
        Fault::on(
            HUD,
            FaultKind::HoldAndSubmitLater {
                status: 503,
                delay_ms: 100,
            },
        )
        .times(1),
    );
    let r = env
        .run(&["--json", "intel", "hud", WALLET])
        .expect(code::CHARGED);
    let p = payment(&r);
    assert_ne!(p["state"], "not_charged", "{}", r.stdout);
    assert!(env.sb.wait_held(Duration::from_secs(10)));
    let paid = env.my_payments();
    assert_eq!(
        paid.len(),
        1,
        "the held payment landed, and only it: {paid:?}"
    );
    assert_eq!(p["signature"], paid[0].payer_signature.as_str());
    assert_reported(&r, &paid[0].payer_signature);
}

/// A proxy that cuts the body of every paid HUD answer in half (its settlement header kept).
fn truncating_proxy(env: &Env) -> proxy::Proxy {
    proxy::start(
        env.sb.base_url(),
        Arc::new(|_: &str, path: &str, reply: &mut Reply| {
            if path.contains("/hud") && reply.status == 200 {
                let half = reply.body.len() / 2;
                reply.body.truncate(half);
            }
        }),
    )
}

#[test]
fn settle_then_truncated_body_exits_6_charged_and_never_says_rerun() {
    let env = Env::new("trunc", Mode::Sova);
    let p = truncating_proxy(&env);
    let base = p.intel_base_url();
    let r = env
        .run_at(&base, &["--json", "intel", "hud", WALLET])
        .expect(code::CHARGED);
    let pay = payment(&r);
    assert_eq!(pay["state"], "charged", "{}", r.stdout);
    let paid = env.my_payments();
    assert_eq!(paid.len(), 1);
    assert_reported(&r, &paid[0].payer_signature);
    assert!(!r.stdout.contains("rerun with --json"), "{}", r.stdout);
}

#[test]
fn a_paid_request_that_timed_out_never_says_not_charged_while_exiting_6() {
    let env = Env::new("timeout", Mode::Sova);
    env.sb.add_fault(
        Fault::on(
            HUD,
            FaultKind::TimeoutThenRefused {
                hang_ms: 4_000,
                refuse_ms: 4_000,
            },
        )
        .times(1),
    );
    let r = env.run(&["--json", "--timeout", "1.5", "intel", "hud", WALLET]);
    let p = payment(&r);
    let state = p["state"].as_str().unwrap().to_owned();
    if r.code == code::CHARGED {
        assert_ne!(state, "not_charged", "{}", r.stdout);
        assert!(!r.stderr.contains("not charged"), "{}", r.stderr);
    } else {
        assert_eq!(state, "not_charged", "exit {}: {}", r.code, r.stdout);
    }
    // The fault settles before it hangs: this payment was charged.
    assert_eq!(env.my_payments().len(), 1);
    assert_eq!(r.code, code::CHARGED, "{}\n{}", r.stdout, r.stderr);
}

/// A server that answers every request with 402 and this `PAYMENT-REQUIRED` value (or, with
/// `None`, the sandbox's own challenge passed through `edit`).
fn challenge_proxy(
    env: &Env,
    edit: impl Fn(&mut Value) + Send + Sync + 'static,
    raw: Option<&'static str>,
) -> proxy::Proxy {
    proxy::start(
        env.sb.base_url(),
        Arc::new(move |_: &str, _: &str, reply: &mut Reply| {
            if reply.status != 402 {
                return;
            }
            if let Some(v) = raw {
                reply.set_header("payment-required", v);
                return;
            }
            let Some(h) = reply.header("payment-required") else {
                return;
            };
            let mut v: Value = serde_json::from_slice(&b64::decode(h).unwrap()).unwrap();
            edit(&mut v);
            let encoded = b64::encode(v.to_string().as_bytes());
            reply.set_header("payment-required", &encoded);
        }),
    )
}

#[test]
fn a_malformed_challenge_is_a_server_error_not_the_users_configuration() {
    let env = Env::new("badchallenge", Mode::Sova);
    let p = challenge_proxy(&env, |_| {}, Some("this is not base64 json!"));
    let base = p.intel_base_url();
    let r = env.run_at(&base, &["--json", "intel", "hud", WALLET]);
    assert_eq!(r.code, code::API, "{}\n{}", r.stdout, r.stderr);
    let e = &r.json()["error"];
    assert_ne!(e["kind"], "usage");
    assert!(!r.stderr.contains("configuration error"), "{}", r.stderr);
    assert!(!r.stderr.contains("--base-url"), "{}", r.stderr);
    assert!(env.my_payments().is_empty());
}

#[test]
fn a_wrong_network_says_what_is_wrong_not_raise_the_budget() {
    let env = Env::new("badnet", Mode::Sova);
    let p = challenge_proxy(
        &env,
        |v| {
            for a in v["accepts"].as_array_mut().unwrap() {
                a["network"] = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1".into();
            }
        },
        None,
    );
    let base = p.intel_base_url();
    let r = env
        .run_at(&base, &["--json", "intel", "hud", WALLET])
        .expect(code::POLICY);
    assert!(!r.stderr.contains("--max-payment"), "{}", r.stderr);
    assert!(!r.stderr.contains("--budget"), "{}", r.stderr);
    assert!(r.stderr.contains("network"), "{}", r.stderr);
    assert_ne!(r.json()["error"]["kind"], "policy");
    assert!(env.my_payments().is_empty());
}

#[test]
fn an_unfunded_wallet_says_so_before_anything_is_signed() {
    let sb = sandbox(Mode::Sova);
    let home = temp_dir("unfunded");
    let kp = home.join("k.json");
    let k = kp.to_str().unwrap();
    let made = sova(&home, &["--json", "wallet", "new", "--out", k])
        .expect(0)
        .json();
    let address = made["address"].as_str().unwrap().to_owned();
    let base = sb.intel_base_url();
    let rpc = sb.rpc_url();
    let r = sova(
        &home,
        &[
            "--json",
            "--base-url",
            &base,
            "--rpc",
            &rpc,
            "--keypair",
            k,
            "intel",
            "hud",
            WALLET,
        ],
    );
    assert_ne!(r.code, code::CHARGED, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!("no USDC in {address}")),
        "{}",
        r.stderr
    );
    assert_eq!(r.json()["error"]["kind"], "unfunded");
    assert!(sb.payments().is_empty());
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn an_unreachable_rpc_exits_5() {
    let env = Env::new("norpc", Mode::Sova);
    let base = env.sb.intel_base_url();
    let kp = env.keypair.to_str().unwrap().to_owned();
    let r = sova(
        &env.home,
        &[
            "--json",
            "--base-url",
            &base,
            "--rpc",
            "http://127.0.0.1:9",
            "--keypair",
            &kp,
            "intel",
            "hud",
            WALLET,
        ],
    );
    assert_eq!(r.code, code::NETWORK, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json()["error"]["kind"], "network");
    assert!(env.my_payments().is_empty());
}
