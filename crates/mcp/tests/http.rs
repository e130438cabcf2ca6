//! The server over streamable HTTP on loopback, driven by an rmcp client, against the
//! embedded sandbox: jobs through job_wait, refusals, approvals (elicitation on protocol
//! 2025-11-25, `input_required` on 2026-07-28), per-tool caps, cold wallets, receipts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use rmcp::model::ProtocolVersion;
use rmcp::{ClientLifecycleMode, ClientServiceExt, ServiceExt};
use serde_json::json;

use common::*;

async fn connect(http: &Http, user: User) -> Client {
    user.serve(transport(http)).await.unwrap()
}

/// A client on protocol 2026-07-28: no session, no server-to-client requests; approvals come
/// back as `input_required` results that the client answers on a retry.
async fn connect_stateless(http: &Http, user: User) -> Client {
    user.serve_with_lifecycle(
        transport(http),
        ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        },
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_continued_by_job_wait_and_charged_once() {
    let sb = sandbox(false).await;
    let server = server(&sb, 1, |b| b.approve_above(None));
    let (url, _stop) = serve_http(server).await;
    let client = connect(&url, User::without_elicitation()).await;

    // Queue and return at once: a handle, one payment.
    let r = call(
        &client,
        "token_holder_profiles",
        json!({"mint": MINT, "topN": 5, "waitSeconds": 0}),
    )
    .await;
    let d = ok(&r).clone();
    assert_eq!(d["status"], "pending", "{}", text(&r));
    let handle = d["job"]["handle"].as_str().unwrap().to_owned();
    assert!(handle.starts_with("job1."));
    assert!(
        text(&r).contains("job_wait"),
        "the text says how to continue"
    );
    assert_eq!(receipt(&r).unwrap()["amount"]["baseUnits"], 20 * CREDIT);
    assert_eq!(ledger(&sb).len(), 1);
    let job_id = d["job"]["jobId"].as_str().unwrap().to_owned();

    // Poll with job_status and job_wait(0) until it completes: never another payment.
    let st = call(&client, "job_status", json!({"jobId": job_id})).await;
    ok(&st);
    let mut rounds = 0;
    let result = loop {
        let w = call(
            &client,
            "job_wait",
            json!({"handle": handle, "waitSeconds": 0}),
        )
        .await;
        let d = ok(&w).clone();
        assert!(receipt(&w).is_none(), "job_wait pays nothing");
        if d["status"] == "completed" {
            break d;
        }
        assert_eq!(
            d["job"]["handle"], handle,
            "the same handle comes back while pending"
        );
        rounds += 1;
        assert!(rounds < 200, "the job never completed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        result["data"]["profiles"]
            .as_array()
            .is_some_and(|p| !p.is_empty()),
        "{result}"
    );
    // Once more after completion: still free, same result.
    let again = call(&client, "job_wait", json!({"handle": handle})).await;
    assert_eq!(ok(&again)["data"], result["data"]);

    assert_eq!(
        ledger(&sb).len(),
        1,
        "one payment however often it is polled"
    );
    let route = "POST /api/v1/intel/token/{mint}/holders/agent";
    assert_eq!(
        sb.payments().iter().filter(|p| p.route == route).count(),
        1,
        "queued and paid once"
    );
    assert_eq!(
        sb.request_count(route),
        2,
        "the job was requested twice only: the 402 challenge and the paid request: {:?}",
        sb.requests()
    );
    let report = call(&client, "spend_report", json!({})).await;
    assert_report_matches_ledger(&sb, ok(&report));
    // One type for amounts: the receipt in _meta and the spend report agree exactly.
    assert_eq!(
        ok(&report)["data"]["payments"][0]["amount"],
        receipt(&r).unwrap()["amount"]
    );
    assert_eq!(
        receipt(&r).unwrap()["amount"],
        json!({"baseUnits": 20 * CREDIT, "usdc": "0.300000"})
    );
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_above_the_cap_is_refused_before_signing() {
    let sb = sandbox(false).await;
    let server = server(&sb, 2, |b| b.max_payment(100_000).approve_above(None));
    let (url, _stop) = serve_http(server).await;
    let user = User::approving();
    let client = connect(&url, user.clone()).await;

    let before = call(&client, "budget_status", json!({})).await;
    assert_eq!(ok(&before)["data"]["spent"]["baseUnits"], 0);
    let r = call(&client, "deep_token_analysis", json!({"mint": MINT})).await;
    let d = err(&r, "payment_refused");
    let msg = d["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("0.525000") && msg.contains("0.100000"),
        "{msg}"
    );
    assert!(msg.contains("Nothing was signed"), "{msg}");
    assert!(!text(&r).to_lowercase().contains("retry"), "{}", text(&r));
    assert!(receipt(&r).is_none());

    assert!(sb.payments().is_empty(), "nothing on the ledger");
    let after = call(&client, "budget_status", json!({})).await;
    assert_eq!(
        ok(&after)["data"]["spent"]["baseUnits"],
        0,
        "policy spent unchanged"
    );
    assert!(
        user.questions().is_empty(),
        "a price above the cap is never put to the user"
    );
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_by_elicitation_accept_and_decline() {
    let sb = sandbox(false).await;
    let server = server(&sb, 3, |b| b.approve_above(Some(100_000)));
    let (url, _stop) = serve_http(server).await;
    let user = User::approving();
    let client = connect(&url, user.clone()).await;

    // Below the threshold: no question.
    let hud = call(&client, "wallet_hud", json!({"address": WALLET})).await;
    ok(&hud);
    assert!(user.questions().is_empty());

    // Above: the user is asked, with the amount in USDC, and accepts; paid once.
    let r = call(
        &client,
        "token_holder_profiles",
        json!({"mint": MINT, "topN": 5}),
    )
    .await;
    let d = ok(&r);
    assert_eq!(d["status"], "completed", "{}", text(&r));
    let q = user.questions();
    assert_eq!(q.len(), 1, "{q:?}");
    // The prompt names the tool and the amount in plain USDC, not the internal endpoint.
    assert!(
        q[0].starts_with("Pay 0.3 USDC for Token holder profiles (token_holder_profiles)?"),
        "{}",
        q[0]
    );
    assert!(
        !q[0].contains("intel.") && !q[0].contains("0.300000"),
        "{}",
        q[0]
    );
    let rec = receipt(&r).unwrap();
    assert_eq!(rec["amount"]["baseUnits"], 20 * CREDIT);
    assert!(text(&r).contains("approved by the user"), "{}", text(&r));
    assert_eq!(ledger(&sb).len(), 2);

    // Declined: nothing is signed.
    user.set(Answer::Decline);
    let r = call(
        &client,
        "deep_token_analysis",
        json!({"mint": MINT, "topN": 5}),
    )
    .await;
    let d = err(&r, "payment_declined");
    assert!(d["error"]["message"].as_str().unwrap().contains("0.525000"));
    assert_eq!(user.questions().len(), 2);
    assert_eq!(ledger(&sb).len(), 2, "nothing paid after a decline");

    let report = call(&client, "spend_report", json!({})).await;
    let rep = ok(&report);
    assert_report_matches_ledger(&sb, rep);
    assert_eq!(rep["data"]["payments"][1]["userApproved"], true);
    assert_eq!(rep["data"]["payments"][0]["userApproved"], false);
    let b = call(&client, "budget_status", json!({})).await;
    assert_eq!(ok(&b)["data"]["spent"]["baseUnits"], 21 * CREDIT);
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_on_protocol_2026_07_28_goes_through_input_required() {
    let sb = sandbox(false).await;
    let server = server(&sb, 4, |b| b.approve_above(Some(100_000)));
    let (url, _stop) = serve_http(server).await;
    let user = User::approving();
    let client = connect_stateless(&url, user.clone()).await;

    let r = call(
        &client,
        "wallet_similarity",
        json!({"wallets": [WALLET, WALLET2]}),
    )
    .await;
    assert_eq!(ok(&r)["status"], "completed", "{}", text(&r));
    assert_eq!(user.questions().len(), 1);
    assert!(user.questions()[0].contains("Pay 0.3 USDC for Wallet similarity"));
    assert_eq!(receipt(&r).unwrap()["amount"]["baseUnits"], 20 * CREDIT);
    assert_eq!(ledger(&sb).len(), 1);

    user.set(Answer::Decline);
    let r = call(
        &client,
        "wallet_similarity",
        json!({"wallets": [WALLET, WALLET3]}),
    )
    .await;
    err(&r, "payment_declined");
    assert_eq!(user.questions().len(), 2);
    assert_eq!(ledger(&sb).len(), 1, "nothing paid after a decline");

    let report = call(&client, "spend_report", json!({})).await;
    assert_report_matches_ledger(&sb, ok(&report));
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_elicitation_a_payment_above_the_threshold_is_refused() {
    let sb = sandbox(false).await;
    let server = server(&sb, 5, |b| b.approve_above(Some(100_000)));
    let (url, _stop) = serve_http(server).await;
    let client = connect(&url, User::without_elicitation()).await;

    let r = call(&client, "token_holder_profiles", json!({"mint": MINT})).await;
    let d = err(&r, "approval_required");
    let msg = d["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("0.300000 USDC") && msg.contains("Nothing was signed"),
        "{msg}"
    );
    assert!(sb.payments().is_empty());
    // Cheap calls still go through.
    ok(&call(&client, "wallet_hud", json!({"address": WALLET})).await);
    assert_eq!(ledger(&sb).len(), 1);
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_tool_cap_refuses_that_tool_only() {
    let sb = sandbox(false).await;
    let server = server(&sb, 6, |b| {
        b.approve_above(None).tool_cap("wallet_profile", 50_000)
    });
    let (url, _stop) = serve_http(server).await;
    let client = connect(&url, User::approving()).await;

    let r = call(&client, "wallet_profile", json!({"address": WALLET})).await;
    let d = err(&r, "payment_refused");
    assert!(
        d["error"]["message"]
            .as_str()
            .unwrap()
            .contains("wallet_profile")
    );
    assert!(sb.payments().is_empty());
    let first = call(&client, "wallet_token_pnl", json!({"address": WALLET})).await;
    let total = ok(&first)["data"]["total"].as_u64().unwrap();
    // A page past the last known page of this wallet is refused before paying (issue 18).
    let beyond = total.div_ceil(20) + 1;
    // 100000 is the schema's maximum; above it the schema check refuses first.
    for page in [beyond, 100_000] {
        let r = call(
            &client,
            "wallet_token_pnl",
            json!({"address": WALLET, "page": page}),
        )
        .await;
        let d = err(&r, "invalid_input");
        assert!(
            d["error"]["message"]
                .as_str()
                .unwrap()
                .contains("past the last page"),
            "{}",
            text(&r)
        );
    }
    let b = call(&client, "budget_status", json!({})).await;
    assert_eq!(
        ok(&b)["data"]["toolCaps"]["wallet_profile"]["baseUnits"],
        50_000
    );
    assert_eq!(ledger(&sb).len(), 1);
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_wallet_is_analysed_and_paid_once() {
    let sb = sandbox(true).await;
    let server = server(&sb, 7, |b| b.approve_above(None));
    let (url, _stop) = serve_http(server).await;
    let client = connect(&url, User::approving()).await;

    // A cold wallet answers 202 (free) while the server analyses it; within the wait window
    // the tool waits for the job inside the call and re-calls with X-Prepaid-Job-Id,
    // carrying the payment it signed for the first request: one payment for the logical
    // request. (Past the window it returns a handle: see the test after this one.)
    let done = call(&client, "wallet_profile", json!({"address": WALLET2})).await;
    let d = ok(&done).clone();
    assert_eq!(d["status"], "completed", "{}", text(&done));
    assert_eq!(d["data"]["walletAddress"], WALLET2);
    assert_eq!(receipt(&done).unwrap()["amount"]["baseUnits"], 5 * CREDIT);
    assert_eq!(
        ledger(&sb).len(),
        1,
        "the analysis and the profile are paid once"
    );
    let report = call(&client, "spend_report", json!({})).await;
    assert_report_matches_ledger(&sb, ok(&report));
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_listener_is_loopback_only() {
    let e = sova_mcp::bind_http("0.0.0.0:0".parse().unwrap())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("loopback"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncertain_payment_is_reported_with_its_reference_and_never_repeated() {
    let sb = sandbox(false).await;
    let server = server(&sb, 8, |b| b.approve_above(None));
    let (url, _stop) = serve_http(server).await;
    let client = connect(&url, User::approving()).await;
    // A first call warms the blockhash cache, so the next payment needs no RPC to be signed.
    ok(&call(&client, "wallet_token_pnl", json!({"address": WALLET})).await);
    // Then the answer is lost after settlement and the RPC cannot tell what happened.
    sb.add_fault(sova_sandbox::Fault {
        route: Some("GET /api/v1/intel/wallet/{address}/hud".into()),
        kind: sova_sandbox::FaultKind::DropAfterSettlement,
        times: Some(1),
    });
    sb.add_fault(sova_sandbox::Fault {
        route: Some("POST /rpc".into()),
        kind: sova_sandbox::FaultKind::Status { status: 503 },
        times: None,
    });

    let r = call(&client, "wallet_hud", json!({"address": WALLET})).await;
    let d = err(&r, "payment_uncertain").clone();
    // The payment's state outranks the error: first in the text and in the document.
    assert!(
        text(&r).starts_with("PAYMENT MAY HAVE BEEN CHARGED: 0.015000 USDC"),
        "{}",
        text(&r)
    );
    assert_eq!(d["payment"]["state"], "may_have_charged");
    assert_eq!(d["payment"]["amount"]["usdc"], "0.015000");
    let paid = sb.payments();
    assert_eq!(paid.len(), 2, "one payment for the HUD, never a second");
    let hud = paid.iter().find(|p| p.route.contains("/hud")).unwrap();
    assert!(!hud.delivered);
    let t = text(&r);
    assert!(
        t.contains(&hud.signature),
        "the reference is in the text: {t}"
    );
    assert!(
        t.contains("may have been charged") && t.contains("Do not call this tool again"),
        "{t}"
    );
    assert_eq!(
        d["error"]["details"]["payment"]["payerSignature"],
        hud.signature
    );

    let report = call(&client, "spend_report", json!({})).await;
    let rep = ok(&report);
    assert_eq!(rep["data"]["payments"].as_array().unwrap().len(), 1);
    let unsure = rep["data"]["uncertain"].as_array().unwrap();
    assert_eq!(unsure.len(), 1);
    assert_eq!(unsure[0]["payerSignature"], hud.signature);
    assert_eq!(unsure[0]["amount"]["baseUnits"], CREDIT);
    assert!(text(&report).contains("unknown outcome"));
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_pages_cannot_drive_the_server() {
    let sb = sandbox(false).await;
    let (url, _stop) = serve_http(server(&sb, 9, |b| b)).await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "page", "version": "0"}}});
    let http = reqwest::Client::new();
    let post = |origin: Option<&str>| {
        let mut r = http
            .post(&url.url)
            .bearer_auth(&url.token)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(init.to_string());
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send()
    };
    let page = post(Some("https://evil.example")).await.unwrap();
    assert_eq!(page.status().as_u16(), 403, "a browser origin is refused");
    let client = post(None).await.unwrap();
    assert_eq!(
        client.status().as_u16(),
        200,
        "an MCP client sends no Origin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_api_key_calls_use_credits_and_carry_no_receipt() {
    let sb = sandbox(false).await;
    let key = sb.create_api_key(100);
    let server = api_key_server(&sb, &key);
    let (url, _stop) = serve_http(server).await;
    let client = connect(&url, User::without_elicitation()).await;

    let r = call(&client, "wallet_profile", json!({"address": WALLET})).await;
    assert_eq!(ok(&r)["data"]["walletAddress"], WALLET);
    assert!(receipt(&r).is_none());
    // Approval is about USDC payments; credits are not asked about.
    let r = call(
        &client,
        "token_holder_profiles",
        json!({"mint": MINT, "topN": 3}),
    )
    .await;
    assert_eq!(ok(&r)["status"], "completed", "{}", text(&r));
    assert_eq!(sb.credits(&key), Some(100 - 5 - 20));
    assert!(sb.payments().is_empty(), "no USDC moved");
    let b = call(&client, "budget_status", json!({})).await;
    assert_eq!(ok(&b)["data"]["mode"], "api-key");
    client.cancel().await.unwrap();
}

/// A server paying with an API key only (no wallet).
fn api_key_server(sb: &sova_sandbox::Sandbox, key: &str) -> sova_mcp::SovaMcp {
    sova_mcp::SovaMcp::builder()
        .base_url(sb.intel_base_url())
        .api_key(key)
        .poll_interval(Duration::from_millis(50))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_charged_by_a_failed_call_is_reported_and_listed() {
    let sb = sandbox(false).await;
    sb.add_fault(sova_sandbox::Fault {
        route: Some("GET /api/v1/intel/wallet/{address}/hud".into()),
        kind: sova_sandbox::FaultKind::StatusAfterSettlement { status: 500 },
        times: Some(1),
    });
    let server = server(&sb, 10, |b| b.approve_above(None));
    let (url, _stop) = serve_http(server).await;
    let client = connect(&url, User::approving()).await;

    let r = call(&client, "wallet_hud", json!({"address": WALLET})).await;
    // The payment landed but the answer was lost: charged, listed, never paid again.
    let d = err(&r, "charged_without_answer").clone();
    assert!(
        text(&r).starts_with("PAYMENT CHARGED: 0.015000 USDC (15000 base units), payer signature"),
        "the state comes first: {}",
        text(&r)
    );
    assert_eq!(d["payment"]["state"], "charged");
    assert_eq!(d["payment"]["amount"]["baseUnits"], CREDIT);
    let paid = sb.payments();
    assert_eq!(paid.len(), 1, "one payment, never a second: {}", text(&r));
    let t = text(&r);
    assert!(
        t.contains(&paid[0].signature),
        "the reference is in the text: {t}"
    );
    assert!(
        t.contains("Do not call this tool again") || t.contains("do not call this tool again"),
        "{t}"
    );
    let report = call(&client, "spend_report", json!({})).await;
    let rep = ok(&report);
    assert_report_matches_ledger(&sb, rep);
    assert_eq!(
        rep["data"]["payments"][0]["payerSignature"],
        paid[0].signature
    );
    assert_eq!(d["payment"]["signature"], paid[0].signature);
    assert!(rep["data"]["uncertain"].as_array().unwrap().is_empty());
    client.cancel().await.unwrap();
}

/// An x402-only server (no key at all): the job is paid once, then the result read stops
/// before sending (the sandbox, like the docs, requires authentication) with the handle, and
/// the charged payment is reported, never paid again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_results_key_the_job_is_paid_once_and_the_handle_returned() {
    let sb = sandbox(false).await;
    let server = sova_mcp::SovaMcp::builder()
        .base_url(sb.intel_base_url())
        .rpc_url(sb.rpc_url())
        .keypair(funded(&sb, 21))
        .poll_interval(Duration::from_millis(50))
        .wait(Duration::from_secs(10))
        .approve_above(None)
        .build()
        .unwrap();
    let (url, _stop) = serve_http(server).await;
    let client = connect(&url, User::without_elicitation()).await;
    let r = call(
        &client,
        "token_holder_profiles",
        json!({"mint": MINT, "topN": 3}),
    )
    .await;
    let e = err(&r, "result_auth_required").clone();
    let t = text(&r);
    assert!(t.contains("SOVA_RESULTS_API_KEY"), "{t}");
    assert!(
        t.contains("not paid again") && t.contains("Paid 0.300000 USDC"),
        "{t}"
    );
    let handle = e["error"]["details"]["handle"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(handle.starts_with("job1."), "{e}");
    let h = sova::protocol::jobs::JobHandle::decode(&handle).unwrap();
    assert!(h.queued_at_unix.is_some(), "the SDK stamped the handle");
    assert_eq!(ledger(&sb).len(), 1, "paid once, never for the read");
    client.cancel().await.unwrap();
}

/// Issue 16: any local process could spend the wallet through `--http`. Every request needs the
/// bearer token; without it, or with a wrong one, `401` and nothing runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_requests_without_the_bearer_token_are_refused() {
    let sb = sandbox(false).await;
    let (http, _stop) = serve_http(server(&sb, 12, |b| b.approve_above(None))).await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "intruder", "version": "0"}}});
    let client = reqwest::Client::new();
    let post = |auth: Option<String>| {
        let mut r = client
            .post(&http.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(init.to_string());
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.send()
    };
    let none = post(None).await.unwrap();
    assert_eq!(none.status().as_u16(), 401, "no token: refused");
    assert!(
        none.headers()
            .get("www-authenticate")
            .is_some_and(|v| v.to_str().unwrap().starts_with("Bearer")),
        "{:?}",
        none.headers()
    );
    let wrong = post(Some(format!("Bearer {}x", &http.token[1..])))
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401, "a wrong token: refused");
    let basic = post(Some(format!("Basic {}", http.token))).await.unwrap();
    assert_eq!(basic.status().as_u16(), 401, "not a bearer token: refused");
    let right = post(Some(format!("Bearer {}", http.token))).await.unwrap();
    assert_eq!(right.status().as_u16(), 200, "the token: admitted");

    // An rmcp client without the token cannot connect, so it cannot pay.
    let bare = rmcp::transport::StreamableHttpClientTransport::from_uri(http.url.clone());
    assert!(User::without_elicitation().serve(bare).await.is_err());
    assert!(sb.payments().is_empty(), "nothing paid");

    // Chosen tokens are checked; generated ones are long and never printed by Debug.
    assert!(sova_mcp::BearerToken::new("short").is_err());
    let t = sova_mcp::BearerToken::generate().unwrap();
    assert_eq!(t.expose().len(), 64);
    assert!(!format!("{t:?}").contains(t.expose()));
}

/// Issue 16: job_wait never pays. A wallet handle (the re-call is the charged answer) is
/// refused with the reason; nothing is sent or paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_wait_refuses_a_handle_it_could_only_continue_by_paying() {
    use base64::Engine as _;
    let sb = sandbox(false).await;
    let (http, _stop) = serve_http(server(&sb, 13, |b| b.approve_above(None))).await;
    let client = connect(&http, User::without_elicitation()).await;
    let body = json!({"job_id": "intel-wallet-1", "follow_up": {"kind": "prepaid_recall",
        "endpoint": "wallet_hud", "address": WALLET, "prepaid_job_id": "intel-wallet-1"}});
    let handle = format!(
        "job1.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body.to_string())
    );
    sova::protocol::jobs::JobHandle::decode(&handle).expect("a valid wallet handle");
    let r = call(&client, "job_wait", json!({"handle": handle})).await;
    let d = err(&r, "handle_not_resumable");
    assert!(
        d["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Nothing was sent or paid"),
        "{}",
        text(&r)
    );
    assert!(sb.payments().is_empty(), "job_wait paid nothing");
    client.cancel().await.unwrap();
}

/// A cold wallet's analysis outlasting `waitSeconds`: the wallet tool answers with a handle
/// before the wait is over (not after 120 s), and job_wait fetches the answer with the payment
/// held since the first call: one payment in all, settled once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_wallet_returns_a_handle_and_job_wait_pays_nothing_more() {
    let sb = sandbox(true).await;
    let (http, _stop) = serve_http(server(&sb, 14, |b| b.approve_above(None))).await;
    let client = connect(&http, User::without_elicitation()).await;
    let r = call(
        &client,
        "wallet_hud",
        json!({"address": WALLET, "waitSeconds": 0}),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let t = text(&r);
    assert!(t.contains("job_wait"), "{t}");
    let doc = r.structured_content.clone().unwrap();
    let handle = doc["job"]["handle"]
        .as_str()
        .unwrap_or_else(|| panic!("a handle: {doc}"))
        .to_owned();
    assert!(
        sb.payments().is_empty(),
        "nothing settled yet: the payment is held"
    );
    let done = call(
        &client,
        "job_wait",
        json!({"handle": handle, "waitSeconds": 20}),
    )
    .await;
    assert_ne!(done.is_error, Some(true), "{}", text(&done));
    let paid = sb.payments();
    assert_eq!(paid.len(), 1, "one payment for the logical request");
    assert!(paid[0].delivered, "and the answer was delivered");
    client.cancel().await.unwrap();
}
