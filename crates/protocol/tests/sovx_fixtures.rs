//! Sovera SovX fixtures (the documented examples; see `fixtures/sovx/README.md`) decoded
//! through the real endpoints.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use serde_json::Value;
use sova_protocol::http::{Response, StatusCode};
use sova_protocol::sovx::*;
use sova_protocol::{BaseUrl, BodyKind, Endpoint, ResponseError, Service};

const USER: &str = "f4057807-52cf-4083-9ecb-283ef354fb2b";
const USER2: &str = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";
const TOKEN: &str = "012d23b0d9a7d6c7d0b0429963eece727c4eca18635978d0bd6ffe6d1eaaed10";
const TOKEN2: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a0face1d2c3b4a5968778695a4b3c2d1e0";
const TRACE: &str = "5b8f3a9d-2c7e-4a1b-9f6d-0e3c2b1a4d5f";
const WALLET: &str = "7d9f1c1e-4b8a-4d6b-9a51-2f0e8c3b6a10";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/sovx/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn json(status: u16, body: Vec<u8>) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .unwrap()
}

/// Wraps a documented `data` example in the documented success envelope.
fn enveloped(status: u16, data_fixture: &str) -> Response<Vec<u8>> {
    let data: Value = serde_json::from_slice(&fixture(data_fixture)).unwrap();
    let mut env: Value = serde_json::from_slice(&fixture("ref_success_envelope.json")).unwrap();
    env["data"] = data;
    json(status, serde_json::to_vec(&env).unwrap())
}

fn api_error(err: ResponseError) -> sova_protocol::ApiError {
    match err {
        ResponseError::Api(e) => *e,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[test]
fn seed_single_user_token() {
    let out = GenerateUserTokenRequest::new(USER)
        .parse(&json(200, fixture("seed_user_token.json")))
        .unwrap();
    assert_eq!(out.data.token.expose(), TOKEN);
    assert_eq!(out.data.user_id.as_str(), USER);
    assert_eq!(
        out.data.expires.as_deref(),
        Some("2027-01-15T10:30:00.000Z")
    );
    assert_eq!(
        out.meta.timestamp.as_deref(),
        Some("2026-01-15T10:30:00.000Z")
    );
    assert_eq!(out.meta.version.as_deref(), Some("v1"));
    assert_eq!(out.meta.trace_id.as_deref(), Some(TRACE));
    assert_eq!(out.meta.pagination, None);
    // The token never shows in Debug output.
    let shown = format!("{out:?}");
    assert!(
        !shown.contains(TOKEN) && shown.contains("[redacted]"),
        "{shown}"
    );
}

#[test]
fn seed_bulk_user_tokens() {
    let call = GenerateUserTokensRequest::new([USER, USER2]);
    let out = call
        .parse(&json(200, fixture("seed_user_tokens_bulk.json")))
        .unwrap();
    assert_eq!(out.data.len(), 2);
    assert_eq!(out.data[0].token.expose(), TOKEN);
    assert_eq!(out.data[1].token.expose(), TOKEN2);
    assert_eq!(out.data[1].user_id.as_str(), USER2);
    assert!(
        out.data
            .iter()
            .all(|t| t.expires.as_deref() == Some("2027-01-15T10:30:00.000Z"))
    );
    assert_eq!(out.meta.trace_id.as_deref(), Some(TRACE));

    // What we send is the documented request body.
    let sent: Value = serde_json::from_slice(&call.body().unwrap().unwrap()).unwrap();
    let documented: Value =
        serde_json::from_slice(&fixture("seed_user_tokens_bulk_request.json")).unwrap();
    assert_eq!(sent, documented);
}

#[test]
fn reference_bulk_user_tokens() {
    let documented: Value =
        serde_json::from_slice(&fixture("ref_user_tokens_bulk_request.json")).unwrap();
    let sent = GenerateUserTokensRequest::new(["<user uuid>", "<user uuid>"])
        .body()
        .unwrap()
        .unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&sent).unwrap(), documented);

    let out = GenerateUserTokensRequest::new([USER])
        .parse(&json(200, fixture("ref_user_tokens_bulk.json")))
        .unwrap();
    assert_eq!(out.data.len(), 1);
    assert_eq!(out.data[0].token.expose(), "…");
    assert_eq!(out.data[0].user_id.as_str(), "…");
    assert_eq!(out.meta.trace_id.as_deref(), Some("…"));
}

#[test]
fn reference_success_envelope() {
    let out = ActivateUserRequest::new(USER)
        .parse(&json(200, fixture("ref_success_envelope.json")))
        .unwrap();
    assert_eq!(out.data, serde_json::json!({}));
    assert_eq!(
        out.meta.timestamp.as_deref(),
        Some("2026-01-15T10:30:00.000Z")
    );
    assert_eq!(out.meta.version.as_deref(), Some("v1"));
    assert_eq!(out.meta.trace_id.as_deref(), Some("…"));
    assert_eq!(out.meta.pagination, Some(serde_json::json!({})));
    assert!(out.meta.extra.is_empty());
    // `{}` decodes as a user with nothing set, too.
    let user = GetUserRequest::new(USER)
        .parse(&json(200, fixture("ref_success_envelope.json")))
        .unwrap();
    assert_eq!(user.data, User::default());
}

#[test]
fn reference_error_envelope() {
    let resp = Response::builder()
        .status(404)
        .header("content-type", "application/json")
        .header("x-trace-id", "header-trace")
        .body(fixture("ref_error_envelope.json"))
        .unwrap();
    let e = api_error(
        GenerateUserTokenRequest::new(USER)
            .parse(&resp)
            .unwrap_err(),
    );
    assert_eq!(e.service, Service::Sx);
    assert_eq!(e.status, StatusCode::NOT_FOUND);
    assert_eq!(e.errors.len(), 1);
    assert_eq!(e.errors[0].code.as_deref(), Some("USER_NOT_FOUND"));
    assert_eq!(e.errors[0].message, "…");
    assert_eq!(error_codes(&e), vec![ErrorCode::UserNotFound]);
    assert!(e.has_code("USER_NOT_FOUND"));
    // meta.trace_id wins over the header.
    assert_eq!(e.trace_id.as_deref(), Some("…"));
    assert_eq!(e.body_kind, BodyKind::Json);
    assert_eq!(e.body, fixture("ref_error_envelope.json"));
    assert_eq!(
        e.to_string(),
        "Sovera SovX answered 404 Not Found: … (USER_NOT_FOUND) [trace id …]"
    );
}

#[test]
fn reference_health() {
    let h = HealthRequest::new()
        .parse(&json(200, fixture("ref_health.json")))
        .unwrap();
    assert_eq!(h.status, "ok");
    assert!(h.is_ok());
    assert_eq!(h.timestamp.as_deref(), Some("…"));
    assert_eq!(h.uptime, Some(123456.0));
    assert!(h.extra.is_empty());
}

#[test]
fn reference_create_address() {
    let out = CreateAddressRequest::new(WALLET, "btc", "bitcoin-testnet")
        .parse(&enveloped(201, "ref_create_address_data.json"))
        .unwrap();
    let w = out.data;
    assert_eq!(w.wallet_id.as_str(), "…");
    assert_eq!(w.vault_wallet_id.as_deref(), Some("…"));
    assert_eq!(w.user_id.as_ref().map(UserId::as_str), Some("…"));
    assert_eq!(w.name.as_deref(), Some("…"));
    assert_eq!(w.description.as_deref(), Some("…"));
    assert_eq!(
        w.addresses,
        vec![Address {
            address_id: AddressId::new("…"),
            currency: "btc".into(),
            network: "bitcoin-testnet".into(),
            address: "tb1q…".into(),
        }]
    );
    assert_eq!(w.created_at.as_deref(), Some("…"));
    assert!(w.extra.is_empty());
    // List Addresses has the same shape.
    let listed = ListAddressesRequest::new(WALLET)
        .parse(&enveloped(200, "ref_create_address_data.json"))
        .unwrap();
    assert_eq!(listed.data.addresses.len(), 1);
}

#[test]
fn reference_withdrawal_create() {
    let call = InitiateWithdrawalRequest::new(USER, "btc", dec("0.01"), "tb1qaddress");
    let out = call
        .parse(&enveloped(201, "ref_withdrawal_create_data.json"))
        .unwrap();
    let w = out.data;
    assert_eq!(w.id.as_ref().map(WithdrawalId::as_str), Some("<uuid>"));
    let inner = w.withdraw.as_ref().unwrap();
    assert_eq!(inner.id.as_deref(), Some("9182"));
    assert_eq!(inner.status, Some(Status::Pending));
    assert_eq!(inner.idempotency_key.as_deref(), Some("<uuid>"));
    assert_eq!(inner.is_duplicate, Some(false));
    assert_eq!(w.status(), Some(&Status::Pending));
    assert_eq!(w.currency.as_deref(), Some("btc"));
    assert_eq!(w.amount, Some(dec("0.01")));
    assert_eq!(w.address.as_deref(), Some("…"));
}

#[test]
fn table_currencies() {
    let out = ListCurrenciesRequest::new()
        .parse(&json(200, fixture("table_currencies.json")))
        .unwrap();
    let c = &out.data[0];
    assert_eq!(c.id.as_deref(), Some("1"));
    assert_eq!(c.symbol.as_deref(), Some("BTC"));
    assert_eq!(c.name.as_deref(), Some("Bitcoin"));
    assert_eq!(c.code, c.currency);
    assert_eq!(c.precision, Some(8));
    assert_eq!(c.ascii_sign.as_deref(), Some("₿"));
    assert_eq!(c.min_withdrawal, Some(dec("0.0001")));
    assert_eq!(
        (
            c.can_deposit,
            c.can_withdraw,
            c.is_fiat,
            c.is_confirmations_needed,
            c.is_custody_enabled,
            c.is_trading_enabled
        ),
        (
            Some(true),
            Some(true),
            Some(false),
            Some(true),
            Some(true),
            Some(true)
        )
    );
    assert!(c.extra.is_empty());
}

#[test]
fn table_balances() {
    let owner = OwnerBalanceRequest::new()
        .parse(&json(200, fixture("table_owner_balance.json")))
        .unwrap();
    assert_eq!(owner.data.len(), 2);
    let btc = &owner.data[0];
    assert_eq!(btc.currency, "btc");
    assert_eq!(
        (btc.balance, btc.available, btc.held),
        (Some(dec("1.5")), Some(dec("1.25")), Some(dec("0.25")))
    );
    assert_eq!(owner.data[1].held, Some(Decimal::ZERO));

    let user = UserBalanceRequest::new(USER)
        .parse(&json(200, fixture("table_user_balance.json")))
        .unwrap();
    assert_eq!(user.data[0].currency, "USD");
    assert_eq!(user.data[0].available, Some(dec("200.5")));
    // Wallet balances (conventional path) share the shape.
    let wallet = WalletBalancesRequest::new(WALLET)
        .parse(&json(200, fixture("table_user_balance.json")))
        .unwrap();
    assert_eq!(wallet.data, user.data);
}

#[test]
fn table_monetization_setting() {
    let out = GetMonetizationSettingRequest::new("4242")
        .parse(&json(200, fixture("table_monetization_setting.json")))
        .unwrap();
    let s = out.data;
    assert_eq!(s.id.as_str(), "4242");
    assert_eq!(s.feature.as_deref(), Some("Spot Trading"));
    assert_eq!(s.feature_code, Some(FeatureCode::SpotTrade));
    assert_eq!(s.method.as_deref(), Some("Fee Rate"));
    assert_eq!(s.method_code, Some(MethodCode::FeeRate));
    assert_eq!(s.amount, Some(dec("0.01")));
    assert_eq!(s.customer_id, None);
    assert_eq!(s.currency, None);
    assert_eq!(s.pair.as_deref(), Some("BTCUSD"));
    assert_eq!(s.updated_at.as_deref(), Some("2026-01-15T10:30:00.000Z"));

    // The list answer is an array of the same objects.
    let mut env: Value =
        serde_json::from_slice(&fixture("table_monetization_setting.json")).unwrap();
    env["data"] = Value::Array(vec![env["data"].take()]);
    let list = ListMonetizationSettingsRequest::new()
        .parse(&json(200, serde_json::to_vec(&env).unwrap()))
        .unwrap();
    assert_eq!(list.data, vec![s]);
}

#[test]
fn table_quote() {
    let call = QuoteRequest::quantity(WALLET, "btcusd", Side::Buy, dec("0.01"));
    let out = call.parse(&json(201, fixture("table_quote.json"))).unwrap();
    let q = out.data;
    assert_eq!(q.quote_id.as_str(), "e609df31-3af3-11f0-97c3");
    assert_eq!(q.pair.as_deref(), Some("btcusd"));
    assert_eq!(q.side, Some(Side::Buy));
    assert_eq!(q.amount, Some(dec("1000")));
    assert_eq!(q.quantity, Some(dec("0.01")));
    assert_eq!(q.buy_price, Some(dec("100000")));
    assert_eq!(q.sell_price, None);
    assert_eq!(q.price(), Some(dec("100000")));
    assert_eq!(q.expired_at.as_deref(), Some("2026-01-15T10:35:00.000Z"));

    // The quote id goes straight into Place Order.
    let order = PlaceOrderRequest::new(WALLET, q.quote_id.clone());
    assert_eq!(
        order.body().unwrap().unwrap(),
        br#"{"quote_id":"e609df31-3af3-11f0-97c3"}"#
    );
}

#[test]
fn table_create_user_body() {
    let individual = Individual {
        dob: Some("1990-10-15".into()),
        residential_country_code: Some("US".into()),
        residential_address: Some("123 Sovera Lane".into()),
        residential_city: Some("Cheyenne".into()),
        residential_state: Some("WY".into()),
        residential_postal_code: Some("82001".into()),
        id_type: Some("ssn".into()),
        id_number: Some("123456789".into()),
        ..Individual::default()
    };
    let user = NewUser::individual(
        "Ada",
        "Lovelace",
        "ada@example.com",
        "US",
        "3075550123",
        individual,
    );
    let call = CreateUserRequest::new(user.clone());
    let request = call
        .to_request(&BaseUrl::parse(SANDBOX_BASE_URL).unwrap())
        .unwrap();
    assert_eq!(request.method(), "POST");
    assert_eq!(
        request.uri().to_string(),
        "https://api.sandbox.sovera.io/sovx/v1/users"
    );
    let sent: Value = serde_json::from_slice(request.body()).unwrap();
    let documented: Value =
        serde_json::from_slice(&fixture("table_create_user_request.json")).unwrap();
    assert_eq!(sent, documented);
    // And the fixture reads back into the same body type.
    let back: NewUser = serde_json::from_value(documented).unwrap();
    assert_eq!(back, user);
}
