//! `sova mcp`: the MCP server as a client starts it, over stdio, against the embedded sandbox
//! (`--sandbox`), spoken to in raw JSON-RPC lines.
#![cfg(feature = "mcp")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::Stdio;

use common::*;
use serde_json::{Value, json};

/// Reads JSON-RPC lines until the answer to `id`.
fn answer(lines: &mut impl Iterator<Item = std::io::Result<String>>, id: u64) -> Value {
    for line in lines.by_ref() {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if v["id"] == id {
            return v;
        }
    }
    panic!("no answer to request {id}");
}

#[test]
fn sova_mcp_sandbox_serves_stdio_offline() {
    let home = temp_dir("mcp");
    // With --sandbox the ledger is memory unless one is named: sandbox USDC never counts
    // against the user's real budget. Here a file is named, as two editors would share it.
    let ledger = home.join("shared-ledger.sqlite3");
    let mut child = sova_cmd(&home)
        .args([
            "--sandbox",
            "--ledger",
            ledger.to_str().unwrap(),
            "--poll-interval",
            "0.1",
            "mcp",
            "--approve-above",
            "off",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut send = |v: Value| {
        writeln!(stdin, "{v}").unwrap();
        stdin.flush().unwrap();
    };
    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "cli-test", "version": "0"}}}),
    );
    let init = answer(&mut lines, 1);
    assert_eq!(init["result"]["serverInfo"]["name"], "sova-mcp");
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
    let tools = answer(&mut lines, 2);
    assert_eq!(tools["result"]["tools"].as_array().unwrap().len(), 13);
    send(
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
        "name": "wallet_hud", "arguments": {"address": WALLET}}}),
    );
    let hud = answer(&mut lines, 3);
    let r = &hud["result"];
    assert_ne!(r["isError"], true, "{r}");
    assert_eq!(r["structuredContent"]["data"]["walletAddress"], WALLET);
    assert_eq!(
        r["_meta"]["x402/payment-response"]["amount"]["baseUnits"],
        15000
    );
    send(
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
        "name": "budget_status", "arguments": {}}}),
    );
    let b = answer(&mut lines, 4);
    assert_eq!(
        b["result"]["structuredContent"]["data"]["spent"]["baseUnits"],
        15_000
    );
    // The budget is counted in the ledger file named by --ledger, shared by every `sova mcp`
    // and `sova` command that opens it.
    assert_eq!(
        b["result"]["structuredContent"]["data"]["ledgerDurable"],
        true
    );
    assert!(ledger.exists());
    // A job: paid once with x402, its result read with the key the sandbox issued (results
    // need one, as in the docs).
    send(
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
        "name": "token_holder_profiles", "arguments": {"mint": MINT, "topN": 3, "waitSeconds": 30}}}),
    );
    let job = answer(&mut lines, 5);
    let r = &job["result"];
    assert_ne!(r["isError"], true, "{r}");
    assert_eq!(r["structuredContent"]["status"], "completed", "{r}");
    assert_eq!(
        r["_meta"]["x402/payment-response"]["amount"]["baseUnits"],
        300_000
    );
    drop(stdin); // EOF ends the session
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sandbox") && err.contains("paying from"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn sova_mcp_http_listens_on_loopback_only() {
    let home = temp_dir("mcp-http");
    let r = sova(&home, &["--sandbox", "mcp", "--http", "0.0.0.0:8787"]).expect(1);
    assert!(r.stderr.contains("loopback"), "{}", r.stderr);
    let r = sova(&home, &["mcp", "--tool-cap", "no_such_tool=1"]).expect(2);
    assert!(r.stderr.contains("not a paid tool"), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(&home);
}

/// Sends one raw HTTP/1.1 POST of an `initialize` to `url`; returns the status code.
fn post_initialize(url: &str, auth: Option<&str>) -> u16 {
    use std::io::Read as _;
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "cli-test", "version": "0"}}})
    .to_string();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    let auth = auth
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\n{auth}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    String::from_utf8_lossy(&head[9..12]).parse().unwrap()
}

/// Issue 16: `sova mcp --http` prints a generated bearer token on stderr and refuses requests
/// without it (401).
#[test]
fn sova_mcp_http_requires_the_printed_bearer_token() {
    let home = temp_dir("mcp-http-token");
    let mut child = sova_cmd(&home)
        .args(["--sandbox", "mcp", "--http", "127.0.0.1:0"])
        .env_remove("SOVA_MCP_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut url, mut token) = (None, None);
    for line in err.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split("serving MCP at ").nth(1) {
            url = rest.split_whitespace().next().map(str::to_owned);
        }
        if let Some(rest) = line.split("Authorization: Bearer ").nth(1) {
            token = rest.split_whitespace().next().map(str::to_owned);
        }
        if url.is_some() && token.is_some() {
            break;
        }
    }
    let (url, token) = (
        url.expect("the URL on stderr"),
        token.expect("the token on stderr"),
    );
    assert!(token.len() >= 32, "{token}");
    assert_eq!(post_initialize(&url, None), 401, "no token");
    assert_eq!(
        post_initialize(&url, Some("not-the-token-at-all")),
        401,
        "wrong token"
    );
    assert_eq!(
        post_initialize(&url, Some(&token)),
        200,
        "the printed token"
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&home);
}
