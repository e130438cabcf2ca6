//! Helpers: run the built `sova` binary with a clean environment, against an embedded sandbox.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub(crate) mod proxy;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::Value;
use sova_sandbox::{Mode, Sandbox};

pub(crate) const WALLET: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
pub(crate) const WALLET2: &str = "GThUX1Atko4tqhN2NaiTazWSeFWMuiUvfFnyJyUghFMJ";
pub(crate) const MINT: &str = "So11111111111111111111111111111111111111112";

/// What a run of `sova` gave.
#[derive(Debug)]
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout parsed as one JSON document.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Asserts the exit code.
    #[track_caller]
    pub(crate) fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A private directory (used as HOME, so no real keypair is ever read).
pub(crate) fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "sova-cli-test-{}-{name}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `sova` with an empty environment (no SOVA_*, SOVX_*, SOLANA_* variables) and HOME in `home`.
pub(crate) fn sova_cmd(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sova"));
    c.env_clear().env("HOME", home).env("NO_COLOR", "1");
    if let Ok(p) = std::env::var("PATH") {
        c.env("PATH", p);
    }
    c
}

/// Runs `sova args…`.
pub(crate) fn sova(home: &Path, args: &[&str]) -> Run {
    sova_cmd(home).args(args).output().unwrap().into()
}

/// An embedded sandbox with short holds and jobs.
pub(crate) fn sandbox(mode: Mode) -> Sandbox {
    Sandbox::builder()
        .mode(mode)
        .sync_hold(Duration::from_millis(300))
        .flash_analysis(Duration::from_millis(50))
        .job_duration(Duration::from_millis(300))
        .start_blocking()
        .unwrap()
}

/// A test environment: a sandbox, a HOME, and a funded keypair file.
pub(crate) struct Env {
    pub sb: Sandbox,
    pub home: PathBuf,
    pub keypair: PathBuf,
    pub address: String,
    pub results_key: String,
}

impl Env {
    pub(crate) fn new(name: &str, mode: Mode) -> Env {
        let sb = sandbox(mode);
        let home = temp_dir(name);
        let keypair = home.join("payer.json");
        let r = sova(
            &home,
            &[
                "wallet",
                "new",
                "--out",
                keypair.to_str().unwrap(),
                "--json",
            ],
        )
        .expect(0);
        let address = r.json()["address"].as_str().unwrap().to_owned();
        let pk: sova_x402::Pubkey = address.parse().unwrap();
        sb.fund_wallet(&pk, 1_000_000_000, 20_000_000);
        let results_key = sb.create_api_key(0);
        Env {
            results_key,
            sb,
            home,
            keypair,
            address,
        }
    }

    /// The options pointing at the sandbox and paying with the keypair.
    pub(crate) fn globals(&self) -> Vec<String> {
        vec![
            "--base-url".into(),
            self.sb.intel_base_url(),
            "--sx-base-url".into(),
            self.sb.sovx_base_url(),
            "--rpc".into(),
            self.sb.rpc_url(),
            "--keypair".into(),
            self.keypair.to_str().unwrap().to_owned(),
            // Job results need a key (paid calls still pay with x402).
            "--results-api-key".into(),
            self.results_key.clone(),
            "--poll-interval".into(),
            "0.05".into(),
        ]
    }

    /// Runs `sova <globals> args…`.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        let g = self.globals();
        let mut all: Vec<&str> = g.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        sova(&self.home, &all)
    }

    /// Runs `sova <globals> args…` with the Intel base URL `base` (e.g. a proxy's).
    pub(crate) fn run_at(&self, base: &str, args: &[&str]) -> Run {
        let mut g = self.globals();
        g[1] = base.to_owned();
        let mut all: Vec<&str> = g.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        sova(&self.home, &all)
    }

    /// Runs with the SovX owner key.
    pub(crate) fn owner(&self, args: &[&str]) -> Run {
        let key = self.sb.sovx_owner_key();
        let mut all = vec!["--owner-key", key.as_str()];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// Settled x402 payments made by this environment's wallet.
    pub(crate) fn my_payments(&self) -> Vec<sova_sandbox::PaymentRecord> {
        self.sb
            .payments()
            .into_iter()
            .filter(|p| p.payer == self.address)
            .collect()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}
