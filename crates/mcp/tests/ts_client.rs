//! The server driven by an independent client: the official TypeScript MCP SDK
//! (`@modelcontextprotocol/sdk`, from npm) with `ajv` in strict mode, over streamable HTTP on
//! loopback. `tests/ts/client.mjs` does the driving and prints a report; this test installs
//! the packages (once, into the target directory, from the pinned `tests/ts/package-lock.json`)
//! and asserts on the report: every tool's default answer fits a model (text ≤ 4,000
//! characters), progress notifications arrive during a job wait, every inputSchema and
//! outputSchema compiles under strict ajv, and every advertised bound is enforced as a tool
//! error with nothing paid.
//!
//! It never skips: without `node` or `npm`, or when the install fails, it fails and says why.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::Value;

const PACKAGE_JSON: &str = include_str!("ts/package.json");
const PACKAGE_LOCK: &str = include_str!("ts/package-lock.json");
const CLIENT: &str = include_str!("ts/client.mjs");

/// `<target>/mcp-ts-client`: the test binary is `<target>/<profile>/deps/ts_client-…`.
fn install_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the test binary lives in <target>/<profile>/deps");
    target.join("mcp-ts-client")
}

fn tool_version(tool: &str) -> String {
    match Command::new(tool).arg("--version").output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        Ok(o) => panic!(
            "`{tool} --version` failed ({}): this test drives the server with the official TypeScript MCP SDK and needs Node.js 18+ and npm on PATH. {}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!(
            "`{tool}` was not found ({e}): this test drives the server with the official TypeScript MCP SDK and needs Node.js 18+ and npm on PATH (e.g. apt-get install nodejs npm). It does not skip."
        ),
    }
}

/// Installs the pinned packages into `dir` unless the same lock file is installed already.
fn install(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let stamp = dir.join(".installed-lock");
    let sdk = dir.join("node_modules/@modelcontextprotocol/sdk/package.json");
    let current = std::fs::read_to_string(&stamp).unwrap_or_default();
    if current == PACKAGE_LOCK && sdk.exists() {
        return;
    }
    std::fs::write(dir.join("package.json"), PACKAGE_JSON).unwrap();
    std::fs::write(dir.join("package-lock.json"), PACKAGE_LOCK).unwrap();
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("could not run npm: {e}"));
    assert!(
        out.status.success() && sdk.exists(),
        "npm ci in {} failed ({}): the TypeScript MCP SDK could not be installed from the npm registry (or npm's cache).\nstdout: {}\nstderr: {}",
        dir.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&stamp, PACKAGE_LOCK).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_sdk_client_finds_small_answers_progress_strict_schemas_and_enforced_bounds()
{
    let node = tool_version("node");
    let major: u32 = node
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(major >= 18, "Node.js 18+ is needed, found {node}");
    tool_version("npm");
    let dir = install_dir();
    tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || install(&dir)
    })
    .await
    .unwrap();
    let script = dir.join("client.mjs");
    std::fs::write(&script, CLIENT).unwrap();

    // Jobs last long enough for several progress notifications during job_wait.
    let sb = sova_sandbox::Sandbox::builder()
        .sync_hold(Duration::from_millis(300))
        .flash_analysis(Duration::from_millis(20))
        .job_duration(Duration::from_millis(1_500))
        .start()
        .await
        .unwrap();
    let server = server(&sb, 70, |b| b.approve_above(None));
    let (http, _stop) = serve_http(server).await;
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .current_dir(&dir)
        .env("SOVA_MCP_URL", &http.url)
        .env("SOVA_MCP_TOKEN", &http.token)
        .env("SOVA_TEST_WALLET", WALLET)
        .env("SOVA_TEST_WALLET2", WALLET2)
        .env("SOVA_TEST_MINT", MINT)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the TypeScript client failed: {stderr}"
    );
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no report ({e}): {stderr}"));
    eprintln!("TypeScript SDK client report: {report:#}");
    assert!(
        report["errors"].as_array().unwrap().is_empty(),
        "{}",
        report["errors"]
    );

    // Every tool was listed and every schema compiles under strict ajv.
    let tools: Vec<&str> = report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tools, sova_mcp::tools::ALL);
    assert!(
        report["schemaErrors"].as_array().unwrap().is_empty(),
        "strict ajv refused: {:#}",
        report["schemaErrors"]
    );

    // Every bound crossed is a tool error (invalid_input), never a thrown protocol error,
    // and nothing was paid.
    let bounds = report["bounds"].as_array().unwrap();
    assert!(bounds.len() > 40, "{} crossings only", bounds.len());
    for b in bounds {
        assert_eq!(b["thrown"], Value::Null, "{b}");
        assert_eq!(b["isError"], true, "a bound not enforced: {b}");
        assert_eq!(b["kind"], "invalid_input", "{b}");
    }
    let (before, after) = (
        &report["boundsPaid"]["before"],
        &report["boundsPaid"]["after"],
    );
    assert_eq!(before["payments"], 0, "{before}");
    assert_eq!(before, after, "nothing paid while crossing bounds");

    // Progress notifications during the job wait.
    let progress = report["progress"].as_array().unwrap();
    assert!(
        !progress.is_empty(),
        "no progress notification: {}",
        report["progressResult"]
    );
    assert_eq!(report["progressResult"]["status"], "completed");

    // Every tool's default answer: at most 4,000 characters of text.
    for t in sova_mcp::tools::ALL {
        let s = &report["sizes"][t];
        assert_eq!(s["thrown"], Value::Null, "{t}: {s}");
        assert_eq!(s["isError"], false, "{t}: {s}");
        let chars = s["textChars"].as_u64().unwrap();
        assert!(chars > 0 && chars <= 4_000, "{t}: {chars} characters");
    }
    // One payment per paid tool with default inputs, plus the job of the progress phase.
    assert_eq!(sb.payments().len(), 8, "{:?}", sb.payments());
}
