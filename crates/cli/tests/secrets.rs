//! Secrets and the paying wallet: env values hidden from `--help`, no default wallet, a
//! warning for a keypair file others can read, and `wallet new` never writing through a
//! symlink or over a file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sova_sandbox::Mode;

#[test]
fn help_never_shows_the_value_of_an_env_variable_that_may_hold_a_secret() {
    let home = temp_dir("helpenv");
    let vars = [
        ("SOVA_API_KEY", "ak_MARK1"),
        ("SOVA_RESULTS_API_KEY", "ak_MARK2"),
        ("SOVX_OWNER_KEY", "MARK3"),
        ("SOVX_USER_TOKEN", "MARK4"),
        ("SOLANA_RPC_URL", "https://rpc.example/?api-key=MARK5"),
        ("SOVA_BASE_URL", "https://user:MARK6@intel.example/api/v1"),
        ("SOVX_BASE_URL", "https://user:MARK7@sovx.example/sovx/v1"),
    ];
    for args in [
        &["--help"][..],
        &["intel", "hud", "--help"],
        &["wallet", "new", "--help"],
        &["mcp", "--help"],
    ] {
        let mut c = sova_cmd(&home);
        c.args(args);
        for (k, v) in vars {
            c.env(k, v);
        }
        let r: Run = c.output().unwrap().into();
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(
            !r.stdout.contains("MARK"),
            "{args:?} shows a secret:\n{}",
            r.stdout
        );
    }
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn a_paid_call_never_pays_from_the_default_solana_wallet() {
    let env = Env::new("nodefault", Mode::Sova);
    // A funded wallet at ~/.config/solana/id.json, named nowhere.
    let default = env.home.join(".config/solana/id.json");
    std::fs::create_dir_all(default.parent().unwrap()).unwrap();
    std::fs::copy(&env.keypair, &default).unwrap();
    let base = env.sb.intel_base_url();
    let rpc = env.sb.rpc_url();
    let r = sova(
        &env.home,
        &[
            "--json",
            "--base-url",
            &base,
            "--rpc",
            &rpc,
            "intel",
            "hud",
            WALLET,
        ],
    );
    assert_eq!(r.code, 4, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json()["error"]["kind"], "payment_required");
    assert!(r.stderr.contains("--keypair"), "{}", r.stderr);
    assert!(!r.stderr.contains("paying from"), "{}", r.stderr);
    assert!(env.my_payments().is_empty(), "paid from the default wallet");
    // Named in SOVA_KEYPAIR: it pays, and says from where.
    let r: Run = sova_cmd(&env.home)
        .env("SOVA_KEYPAIR", &env.keypair)
        .args([
            "--json",
            "--base-url",
            &base,
            "--rpc",
            &rpc,
            "intel",
            "hud",
            WALLET,
        ])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!("paying from {}", env.address)),
        "{}",
        r.stderr
    );
    assert_eq!(env.my_payments().len(), 1);
}

#[cfg(unix)]
#[test]
fn a_keypair_file_others_can_read_is_warned_about() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = Env::new("perms", Mode::Sova);
    let kp = env.keypair.to_str().unwrap();
    let r = sova(&env.home, &["wallet", "address", "--keypair", kp]).expect(0);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    for (mode, who) in [(0o640, "its group"), (0o644, "everyone")] {
        std::fs::set_permissions(&env.keypair, std::fs::Permissions::from_mode(mode)).unwrap();
        let r = sova(&env.home, &["wallet", "address", "--keypair", kp]).expect(0);
        assert!(
            r.stderr.contains("warning:") && r.stderr.contains(who),
            "{mode:o}: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!("chmod 600 {kp}")),
            "{}",
            r.stderr
        );
    }
}

#[cfg(unix)]
#[test]
fn wallet_new_refuses_an_existing_file_or_symlink_and_creates_0600() {
    use std::os::unix::fs::PermissionsExt as _;
    let home = temp_dir("createnew");
    let target = home.join("target.json");
    let link = home.join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let r = sova(&home, &["wallet", "new", "--out", link.to_str().unwrap()]).expect(1);
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    assert!(!target.exists(), "the symlink was followed");
    let fresh = home.join("fresh.json");
    sova(&home, &["wallet", "new", "--out", fresh.to_str().unwrap()]).expect(0);
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    let before = std::fs::read(&fresh).unwrap();
    sova(&home, &["wallet", "new", "--out", fresh.to_str().unwrap()]).expect(1);
    assert_eq!(std::fs::read(&fresh).unwrap(), before);
    let _ = std::fs::remove_dir_all(&home);
}
