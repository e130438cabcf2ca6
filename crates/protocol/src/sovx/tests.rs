//! Request building and response parsing of the SovX endpoints.

use http::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use super::*;
use crate::{
    BaseUrl, BodyKind, BuildError, Credential, DecodeErrorKind, Endpoint, ResponseError, Service,
};

const USER: &str = "f4057807-52cf-4083-9ecb-283ef354fb2b";
const USER2: &str = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";
const WALLET: &str = "7d9f1c1e-4b8a-4d6b-9a51-2f0e8c3b6a10";
const WALLET2: &str = "0b6e3a52-9c1d-4f7a-8e2b-5d4c3b2a1f00";

fn base() -> BaseUrl {
    BaseUrl::parse(SANDBOX_BASE_URL).unwrap()
}

fn build<E: Endpoint>(e: &E) -> Request<Vec<u8>> {
    e.to_request(&base()).unwrap()
}

fn body_str(r: &Request<Vec<u8>>) -> &str {
    std::str::from_utf8(r.body()).unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn resp(status: u16, content_type: &str, body: &str) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(body.as_bytes().to_vec())
        .unwrap()
}

fn input_field(e: BuildError) -> &'static str {
    match e {
        BuildError::InvalidInput { field, .. } => field,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

const URL: &str = "https://api.sandbox.sovera.io/sovx/v1";

// ---------------------------------------------------------------------------------------------
// Exact requests

#[test]
fn user_token_single_has_no_body() {
    let r = build(&GenerateUserTokenRequest::new(USER));
    assert_eq!(r.method(), Method::POST);
    assert_eq!(r.uri().to_string(), format!("{URL}/users/{USER}/token"));
    assert!(r.body().is_empty());
    assert!(r.headers().get("content-type").is_none());
    assert_eq!(r.headers()["accept"], "application/json");
    assert!(r.headers().get("x-trace-id").is_none());
    assert!(
        r.headers().get("x-api-key").is_none(),
        "endpoints never hold secrets"
    );
    assert_eq!(
        GenerateUserTokenRequest::new(USER).credential(),
        Credential::SxOwner
    );
    assert!(
        !GenerateUserTokenRequest::new(USER).idempotent(),
        "reissuing invalidates the old token"
    );
}

#[test]
fn user_tokens_bulk_body_is_exact() {
    let call = GenerateUserTokensRequest::new([USER, USER2]);
    let r = build(&call);
    assert_eq!(r.method(), Method::POST);
    assert_eq!(r.uri().to_string(), format!("{URL}/users/tokens"));
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(
        body_str(&r),
        format!(r#"{{"user_ids":["{USER}","{USER2}"]}}"#)
    );
    assert_eq!(call.name(), "sovx.auth.generate_user_tokens");

    let empty = GenerateUserTokensRequest::new(Vec::<UserId>::new());
    assert_eq!(
        input_field(empty.to_request(&base()).unwrap_err()),
        "user_ids"
    );
    let blank = GenerateUserTokensRequest::new([USER, " "]);
    assert!(
        blank
            .to_request(&base())
            .unwrap_err()
            .to_string()
            .contains("entry 1")
    );
}

#[test]
fn trace_id_is_sent() {
    let r = build(&UserBalanceRequest::new(USER).trace_id("trace-42"));
    assert_eq!(r.headers()["x-trace-id"], "trace-42");
    assert_eq!(r.method(), Method::GET);
    assert_eq!(
        r.uri().to_string(),
        format!("{URL}/users/{USER}/accounts/balance")
    );
    assert!(r.body().is_empty());

    let mut call = HealthRequest::new().trace_id("h-1");
    call.set_trace_id_if_absent(|| "generated".into());
    assert_eq!(build(&call).headers()["x-trace-id"], "h-1");
    assert_eq!(build(&call).uri().to_string(), format!("{URL}/health"));
    assert_eq!(call.credential(), Credential::None);

    assert_eq!(
        input_field(
            OwnerBalanceRequest::new()
                .trace_id("  ")
                .to_request(&base())
                .unwrap_err()
        ),
        "trace_id"
    );
    assert!(matches!(
        OwnerBalanceRequest::new()
            .trace_id("a\nb")
            .to_request(&base()),
        Err(BuildError::HeaderValue { name: "x-trace-id" })
    ));
}

#[test]
fn create_user_body() {
    let mut user = NewUser::individual(
        "Ada",
        "Lovelace",
        "ada@example.com",
        "US",
        "3075550123",
        Individual::default(),
    );
    user.user_id = Some(UserId::new(USER));
    user.account_purpose = AccountPurpose::Investing;
    let r = build(&CreateUserRequest::new(user.clone()));
    assert_eq!(
        body_str(&r),
        format!(
            r#"{{"user_id":"{USER}","account_type":"individual","account_role":"third","account_purpose":"investing","first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone_country_code":"US","phone_number":"3075550123","individual":{{}}}}"#
        )
    );

    let mut bad = user.clone();
    bad.first_name = "x".repeat(101);
    assert_eq!(
        input_field(CreateUserRequest::new(bad).to_request(&base()).unwrap_err()),
        "first_name"
    );
    let mut bad = user.clone();
    bad.phone_country_code = "USA".into();
    assert_eq!(
        input_field(CreateUserRequest::new(bad).to_request(&base()).unwrap_err()),
        "phone_country_code"
    );
    let mut bad = user.clone();
    bad.phone_number = "1".repeat(21);
    assert_eq!(
        input_field(CreateUserRequest::new(bad).to_request(&base()).unwrap_err()),
        "phone_number"
    );
    let mut bad = user;
    bad.email = "nope".into();
    assert_eq!(
        input_field(CreateUserRequest::new(bad).to_request(&base()).unwrap_err()),
        "email"
    );
}

#[test]
fn update_user_sends_only_set_fields() {
    let update = UserUpdate {
        first_name: Some("Grace".into()),
        individual: Some(Individual {
            residential_city: Some("Cheyenne".into()),
            ..Individual::default()
        }),
        ..UserUpdate::default()
    };
    let r = build(&UpdateUserRequest::new(USER, update));
    assert_eq!(r.method(), Method::PATCH);
    assert_eq!(r.uri().to_string(), format!("{URL}/users/{USER}"));
    assert_eq!(
        body_str(&r),
        r#"{"first_name":"Grace","individual":{"residential_city":"Cheyenne"}}"#
    );
    let empty = UpdateUserRequest::new(USER, UserUpdate::default());
    assert_eq!(
        input_field(empty.to_request(&base()).unwrap_err()),
        "update"
    );
}

#[test]
fn user_lifecycle_paths() {
    let activate = ActivateUserRequest::new(USER);
    let r = build(&activate);
    assert_eq!(
        (r.method().clone(), r.uri().path().to_owned()),
        (Method::POST, format!("/sovx/v1/users/{USER}/activate"))
    );
    assert!(r.body().is_empty());
    assert!(activate.idempotent());
    let r = build(&DeactivateUserRequest::new(USER));
    assert_eq!(r.uri().path(), format!("/sovx/v1/users/{USER}/deactivate"));
    let r = build(&DeleteUserRequest::new(USER));
    assert_eq!(
        (r.method(), r.uri().path()),
        (&Method::DELETE, format!("/sovx/v1/users/{USER}").as_str())
    );
    let r = build(&GetUserRequest::new("a/b"));
    assert_eq!(
        r.uri().path(),
        "/sovx/v1/users/a%2Fb",
        "ids cannot add path levels"
    );
    assert_eq!(
        input_field(GetUserRequest::new("").to_request(&base()).unwrap_err()),
        "user_id"
    );
}

#[test]
fn monetization_requests_use_codes() {
    let r = build(
        &CreateMonetizationSettingRequest::new(
            FeatureCode::Rfq,
            MethodCode::SpreadAdjustment,
            dec("0.005"),
        )
        .pair("BTCUSD"),
    );
    assert_eq!(
        (r.method(), r.uri().path()),
        (&Method::POST, "/sovx/v1/monetization/settings")
    );
    assert_eq!(
        body_str(&r),
        r#"{"feature":"RFQ","method":"SPREAD_ADJUSTMENT","amount":0.005,"pair":"BTCUSD"}"#
    );
    let r = build(&CreateMonetizationSettingRequest::new(
        FeatureCode::Withdraw,
        MethodCode::FeeFlat,
        dec("2"),
    ));
    assert_eq!(
        body_str(&r),
        r#"{"feature":"WITHDRAW","method":"FEE_FLAT","amount":2.0}"#
    );
    // The body type (what the SDK client method takes): `pair` only when set.
    let r = build(&CreateMonetizationSettingRequest::from_body(
        NewMonetizationSetting::new(FeatureCode::SpotTrade, MethodCode::FeeRate, dec("0.01"))
            .pair("ETHUSD"),
    ));
    assert_eq!(
        body_str(&r),
        r#"{"feature":"SPOT_TRADE","method":"FEE_RATE","amount":0.01,"pair":"ETHUSD"}"#
    );
    let r = build(&CreateMonetizationSettingRequest::from_body(
        NewMonetizationSetting::new(FeatureCode::SpotTrade, MethodCode::FeeRate, dec("0.01")),
    ));
    assert_eq!(
        body_str(&r),
        r#"{"feature":"SPOT_TRADE","method":"FEE_RATE","amount":0.01}"#
    );
    for bad in ["", "BTC/USD", "btc usd"] {
        let e = CreateMonetizationSettingRequest::new(
            FeatureCode::Rfq,
            MethodCode::FeeRate,
            dec("0.01"),
        )
        .pair(bad)
        .to_request(&base())
        .unwrap_err();
        assert_eq!(input_field(e), "pair", "{bad:?}");
    }

    let r = build(&UpdateMonetizationSettingRequest::new("4242", dec("0.02")));
    assert_eq!(
        (r.method(), r.uri().path()),
        (&Method::PUT, "/sovx/v1/monetization/settings/4242")
    );
    assert_eq!(body_str(&r), r#"{"amount":0.02}"#);
    assert_eq!(
        input_field(
            UpdateMonetizationSettingRequest::new("1", Decimal::ZERO)
                .to_request(&base())
                .unwrap_err()
        ),
        "amount"
    );

    let r = build(&DeleteMonetizationSettingRequest::new("4242"));
    assert_eq!(
        (r.method(), r.uri().path()),
        (&Method::DELETE, "/sovx/v1/monetization/settings/4242")
    );
    let r = build(&ListMonetizationSettingsRequest::new());
    assert_eq!(r.uri().to_string(), format!("{URL}/monetization/settings"));
}

/// The query string of a built request (`None` when there is none).
fn query_of(r: &Request<Vec<u8>>) -> Option<&str> {
    r.uri().query()
}

#[test]
fn no_filter_lists_send_no_query_string() {
    assert_eq!(
        query_of(&build(&ListMonetizationSettingsRequest::new())),
        None
    );
    assert_eq!(query_of(&build(&OwnerTransactionsRequest::new())), None);
    assert_eq!(query_of(&build(&UserTransactionsRequest::new(USER))), None);
    assert_eq!(
        query_of(&build(&WalletTransactionsRequest::new(WALLET))),
        None
    );
    assert_eq!(query_of(&build(&ListWalletsRequest::new(USER))), None);
    assert_eq!(query_of(&build(&ListWithdrawalsRequest::new(USER))), None);
    assert_eq!(query_of(&build(&ListTransfersRequest::new(WALLET))), None);
    // A query whose every field is None is the same as no query.
    let r = build(&ListWithdrawalsRequest::new(USER).query(WithdrawalQuery {
        status: None,
        currency: None,
        ..Default::default()
    }));
    assert_eq!(query_of(&r), None);
}

#[test]
fn transaction_queries_become_exact_query_strings() {
    let q = TransactionQuery::new()
        .limit(10)
        .skip(20)
        .sort(Sort::desc("created_at"))
        .status(Status::Completed)
        .kind("TRADE")
        .currency("usd")
        .pair("btcusd")
        .wallet_id(WALLET)
        .user_id(USER)
        .created_from("2026-01-01T00:00:00+02:00")
        .created_before("2026-02-01");
    let expected = format!(
        "filter%5Blimit%5D=10&filter%5Bskip%5D=20&filter%5Bsort%5D=created_at%20DESC\
         &filter%5Bwhere%5D%5Bstatus%5D=COMPLETED&filter%5Bwhere%5D%5Btype%5D=TRADE\
         &filter%5Bwhere%5D%5Bcurrency%5D=usd&filter%5Bwhere%5D%5Bpair%5D=btcusd\
         &filter%5Bwhere%5D%5Bwallet_id%5D={WALLET}&filter%5Bwhere%5D%5Buser_id%5D={USER}\
         &filter%5Bwhere%5D%5Bcreated_at%5D%5Bgte%5D=2026-01-01T00:00:00%2B02:00\
         &filter%5Bwhere%5D%5Bcreated_at%5D%5Blt%5D=2026-02-01"
    );
    // The three transaction lists share the query type and its encoding.
    let r = build(&UserTransactionsRequest::new(USER).query(q.clone()));
    assert_eq!(
        r.uri().path(),
        format!("/sovx/v1/users/{USER}/accounts/transactions")
    );
    assert_eq!(query_of(&r), Some(expected.as_str()));
    let r = build(&OwnerTransactionsRequest::new().query(q.clone()));
    assert_eq!(r.uri().path(), "/sovx/v1/accounts/transactions");
    assert_eq!(query_of(&r), Some(expected.as_str()));
    let r = build(&WalletTransactionsRequest::new(WALLET).query(q));
    assert_eq!(
        r.uri().path(),
        format!("/sovx/v1/wallets/{WALLET}/transactions")
    );
    assert_eq!(query_of(&r), Some(expected.as_str()));
}

#[test]
fn other_list_queries_become_exact_query_strings() {
    let r = build(
        &ListMonetizationSettingsRequest::new().query(
            MonetizationSettingsQuery::new()
                .feature(FeatureCode::SpotTrade)
                .method(MethodCode::FeeRate)
                .pair("BTCUSD")
                .currency("usd")
                .limit(2),
        ),
    );
    assert_eq!(
        query_of(&r),
        Some(
            "filter%5Blimit%5D=2&filter%5Bwhere%5D%5Bfeature_code%5D=SPOT_TRADE\
             &filter%5Bwhere%5D%5Bmethod_code%5D=FEE_RATE&filter%5Bwhere%5D%5Bpair%5D=BTCUSD\
             &filter%5Bwhere%5D%5Bcurrency%5D=usd"
        )
    );
    let r = build(&ListWalletsRequest::new(USER).query(WalletQuery {
        wallet_type: Some(WalletType::Real),
        name: Some("Main & savings".into()),
        ..Default::default()
    }));
    assert_eq!(
        query_of(&r),
        Some(
            "filter%5Bwhere%5D%5Bwallet_type%5D=real&filter%5Bwhere%5D%5Bname%5D=Main%20%26%20savings"
        )
    );
    let r = build(
        &ListWithdrawalsRequest::new(USER).query(
            WithdrawalQuery::new()
                .status(Status::Cancelled)
                .currency("btc")
                .created_from("2026-01-15T10:30:00.000Z")
                .skip(0),
        ),
    );
    assert_eq!(
        query_of(&r),
        Some(
            "filter%5Bskip%5D=0&filter%5Bwhere%5D%5Bstatus%5D=CANCELLED\
             &filter%5Bwhere%5D%5Bcurrency%5D=btc\
             &filter%5Bwhere%5D%5Bcreated_at%5D%5Bgte%5D=2026-01-15T10:30:00.000Z"
        )
    );
    let r = build(
        &ListTransfersRequest::new(WALLET).query(
            TransferQuery::new()
                .status(Status::Pending)
                .transfer_type(TransferType::Payout)
                .destination_wallet_id(WALLET2)
                .currency("USDC")
                .sort(Sort::asc("amount"))
                .where_op("amount", "gt", "1.5"),
        ),
    );
    assert_eq!(
        query_of(&r),
        Some(&*format!(
            "filter%5Bsort%5D=amount%20ASC&filter%5Bwhere%5D%5Bstatus%5D=PENDING\
             &filter%5Bwhere%5D%5Bcurrency%5D=USDC&filter%5Bwhere%5D%5Btype%5D=PAYOUT\
             &filter%5Bwhere%5D%5Bdestination_wallet_id%5D={WALLET2}\
             &filter%5Bwhere%5D%5Bamount%5D%5Bgt%5D=1.5"
        ))
    );
    // An open-enum value the SDK does not know is sent verbatim.
    let r = build(
        &ListWithdrawalsRequest::new(USER)
            .query(WithdrawalQuery::new().status(Status::parse("ON_HOLD"))),
    );
    assert_eq!(query_of(&r), Some("filter%5Bwhere%5D%5Bstatus%5D=ON_HOLD"));
}

#[test]
fn bad_list_queries_are_refused_before_sending() {
    let field = |e: BuildError| input_field(e);
    let bad = ListWithdrawalsRequest::new(USER).query(WithdrawalQuery::new().where_eq("a[b]", "x"));
    assert_eq!(field(bad.to_request(&base()).unwrap_err()), "filter");
    let bad = OwnerTransactionsRequest::new().query(TransactionQuery::new().limit(0));
    assert_eq!(field(bad.to_request(&base()).unwrap_err()), "limit");
    let bad =
        ListTransfersRequest::new(WALLET).query(TransferQuery::new().created_before("last week"));
    assert_eq!(
        field(bad.to_request(&base()).unwrap_err()),
        "created_before"
    );
    let bad =
        ListMonetizationSettingsRequest::new().query(MonetizationSettingsQuery::new().pair(""));
    assert_eq!(field(bad.to_request(&base()).unwrap_err()), "pair");
    let bad = ListWalletsRequest::new(USER).query(WalletQuery::new().sort(Sort::desc("")));
    assert_eq!(field(bad.to_request(&base()).unwrap_err()), "sort");
}

#[test]
fn wallet_and_address_bodies() {
    let mut wallet = NewWallet::new(
        "Main",
        vec![WalletNetwork::new("networks/bitcoin-testnet", "btc")],
    );
    wallet.wallet_type = Some(WalletType::Virtual);
    let r = build(&CreateWalletRequest::new(USER, wallet.clone()));
    assert_eq!(
        (r.method(), r.uri().path()),
        (
            &Method::POST,
            format!("/sovx/v1/users/{USER}/wallets").as_str()
        )
    );
    assert_eq!(
        body_str(&r),
        r#"{"name":"Main","networks":[{"name":"networks/bitcoin-testnet","currency":"btc"}],"wallet_type":"virtual"}"#
    );

    let mut bad = wallet.clone();
    bad.networks = vec![WalletNetwork::new("bitcoin-testnet", "btc")];
    assert_eq!(
        input_field(
            CreateWalletRequest::new(USER, bad)
                .to_request(&base())
                .unwrap_err()
        ),
        "networks"
    );
    let mut bad = wallet;
    bad.networks.clear();
    assert_eq!(
        input_field(
            CreateWalletRequest::new(USER, bad)
                .to_request(&base())
                .unwrap_err()
        ),
        "networks"
    );

    let call = CreateAddressRequest::new(WALLET, "usdc", "ethereum-sepolia");
    let r = build(&call);
    assert_eq!(
        r.uri().path(),
        format!("/sovx/v1/wallets/{WALLET}/addresses")
    );
    assert_eq!(
        body_str(&r),
        r#"{"currency":"usdc","network":"ethereum-sepolia"}"#
    );
    assert!(call.idempotent(), "idempotent per (currency, network)");
    let bad = CreateAddressRequest::new(WALLET, "btc", "networks/bitcoin-testnet");
    assert_eq!(input_field(bad.to_request(&base()).unwrap_err()), "network");
}

#[test]
fn quote_needs_exactly_one_of_quantity_or_amount() {
    let r = build(&QuoteRequest::quantity(
        WALLET,
        "btcusd",
        Side::Buy,
        dec("0.01"),
    ));
    assert_eq!(
        (r.method(), r.uri().path()),
        (
            &Method::POST,
            format!("/sovx/v1/users/{WALLET}/trading/quotes").as_str()
        )
    );
    assert_eq!(
        body_str(&r),
        r#"{"pair":"btcusd","side":"buy","quantity":0.01}"#
    );
    let r = build(&QuoteRequest::amount(
        WALLET,
        "ethusd",
        Side::Sell,
        dec("250.5"),
    ));
    assert_eq!(
        body_str(&r),
        r#"{"pair":"ethusd","side":"sell","amount":250.5}"#
    );

    let mut both = QuoteRequest::quantity(WALLET, "btcusd", Side::Buy, dec("1"));
    both.quote.amount = Some(dec("1"));
    assert!(
        both.to_request(&base())
            .unwrap_err()
            .to_string()
            .contains("not both")
    );
    let mut neither = both.clone();
    neither.quote.quantity = None;
    neither.quote.amount = None;
    assert!(neither.to_request(&base()).is_err());
    assert_eq!(
        input_field(
            QuoteRequest::amount(WALLET, "btcusd", Side::Buy, dec("-1"))
                .to_request(&base())
                .unwrap_err()
        ),
        "amount"
    );
    assert_eq!(
        input_field(
            QuoteRequest::amount(WALLET, "btc/usd", Side::Buy, dec("1"))
                .to_request(&base())
                .unwrap_err()
        ),
        "pair"
    );
    assert_eq!(
        QuoteRequest::amount(WALLET, "btcusd", Side::Buy, dec("1")).credential(),
        Credential::SxUser
    );
}

#[test]
fn order_body() {
    let r =
        build(&PlaceOrderRequest::new(WALLET, "e609df31-3af3-11f0-97c3").client_order_id("mine-1"));
    assert_eq!(
        r.uri().path(),
        format!("/sovx/v1/users/{WALLET}/trading/orders")
    );
    assert_eq!(
        body_str(&r),
        r#"{"quote_id":"e609df31-3af3-11f0-97c3","client_order_id":"mine-1"}"#
    );
    assert!(!PlaceOrderRequest::new(WALLET, "q").idempotent());
}

#[test]
fn withdrawal_requests() {
    let r =
        build(&InitiateWithdrawalRequest::new(USER, "btc", dec("0.01"), "tb1qxyz").memo("rent"));
    assert_eq!(
        r.uri().path(),
        format!("/sovx/v1/users/{USER}/accounts/crypto/withdrawals")
    );
    assert_eq!(
        body_str(&r),
        r#"{"currency":"btc","amount":0.01,"address":"tb1qxyz","memo":"rent"}"#
    );
    // Without a memo the member is left out, not sent as null.
    let r = build(&InitiateWithdrawalRequest::new(
        USER,
        "btc",
        dec("0.01"),
        "tb1qxyz",
    ));
    assert_eq!(
        body_str(&r),
        r#"{"currency":"btc","amount":0.01,"address":"tb1qxyz"}"#
    );
    // The body type carries the memo too (what the SDK client method takes).
    let r = build(&InitiateWithdrawalRequest::from_body(
        USER,
        NewWithdrawal::new("usdc", dec("5"), "addr-1").memo("März \"rent\""),
    ));
    assert_eq!(
        body_str(&r),
        r#"{"currency":"usdc","amount":5.0,"address":"addr-1","memo":"März \"rent\""}"#
    );
    let r = build(&InitiateWithdrawalRequest::from_body(
        USER,
        NewWithdrawal::new("usdc", dec("5"), "addr-1"),
    ));
    assert_eq!(
        body_str(&r),
        r#"{"currency":"usdc","amount":5.0,"address":"addr-1"}"#
    );
    let ok = InitiateWithdrawalRequest::new(USER, "btc", dec("1"), "a").memo("é".repeat(255));
    assert!(
        ok.to_request(&base()).is_ok(),
        "255 characters (not bytes) are accepted"
    );
    let long = InitiateWithdrawalRequest::new(USER, "btc", dec("1"), "a").memo("m".repeat(256));
    assert_eq!(input_field(long.to_request(&base()).unwrap_err()), "memo");
    assert_eq!(
        input_field(
            InitiateWithdrawalRequest::new(USER, "btc", dec("0"), "a")
                .to_request(&base())
                .unwrap_err()
        ),
        "amount"
    );

    let r = build(&ConfirmWithdrawalRequest::new(USER, "9182", " 123456 "));
    assert_eq!(
        r.uri().path(),
        format!("/sovx/v1/users/{USER}/accounts/crypto/withdrawals/9182/confirm")
    );
    assert_eq!(body_str(&r), r#"{"code":"123456"}"#);
    assert_eq!(
        input_field(
            ConfirmWithdrawalRequest::new(USER, "9182", "")
                .to_request(&base())
                .unwrap_err()
        ),
        "code"
    );

    let r = build(&ResendWithdrawalCodeRequest::new(USER, "9182"));
    assert_eq!(
        (r.method(), r.uri().path()),
        (
            &Method::POST,
            format!("/sovx/v1/users/{USER}/accounts/crypto/withdrawals/9182/resend").as_str()
        )
    );
    assert!(r.body().is_empty());
    let r = build(&CancelWithdrawalRequest::new(USER, "9182"));
    assert_eq!(
        r.uri().path(),
        format!("/sovx/v1/users/{USER}/accounts/crypto/withdrawals/9182/cancel")
    );
    let r = build(&GetWithdrawalRequest::new(USER, "9182"));
    assert_eq!(
        (r.method(), r.uri().path()),
        (
            &Method::GET,
            format!("/sovx/v1/users/{USER}/accounts/crypto/withdrawals/9182").as_str()
        )
    );
}

fn transfer() -> NewTransfer {
    NewTransfer {
        destination_wallet_id: WalletId::new(WALLET2),
        transfer_type: TransferType::Payout,
        purpose: "rent".into(),
        description: "March rent".into(),
        currency: "USDC".into(),
        amount: dec("12.5"),
    }
}

#[test]
fn transfer_requests() {
    let r = build(&CreateTransferRequest::new(WALLET, transfer()));
    assert_eq!(
        (r.method(), r.uri().path()),
        (
            &Method::POST,
            format!("/sovx/v1/wallets/{WALLET}/transfers").as_str()
        )
    );
    assert_eq!(
        body_str(&r),
        format!(
            r#"{{"destination_wallet_id":"{WALLET2}","type":"PAYOUT","purpose":"rent","description":"March rent","currency":"USDC","amount":12.5}}"#
        )
    );
    let r = build(&ConfirmTransferRequest::new(WALLET, "t-1", "654321"));
    assert_eq!(
        r.uri().path(),
        format!("/sovx/v1/wallets/{WALLET}/transfers/t-1/confirm")
    );
    assert_eq!(body_str(&r), r#"{"code":"654321"}"#);
    assert_eq!(
        build(&ResendTransferCodeRequest::new(WALLET, "t-1"))
            .uri()
            .path(),
        format!("/sovx/v1/wallets/{WALLET}/transfers/t-1/resend")
    );
    assert_eq!(
        build(&CancelTransferRequest::new(WALLET, "t-1"))
            .uri()
            .path(),
        format!("/sovx/v1/wallets/{WALLET}/transfers/t-1/cancel")
    );
    assert_eq!(
        build(&GetTransferRequest::new(WALLET, "t-1")).uri().path(),
        format!("/sovx/v1/wallets/{WALLET}/transfers/t-1")
    );

    let check = |t: NewTransfer| {
        input_field(
            CreateTransferRequest::new(WALLET, t)
                .to_request(&base())
                .unwrap_err(),
        )
    };
    assert_eq!(
        check(NewTransfer {
            destination_wallet_id: WalletId::new(WALLET),
            ..transfer()
        }),
        "destination_wallet_id"
    );
    assert_eq!(
        check(NewTransfer {
            amount: dec("0.0000009"),
            ..transfer()
        }),
        "amount"
    );
    assert_eq!(
        check(NewTransfer {
            purpose: "p".repeat(256),
            ..transfer()
        }),
        "purpose"
    );
    assert_eq!(
        check(NewTransfer {
            description: "d".repeat(501),
            ..transfer()
        }),
        "description"
    );
    assert_eq!(
        check(NewTransfer {
            currency: "C".repeat(11),
            ..transfer()
        }),
        "currency"
    );
    assert!(
        CreateTransferRequest::new(
            WALLET,
            NewTransfer {
                amount: dec("0.000001"),
                ..transfer()
            }
        )
        .to_request(&base())
        .is_ok()
    );
}

#[test]
fn route_override_replaces_method_and_path() {
    let call = CreateTransferRequest::new(WALLET, transfer())
        .route_override(Method::PUT, "/users/{wallet_id}/transfers");
    let r = build(&call);
    assert_eq!(
        (r.method(), r.uri().path()),
        (
            &Method::PUT,
            format!("/sovx/v1/users/{WALLET}/transfers").as_str()
        )
    );
    assert_eq!(call.name(), "sovx.transfers.create");
    let bad = GetUserRequest::new(USER).route_override(Method::GET, "/people/{id}");
    assert_eq!(input_field(bad.to_request(&base()).unwrap_err()), "route");
}

/// One request of every endpoint, with the route table's method, path and credential.
fn every_endpoint() -> Vec<(&'static routes::Route, Request<Vec<u8>>, Credential)> {
    fn one<E: SxEndpoint>(e: E) -> (&'static routes::Route, Request<Vec<u8>>, Credential) {
        (
            e.route(),
            e.to_request(&BaseUrl::parse(SANDBOX_BASE_URL).unwrap())
                .unwrap(),
            e.credential(),
        )
    }
    let wallet = NewWallet::new(
        "w",
        vec![WalletNetwork::new("networks/solana-devnet", "sol")],
    );
    let user = NewUser::individual("A", "B", "a@b.c", "US", "1", Individual::default());
    vec![
        one(HealthRequest::new()),
        one(GenerateUserTokenRequest::new(USER)),
        one(GenerateUserTokensRequest::new([USER])),
        one(CreateUserRequest::new(user)),
        one(GetUserRequest::new(USER)),
        one(UpdateUserRequest::new(
            USER,
            UserUpdate {
                last_name: Some("C".into()),
                ..UserUpdate::default()
            },
        )),
        one(ActivateUserRequest::new(USER)),
        one(DeactivateUserRequest::new(USER)),
        one(DeleteUserRequest::new(USER)),
        one(ListMonetizationSettingsRequest::new()),
        one(GetMonetizationSettingRequest::new("1")),
        one(CreateMonetizationSettingRequest::new(
            FeatureCode::SpotTrade,
            MethodCode::FeeRate,
            dec("0.01"),
        )),
        one(UpdateMonetizationSettingRequest::new("1", dec("0.02"))),
        one(DeleteMonetizationSettingRequest::new("1")),
        one(OwnerBalanceRequest::new()),
        one(OwnerTransactionsRequest::new()),
        one(ListCurrenciesRequest::new()),
        one(ListTradingPairsRequest::new()),
        one(CreateWalletRequest::new(USER, wallet)),
        one(ListWalletsRequest::new(USER)),
        one(WalletBalancesRequest::new(WALLET)),
        one(WalletTransactionsRequest::new(WALLET)),
        one(CreateAddressRequest::new(WALLET, "btc", "bitcoin-testnet")),
        one(ListAddressesRequest::new(WALLET)),
        one(UserBalanceRequest::new(USER)),
        one(UserTransactionsRequest::new(USER)),
        one(QuoteRequest::amount(WALLET, "btcusd", Side::Buy, dec("10"))),
        one(PlaceOrderRequest::new(WALLET, "q")),
        one(InitiateWithdrawalRequest::new(
            USER,
            "btc",
            dec("0.01"),
            "tb1q",
        )),
        one(ConfirmWithdrawalRequest::new(USER, "w1", "1")),
        one(ResendWithdrawalCodeRequest::new(USER, "w1")),
        one(GetWithdrawalRequest::new(USER, "w1")),
        one(ListWithdrawalsRequest::new(USER)),
        one(CancelWithdrawalRequest::new(USER, "w1")),
        one(CreateTransferRequest::new(WALLET, transfer())),
        one(ConfirmTransferRequest::new(WALLET, "t1", "1")),
        one(ResendTransferCodeRequest::new(WALLET, "t1")),
        one(CancelTransferRequest::new(WALLET, "t1")),
        one(ListTransfersRequest::new(WALLET)),
        one(GetTransferRequest::new(WALLET, "t1")),
    ]
}

#[test]
fn every_route_has_an_endpoint() {
    let all = every_endpoint();
    assert_eq!(all.len(), routes::ALL.len());
    for (route, request, credential) in &all {
        assert_eq!(request.method(), route.method, "{}", route.name);
        assert_eq!(*credential, route.credential, "{}", route.name);
        let expected = route
            .template
            .replace("{user_id}", USER)
            .replace("{wallet_id}", WALLET)
            .replace("{setting_id}", "1")
            .replace("{withdrawal_id}", "w1")
            .replace("{transfer_id}", "t1");
        assert_eq!(
            request.uri().path(),
            format!("/sovx/v1{expected}"),
            "{}",
            route.name
        );
        assert_eq!(
            request.headers().get("content-type").is_some(),
            !request.body().is_empty(),
            "{}",
            route.name
        );
    }
    let names: Vec<_> = all.iter().map(|(r, ..)| r.name).collect();
    let table: Vec<_> = routes::ALL.iter().map(|r| r.name).collect();
    assert_eq!(names, table);
}

// ---------------------------------------------------------------------------------------------
// Answers

#[test]
fn any_2xx_is_success() {
    let body = r#"{"success":true,"data":{"wallet_id":"w","networks":[{"name":"networks/bitcoin-testnet","currency":"btc"}],"addresses":[]},"meta":{"trace_id":"t"}}"#;
    for status in [200, 201, 202] {
        let out = CreateWalletRequest::new(USER, NewWallet::new("w", vec![]))
            .parse(&resp(status, "application/json", body))
            .unwrap();
        assert_eq!(out.data.wallet_id.as_str(), "w");
        assert_eq!(out.data.networks[0].name, "networks/bitcoin-testnet");
    }
}

#[test]
fn error_envelope_gives_codes_messages_and_trace_id() {
    let body = r#"{"success":false,"errors":[{"code":"USER_NOT_FOUND","message":"User not found"},{"code":"WALLET_INACTIVE","message":"Wallet is not active"}],"meta":{"timestamp":"2026-01-15T10:30:00.000Z","version":"v1","trace_id":"abc-123"}}"#;
    let e = GetUserRequest::new(USER)
        .parse(&resp(404, "application/json", body))
        .unwrap_err();
    assert_eq!(e.status(), StatusCode::NOT_FOUND);
    let api = e.as_api().unwrap();
    assert_eq!(api.service, Service::Sx);
    assert_eq!(api.trace_id.as_deref(), Some("abc-123"));
    assert_eq!(api.message(), Some("User not found"));
    assert_eq!(api.errors[1].message, "Wallet is not active");
    assert_eq!(
        error_codes(api),
        vec![
            ErrorCode::UserNotFound,
            ErrorCode::Unknown("WALLET_INACTIVE".into())
        ]
    );
    assert!(!error_codes(api)[1].is_known());
    assert_eq!(
        e.to_string(),
        "Sovera SovX answered 404 Not Found: User not found (USER_NOT_FOUND); Wallet is not active (WALLET_INACTIVE) [trace id abc-123]"
    );
}

#[test]
fn success_false_with_2xx_is_an_error() {
    let body = r#"{"success":false,"errors":[{"code":"INSUFFICIENT_FUNDS","message":"Balance too low"}],"meta":{"trace_id":"t-9"}}"#;
    let e = PlaceOrderRequest::new(WALLET, "q")
        .parse(&resp(200, "application/json", body))
        .unwrap_err();
    let api = e.as_api().unwrap();
    assert_eq!(api.status, StatusCode::OK);
    assert!(api.has_code("INSUFFICIENT_FUNDS"));
    assert_eq!(api.trace_id.as_deref(), Some("t-9"));
    // Even when the body names no errors.
    let e = GetUserRequest::new(USER)
        .parse(&resp(201, "application/json", r#"{"success":false}"#))
        .unwrap_err();
    assert!(e.as_api().unwrap().errors.is_empty());
}

#[test]
fn html_502_keeps_status_kind_and_body() {
    let page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    let r = Response::builder()
        .status(502)
        .header("content-type", "text/html")
        .header("x-trace-id", "edge-7")
        .header("retry-after", "3")
        .body(page.as_bytes().to_vec())
        .unwrap();
    let e = QuoteRequest::amount(WALLET, "btcusd", Side::Buy, dec("1"))
        .parse(&r)
        .unwrap_err();
    let api = e.as_api().unwrap();
    assert_eq!(api.status, StatusCode::BAD_GATEWAY);
    assert_eq!(api.body_kind, BodyKind::Html);
    assert_eq!(api.body, page.as_bytes());
    assert_eq!(api.trace_id.as_deref(), Some("edge-7"));
    assert_eq!(api.retry_after, Some(std::time::Duration::from_secs(3)));
    assert!(api.errors.is_empty());
    assert_eq!(
        e.to_string(),
        "Sovera SovX answered 502 Bad Gateway with an HTML page instead of JSON [trace id edge-7]"
    );
}

#[test]
fn text_and_empty_error_bodies() {
    let e = OwnerBalanceRequest::new()
        .parse(&resp(503, "text/plain", "Service Unavailable"))
        .unwrap_err();
    assert_eq!(e.as_api().unwrap().body_kind, BodyKind::Text);
    assert_eq!(e.as_api().unwrap().body_text(), "Service Unavailable");
    let e = OwnerBalanceRequest::new()
        .parse(&resp(401, "application/json", ""))
        .unwrap_err();
    assert_eq!(e.as_api().unwrap().body_kind, BodyKind::Empty);
    assert_eq!(e.status(), StatusCode::UNAUTHORIZED);
    let e = OwnerBalanceRequest::new()
        .parse(&resp(
            500,
            "application/json",
            r#"{"success":false,"errors":[{"code""#,
        ))
        .unwrap_err();
    assert_eq!(e.as_api().unwrap().body_kind, BodyKind::OtherJson);
}

#[test]
fn truncated_and_malformed_success_bodies() {
    let e = ListCurrenciesRequest::new()
        .parse(&resp(
            200,
            "application/json",
            r#"{"success":true,"data":[{"symbol":"BT"#,
        ))
        .unwrap_err();
    let d = e.as_decode().unwrap();
    assert!(
        matches!(d.kind, DecodeErrorKind::Truncated { .. }),
        "{:?}",
        d.kind
    );
    assert_eq!(d.body, br#"{"success":true,"data":[{"symbol":"BT"#);
    let e = ListCurrenciesRequest::new()
        .parse(&resp(200, "text/html", "<html>login</html>"))
        .unwrap_err();
    assert_eq!(e.as_decode().unwrap().kind, DecodeErrorKind::Html);
    let e = UserBalanceRequest::new(USER)
        .parse(&resp(
            200,
            "application/json",
            r#"{"success":true,"data":[{"currency":"usd","balance":"lots"}],"meta":{}}"#,
        ))
        .unwrap_err();
    assert!(
        matches!(&e.as_decode().unwrap().kind, DecodeErrorKind::Schema { path, .. } if path == "data[0].balance")
    );
    let e = GenerateUserTokenRequest::new(USER)
        .parse(&resp(200, "application/json", ""))
        .unwrap_err();
    assert_eq!(e.as_decode().unwrap().kind, DecodeErrorKind::Empty);
}

#[test]
fn unknown_enum_values_are_kept() {
    let body = json!({
        "success": true,
        "data": [{
            "id": 7, "feature": "Staking", "feature_code": "STAKING", "method": "Fee Tiered",
            "method_code": "FEE_TIERED", "amount": 0.1, "extra_field": [1]
        }],
        "meta": {}
    });
    let out = ListMonetizationSettingsRequest::new()
        .parse(&resp(200, "application/json", &body.to_string()))
        .unwrap();
    let s = &out.data[0];
    assert_eq!(s.id.as_str(), "7");
    assert_eq!(s.feature_code, Some(FeatureCode::Unknown("STAKING".into())));
    assert_eq!(
        s.method_code,
        Some(MethodCode::Unknown("FEE_TIERED".into()))
    );
    assert_eq!(s.extra["extra_field"], json!([1]));

    let body = json!({"success": true, "data": {"quote_id": "q", "side": "short", "sell_price": 99.5, "fee": 0.1}, "meta": {}});
    let q = QuoteRequest::amount(WALLET, "btcusd", Side::Sell, dec("1"))
        .parse(&resp(201, "application/json", &body.to_string()))
        .unwrap()
        .data;
    assert_eq!(q.side, Some(Side::Unknown("short".into())));
    assert_eq!(q.price(), Some(dec("99.5")));
    assert_eq!(q.extra["fee"], json!(0.1));
    assert_eq!(Status::parse("CANCELED"), Status::Cancelled);
    assert_eq!(Status::parse("EXPIRED"), Status::Unknown("EXPIRED".into()));
    assert_eq!(UserStatus::parse("PENDING"), UserStatus::Pending);
}

#[test]
fn lenient_order_and_transfer_answers() {
    let body = json!({"success": true, "data": {"id": 991, "quote_id": "q", "status": "done", "price": 100001.5, "filled": true}, "meta": {}});
    let o = PlaceOrderRequest::new(WALLET, "q")
        .parse(&resp(201, "application/json", &body.to_string()))
        .unwrap()
        .data;
    assert_eq!(o.id.as_deref(), Some("991"));
    assert_eq!(o.price, Some(dec("100001.5")));
    assert_eq!(o.extra["filled"], json!(true));

    let body = json!({"success": true, "data": null, "meta": {"trace_id": "x"}});
    let out = ConfirmTransferRequest::new(WALLET, "t", "1")
        .parse(&resp(200, "application/json", &body.to_string()))
        .unwrap();
    assert_eq!(out.data, None);
    let e = Response::builder().status(204).body(Vec::new()).unwrap();
    assert_eq!(
        CancelWithdrawalRequest::new(USER, "w")
            .parse(&e)
            .unwrap()
            .data,
        None
    );
    assert_eq!(
        DeleteUserRequest::new(USER).parse(&e).unwrap().data,
        Value::Null
    );

    let body = json!({"success": true, "data": {"id": "t", "status": "PENDING", "type": "PAYIN", "amount": 1, "source_wallet_id": WALLET}, "meta": {}});
    let t = CreateTransferRequest::new(WALLET, transfer())
        .parse(&resp(201, "application/json", &body.to_string()))
        .unwrap()
        .data;
    assert_eq!(t.id, Some(TransferId::new("t")));
    assert_eq!(t.status, Some(Status::Pending));
    assert_eq!(t.transfer_type, Some(TransferType::Payin));
    assert_eq!(t.source_wallet_id, Some(WalletId::new(WALLET)));
}

#[test]
fn secrets_in_answers_are_redacted() {
    let body = r#"{"success":true,"data":{"token":"s3cr3t-token-value","user_id":"u","expires":"2027-01-15T10:30:00.000Z"},"meta":{}}"#;
    let out = GenerateUserTokenRequest::new("u")
        .parse(&resp(200, "application/json", body))
        .unwrap();
    assert!(!format!("{out:?}").contains("s3cr3t-token-value"));
    assert_eq!(out.data.token.expose(), "s3cr3t-token-value");
    let credential = SxCredential::from(out.data.token);
    assert!(!format!("{credential:?}").contains("s3cr3t"));
}

#[test]
fn response_error_kinds() {
    let e = HealthRequest::new()
        .parse(&resp(503, "application/json", r#"{"status":"error"}"#))
        .unwrap_err();
    assert!(matches!(e, ResponseError::Api(_)));
    assert_eq!(e.as_api().unwrap().body_kind, BodyKind::OtherJson);
}
