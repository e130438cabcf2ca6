//! Project automation, run as `cargo xtask <command>`.
//!
//! * `cargo xtask ci` — everything CI checks, stopping at the first failure with the command
//!   that reproduces it.
//! * `cargo xtask proptest [--cases N] [--no-shrink]` — all property tests (`tests/prop_*.rs`)
//!   with N cases each (default 256). Failures are persisted under `proptest-regressions/`;
//!   commit them.
//! * `cargo xtask bench [criterion args…]` — the criterion benchmarks.
//! * `cargo xtask deps` — the dependency-weight check of `sova-protocol`.

use std::collections::BTreeSet;
use std::env;
use std::process::{Command, ExitCode};
use std::time::Instant;

/// Property-test cases per target in CI: fewer than the local default (256), no shrinking.
const CI_PROPTEST_CASES: u32 = 128;
/// Cases per target for the plain `cargo test` step (the dedicated step runs more).
const TEST_PROPTEST_CASES: u32 = 64;
/// Crates that must never appear in `sova-protocol`'s normal dependency tree.
const PROTOCOL_FORBIDDEN: &[&str] = &[
    "reqwest",
    "ureq",
    "tokio",
    "hyper",
    "async-std",
    "solana-",
    "spl-",
];
/// The most crates `sova-protocol`'s normal tree may hold (itself included).
const PROTOCOL_MAX_CRATES: usize = 25;

/// Feature combinations of the `sova` facade (and the CLI without `mcp`) that must build on
/// their own.
const FEATURE_BUILDS: &[&[&str]] = &[
    &["build", "-p", "sova-protocol"],
    &[
        "build",
        "-p",
        "sova",
        "--no-default-features",
        "--features",
        "async",
    ],
    &[
        "build",
        "-p",
        "sova",
        "--no-default-features",
        "--features",
        "blocking",
    ],
    &[
        "build",
        "-p",
        "sova",
        "--no-default-features",
        "--features",
        "async,blocking",
    ],
    // The command line without `sova mcp` (no async client, no rmcp).
    &["build", "-p", "sova-cli", "--no-default-features"],
];

struct Step {
    name: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
}

fn step(name: &'static str, args: &[&str]) -> Step {
    Step {
        name,
        args: args.iter().map(|s| s.to_string()).collect(),
        env: Vec::new(),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("proptest") => proptest(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("deps") => deps(),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | proptest [--cases N] [--no-shrink] | bench [criterion args] | deps>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("\nxtask: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn cargo() -> String {
    env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

fn run(s: &Step) -> Result<(), String> {
    let shown = format!(
        "{}cargo {}",
        s.env
            .iter()
            .map(|(k, v)| format!("{k}={v} "))
            .collect::<String>(),
        s.args.join(" ")
    );
    eprintln!("\n==> {}: {shown}", s.name);
    let start = Instant::now();
    let status = Command::new(cargo())
        .args(&s.args)
        .envs(s.env.iter().map(|(k, v)| (*k, v.as_str())))
        .status()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    eprintln!(
        "    ({} took {:.1}s)",
        s.name,
        start.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "step `{}` failed. Reproduce with:\n    {shown}",
            s.name
        ))
    }
}

fn ci() -> Result<(), String> {
    let total = Instant::now();
    let mut steps = vec![
        step("format", &["fmt", "--all", "--", "--check"]),
        step(
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ],
        ),
    ];
    let mut test = step("test", &["test", "--workspace", "--all-features"]);
    test.env
        .push(("PROPTEST_CASES", TEST_PROPTEST_CASES.to_string()));
    test.env.push(("PROPTEST_MAX_SHRINK_ITERS", "0".to_owned()));
    steps.push(test);
    steps.push(proptest_step(CI_PROPTEST_CASES, true));
    for (i, args) in FEATURE_BUILDS.iter().enumerate() {
        let mut s = step("feature build", args);
        s.name = match i {
            0 => "build: sova-protocol alone",
            1 => "build: sova with async only",
            2 => "build: sova with blocking only",
            _ => "build: sova with async and blocking",
        };
        steps.push(s);
    }
    for s in &steps {
        run(s)?;
    }
    deps()?;
    eprintln!(
        "\nxtask ci: all steps passed in {:.0}s",
        total.elapsed().as_secs_f64()
    );
    Ok(())
}

fn proptest_step(cases: u32, ci: bool) -> Step {
    let mut s = step(
        "property tests",
        &["test", "--workspace", "--all-features", "--test", "prop_*"],
    );
    s.env.push(("PROPTEST_CASES", cases.to_string()));
    if ci {
        s.env.push(("PROPTEST_MAX_SHRINK_ITERS", "0".to_owned()));
    }
    s
}

fn proptest(args: &[String]) -> Result<(), String> {
    let mut cases = 256;
    let mut no_shrink = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--cases" => {
                cases = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--cases needs a number")?;
            }
            "--no-shrink" => no_shrink = true,
            other => return Err(format!("unknown proptest option {other}")),
        }
    }
    run(&proptest_step(cases, no_shrink))
}

fn bench(args: &[String]) -> Result<(), String> {
    let mut s = step("benchmarks", &["bench", "--workspace", "--benches"]);
    if !args.is_empty() {
        s.args.push("--".to_owned());
        s.args.extend(args.iter().cloned());
    }
    run(&s)
}

/// Checks that `sova-protocol` stays light: no HTTP client, runtime or Solana crate, and at
/// most [`PROTOCOL_MAX_CRATES`] crates in its normal dependency tree.
fn deps() -> Result<(), String> {
    let out = Command::new(cargo())
        .args([
            "tree",
            "-p",
            "sova-protocol",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .map_err(|e| format!("could not run cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree failed: {}\nReproduce with:\n    cargo tree -p sova-protocol -e normal",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let crates: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|l| !l.is_empty())
        .collect();
    let forbidden: Vec<&&str> = crates
        .iter()
        .filter(|c| PROTOCOL_FORBIDDEN.iter().any(|f| c.starts_with(f)))
        .collect();
    eprintln!(
        "\n==> dependency weight: sova-protocol has {} crates in its normal tree",
        crates.len()
    );
    if !forbidden.is_empty() {
        return Err(format!(
            "sova-protocol must not depend on {forbidden:?}. Inspect with:\n    cargo tree -p sova-protocol -e normal"
        ));
    }
    if crates.len() > PROTOCOL_MAX_CRATES {
        return Err(format!(
            "sova-protocol pulls {} crates (limit {PROTOCOL_MAX_CRATES}). Inspect with:\n    cargo tree -p sova-protocol -e normal",
            crates.len()
        ));
    }
    Ok(())
}
