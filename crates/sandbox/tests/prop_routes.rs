//! Property test: arbitrary bodies, headers and payment values against every route. The server
//! never panics or drops the connection, and every error has its surface's documented shape.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::OnceLock;

use common::b64;
use proptest::prelude::*;
use serde_json::Value;
use sova_sandbox::Sandbox;

struct Fixture {
    rt: tokio::runtime::Runtime,
    sb: Sandbox,
    client: reqwest::Client,
    key: String,
    owner: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sb = Sandbox::builder()
            .sync_hold(std::time::Duration::from_millis(5))
            .start_blocking()
            .unwrap();
        let key = sb.create_api_key(1_000_000);
        let owner = sb.sovx_owner_key();
        common::install_crypto_provider();
        let client = rt.block_on(async { reqwest::Client::builder().build().unwrap() });
        Fixture {
            rt,
            sb,
            client,
            key,
            owner,
        }
    })
}

/// Every route: (method, path with `{}` placeholders for arbitrary segments).
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/intel/wallet/{}"),
    ("GET", "/api/v1/intel/wallet/{}/hud"),
    ("GET", "/api/v1/intel/wallet/{}/tokens"),
    ("POST", "/api/v1/intel/wallets/batch-hud"),
    ("POST", "/api/v1/intel/token/{}/holders"),
    ("POST", "/api/v1/intel/token/{}/holders/agent"),
    ("POST", "/api/v1/intel/token/{}/holders/deep"),
    ("POST", "/api/v1/intel/wallets/similarity"),
    ("POST", "/api/v1/intel/wallets/similarity/agent"),
    ("GET", "/api/v1/jobs/{}"),
    ("GET", "/api/v1/jobs/result/by-key"),
    ("GET", "/api/v1/intel/pricing"),
    ("GET", "/api/v1/pricing"),
    ("GET", "/api/v1/{}"),
    ("GET", "/sovx/v1/health"),
    ("POST", "/sovx/v1/users"),
    ("GET", "/sovx/v1/users"),
    ("POST", "/sovx/v1/users/tokens"),
    ("GET", "/sovx/v1/users/{}"),
    ("PATCH", "/sovx/v1/users/{}"),
    ("DELETE", "/sovx/v1/users/{}"),
    ("POST", "/sovx/v1/users/{}/activate"),
    ("POST", "/sovx/v1/users/{}/deactivate"),
    ("POST", "/sovx/v1/users/{}/token"),
    ("POST", "/sovx/v1/users/{}/wallets"),
    ("GET", "/sovx/v1/users/{}/wallets"),
    ("GET", "/sovx/v1/users/{}/accounts/balance"),
    ("GET", "/sovx/v1/users/{}/accounts/transactions"),
    ("POST", "/sovx/v1/users/{}/trading/quotes"),
    ("POST", "/sovx/v1/users/{}/trading/orders"),
    ("POST", "/sovx/v1/users/{}/accounts/crypto/withdrawals"),
    ("GET", "/sovx/v1/users/{}/accounts/crypto/withdrawals"),
    ("GET", "/sovx/v1/users/{}/accounts/crypto/withdrawals/{}"),
    (
        "POST",
        "/sovx/v1/users/{}/accounts/crypto/withdrawals/{}/{}",
    ),
    ("GET", "/sovx/v1/monetization/settings"),
    ("POST", "/sovx/v1/monetization/settings"),
    ("GET", "/sovx/v1/monetization/settings/{}"),
    ("PUT", "/sovx/v1/monetization/settings/{}"),
    ("DELETE", "/sovx/v1/monetization/settings/{}"),
    ("GET", "/sovx/v1/accounts/balance"),
    ("GET", "/sovx/v1/accounts/transactions"),
    ("GET", "/sovx/v1/currencies"),
    ("GET", "/sovx/v1/currency-pairs"),
    ("GET", "/sovx/v1/wallets/{}"),
    ("GET", "/sovx/v1/wallets/{}/balances"),
    ("GET", "/sovx/v1/wallets/{}/transactions"),
    ("POST", "/sovx/v1/wallets/{}/addresses"),
    ("GET", "/sovx/v1/wallets/{}/addresses"),
    ("POST", "/sovx/v1/wallets/{}/transfers"),
    ("GET", "/sovx/v1/wallets/{}/transfers"),
    ("GET", "/sovx/v1/wallets/{}/transfers/{}"),
    ("POST", "/sovx/v1/wallets/{}/transfers/{}/{}"),
    ("GET", "/sovx/v1/{}"),
    ("POST", "/rpc"),
    ("GET", "/rpc"),
    ("GET", "/{}"),
];

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM".to_owned()),
        Just("11111111111111111111111111111111".to_owned()),
        Just("00000000-0000-4000-8000-000000000000".to_owned()),
        Just("confirm".to_owned()),
        "[a-zA-Z0-9_.~-]{1,50}",
        any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
    ]
}

fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn header_value() -> impl Strategy<Value = String> {
    "[ -~]{0,80}".prop_map(|s| s.trim().to_owned())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
        Just(Value::from("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("wallets".to_owned()),
                    Just("topN".to_owned()),
                    Just("user_ids".to_owned()),
                    Just("amount".to_owned()),
                    Just("name".to_owned()),
                    Just("networks".to_owned()),
                    Just("pair".to_owned()),
                    Just("code".to_owned()),
                    Just("method".to_owned()),
                    Just("params".to_owned()),
                    Just("jsonrpc".to_owned()),
                    "[a-z_]{1,10}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Some),
        json_value().prop_map(|v| Some(v.to_string().into_bytes())),
    ]
}

/// Payment header values: garbage, base64 of arbitrary JSON, or a payload with random tx bytes.
fn payment() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        header_value().prop_map(Some),
        json_value().prop_map(|v| Some(b64(v.to_string().as_bytes()))),
        (prop::collection::vec(any::<u8>(), 0..400), prop::bool::ANY).prop_map(|(tx, flat)| {
            let payload = if flat {
                serde_json::json!({"x402Version": 2, "scheme": "exact", "network": "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", "payload": {"transaction": b64(&tx)}})
            } else {
                serde_json::json!({"x402Version": 2, "accepted": {"scheme": "exact", "network": "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", "amount": "15000", "asset": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", "payTo": "x", "maxTimeoutSeconds": 60}, "payload": {"transaction": b64(&tx)}})
            };
            Some(b64(payload.to_string().as_bytes()))
        }),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    method: String,
    path: String,
    query: Option<String>,
    api_key: Option<u8>,
    api_key_raw: String,
    bearer: Option<String>,
    payment: Option<String>,
    trace: Option<String>,
    content_type: Option<String>,
    prepaid: Option<String>,
    body: Option<Vec<u8>>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        (
            0..ROUTES.len(),
            prop::option::weighted(0.1, 0..METHODS.len()),
            prop::collection::vec(segment(), 3),
        ),
        prop::option::of("[ -~]{0,60}"),
        (
            prop::option::of(0u8..4),
            header_value(),
            prop::option::of(header_value()),
        ),
        payment(),
        (
            prop::option::of(header_value()),
            prop::option::of(header_value()),
            prop::option::of(header_value()),
        ),
        body(),
    )
        .prop_map(
            |(
                (r, m, segs),
                query,
                (api_key, api_key_raw, bearer),
                payment,
                (trace, content_type, prepaid),
                body,
            )| {
                let (method, template) = ROUTES[r];
                let mut path = String::new();
                for (i, part) in template.split("{}").enumerate() {
                    if i > 0 {
                        path.push_str(&encode_segment(&segs[(i - 1) % segs.len()]));
                    }
                    path.push_str(part);
                }
                Case {
                    method: m.map(|i| METHODS[i]).unwrap_or(method).to_owned(),
                    path,
                    query: query.map(|q| q.replace(['#', ' '], "")),
                    api_key,
                    api_key_raw,
                    bearer,
                    payment,
                    trace,
                    content_type,
                    prepaid,
                    body,
                }
            },
        )
}

fn check(case: &Case) -> Result<(), TestCaseError> {
    let f = fixture();
    let url = match &case.query {
        Some(q) => format!("{}{}?{q}", f.sb.base_url(), case.path),
        None => format!("{}{}", f.sb.base_url(), case.path),
    };
    let Ok(parsed) = reqwest::Url::parse(&url) else {
        return Ok(());
    };
    let mut rb = f.client.request(
        reqwest::Method::from_bytes(case.method.as_bytes()).unwrap(),
        parsed,
    );
    match case.api_key {
        Some(0) => rb = rb.header("x-api-key", f.key.as_str()),
        Some(1) => rb = rb.header("x-api-key", f.owner.as_str()),
        Some(_) => rb = rb.header("x-api-key", case.api_key_raw.as_str()),
        None => {}
    }
    if let Some(b) = &case.bearer {
        rb = rb.header("authorization", format!("Bearer {b}"));
    }
    if let Some(p) = &case.payment {
        rb = rb.header("payment-signature", p.as_str());
    }
    if let Some(t) = &case.trace {
        rb = rb.header("x-trace-id", t.as_str());
    }
    if let Some(ct) = &case.content_type {
        rb = rb.header("content-type", ct.as_str());
    }
    if let Some(p) = &case.prepaid {
        rb = rb.header("x-prepaid-job-id", p.as_str());
    }
    if let Some(b) = &case.body {
        rb = rb.body(b.clone());
    }
    let (status, text) = f.rt.block_on(async {
        let r = rb
            .send()
            .await
            .map_err(|e| TestCaseError::fail(format!("request failed: {e}")))?;
        let status = r.status().as_u16();
        let text = r
            .text()
            .await
            .map_err(|e| TestCaseError::fail(format!("body failed: {e}")))?;
        Ok::<_, TestCaseError>((status, text))
    })?;
    prop_assert!((200..600).contains(&status));
    let decoded_path = case.path.as_str();
    if decoded_path == "/rpc" && case.method == "POST" {
        prop_assert_eq!(status, 200);
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| TestCaseError::fail(format!("rpc not JSON: {e}: {text}")))?;
        let items = match v {
            Value::Array(a) => a,
            other => vec![other],
        };
        for it in items {
            prop_assert_eq!(&it["jsonrpc"], &Value::from("2.0"));
            prop_assert!(
                it.get("result").is_some() || it["error"]["code"].is_i64(),
                "{}",
                text
            );
        }
        return Ok(());
    }
    if status < 400 {
        return Ok(());
    }
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| TestCaseError::fail(format!("{status} not JSON: {e}: {text}")))?;
    if decoded_path.starts_with("/sovx/v1") {
        prop_assert_eq!(&v["success"], &Value::Bool(false), "{}", text);
        prop_assert!(
            v["errors"][0]["code"].is_string() && v["errors"][0]["message"].is_string(),
            "{}",
            text
        );
        prop_assert!(v["meta"]["trace_id"].is_string(), "{}", text);
        prop_assert_eq!(&v["meta"]["version"], &Value::from("v1"));
    } else if decoded_path == "/rpc" {
        prop_assert!(v["error"]["code"].is_i64(), "{}", text);
    } else {
        prop_assert_eq!(
            v["statusCode"].as_u64(),
            Some(u64::from(status)),
            "{}",
            text
        );
        prop_assert!(v["message"].is_string(), "{}", text);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/prop_routes.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_route_answers_in_its_documented_shape(c in case()) {
        check(&c)?;
    }
}

#[test]
fn server_survives_and_still_answers() {
    let f = fixture();
    let r = f.rt.block_on(async {
        f.client
            .get(format!("{}/api/v1/intel/pricing", f.sb.base_url()))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(r.as_u16(), 200);
}
