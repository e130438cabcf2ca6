//! Project automation, run as `cargo xtask <command>`.
//!
//! * `cargo xtask ci` — everything CI checks, stopping at the first failure with the command
//!   that reproduces it.
//! * `cargo xtask proptest [--cases N] [--no-shrink]` — all property tests (`tests/prop_*.rs`)
//!   with N cases each (default 256). Failures are persisted under `proptest-regressions/`;
//!   commit them.
//! * `cargo xtask bench [criterion args…]` — the criterion benchmarks.
//! * `cargo xtask deps` — the design's dependency arrows between workspace crates, and the
//!   dependency weight of `sova-protocol`.

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

/// The internal crates a transport may use.
const TRANSPORT_DEPS: &[&str] = &["sova-protocol"];
/// The internal crates a front end (the CLI, an MCP server) may use.
const FRONT_END_DEPS: &[&str] = &[
    "sova",
    "sova-protocol",
    "sova-x402",
    "sova-sandbox",
    "sova-transport-async",
    "sova-transport-blocking",
];

/// What the CLI may depend on: every library crate, the MCP server included.
const CLI_DEPS: &[&str] = &[
    "sova",
    "sova-protocol",
    "sova-x402",
    "sova-sandbox",
    "sova-transport-async",
    "sova-transport-blocking",
    "sova-mcp",
];

/// The design's arrows (GUIDE §2): for each workspace package, the workspace packages it may
/// depend on (normal and build dependencies), then those it may also use as dev-dependencies.
/// `protocol` ← `x402` ← `sdk` ← `cli`/`mcp`; transports on `protocol` only; `sandbox` on
/// `protocol` and `x402`, never on `sdk`; only `sdk` tests against `sandbox`. A package that
/// is not listed fails the check until it is placed here.
const ARROWS: &[(&str, &[&str], &[&str])] = &[
    ("sova-protocol", &[], &[]),
    ("sova-x402", &["sova-protocol"], &[]),
    ("sova-transport-async", TRANSPORT_DEPS, &[]),
    ("sova-transport-blocking", TRANSPORT_DEPS, &[]),
    ("sova-sandbox", &["sova-protocol", "sova-x402"], &[]),
    (
        "sova",
        &[
            "sova-protocol",
            "sova-x402",
            "sova-transport-async",
            "sova-transport-blocking",
        ],
        &["sova-sandbox"],
    ),
    // The `sova mcp` command starts the MCP server: the CLI is the one front end above it.
    ("sova-cli", CLI_DEPS, &[]),
    ("sova-mcp", FRONT_END_DEPS, &["sova-sandbox"]),
    ("xtask", &[], &[]),
];

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
    // The ledger backends on their own, each with one client.
    &[
        "build",
        "-p",
        "sova",
        "--no-default-features",
        "--features",
        "blocking,sqlite",
    ],
    &[
        "build",
        "-p",
        "sova",
        "--no-default-features",
        "--features",
        "async,postgres",
    ],
    // The command line without `sova mcp` (no async client, no rmcp).
    &["build", "-p", "sova-cli", "--no-default-features"],
];

/// The most crates the async client may pull in without a ledger backend (issue 15: the
/// backends sit behind features so the core stays light).
const ASYNC_CLIENT_MAX_CRATES: usize = 200;

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
        Some("deps") => arrows().and_then(|()| deps()),
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
    run(&step("format", &["fmt", "--all", "--", "--check"]))?;
    arrows()?;
    let mut steps = vec![step(
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
    )];
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
            3 => "build: sova with async and blocking",
            4 => "build: sova blocking with the SQLite ledger",
            5 => "build: sova async with the PostgreSQL ledger",
            _ => "build: sova-cli without mcp",
        };
        steps.push(s);
    }
    let mut doc = step(
        "docs",
        &["doc", "--workspace", "--no-deps", "--all-features"],
    );
    doc.env.push(("RUSTDOCFLAGS", "-D warnings".to_owned()));
    steps.push(doc);
    for s in &steps {
        run(s)?;
    }
    // Built now, so that it sees the tree as the steps above left it.
    run(&package_step())?;
    deps()?;
    eprintln!(
        "\nxtask ci: all steps passed in {:.0}s",
        total.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `cargo package` for every crate, without the verifying build (the test step built them)
/// and offline: the earlier steps left every index entry it needs in cargo's cache, and
/// asking crates.io again costs ~40 s for nothing. A working tree with uncommitted changes
/// is packaged as it is (`--allow-dirty`, said so); CI runs on a clean clone, where the flag
/// is not added.
fn package_step() -> Step {
    let mut s = step(
        "package",
        &["package", "--workspace", "--no-verify", "--offline"],
    );
    let dirty = Command::new("git")
        .args(["status", "--porcelain"])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    if dirty {
        eprintln!("\n(the working tree has uncommitted changes: packaging with --allow-dirty)");
        s.args.push("--allow-dirty".to_owned());
    }
    s
}

/// One dependency of a workspace package on another, as `cargo metadata` declares it.
struct Arrow {
    from: String,
    to: String,
    dev: bool,
}

/// The dependencies between workspace packages, from `cargo metadata --no-deps`.
fn workspace_arrows() -> Result<(BTreeSet<String>, Vec<Arrow>), String> {
    let reproduce = "cargo metadata --format-version 1 --no-deps";
    let out = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}\nReproduce with:\n    {reproduce}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!("cargo metadata printed unreadable JSON ({e}); run:\n    {reproduce}")
    })?;
    let packages = meta["packages"]
        .as_array()
        .ok_or_else(|| format!("cargo metadata listed no packages; run:\n    {reproduce}"))?;
    let names: BTreeSet<String> = packages
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    let mut arrows = Vec::new();
    for p in packages {
        let from = p["name"].as_str().unwrap_or_default();
        for d in p["dependencies"].as_array().into_iter().flatten() {
            let to = d["name"].as_str().unwrap_or_default();
            if names.contains(to) {
                arrows.push(Arrow {
                    from: from.to_owned(),
                    to: to.to_owned(),
                    // `kind` is null for normal dependencies, "build" or "dev" otherwise.
                    dev: d["kind"].as_str() == Some("dev"),
                });
            }
        }
    }
    Ok((names, arrows))
}

/// Checks every dependency between workspace packages against [`ARROWS`].
fn arrows() -> Result<(), String> {
    let start = Instant::now();
    eprintln!("\n==> design arrows: cargo metadata --format-version 1 --no-deps");
    let (names, found) = workspace_arrows()?;
    let mut problems = Vec::new();
    for name in &names {
        if !ARROWS.iter().any(|(n, _, _)| n == name) {
            problems.push(format!(
                "{name} is not placed in the design: add it to ARROWS in xtask/src/main.rs"
            ));
        }
    }
    for a in &found {
        let Some((_, normal, dev)) = ARROWS.iter().find(|(n, _, _)| *n == a.from) else {
            continue;
        };
        let allowed = normal.contains(&a.to.as_str()) || (a.dev && dev.contains(&a.to.as_str()));
        if !allowed {
            let kind = if a.dev {
                "dev-dependency"
            } else {
                "dependency"
            };
            let may = if normal.is_empty() {
                "no workspace crate".to_owned()
            } else {
                normal.join(", ")
            };
            problems.push(format!(
                "{} has a {kind} on {}; the design lets it depend on {may}{}",
                a.from,
                a.to,
                if dev.is_empty() {
                    String::new()
                } else {
                    format!(" (and dev-depend on {})", dev.join(", "))
                }
            ));
        }
    }
    eprintln!(
        "    ({} dependencies between {} workspace packages checked in {:.1}s)",
        found.len(),
        names.len(),
        start.elapsed().as_secs_f64()
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the workspace breaks the design's dependency arrows (GUIDE §2):\n    {}\nInspect with:\n    cargo tree --workspace --depth 1 -e normal,build,dev",
            problems.join("\n    ")
        ))
    }
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
    let crates = tree_crates(&["-p", "sova-protocol"])?;
    client_weight()?;
    let forbidden: Vec<&String> = crates
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

/// The async client's dependency weight, without and with each ledger backend; fails when
/// the client without a backend passes [`ASYNC_CLIENT_MAX_CRATES`].
fn client_weight() -> Result<(), String> {
    eprintln!("\n==> dependency weight of the async client (sova --no-default-features)");
    for features in [
        "async",
        "async,sqlite",
        "async,postgres",
        "async,sqlite,postgres",
    ] {
        let n = tree_crates(&[
            "-p",
            "sova",
            "--no-default-features",
            "--features",
            features,
        ])?
        .len();
        eprintln!("    features {features}: {n} crates");
        if features == "async" && n > ASYNC_CLIENT_MAX_CRATES {
            return Err(format!(
                "the async client pulls {n} crates (limit {ASYNC_CLIENT_MAX_CRATES}). Inspect with:\n    cargo tree -p sova --no-default-features --features async -e normal"
            ));
        }
    }
    Ok(())
}

/// The packages in the normal dependency tree that `cargo tree <selection>` prints.
fn tree_crates(selection: &[&str]) -> Result<BTreeSet<String>, String> {
    let out = Command::new(cargo())
        .arg("tree")
        .args(selection)
        .args(["-e", "normal", "--prefix", "none", "--format", "{p}"])
        .output()
        .map_err(|e| format!("could not run cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree failed: {}\nReproduce with:\n    cargo tree {} -e normal",
            String::from_utf8_lossy(&out.stderr),
            selection.join(" ")
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}
