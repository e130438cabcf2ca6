//! Sovera SovX over raw HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use sova_sandbox::{Clock, Sandbox};

fn user_body(email: &str, phone: &str) -> Value {
    json!({
        "account_type": "individual", "account_role": "third", "account_purpose": "trading",
        "first_name": "Ada", "last_name": "Lovelace", "email": email,
        "phone_country_code": "US", "phone_number": phone,
        "individual": {"dob": "1990-10-15", "residential_country_code": "US", "residential_address": "123 Sovera Lane",
                        "residential_city": "Cheyenne", "residential_state": "WY", "residential_postal_code": "82001",
                        "id_type": "ssn", "id_number": "123456789"},
    })
}

struct Env {
    sb: Sandbox,
    c: reqwest::Client,
    owner: String,
}

impl Env {
    fn url(&self, p: &str) -> String {
        format!("{}{p}", self.sb.sovx_base_url())
    }
    async fn owner(&self, method: &str, p: &str, body: Option<&Value>) -> Resp {
        send(
            &self.c,
            method,
            &self.url(p),
            &[("x-api-key", &self.owner)],
            body,
        )
        .await
    }
    async fn user(&self, token: &str, method: &str, p: &str, body: Option<&Value>) -> Resp {
        let auth = format!("Bearer {token}");
        send(
            &self.c,
            method,
            &self.url(p),
            &[("authorization", &auth)],
            body,
        )
        .await
    }
    /// Creates and activates a user with a token and a wallet; returns (user_id, token, wallet_id).
    async fn onboard(&self, email: &str, phone: &str) -> (String, String, String) {
        let r = self
            .owner("POST", "/users", Some(&user_body(email, phone)))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let uid = r.body["data"]["user_id"].as_str().unwrap().to_owned();
        assert_eq!(
            self.owner("POST", &format!("/users/{uid}/activate"), None)
                .await
                .status,
            200
        );
        let t = self
            .owner("POST", &format!("/users/{uid}/token"), None)
            .await;
        let token = t.body["data"]["token"].as_str().unwrap().to_owned();
        let w = self
            .user(&token, "POST", &format!("/users/{uid}/wallets"), Some(&json!({"name": "main", "networks": [{"name": "networks/solana-devnet", "currency": "usdc"}]})))
            .await;
        assert_eq!(w.status, 201, "{}", w.text);
        (
            uid,
            token,
            w.body["data"]["wallet_id"].as_str().unwrap().to_owned(),
        )
    }
}

async fn env() -> Env {
    let sb = Sandbox::start().await.unwrap();
    let owner = sb.sovx_owner_key();
    Env {
        sb,
        c: client(),
        owner,
    }
}

#[tokio::test]
async fn health_envelopes_and_trace_ids() {
    let e = env().await;
    let h = get(&e.c, &e.url("/health"), &[]).await;
    assert_eq!(h.status, 200);
    assert_eq!(h.body["status"], json!("ok"));
    assert!(h.body.get("success").is_none());
    let r = send(
        &e.c,
        "GET",
        &e.url("/currencies"),
        &[("x-api-key", &e.owner), ("x-trace-id", "trace-abc")],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["success"], json!(true));
    assert_eq!(r.body["meta"]["trace_id"], json!("trace-abc"));
    assert_eq!(r.body["meta"]["version"], json!("v1"));
    assert!(
        r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["symbol"] == json!("BTC"))
    );
    let r = get(&e.c, &e.url("/currencies"), &[]).await;
    assert_sovx_error(&r, 401, None);
    let r = get(&e.c, &e.url("/currencies"), &[("x-api-key", "wrong")]).await;
    assert_sovx_error(&r, 401, None);
    let r = get(&e.c, &e.url("/nope"), &[("x-trace-id", "t-404")]).await;
    assert_sovx_error(&r, 404, Some("NOT_FOUND"));
    assert_eq!(r.body["meta"]["trace_id"], json!("t-404"));
    let r = send(
        &e.c,
        "PUT",
        &e.url("/currencies"),
        &[("x-api-key", &e.owner)],
        None,
    )
    .await;
    assert_sovx_error(&r, 405, None);
    let pairs = get(&e.c, &e.url("/currency-pairs"), &[("x-api-key", &e.owner)]).await;
    assert!(
        pairs.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["pair"] == json!("btcusd"))
    );
}

#[tokio::test]
async fn user_lifecycle_and_tokens() {
    let e = env().await;
    let r = e
        .owner(
            "POST",
            "/users",
            Some(&user_body("a@example.com", "+1 555 010 0001")),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let u = &r.body["data"];
    assert_eq!(u["status"], json!("PENDING"));
    let uid = u["user_id"].as_str().unwrap().to_owned();
    // Duplicates → 409.
    assert_sovx_error(
        &e.owner(
            "POST",
            "/users",
            Some(&user_body("A@example.com", "+1 555 010 0009")),
        )
        .await,
        409,
        None,
    );
    assert_sovx_error(
        &e.owner(
            "POST",
            "/users",
            Some(&user_body("b@example.com", "+1 555 010 0001")),
        )
        .await,
        409,
        None,
    );
    // Validation → 400.
    let mut bad = user_body("c@example.com", "+1 555 010 0003");
    bad["account_role"] = json!("first");
    assert_sovx_error(&e.owner("POST", "/users", Some(&bad)).await, 400, None);
    // Read, update, token.
    assert_eq!(
        e.owner("GET", &format!("/users/{uid}"), None).await.body["data"]["email"],
        json!("a@example.com")
    );
    let r = e
        .owner(
            "PATCH",
            &format!("/users/{uid}"),
            Some(&json!({"first_name": "Grace"})),
        )
        .await;
    assert_eq!(r.body["data"]["first_name"], json!("Grace"));
    let t1 = e.owner("POST", &format!("/users/{uid}/token"), None).await;
    assert_eq!(t1.status, 200);
    let tok1 = t1.body["data"]["token"].as_str().unwrap().to_owned();
    assert_eq!(tok1.len(), 64);
    assert_eq!(t1.body["data"]["user_id"], json!(uid));
    let expires = t1.body["data"]["expires"].as_str().unwrap();
    assert!(expires.ends_with('Z') && expires.len() == 24, "{expires}");
    // User token cannot do owner operations → 403; a new token invalidates the old one → 401.
    assert_sovx_error(
        &e.user(&tok1, "GET", &format!("/users/{uid}"), None).await,
        403,
        Some("FORBIDDEN"),
    );
    let t2 = e
        .owner("POST", "/users/tokens", Some(&json!({"user_ids": [uid]})))
        .await;
    assert_eq!(t2.status, 200);
    let tok2 = t2.body["data"][0]["token"].as_str().unwrap().to_owned();
    assert_sovx_error(
        &e.user(
            &tok1,
            "GET",
            &format!("/users/{uid}/accounts/balance"),
            None,
        )
        .await,
        401,
        None,
    );
    assert_eq!(
        e.user(
            &tok2,
            "GET",
            &format!("/users/{uid}/accounts/balance"),
            None
        )
        .await
        .status,
        200
    );
    // Token as x-api-key works too.
    assert_eq!(
        send(
            &e.c,
            "GET",
            &e.url(&format!("/users/{uid}/accounts/balance")),
            &[("x-api-key", &tok2)],
            None
        )
        .await
        .status,
        200
    );
    // Unknown user → 404 USER_NOT_FOUND; bulk with an unknown id → 404; bad body → 400.
    let missing = "00000000-0000-4000-8000-000000000000";
    assert_sovx_error(
        &e.owner("POST", &format!("/users/{missing}/token"), None)
            .await,
        404,
        Some("USER_NOT_FOUND"),
    );
    assert_sovx_error(
        &e.owner(
            "POST",
            "/users/tokens",
            Some(&json!({"user_ids": [uid, missing]})),
        )
        .await,
        404,
        Some("USER_NOT_FOUND"),
    );
    assert_sovx_error(
        &e.owner("POST", "/users/tokens", Some(&json!({}))).await,
        400,
        None,
    );
    // Wallet needs an active user.
    let w = e.user(&tok2, "POST", &format!("/users/{uid}/wallets"), Some(&json!({"name": "w", "networks": [{"name": "networks/bitcoin-testnet", "currency": "btc"}]}))).await;
    assert_sovx_error(&w, 400, Some("USER_NOT_ACTIVE"));
    assert_eq!(
        e.owner("POST", &format!("/users/{uid}/activate"), None)
            .await
            .body["data"]["status"],
        json!("ACTIVE")
    );
    assert_eq!(
        e.owner("POST", &format!("/users/{uid}/deactivate"), None)
            .await
            .body["data"]["status"],
        json!("INACTIVE")
    );
    // Soft delete: 404 afterwards, token dead.
    assert_eq!(
        e.owner("DELETE", &format!("/users/{uid}"), None)
            .await
            .status,
        200
    );
    assert_sovx_error(
        &e.owner("GET", &format!("/users/{uid}"), None).await,
        404,
        Some("USER_NOT_FOUND"),
    );
    assert_sovx_error(
        &e.user(
            &tok2,
            "GET",
            &format!("/users/{uid}/accounts/balance"),
            None,
        )
        .await,
        401,
        None,
    );
    // List users paginates.
    for i in 0..3 {
        e.owner(
            "POST",
            "/users",
            Some(&user_body(
                &format!("l{i}@example.com"),
                &format!("+1 555 020 000{i}"),
            )),
        )
        .await;
    }
    let l = e
        .owner("GET", "/users?filter[limit]=2&filter[skip]=1", None)
        .await;
    assert_eq!(l.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(l.body["meta"]["pagination"]["total"], json!(3));
}

#[tokio::test]
async fn tokens_expire_after_a_year() {
    let clock = Clock::manual(1_768_473_000_000);
    let sb = Sandbox::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let e = Env {
        owner: sb.sovx_owner_key(),
        sb,
        c: client(),
    };
    let r = e
        .owner(
            "POST",
            "/users",
            Some(&user_body("y@example.com", "+1 555 030 0001")),
        )
        .await;
    let uid = r.body["data"]["user_id"].as_str().unwrap().to_owned();
    let t = e.owner("POST", &format!("/users/{uid}/token"), None).await;
    assert_eq!(t.body["data"]["expires"], json!("2027-01-15T10:30:00.000Z"));
    let tok = t.body["data"]["token"].as_str().unwrap().to_owned();
    clock.advance(Duration::from_secs(364 * 86_400));
    assert_eq!(
        e.user(&tok, "GET", &format!("/users/{uid}/accounts/balance"), None)
            .await
            .status,
        200
    );
    clock.advance(Duration::from_secs(86_400));
    assert_sovx_error(
        &e.user(&tok, "GET", &format!("/users/{uid}/accounts/balance"), None)
            .await,
        401,
        None,
    );
}

#[tokio::test]
async fn monetization_crud() {
    let e = env().await;
    let r = e
        .owner(
            "POST",
            "/monetization/settings",
            Some(
                &json!({"feature": "RFQ", "method": "FEE_RATE", "amount": 0.01, "pair": "btcusd"}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let s = &r.body["data"];
    assert_eq!(s["feature_code"], json!("RFQ"));
    assert_eq!(s["method_code"], json!("FEE_RATE"));
    assert_eq!(s["amount"], json!(0.01));
    assert_eq!(s["pair"], json!("BTCUSD"));
    let id = s["id"].as_u64().unwrap();
    assert_sovx_error(
        &e.owner(
            "POST",
            "/monetization/settings",
            Some(&json!({"feature": "X", "method": "FEE_RATE", "amount": 0.01})),
        )
        .await,
        400,
        None,
    );
    assert_sovx_error(
        &e.owner(
            "POST",
            "/monetization/settings",
            Some(&json!({"feature": "RFQ", "method": "FEE_RATE", "amount": -1})),
        )
        .await,
        400,
        None,
    );
    assert_eq!(
        e.owner("GET", "/monetization/settings", None).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let u = e
        .owner(
            "PUT",
            &format!("/monetization/settings/{id}"),
            Some(&json!({"amount": 0.02})),
        )
        .await;
    assert_eq!(u.body["data"]["amount"], json!(0.02));
    assert_eq!(
        e.owner("GET", &format!("/monetization/settings/{id}"), None)
            .await
            .status,
        200
    );
    assert_eq!(
        e.owner("DELETE", &format!("/monetization/settings/{id}"), None)
            .await
            .status,
        200
    );
    assert_sovx_error(
        &e.owner("GET", &format!("/monetization/settings/{id}"), None)
            .await,
        404,
        None,
    );
    let r = send(&e.c, "GET", &e.url("/monetization/settings"), &[], None).await;
    assert_sovx_error(&r, 401, None);
    let bad_ct = send(
        &e.c,
        "POST",
        &e.url("/monetization/settings"),
        &[("x-api-key", &e.owner), ("content-type", "text/plain")],
        None,
    )
    .await;
    assert_eq!(bad_ct.status, 400);
}

#[tokio::test]
async fn wallets_quotes_orders_and_balances() {
    let e = env().await;
    let (uid, token, wid) = e.onboard("t@example.com", "+1 555 040 0001").await;
    let (_uid2, token2, wid2) = e.onboard("u@example.com", "+1 555 040 0002").await;
    // Unique wallet name (400), addresses per network, idempotent create-address.
    let dup = e.user(&token, "POST", &format!("/users/{uid}/wallets"), Some(&json!({"name": "main", "networks": [{"name": "networks/solana-devnet", "currency": "sol"}]}))).await;
    assert_sovx_error(&dup, 400, None);
    let a1 = e
        .user(
            &token,
            "POST",
            &format!("/wallets/{wid}/addresses"),
            Some(&json!({"currency": "BTC", "network": "bitcoin-testnet"})),
        )
        .await;
    assert_eq!(a1.status, 201, "{}", a1.text);
    let a2 = e
        .user(
            &token,
            "POST",
            &format!("/wallets/{wid}/addresses"),
            Some(&json!({"currency": "btc", "network": "bitcoin-testnet"})),
        )
        .await;
    assert_eq!(a2.status, 201);
    assert_eq!(a1.body["data"]["addresses"], a2.body["data"]["addresses"]);
    let addrs = a2.body["data"]["addresses"].as_array().unwrap();
    assert_eq!(addrs.len(), 2);
    assert_eq!(addrs[1]["currency"], json!("btc"));
    for k in ["address_id", "currency", "network", "address"] {
        assert!(addrs[1].get(k).is_some());
    }
    // Another user's wallet → 403; unknown wallet → 404.
    assert_sovx_error(
        &e.user(&token2, "GET", &format!("/wallets/{wid}/balances"), None)
            .await,
        403,
        None,
    );
    assert_sovx_error(
        &e.user(
            &token,
            "GET",
            "/wallets/00000000-0000-4000-8000-000000000000/balances",
            None,
        )
        .await,
        404,
        None,
    );
    // Trading needs a user token (owner → 403).
    let q = json!({"pair": "btcusd", "side": "buy", "amount": 600});
    assert_sovx_error(
        &e.owner("POST", &format!("/users/{wid}/trading/quotes"), Some(&q))
            .await,
        403,
        None,
    );
    assert!(e.sb.sovx_fund(&wid, "usd", "1000"));
    let r = e
        .user(
            &token,
            "POST",
            &format!("/users/{wid}/trading/quotes"),
            Some(&q),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let quote = r.body["data"].clone();
    assert_eq!(quote["quantity"], json!(0.01));
    assert!(quote["buy_price"].is_number());
    let order = e
        .user(
            &token,
            "POST",
            &format!("/users/{wid}/trading/orders"),
            Some(&json!({"quote_id": quote["quote_id"]})),
        )
        .await;
    assert_eq!(order.status, 201, "{}", order.text);
    let bal = e
        .user(&token, "GET", &format!("/wallets/{wid}/balances"), None)
        .await;
    let find = |cur: &str| {
        bal.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["currency"] == json!(cur))
            .cloned()
            .unwrap()
    };
    assert_eq!(find("usd")["available"], json!(400.0));
    assert_eq!(find("btc")["balance"], json!(0.01));
    // A used quote → 409; an unknown one → 404.
    let again = e
        .user(
            &token,
            "POST",
            &format!("/users/{wid}/trading/orders"),
            Some(&json!({"quote_id": quote["quote_id"]})),
        )
        .await;
    assert_sovx_error(&again, 409, None);
    assert_sovx_error(
        &e.user(
            &token,
            "POST",
            &format!("/users/{wid}/trading/orders"),
            Some(&json!({"quote_id": "nope"})),
        )
        .await,
        404,
        None,
    );
    // Insufficient balance.
    let big = e
        .user(
            &token,
            "POST",
            &format!("/users/{wid}/trading/quotes"),
            Some(&json!({"pair": "btcusd", "side": "buy", "quantity": 1})),
        )
        .await;
    let o = e
        .user(
            &token,
            "POST",
            &format!("/users/{wid}/trading/orders"),
            Some(&json!({"quote_id": big.body["data"]["quote_id"]})),
        )
        .await;
    assert_sovx_error(&o, 400, Some("INSUFFICIENT_BALANCE"));
    // User balance (uppercase) and transactions with filter[...].
    let ub = e
        .user(
            &token,
            "GET",
            &format!("/users/{uid}/accounts/balance"),
            None,
        )
        .await;
    assert!(
        ub.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["currency"] == json!("USD"))
    );
    let tx = e
        .user(
            &token,
            "GET",
            &format!(
                "/users/{uid}/accounts/transactions?filter[where][type]=TRADE&filter[limit]=10"
            ),
            None,
        )
        .await;
    assert_eq!(tx.status, 200);
    assert_eq!(tx.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(tx.body["meta"]["pagination"]["total"], json!(1));
    let all = e.owner("GET", "/accounts/transactions", None).await;
    assert_eq!(all.body["meta"]["pagination"]["total"], json!(2));
    assert_sovx_error(
        &e.user(&token, "GET", "/accounts/balance", None).await,
        403,
        None,
    );
    let _ = wid2;
}

#[tokio::test]
async fn quotes_expire_after_five_minutes() {
    let clock = Clock::manual(1_768_473_000_000);
    let sb = Sandbox::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let e = Env {
        owner: sb.sovx_owner_key(),
        sb,
        c: client(),
    };
    let (_uid, token, wid) = e.onboard("q@example.com", "+1 555 050 0001").await;
    e.sb.sovx_fund(&wid, "usd", "100");
    let r = e
        .user(
            &token,
            "POST",
            &format!("/users/{wid}/trading/quotes"),
            Some(&json!({"pair": "ethusd", "side": "buy", "amount": 30})),
        )
        .await;
    assert_eq!(
        r.body["data"]["expired_at"],
        json!("2026-01-15T10:35:00.000Z")
    );
    clock.advance(Duration::from_secs(300));
    let o = e
        .user(
            &token,
            "POST",
            &format!("/users/{wid}/trading/orders"),
            Some(&json!({"quote_id": r.body["data"]["quote_id"]})),
        )
        .await;
    assert_sovx_error(&o, 400, Some("QUOTE_EXPIRED"));
}

async fn usdc_bal(e: &Env, token: String, wid: String) -> Value {
    let b = e
        .user(&token, "GET", &format!("/wallets/{wid}/balances"), None)
        .await;
    b.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["currency"] == json!("usdc"))
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn withdrawals_and_transfers_two_step() {
    let e = env().await;
    let (uid, token, wid) = e.onboard("w@example.com", "+1 555 060 0001").await;
    let (_uid2, token2, wid2) = e.onboard("x@example.com", "+1 555 060 0002").await;
    e.sb.sovx_fund(&wid, "usdc", "100");
    // Withdrawal.
    let r = e
        .user(
            &token,
            "POST",
            &format!("/users/{uid}/accounts/crypto/withdrawals"),
            Some(&json!({"currency": "usdc", "amount": 10, "address": "addr-1", "memo": "m"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let wd = r.body["data"].clone();
    assert_eq!(wd["withdraw"]["status"], json!("PENDING"));
    assert_eq!(wd["withdraw"]["is_duplicate"], json!(false));
    let id = wd["id"].as_str().unwrap().to_owned();
    let b = usdc_bal(&e, token.clone(), wid.clone()).await;
    assert_eq!(b["held"], json!(10.0));
    assert_eq!(b["available"], json!(90.0));
    let wrong = e
        .user(
            &token,
            "POST",
            &format!("/users/{uid}/accounts/crypto/withdrawals/{id}/confirm"),
            Some(&json!({"code": "000000x"})),
        )
        .await;
    assert_sovx_error(&wrong, 400, Some("INVALID_CODE"));
    // Code via the admin route; resend changes it.
    let old = get(&e.c, &format!("{}/sovx/codes/{id}", e.sb.admin_url()), &[])
        .await
        .body["code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        e.user(
            &token,
            "POST",
            &format!("/users/{uid}/accounts/crypto/withdrawals/{id}/resend"),
            None
        )
        .await
        .status,
        200
    );
    let code = e.sb.sovx_code(&id).unwrap();
    let _ = old;
    let ok = e
        .user(
            &token,
            "POST",
            &format!("/users/{uid}/accounts/crypto/withdrawals/{id}/confirm"),
            Some(&json!({"code": code})),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["data"]["status"], json!("COMPLETED"));
    let b = usdc_bal(&e, token.clone(), wid.clone()).await;
    assert_eq!(b["balance"], json!(90.0));
    assert_eq!(b["held"], json!(0.0));
    let list = e
        .owner(
            "GET",
            &format!("/users/{uid}/accounts/crypto/withdrawals"),
            None,
        )
        .await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    // Cancel releases the hold.
    let r = e
        .user(
            &token,
            "POST",
            &format!("/users/{uid}/accounts/crypto/withdrawals"),
            Some(&json!({"currency": "usdc", "amount": 5, "address": "addr-2"})),
        )
        .await;
    let id2 = r.body["data"]["withdraw"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = e
        .user(
            &token,
            "POST",
            &format!("/users/{uid}/accounts/crypto/withdrawals/{id2}/cancel"),
            None,
        )
        .await;
    assert_eq!(c.body["data"]["status"], json!("CANCELLED"));
    assert_eq!(
        usdc_bal(&e, token.clone(), wid.clone()).await["available"],
        json!(90.0)
    );
    let too_much = e
        .user(
            &token,
            "POST",
            &format!("/users/{uid}/accounts/crypto/withdrawals"),
            Some(&json!({"currency": "usdc", "amount": 1000, "address": "a"})),
        )
        .await;
    assert_sovx_error(&too_much, 400, Some("INSUFFICIENT_BALANCE"));

    // Transfer.
    let t = json!({"destination_wallet_id": wid2, "type": "PAYOUT", "purpose": "rent", "description": "May rent", "currency": "USDC", "amount": 25});
    assert_sovx_error(
        &e.owner("POST", &format!("/wallets/{wid}/transfers"), Some(&t))
            .await,
        403,
        None,
    );
    let mut same = t.clone();
    same["destination_wallet_id"] = json!(wid);
    assert_sovx_error(
        &e.user(
            &token,
            "POST",
            &format!("/wallets/{wid}/transfers"),
            Some(&same),
        )
        .await,
        400,
        None,
    );
    let r = e
        .user(
            &token,
            "POST",
            &format!("/wallets/{wid}/transfers"),
            Some(&t),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let tid = r.body["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["data"]["status"], json!("PENDING"));
    let codes = get(&e.c, &format!("{}/sovx/codes", e.sb.admin_url()), &[]).await;
    let code = codes
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == json!(tid))
        .unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let ok = e
        .user(
            &token,
            "POST",
            &format!("/wallets/{wid}/transfers/{tid}/confirm"),
            Some(&json!({"code": code})),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(
        usdc_bal(&e, token.clone(), wid.clone()).await["balance"],
        json!(65.0)
    );
    assert_eq!(
        usdc_bal(&e, token2.clone(), wid2.clone()).await["balance"],
        json!(25.0)
    );
    let g = e
        .user(
            &token,
            "GET",
            &format!("/wallets/{wid}/transfers/{tid}"),
            None,
        )
        .await;
    assert_eq!(g.body["data"]["status"], json!("COMPLETED"));
    let again = e
        .user(
            &token,
            "POST",
            &format!("/wallets/{wid}/transfers/{tid}/confirm"),
            Some(&json!({"code": code})),
        )
        .await;
    assert_sovx_error(&again, 400, Some("INVALID_STATE"));
    let l = e
        .user(&token2, "GET", &format!("/wallets/{wid2}/transfers"), None)
        .await;
    assert_eq!(l.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn list_filters_status_pair_dates_operators_and_pagination() {
    // 2026-01-15T10:30:00.000Z
    let clock = Clock::manual(1_768_473_000_000);
    let sb = Sandbox::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let e = Env {
        owner: sb.sovx_owner_key(),
        sb,
        c: client(),
    };
    let (uid, token, wid) = e.onboard("f@example.com", "+1 555 070 0001").await;
    e.sb.sovx_fund(&wid, "usdc", "100");
    let withdrawals = format!("/users/{uid}/accounts/crypto/withdrawals");
    // Day 1: a 10 USDC withdrawal with a memo, then cancelled; day 2: 5 USDC, pending.
    clock.advance(Duration::from_secs(86_400));
    let first = e
        .user(
            &token,
            "POST",
            &withdrawals,
            Some(&json!({"currency": "usdc", "amount": 10, "address": "addr-1", "memo": "rent"})),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(
        first.body["data"]["memo"],
        json!("rent"),
        "the memo is echoed"
    );
    let first_id = first.body["data"]["id"].as_str().unwrap().to_owned();
    let c = e
        .user(
            &token,
            "POST",
            &format!("{withdrawals}/{first_id}/cancel"),
            None,
        )
        .await;
    assert_eq!(c.status, 200, "{}", c.text);
    clock.advance(Duration::from_secs(86_400));
    let second = e
        .user(
            &token,
            "POST",
            &withdrawals,
            Some(&json!({"currency": "usdc", "amount": 5, "address": "addr-2"})),
        )
        .await;
    assert_eq!(second.status, 201, "{}", second.text);
    assert!(
        second.body["data"].get("memo").is_none(),
        "no memo, none echoed"
    );
    let second_id = second.body["data"]["id"].as_str().unwrap().to_owned();

    let ids = |r: &Resp| -> Vec<String> {
        r.body["data"]
            .as_array()
            .unwrap_or_else(|| panic!("not a list: {}", r.text))
            .iter()
            .map(|w| w["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let list = |q: String| {
        let p = format!("{withdrawals}?{q}");
        let e = &e;
        async move { e.owner("GET", &p, None).await }
    };
    // Status.
    let r = list("filter%5Bwhere%5D%5Bstatus%5D=PENDING".into()).await;
    assert_eq!(ids(&r), vec![second_id.clone()]);
    let r = list("filter[where][status]=CANCELLED".into()).await;
    assert_eq!(ids(&r), vec![first_id.clone()]);
    assert_eq!(
        r.body["data"][0]["memo"],
        json!("rent"),
        "the list echoes the memo"
    );
    // Date range (half-open) and a numeric comparison.
    let r = list("filter[where][created_at][gte]=2026-01-17".into()).await;
    assert_eq!(ids(&r), vec![second_id.clone()]);
    let r = list(
        "filter[where][created_at][lt]=2026-01-17&filter[where][created_at][gte]=2026-01-16".into(),
    )
    .await;
    assert_eq!(ids(&r), vec![first_id.clone()]);
    let r = list("filter[where][amount][gt]=7".into()).await;
    assert_eq!(ids(&r), vec![first_id.clone()]);
    let r = list("filter[where][status][inq]=PENDING,CANCELLED".into()).await;
    assert_eq!(ids(&r).len(), 2);
    let r = list("filter[where][status][neq]=PENDING".into()).await;
    assert_eq!(ids(&r), vec![first_id.clone()]);
    // The JSON form of the same filter.
    let r = list(
        "filter=%7B%22where%22%3A%7B%22created_at%22%3A%7B%22gte%22%3A%222026-01-17%22%7D%7D%7D"
            .into(),
    )
    .await;
    assert_eq!(ids(&r), vec![second_id.clone()]);
    // Pagination and sort: newest first by default; ASC reverses; skip/limit page.
    let r = list("filter[limit]=1".into()).await;
    assert_eq!(ids(&r), vec![second_id.clone()]);
    assert_eq!(r.body["meta"]["pagination"]["total"], json!(2));
    assert_eq!(r.body["meta"]["pagination"]["has_more"], json!(true));
    let r = list("filter[limit]=1&filter[skip]=1".into()).await;
    assert_eq!(ids(&r), vec![first_id.clone()]);
    let r = list("filter[sort]=created_at%20ASC".into()).await;
    assert_eq!(ids(&r), vec![first_id.clone(), second_id.clone()]);
    // Bad operators and names are a 400 with a message, not an empty list.
    for q in [
        "filter[where][created_at][between]=1",
        "filter[where][]=1",
        "filter[where][status=1",
        "filter[limit]=0",
    ] {
        assert_sovx_error(&list(q.into()).await, 400, Some("VALIDATION_ERROR"));
    }

    // Monetization settings by pair: the pair is stored and echoed (upper case).
    for (pair, amount) in [("btcusd", 0.01), ("ethusd", 0.02)] {
        let r = e
            .owner(
                "POST",
                "/monetization/settings",
                Some(&json!({"feature": "SPOT_TRADE", "method": "FEE_RATE", "amount": amount, "pair": pair})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = e
        .owner(
            "GET",
            "/monetization/settings?filter[where][pair]=BTCUSD",
            None,
        )
        .await;
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{}", r.text);
    assert_eq!(data[0]["pair"], json!("BTCUSD"));
    assert_eq!(data[0]["amount"], json!(0.01));
}
