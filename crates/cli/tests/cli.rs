//! End-to-end tests of the `sova` binary against the embedded sandbox: every command group,
//! `--json` documents, exit codes, x402 sign → verify → settle, `sova sandbox` and the demo.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use sova_protocol::http;
use sova_sandbox::Mode;
use sova_transport_blocking::{BlockingTransport, Timeouts, UreqTransport};

/// Exit codes, as documented in `sova --help`.
mod code {
    pub(crate) const OK: i32 = 0;
    pub(crate) const FAILURE: i32 = 1;
    pub(crate) const USAGE: i32 = 2;
    pub(crate) const POLICY: i32 = 3;
    pub(crate) const API: i32 = 4;
    pub(crate) const NETWORK: i32 = 5;
    pub(crate) const CHARGED: i32 = 6;
    pub(crate) const JOB_PENDING: i32 = 7;
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

#[test]
fn help_version_and_usage_errors() {
    let home = temp_dir("usage");
    let r = sova(&home, &["--help"]).expect(code::OK);
    assert!(r.stdout.contains("Exit codes:"), "{}", r.stdout);
    for group in ["intel", "sx", "x402", "wallet", "sandbox", "demo"] {
        assert!(r.stdout.contains(group), "{group} missing from --help");
        sova(&home, &[group, "--help"]).expect(code::OK);
    }
    sova(&home, &["--version"]).expect(code::OK);
    sova(&home, &[]).expect(code::USAGE);
    sova(&home, &["intel"]).expect(code::USAGE);
    let r = sova(&home, &["intel", "nope"]).expect(code::USAGE);
    assert!(r.stderr.contains("nope"));
    sova(&home, &["intel", "similarity", WALLET]).expect(code::USAGE);
    sova(&home, &["--max-payment", "-1", "intel", "pricing"]).expect(code::USAGE);
    sova(&home, &["--max-payment", "0.0000001", "intel", "pricing"]).expect(code::USAGE);
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn wallet_new_address_fund_balance() {
    let sb = sandbox(Mode::Sova);
    let home = temp_dir("wallet");
    let file = home.join("w.json");
    let f = file.to_str().unwrap();
    let made = sova(&home, &["wallet", "new", "--out", f, "--json"])
        .expect(code::OK)
        .json();
    let address = s(&made["address"]).to_owned();
    // The file holds the Solana CLI format; the secret is never printed.
    let text = std::fs::read_to_string(&file).unwrap();
    let bytes: Vec<u8> = serde_json::from_str(&text).unwrap();
    assert_eq!(bytes.len(), 64);
    assert!(!made.to_string().contains(&text[1..20]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the keypair file is private");
    }
    // Never overwritten without --force.
    let again = sova(&home, &["wallet", "new", "--out", f]).expect(code::FAILURE);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    // No default wallet: ~/.config/solana/id.json is never picked on its own.
    let r = sova(&home, &["wallet", "new", "--json"]).expect(code::USAGE);
    assert!(r.stderr.contains("--keypair"), "{}", r.stderr);
    assert!(!home.join(".config/solana/id.json").exists());
    sova(&home, &["--json", "wallet", "address"]).expect(code::USAGE);
    let r = sova(&home, &["wallet", "address", "--keypair", f]).expect(code::OK);
    assert_eq!(r.stdout.trim(), address);

    let base = sb.intel_base_url();
    let rpc = sb.rpc_url();
    let common = ["--base-url", &base, "--rpc", &rpc, "--keypair", f, "--json"];
    let b0 = sova(&home, &[&common[..], &["wallet", "balance"]].concat())
        .expect(code::OK)
        .json();
    assert_eq!(b0["usdc"], 0);
    assert_eq!(b0["lamports"], 0);
    let funded = sova(
        &home,
        &[
            &common[..],
            &["wallet", "fund", "--usdc", "2.5", "--sol", "0.5"],
        ]
        .concat(),
    )
    .expect(code::OK)
    .json();
    assert_eq!(funded["usdc"], 2_500_000);
    assert_eq!(funded["lamports"], 500_000_000);
    let b1 = sova(&home, &[&common[..], &["wallet", "balance"]].concat())
        .expect(code::OK)
        .json();
    assert_eq!(b1["usdc"], 2_500_000);
    assert_eq!(b1["usdcUi"], "2.500000");
    let human = sova(
        &home,
        &[
            "--base-url",
            &base,
            "--rpc",
            &rpc,
            "--keypair",
            f,
            "wallet",
            "balance",
        ],
    )
    .expect(code::OK);
    assert!(human.stdout.contains("2.500000 USDC"), "{}", human.stdout);
    // The faucet exists only in a sandbox.
    sova(&home, &["--keypair", f, "wallet", "fund"]).expect(code::USAGE);
    // A missing keypair: one line and a hint.
    let r = sova(
        &home,
        &["wallet", "address", "--keypair", "/nonexistent/k.json"],
    )
    .expect(code::FAILURE);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    assert!(r.stderr.contains("hint: "), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn intel_commands_pay_with_x402_and_print_receipts() {
    let env = Env::new("intel", Mode::Sova);
    // HUD: one JSON document with the data and the receipt, one payment on the ledger.
    let hud = env
        .run(&["--json", "intel", "hud", WALLET])
        .expect(code::OK)
        .json();
    assert_eq!(hud["data"]["walletAddress"], WALLET);
    assert_eq!(hud["receipt"]["amount"], 15_000);
    assert_eq!(hud["receipt"]["amountUsdc"], "0.015000");
    let paid = env.my_payments();
    assert_eq!(paid.len(), 1);
    assert_eq!(
        Some(paid[0].signature.as_str()),
        hud["receipt"]["transaction"].as_str()
    );
    // Human output: a key/value block and the receipt.
    let h = env.run(&["intel", "hud", WALLET]).expect(code::OK);
    assert!(h.stdout.contains("win rate"), "{}", h.stdout);
    assert!(
        h.stdout.contains("paid         0.015000 USDC"),
        "{}",
        h.stdout
    );
    let q = env.run(&["-q", "intel", "hud", WALLET]).expect(code::OK);
    assert!(!q.stdout.contains("receipt"), "{}", q.stdout);

    let profile = env
        .run(&["--json", "intel", "profile", WALLET2])
        .expect(code::OK)
        .json();
    assert_eq!(profile["data"]["walletAddress"], WALLET2);
    assert_eq!(profile["receipt"]["amount"], 75_000);

    let tokens = env
        .run(&[
            "--json",
            "intel",
            "tokens",
            WALLET,
            "--page-size",
            "3",
            "--sort-by",
            "roi",
        ])
        .expect(code::OK)
        .json();
    assert!(tokens["data"]["data"].as_array().unwrap().len() <= 3);
    assert_eq!(tokens["receipt"]["amount"], 45_000);

    let batch = env
        .run(&["--json", "intel", "batch-hud", WALLET, WALLET2])
        .expect(code::OK)
        .json();
    assert!(batch["data"]["huds"][WALLET].is_object());
    let t = env
        .run(&["intel", "batch-hud", WALLET, WALLET2])
        .expect(code::OK);
    assert!(t.stdout.starts_with("WALLET"), "{}", t.stdout);

    // A job, waited for.
    let holders = env
        .run(&["--json", "intel", "holders", MINT, "--top", "5"])
        .expect(code::OK)
        .json();
    assert_eq!(holders["data"]["profiles"].as_array().unwrap().len(), 5);
    assert_eq!(holders["receipt"]["amount"], 300_000);
    // Not waited for: the handle, then `resume`.
    let queued = env
        .run(&[
            "--json",
            "intel",
            "holders",
            MINT,
            "--top",
            "3",
            "--no-wait",
        ])
        .expect(code::OK)
        .json();
    let handle = s(&queued["handle"]).to_owned();
    assert!(handle.starts_with("job1."));
    let job_id = s(&queued["data"]["jobId"]).to_owned();
    let status = env
        .run(&["--json", "intel", "job", &job_id])
        .expect(code::OK)
        .json();
    assert!(status["data"]["status"].is_string());
    let resumed = env
        .run(&["--json", "intel", "resume", &handle])
        .expect(code::OK)
        .json();
    assert_eq!(resumed["data"]["profiles"].as_array().unwrap().len(), 3);
    let key = format!("holder-profiles:result:{job_id}");
    let stored = env
        .run(&["--json", "intel", "result", &key])
        .expect(code::OK)
        .json();
    assert_eq!(stored["data"]["profiles"], resumed["data"]["profiles"]);
    // Resume of a job still running after the wait: exit 7 with the handle.
    let queued = env
        .run(&["--json", "intel", "holders", MINT, "--no-wait"])
        .expect(code::OK)
        .json();
    let handle = s(&queued["handle"]).to_owned();
    let pending = env
        .run(&["--json", "intel", "resume", &handle, "--max-wait", "0"])
        .expect(code::JOB_PENDING)
        .json();
    assert_eq!(pending["error"]["kind"], "job_pending");
    assert!(s(&pending["error"]["details"]["handle"]).starts_with("job1."));
    env.run(&["-q", "intel", "resume", &handle])
        .expect(code::OK);

    let agent = env
        .run(&["--json", "intel", "holders-agent", MINT, "--top", "3"])
        .expect(code::OK)
        .json();
    assert!(agent["data"].is_object());
    let sim = env
        .run(&["--json", "intel", "similarity", WALLET, WALLET2])
        .expect(code::OK)
        .json();
    assert!(sim["data"]["pairwiseSimilarities"].is_array());
    let sim_h = env
        .run(&["intel", "similarity", WALLET, WALLET2])
        .expect(code::OK);
    assert!(sim_h.stdout.contains("WALLET A"), "{}", sim_h.stdout);
    env.run(&["--json", "intel", "similarity-agent", WALLET, WALLET2])
        .expect(code::OK);
    let deep = env
        .run(&["--json", "intel", "deep", MINT, "--top", "3"])
        .expect(code::OK)
        .json();
    assert!(deep["data"]["holderProfiles"]["profiles"].is_array());
    assert!(deep["data"]["similarity"].is_object());
    assert_eq!(deep["receipt"]["amount"], 525_000);
    let deep_q = env
        .run(&["--json", "intel", "deep", MINT, "--top", "3", "--no-wait"])
        .expect(code::OK)
        .json();
    assert!(deep_q["handles"]["holders"].is_string());
    assert!(deep_q["handles"]["similarity"].is_string());
    let deep_r = env
        .run(&["--json", "intel", "resume", s(&deep_q["handle"])])
        .expect(code::OK)
        .json();
    assert!(deep_r["data"].is_object());
    assert_eq!(deep_r["also"].as_object().unwrap().len(), 1);

    let pricing = env
        .run(&["--json", "intel", "pricing"])
        .expect(code::OK)
        .json();
    assert!(pricing["data"].is_object());

    // Every receipt is a settled payment of this wallet, and nothing else was paid.
    let paid: u64 = env.my_payments().iter().map(|p| p.amount).sum();
    assert_eq!(
        paid,
        15_000 * 3 + 75_000 + 45_000 + 75_000 * 2 + 300_000 * 7 + 525_000 * 2
    );
}

#[test]
fn exit_codes_for_policy_api_network_and_usage_errors() {
    let env = Env::new("codes", Mode::Sova);
    // Spend policy: refused before anything is signed.
    let r = env
        .run(&[
            "--json",
            "--max-payment",
            "0.05",
            "intel",
            "profile",
            WALLET,
        ])
        .expect(code::POLICY);
    let e = r.json();
    assert_eq!(e["error"]["kind"], "policy");
    assert!(
        e["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("--max-payment")
    );
    assert!(
        r.stderr
            .contains("\nerror: payment refused by the spend policy"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .starts_with(&format!("paying from {}\n", env.address)),
        "{}",
        r.stderr
    );
    assert!(env.my_payments().is_empty());
    // The budget too.
    env.run(&["--budget", "0.01", "intel", "hud", WALLET])
        .expect(code::POLICY);
    assert!(env.my_payments().is_empty());
    // API errors: 404, a bad API key.
    let r = env
        .run(&["--json", "intel", "job", "no-such-job"])
        .expect(code::API);
    assert_eq!(r.json()["error"]["status"], 404);
    env.run(&["--api-key", "ak_00ff", "intel", "hud", WALLET])
        .expect(code::API);
    // No way to pay: 402 with a hint.
    let home = temp_dir("nopay");
    let base = env.sb.intel_base_url();
    let r = sova(&home, &["--base-url", &base, "intel", "hud", WALLET]).expect(code::API);
    assert!(r.stderr.contains("--keypair"), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(&home);
    // An API key pays instead of x402: no receipt.
    let key = env.sb.create_api_key(10);
    let r = env
        .run(&["--json", "--api-key", &key, "intel", "hud", WALLET])
        .expect(code::OK)
        .json();
    assert!(r["receipt"].is_null());
    assert_eq!(env.sb.credits(&key), Some(9));
    // Network: nothing listens.
    let kp = env.keypair.to_str().unwrap();
    let r = sova(
        &env.home,
        &[
            "--json",
            "--base-url",
            "http://127.0.0.1:9/api/v1",
            "--keypair",
            kp,
            "intel",
            "hud",
            WALLET,
        ],
    )
    .expect(code::NETWORK);
    assert_eq!(r.json()["error"]["kind"], "network");
    assert!(r.stderr.contains("hint: "), "{}", r.stderr);
    // Usage: an invalid address is refused before sending.
    env.run(&["intel", "hud", "not-an-address"])
        .expect(code::USAGE);
    assert!(env.my_payments().is_empty());
}

#[test]
fn sx_commands() {
    let env = Env::new("sx", Mode::Sova);
    let user = |email: &str, phone: &str| {
        env.owner(&[
            "--json",
            "sx",
            "users",
            "create",
            "--first-name",
            "Ada",
            "--last-name",
            "Lovelace",
            "--email",
            email,
            "--phone-country-code",
            "US",
            "--phone-number",
            phone,
            "--dob",
            "1990-10-15",
            "--country",
            "US",
            "--id-type",
            "ssn",
            "--id-number",
            "123456789",
        ])
        .expect(code::OK)
        .json()
    };
    let u = user("ada@example.com", "+1 555 010 0001");
    assert_eq!(u["data"]["status"], "PENDING");
    assert_eq!(u["data"]["individual"]["dob"], "1990-10-15");
    let uid = s(&u["data"]["user_id"]).to_owned();
    let got = env
        .owner(&["--json", "sx", "users", "get", &uid])
        .expect(code::OK)
        .json();
    assert_eq!(got["data"]["email"], "ada@example.com");
    let upd = env
        .owner(&[
            "--json",
            "sx",
            "users",
            "update",
            &uid,
            "--first-name",
            "Grace",
        ])
        .expect(code::OK)
        .json();
    assert_eq!(upd["data"]["first_name"], "Grace");
    env.owner(&["sx", "users", "update", &uid])
        .expect(code::USAGE);
    let act = env
        .owner(&["--json", "sx", "users", "activate", &uid])
        .expect(code::OK)
        .json();
    assert_eq!(act["data"]["status"], "ACTIVE");
    // Tokens: one id → single, several → bulk.
    let u2 = user("bob@example.com", "+1 555 010 0002");
    let uid2 = s(&u2["data"]["user_id"]).to_owned();
    env.owner(&["sx", "users", "activate", &uid2])
        .expect(code::OK);
    let bulk = env
        .owner(&["--json", "sx", "tokens", "issue", &uid, &uid2])
        .expect(code::OK)
        .json();
    assert_eq!(bulk["data"].as_array().unwrap().len(), 2);
    let tok2 = s(&bulk["data"][1]["token"]).to_owned();
    let one = env
        .owner(&["--json", "sx", "tokens", "issue", &uid])
        .expect(code::OK)
        .json();
    let tok = s(&one["data"]["token"]).to_owned();
    assert_eq!(one["data"]["user_id"], uid.as_str());
    // Fees.
    let fee = env
        .owner(&[
            "--json",
            "sx",
            "fees",
            "create",
            "--feature",
            "rfq",
            "--method",
            "fee-rate",
            "--amount",
            "0.01",
        ])
        .expect(code::OK)
        .json();
    let fid = fee["data"]["id"].to_string().trim_matches('"').to_owned();
    let list = env
        .owner(&["--json", "sx", "fees", "list"])
        .expect(code::OK)
        .json();
    assert!(!list["data"].as_array().unwrap().is_empty());
    // --pair is sent and echoed; the list's --pair selects it.
    let btc = env
        .owner(&[
            "--json",
            "sx",
            "fees",
            "create",
            "--feature",
            "spot-trade",
            "--method",
            "fee-rate",
            "--amount",
            "0.01",
            "--pair",
            "BTCUSD",
        ])
        .expect(code::OK)
        .json();
    assert_eq!(btc["data"]["pair"], "BTCUSD");
    let by_pair = env
        .owner(&["--json", "sx", "fees", "list", "--pair", "BTCUSD"])
        .expect(code::OK)
        .json();
    let by_pair = by_pair["data"].as_array().unwrap();
    assert_eq!(by_pair.len(), 1);
    assert_eq!(by_pair[0]["id"], btc["data"]["id"]);
    let page = env
        .owner(&["--json", "sx", "fees", "list", "--limit", "1"])
        .expect(code::OK)
        .json();
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["meta"]["pagination"]["total"], 2);
    let bid = btc["data"]["id"].to_string().trim_matches('"').to_owned();
    env.owner(&["sx", "fees", "delete", &bid]).expect(code::OK);
    env.owner(&["--json", "sx", "fees", "get", &fid])
        .expect(code::OK);
    let upd = env
        .owner(&["--json", "sx", "fees", "update", &fid, "--amount", "0.02"])
        .expect(code::OK)
        .json();
    assert_eq!(upd["data"]["amount"].to_string(), "0.02");
    env.owner(&["sx", "fees", "delete", &fid]).expect(code::OK);
    env.owner(&[
        "sx",
        "fees",
        "create",
        "--feature",
        "rfq",
        "--method",
        "fee-rate",
        "--amount",
        "abc",
    ])
    .expect(code::USAGE);
    // Wallets, as the users.
    let w = env
        .run(&[
            "--json",
            "--user-token",
            &tok,
            "sx",
            "wallets",
            "create",
            &uid,
        ])
        .expect(code::OK)
        .json();
    let wid = s(&w["data"]["wallet_id"]).to_owned();
    let w2 = env
        .run(&[
            "--json",
            "--user-token",
            &tok2,
            "sx",
            "wallets",
            "create",
            &uid2,
            "--network",
            "solana-devnet:usdc",
        ])
        .expect(code::OK)
        .json();
    let wid2 = s(&w2["data"]["wallet_id"]).to_owned();
    let wl = env
        .owner(&["--json", "sx", "wallets", "list", &uid])
        .expect(code::OK)
        .json();
    assert_eq!(wl["data"][0]["wallet_id"], wid.as_str());
    let table = env.owner(&["sx", "wallets", "list", &uid]).expect(code::OK);
    assert!(table.stdout.contains("WALLET ID"), "{}", table.stdout);
    // Trading needs the user token: without it, a usage error with the hint.
    let r = env
        .owner(&[
            "sx", "quote", &wid, "--pair", "btcusd", "--side", "buy", "--amount", "100",
        ])
        .expect(code::USAGE);
    assert!(r.stderr.contains("--user-token"), "{}", r.stderr);
    assert!(env.sb.sovx_fund(&wid, "usd", "1000"));
    assert!(env.sb.sovx_fund(&wid, "usdc", "100"));
    let quote = env
        .run(&[
            "--json",
            "--user-token",
            &tok,
            "sx",
            "quote",
            &wid,
            "--pair",
            "btcusd",
            "--side",
            "buy",
            "--amount",
            "600",
        ])
        .expect(code::OK)
        .json();
    let qid = s(&quote["data"]["quote_id"]).to_owned();
    let order = env
        .run(&["--json", "--user-token", &tok, "sx", "order", &wid, &qid])
        .expect(code::OK)
        .json();
    assert!(order["data"].is_object());
    // The used quote again: an API error (409).
    let r = env
        .run(&["--json", "--user-token", &tok, "sx", "order", &wid, &qid])
        .expect(code::API);
    assert_eq!(r.json()["error"]["status"], 409);
    let bal = env
        .owner(&["--json", "sx", "balance", &uid])
        .expect(code::OK)
        .json();
    let btc = bal["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["currency"].as_str().unwrap().eq_ignore_ascii_case("btc"))
        .cloned()
        .unwrap();
    assert_eq!(btc["balance"].to_string(), "0.01");
    // Withdrawal: initiate, confirm with the code.
    let wd = env
        .run(&[
            "--json",
            "--user-token",
            &tok,
            "sx",
            "withdrawals",
            "initiate",
            &uid,
            "--currency",
            "usdc",
            "--amount",
            "10",
            "--address",
            "addr-1",
        ])
        .expect(code::OK)
        .json();
    let wdid = s(&wd["data"]["id"]).to_owned();
    env.run(&[
        "--user-token",
        &tok,
        "sx",
        "withdrawals",
        "resend-code",
        &uid,
        &wdid,
    ])
    .expect(code::OK);
    let c = env.sb.sovx_code(&wdid).unwrap();
    let ok = env
        .run(&[
            "--json",
            "--user-token",
            &tok,
            "sx",
            "withdrawals",
            "confirm",
            &uid,
            &wdid,
            "--code",
            &c,
        ])
        .expect(code::OK)
        .json();
    assert_eq!(ok["data"]["status"], "COMPLETED");
    env.owner(&["--json", "sx", "withdrawals", "list", &uid])
        .expect(code::OK);
    // A second one with a memo stays pending; --status tells them apart.
    let wd2 = env
        .run(&[
            "--json",
            "--user-token",
            &tok,
            "sx",
            "withdrawals",
            "initiate",
            &uid,
            "--currency",
            "usdc",
            "--amount",
            "1",
            "--address",
            "addr-2",
            "--memo",
            "rent",
        ])
        .expect(code::OK)
        .json();
    assert_eq!(wd2["data"]["memo"], "rent");
    let ids = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["--json", "sx", "withdrawals", "list", uid.as_str()];
        all.extend_from_slice(args);
        env.owner(&all).expect(code::OK).json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| s(&w["id"]).to_owned())
            .collect()
    };
    assert_eq!(ids(&["--status", "pending"]), [s(&wd2["data"]["id"])]);
    assert_eq!(ids(&["--status", "COMPLETED"]), [wdid.as_str()]);
    assert_eq!(ids(&[]).len(), 2);
    assert_eq!(ids(&["--limit", "1", "--skip", "1"]).len(), 1);
    assert_eq!(ids(&["--since", "2999-01-01"]).len(), 0);
    assert_eq!(ids(&["--before", "2999-01-01T00:00:00Z"]).len(), 2);
    env.owner(&["sx", "withdrawals", "list", &uid, "--since", "yesterday"])
        .expect(code::USAGE);
    // Transfer: create, confirm.
    let t = env
        .run(&[
            "--json",
            "--user-token",
            &tok,
            "sx",
            "transfers",
            "create",
            &wid,
            "--to",
            &wid2,
            "--currency",
            "USDC",
            "--amount",
            "25",
        ])
        .expect(code::OK)
        .json();
    let tid = s(&t["data"]["id"]).to_owned();
    let c = env.sb.sovx_code(&tid).unwrap();
    env.run(&[
        "--user-token",
        &tok,
        "sx",
        "transfers",
        "confirm",
        &wid,
        &tid,
        "--code",
        &c,
    ])
    .expect(code::OK);
    env.run(&[
        "--json",
        "--user-token",
        &tok,
        "sx",
        "transfers",
        "list",
        &wid,
    ])
    .expect(code::OK);
    // Lifecycle end.
    let d = env
        .owner(&["--json", "sx", "users", "deactivate", &uid2])
        .expect(code::OK)
        .json();
    assert_eq!(d["data"]["status"], "INACTIVE");
    env.owner(&["sx", "users", "delete", &uid2])
        .expect(code::OK);
    env.owner(&["sx", "users", "get", &uid2]).expect(code::API);
    // A wrong owner key: 401.
    env.run(&["--owner-key", "sk_wrong", "sx", "fees", "list"])
        .expect(code::API);
}

/// Fetches a PAYMENT-REQUIRED value from the sandbox's HUD route.
fn payment_required(base: &str, wallet: &str) -> String {
    let t = UreqTransport::new(&Timeouts::new());
    let req = http::Request::get(format!("{base}/intel/wallet/{wallet}/hud"))
        .body(Vec::new())
        .unwrap();
    let resp = t.send(req, Duration::from_secs(10)).unwrap();
    assert_eq!(resp.status().as_u16(), 402);
    resp.headers()["payment-required"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Sends the HUD request with a payment; returns the status.
fn pay(base: &str, wallet: &str, header: &str) -> u16 {
    let t = UreqTransport::new(&Timeouts::new());
    let req = http::Request::get(format!("{base}/intel/wallet/{wallet}/hud"))
        .header("payment-signature", header)
        .body(Vec::new())
        .unwrap();
    t.send(req, Duration::from_secs(10))
        .unwrap()
        .status()
        .as_u16()
}

fn sign_verify_settle(mode: Mode) {
    let env = Env::new(&format!("x402-{}", mode.as_str()), mode);
    let base = env.sb.intel_base_url();
    let required = payment_required(&base, WALLET);
    let decoded = env
        .run(&["--json", "x402", "decode", &required])
        .expect(code::OK)
        .json();
    assert_eq!(decoded["header"], "PAYMENT-REQUIRED");
    assert_eq!(decoded["options"][0]["amount"], "15000");
    // Offline: the blockhash is given, no RPC is named.
    let (hash, _) = env.sb.latest_blockhash();
    let kp = env.keypair.to_str().unwrap();
    let signed = sova(
        &env.home,
        &[
            "x402",
            "sign",
            "--required",
            &required,
            "--keypair",
            kp,
            "--blockhash",
            &hash.to_string(),
        ],
    )
    .expect(code::OK);
    // Only the header value on stdout.
    let header = signed.stdout.trim().to_owned();
    assert_eq!(signed.stdout.lines().count(), 1, "{}", signed.stdout);
    assert!(!header.contains(' '));
    let v = sova(
        &env.home,
        &[
            "--json",
            "x402",
            "verify",
            "--required",
            &required,
            "--payment",
            &header,
            "--payer",
            &env.address,
        ],
    )
    .expect(code::OK)
    .json();
    assert_eq!(v["passed"], true);
    assert!(v["checks"].as_array().unwrap().len() > 10);
    // The decoded transaction: instructions in words.
    let d = sova(&env.home, &["--json", "x402", "decode", &header])
        .expect(code::OK)
        .json();
    assert_eq!(d["header"], "PAYMENT-SIGNATURE");
    let ixs = d["transaction"]["instructions"].as_array().unwrap();
    let transfer = ixs
        .iter()
        .find(|i| i["instruction"] == "TransferChecked")
        .unwrap();
    assert_eq!(transfer["amount"], "15000");
    assert_eq!(transfer["uiAmount"], "0.015000");
    assert_eq!(transfer["authority"], env.address.as_str());
    assert_eq!(d["transaction"]["recentBlockhash"], hash.to_string());
    let human = sova(&env.home, &["x402", "decode", &header]).expect(code::OK);
    assert!(
        human.stdout.contains("TransferChecked 0.015000"),
        "{}",
        human.stdout
    );
    // Another payer: the verifier says which check fails, exit 1.
    let other = sova(
        &env.home,
        &[
            "x402",
            "verify",
            "--required",
            &required,
            "--payment",
            &header,
            "--payer",
            WALLET2,
        ],
    )
    .expect(code::FAILURE);
    assert!(other.stdout.contains("FAIL"), "{}", other.stdout);
    // It settles on the sandbox ledger.
    assert_eq!(pay(&base, WALLET, &header), 200);
    let paid = env.my_payments();
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0].amount, 15_000);
    if mode == Mode::Sova {
        // Self-paid: the payer's own signature is the transaction id.
        assert_eq!(
            d["transaction"]["signatures"][0]["signature"],
            paid[0].signature.as_str()
        );
    }
    // A replay is refused.
    assert_ne!(pay(&base, WALLET, &header), 200);
    assert_eq!(env.my_payments().len(), 1);
    // With the RPC instead of --blockhash, in the flat shape.
    let rpc = env.sb.rpc_url();
    let flat = sova(
        &env.home,
        &[
            "x402",
            "sign",
            "--required",
            &required,
            "--keypair",
            kp,
            "--rpc",
            &rpc,
            "--shape",
            "flat",
        ],
    )
    .expect(code::OK);
    let d = sova(&env.home, &["--json", "x402", "decode", flat.stdout.trim()])
        .expect(code::OK)
        .json();
    assert_eq!(d["shape"], "flat");
    // The policy applies to signing too.
    sova(
        &env.home,
        &[
            "x402",
            "sign",
            "--required",
            &required,
            "--keypair",
            kp,
            "--blockhash",
            &hash.to_string(),
            "--max-payment",
            "0.001",
        ],
    )
    .expect(code::POLICY);
    sova(&env.home, &["x402", "decode", "not a header"]).expect(code::USAGE);
}

#[test]
fn x402_sign_verifies_and_settles_sova_mode() {
    sign_verify_settle(Mode::Sova);
}

#[test]
fn x402_sign_verifies_and_settles_standard_mode() {
    sign_verify_settle(Mode::Standard);
}

#[test]
fn x402_decode_reads_responses() {
    let env = Env::new("decode", Mode::Sova);
    let hud = env
        .run(&["--json", "intel", "hud", WALLET])
        .expect(code::OK)
        .json();
    let sig = s(&hud["receipt"]["transaction"]).to_owned();
    let d = sova(&env.home, &["--json", "x402", "decode", &sig])
        .expect(code::OK)
        .json();
    assert_eq!(d["header"], "X-Payment-Response");
    assert_eq!(d["transaction"], sig.as_str());
    let response = sova_protocol::x402::SettlementResponse {
        success: true,
        error_reason: None,
        error_message: None,
        payer: Some(env.address.clone()),
        transaction: sig.clone(),
        network: sova_protocol::x402::networks::SOLANA_MAINNET.into(),
        amount: Some("15000".into()),
        extensions: None,
    }
    .encode();
    let d = sova(
        &env.home,
        &[
            "--json",
            "x402",
            "decode",
            &format!("PAYMENT-RESPONSE: {response}"),
        ],
    )
    .expect(code::OK)
    .json();
    assert_eq!(d["header"], "PAYMENT-RESPONSE");
    assert_eq!(d["success"], true);
}

#[test]
fn global_sandbox_flag_runs_offline() {
    let home = temp_dir("flag");
    let hud = sova(&home, &["--sandbox", "--json", "intel", "hud", WALLET])
        .expect(code::OK)
        .json();
    assert_eq!(hud["receipt"]["amount"], 15_000);
    let job = sova(
        &home,
        &[
            "--sandbox",
            "--json",
            "intel",
            "holders",
            MINT,
            "--top",
            "3",
        ],
    )
    .expect(code::OK)
    .json();
    assert_eq!(job["data"]["profiles"].as_array().unwrap().len(), 3);
    let fees = sova(&home, &["--sandbox", "--json", "sx", "fees", "list"])
        .expect(code::OK)
        .json();
    assert!(fees["data"].is_array());
    let b = sova(&home, &["--sandbox", "--json", "wallet", "balance"])
        .expect(code::OK)
        .json();
    assert_eq!(b["usdc"], 100_000_000);
    sova(&home, &["--sandbox", "sandbox"]).expect(code::USAGE);
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn sandbox_command_serves_until_stopped() {
    let home = temp_dir("serve");
    let mut child = sova_cmd(&home)
        .args(["--json", "sandbox", "--port", "0", "--job-ms", "200"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).unwrap();
    let intel = s(&info["intelBaseUrl"]).to_owned();
    let key = s(&info["apiKey"]).to_owned();
    assert!(intel.starts_with("http://127.0.0.1:"));
    assert!(s(&info["sovxOwnerKey"]).starts_with("sk_sandbox_"));
    let r = sova(
        &home,
        &[
            "--json",
            "--base-url",
            &intel,
            "--api-key",
            &key,
            "intel",
            "hud",
            WALLET,
        ],
    )
    .expect(code::OK)
    .json();
    assert_eq!(r["data"]["walletAddress"], WALLET);
    // The faucet through the served sandbox.
    let kp = home.join("k.json");
    sova(&home, &["wallet", "new", "--out", kp.to_str().unwrap()]).expect(code::OK);
    let f = sova(
        &home,
        &[
            "--json",
            "--base-url",
            &intel,
            "--keypair",
            kp.to_str().unwrap(),
            "wallet",
            "fund",
        ],
    )
    .expect(code::OK)
    .json();
    assert_eq!(f["usdc"], 100_000_000);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&home);
}

fn demo(mode: &str) {
    let home = temp_dir(&format!("demo-{mode}"));
    let started = Instant::now();
    let r = sova(&home, &["--json", "demo", "--mode", mode]);
    let wall = started.elapsed();
    let r = r.expect(code::OK);
    let d = r.json();
    assert_eq!(d["passed"], true, "{d:#}");
    let steps = d["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 10);
    assert!(steps.iter().all(|s| s["ok"] == true), "{d:#}");
    // The payment ledger: one run paid, the next was refused; a crash was resolved.
    assert_eq!(steps[8]["detail"]["paid"], 1, "{d:#}");
    assert_eq!(steps[9]["detail"]["before"], "sent", "{d:#}");
    assert_eq!(steps[9]["detail"]["after"], "expired", "{d:#}");
    assert_eq!(steps[9]["detail"]["heldAfter"], 0, "{d:#}");
    let sum = &d["summary"];
    assert_eq!(sum["ledgerMatchesReceipts"], true);
    assert_eq!(sum["payments"], 5);
    assert_eq!(sum["ledgerPayments"], 5);
    assert_eq!(sum["usdcSpent"], 765_000);
    assert_eq!(
        sum["payerUsdcBefore"].as_u64().unwrap() - sum["payerUsdcAfter"].as_u64().unwrap(),
        765_000
    );
    assert!(wall < Duration::from_secs(60), "the demo took {wall:?}");
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn demo_passes_in_sova_mode() {
    demo("sova");
}

#[test]
fn demo_passes_in_standard_mode() {
    demo("standard");
}

#[test]
fn demo_human_output_has_headings_and_summary() {
    let home = temp_dir("demo-human");
    let r = sova(&home, &["demo"]).expect(code::OK);
    for needle in [
        "[1/10]",
        "[8/10]",
        "[10/10]",
        "budget held across two runs",
        "crashed payment resolved",
        "receipt: paid 0.015000 USDC",
        "== summary ==",
        "check: ledger payments = reported payments  ok",
        "all steps passed",
    ] {
        assert!(
            r.stdout.contains(needle),
            "{needle:?} missing:\n{}",
            r.stdout
        );
    }
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn a_cold_wallet_can_be_resumed_and_is_paid_once() {
    let sb = sova_sandbox::Sandbox::builder()
        .sync_hold(Duration::from_millis(50))
        .flash_analysis(Duration::from_millis(600))
        .start_blocking()
        .unwrap();
    let home = temp_dir("cold");
    let kp = home.join("k.json");
    let k = kp.to_str().unwrap();
    let made = sova(&home, &["--json", "wallet", "new", "--out", k])
        .expect(code::OK)
        .json();
    let pk: sova_x402::Pubkey = s(&made["address"]).parse().unwrap();
    sb.fund_wallet(&pk, 1_000_000_000, 1_000_000);
    let base = sb.intel_base_url();
    let rpc = sb.rpc_url();
    let g = [
        "--json",
        "--base-url",
        &base,
        "--rpc",
        &rpc,
        "--keypair",
        k,
        "--poll-interval",
        "0.05",
    ];
    // The wallet is queued and the wait is over at once: the payment rode on the request and
    // nothing proves it cannot land, so exit 6 (not 7) with the handle, and no hint to resume
    // (a resume signs a new payment while the first may still land).
    let r = sova(
        &home,
        &[&g[..], &["intel", "profile", WALLET2, "--max-wait", "0"]].concat(),
    )
    .expect(code::CHARGED);
    let e = r.json();
    assert_eq!(e["error"]["payment"]["state"], "may_have_charged");
    assert_eq!(e["error"]["cause"], "job_pending");
    assert!(!r.stderr.contains("sova intel resume"), "{}", r.stderr);
    let handle = s(&e["error"]["details"]["handle"]).to_owned();
    // Resumed: the prepaid re-call, one payment in all.
    let r = sova(&home, &[&g[..], &["intel", "resume", &handle]].concat())
        .expect(code::OK)
        .json();
    assert_eq!(r["data"]["walletAddress"], WALLET2);
    assert_eq!(r["receipt"]["amount"], 75_000);
    let paid: Vec<_> = sb
        .payments()
        .into_iter()
        .filter(|p| p.payer == pk.to_string())
        .collect();
    assert_eq!(paid.len(), 1);
    assert_eq!(sb.usdc_balance(&pk), 1_000_000 - 75_000);
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn a_payment_lost_after_settlement_exits_6_with_its_reference() {
    let env = Env::new("charged", Mode::Sova);
    env.sb.add_fault(sova_sandbox::Fault {
        route: Some("GET /api/v1/intel/wallet/{address}/hud".into()),
        kind: sova_sandbox::FaultKind::DropAfterSettlement,
        times: Some(1),
    });
    let r = env
        .run(&["--json", "intel", "hud", WALLET])
        .expect(code::CHARGED);
    let e = r.json();
    let text = e.to_string();
    let paid = env.my_payments();
    assert_eq!(paid.len(), 1, "exactly one payment, never a second");
    assert!(!paid[0].delivered);
    assert!(
        text.contains(&paid[0].signature),
        "the error names the payment: {text}"
    );
}
