//! The advertised schemas as strict clients read them, and the server enforcing every bound it
//! advertises (issue 18).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use rmcp::ServiceExt;
use serde_json::{Value, json};

use common::*;

/// Every key/value pair anywhere in a schema.
fn walk<'a>(v: &'a Value, out: &mut Vec<(&'a str, &'a Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.push((k.as_str(), x));
                walk(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemas_are_portable_defaults_true_and_annotations_honest() {
    let sb = sandbox(false).await;
    let (http, _stop) = serve_http(server(&sb, 50, |b| b.approve_above(None))).await;
    let client: Client = User::without_elicitation()
        .serve(transport(&http))
        .await
        .unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 13);
    for t in &tools {
        let schema = Value::Object((*t.input_schema).clone());
        let mut pairs = Vec::new();
        walk(&schema, &mut pairs);
        for (k, v) in &pairs {
            assert!(
                !(*k == "type" && v.is_array()),
                "{}: a type array is not portable: {schema}",
                t.name
            );
            assert_ne!(*k, "format", "{}: non-standard format: {schema}", t.name);
            assert_ne!(*k, "$ref", "{}: $ref: {schema}", t.name);
            assert!(
                !(*k == "default" && v.is_null()),
                "{}: default null",
                t.name
            );
        }
        assert!(t.output_schema.is_some(), "{}: no outputSchema", t.name);
        // "Default X." in a description is the schema's default.
        for (name, p) in schema["properties"].as_object().into_iter().flatten() {
            let d = p["description"].as_str().unwrap_or_default();
            assert!(!d.contains('\n'), "{}.{name}: a line break: {d:?}", t.name);
            if let Some(rest) = d.split("Default ").nth(1) {
                let said = rest.trim_end_matches('.').split(['.', ' ']).next().unwrap();
                let default = &p["default"];
                let shown = default
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| default.to_string());
                assert_eq!(shown, said, "{}.{name}: {d:?} vs {default}", t.name);
            } else {
                assert!(
                    p.get("default").is_none(),
                    "{}.{name}: undocumented default",
                    t.name
                );
            }
        }
        let a = t.annotations.as_ref().unwrap();
        if [
            "job_wait",
            "job_status",
            "pricing",
            "budget_status",
            "spend_report",
        ]
        .contains(&t.name.as_ref())
        {
            assert_eq!(a.read_only_hint, Some(true), "{}", t.name);
            assert_eq!(a.idempotent_hint, Some(true), "{}", t.name);
        } else {
            assert_eq!(a.read_only_hint, Some(false), "{}", t.name);
        }
    }
    let wait = &tools
        .iter()
        .find(|t| t.name == "wallet_hud")
        .unwrap()
        .input_schema["properties"]["waitSeconds"];
    assert!(
        wait["default"].as_u64().unwrap() < 50,
        "a handle before 50 s: {wait}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_advertised_bound_is_enforced_before_paying() {
    let sb = sandbox(false).await;
    let (http, _stop) = serve_http(server(&sb, 51, |b| b.approve_above(None))).await;
    let client: Client = User::without_elicitation()
        .serve(transport(&http))
        .await
        .unwrap();
    for (tool, args) in [
        ("wallet_hud", json!({"address": WALLET, "waitSeconds": 301})),
        (
            "wallet_hud",
            json!({"address": WALLET, "waitSeconds": 4_294_967_295u64}),
        ),
        ("wallet_hud", json!({"address": WALLET, "waitSeconds": -1})),
        ("wallet_hud", json!({"address": WALLET, "waitSeconds": 1.5})),
        ("wallet_token_pnl", json!({"address": WALLET, "page": 0})),
        (
            "wallet_token_pnl",
            json!({"address": WALLET, "page": 4_294_967_295u64}),
        ),
        (
            "wallet_token_pnl",
            json!({"address": WALLET, "pageSize": 101}),
        ),
        (
            "token_holder_profiles",
            json!({"mint": MINT, "waitSeconds": 301}),
        ),
        ("deep_token_analysis", json!({"mint": MINT, "topN": 51})),
        (
            "wallet_similarity",
            json!({"wallets": [WALLET, WALLET2], "limit": 0}),
        ),
        ("job_wait", json!({"handle": "job1.x", "waitSeconds": 301})),
        ("batch_wallet_hud", json!({"wallets": []})),
        (
            "wallet_hud",
            json!({"address": "0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl"}),
        ),
    ] {
        let r = call(&client, tool, args.clone()).await;
        let d = err(&r, "invalid_input");
        let m = d["error"]["message"].as_str().unwrap();
        assert!(m.contains("Nothing was sent or paid"), "{tool} {args}: {m}");
    }
    assert!(
        sb.payments().is_empty(),
        "nothing paid for a refused argument"
    );
    assert!(
        sb.requests().is_empty(),
        "nothing sent: {:?}",
        sb.requests()
    );
    // The bounds themselves are accepted.
    ok(&call(
        &client,
        "wallet_hud",
        json!({"address": WALLET, "waitSeconds": 300}),
    )
    .await);
    client.cancel().await.unwrap();
}
