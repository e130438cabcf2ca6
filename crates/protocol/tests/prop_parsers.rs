//! Every response parser, given arbitrary statuses, headers and bodies, returns a value or an
//! error — never a panic. Case counts come from `PROPTEST_CASES`.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::Value;
use sova_protocol::http::Response;
use sova_protocol::{Endpoint, ResponseError, intel, sovx};

const ADDR: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";

/// Runs every parser of the crate on one response.
fn parse_all(r: &Response<Vec<u8>>) -> usize {
    fn ok<E: Endpoint>(e: &E, r: &Response<Vec<u8>>) -> usize {
        match e.parse(r) {
            Ok(_) => 1,
            Err(ResponseError::Api(a)) => {
                // Display must not panic either.
                let _ = a.to_string();
                0
            }
            Err(other) => {
                let _ = other.to_string();
                0
            }
        }
    }
    let mut n = 0;
    n += ok(&intel::WalletHudRequest::new(ADDR), r);
    n += ok(&intel::WalletProfileRequest::new(ADDR), r);
    n += ok(&intel::WalletTokensRequest::new(ADDR), r);
    n += ok(&intel::BatchHudRequest::new([ADDR]), r);
    n += ok(&intel::HoldersRequest::new(ADDR), r);
    n += ok(&intel::HoldersAgentRequest::new(ADDR), r);
    n += ok(&intel::DeepRequest::new(ADDR), r);
    n += ok(&intel::SimilarityRequest::new([ADDR, ADDR]), r);
    n += ok(&intel::SimilarityAgentRequest::new([ADDR, ADDR]), r);
    n += ok(&intel::JobStatusRequest::new("j"), r);
    n += ok(
        &intel::ResultByKeyRequest::<intel::HolderProfilesResult>::new("k"),
        r,
    );
    n += ok(
        &intel::ResultByKeyRequest::<intel::AgentHolderProfilesResult>::new("k"),
        r,
    );
    n += ok(
        &intel::ResultByKeyRequest::<intel::SimilarityResult>::new("k"),
        r,
    );
    n += ok(
        &intel::ResultByKeyRequest::<intel::AgentSimilarityResult>::new("k"),
        r,
    );
    n += ok(&intel::ResultByKeyRequest::<Value>::new("k"), r);
    n += ok(&intel::PricingRequest::new(), r);
    n + parse_all_sx(r)
}

fn ok_sx<E: Endpoint>(e: &E, r: &Response<Vec<u8>>) -> usize {
    match e.parse(r) {
        Ok(_) => 1,
        Err(err) => {
            let _ = err.to_string();
            0
        }
    }
}

/// Every SovX parser (one request of each endpoint).
fn parse_all_sx(r: &Response<Vec<u8>>) -> usize {
    use sovx::*;
    const USER: &str = "f4057807-52cf-4083-9ecb-283ef354fb2b";
    const WALLET: &str = "7d9f1c1e-4b8a-4d6b-9a51-2f0e8c3b6a10";
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let user = NewUser::individual("A", "B", "a@b.c", "US", "1", Individual::default());
    let wallet = NewWallet::new(
        "w",
        vec![WalletNetwork::new("networks/solana-devnet", "sol")],
    );
    let transfer = NewTransfer {
        destination_wallet_id: "0b6e3a52-9c1d-4f7a-8e2b-5d4c3b2a1f00".into(),
        transfer_type: TransferType::Payin,
        purpose: "p".into(),
        description: "d".into(),
        currency: "USDC".into(),
        amount: d("1"),
    };
    let all: Vec<Box<dyn ErasedParse>> = vec![
        Box::new(HealthRequest::new()),
        Box::new(GenerateUserTokenRequest::new(USER)),
        Box::new(GenerateUserTokensRequest::new([USER])),
        Box::new(CreateUserRequest::new(user)),
        Box::new(GetUserRequest::new(USER)),
        Box::new(UpdateUserRequest::new(USER, UserUpdate::default())),
        Box::new(ActivateUserRequest::new(USER)),
        Box::new(DeactivateUserRequest::new(USER)),
        Box::new(DeleteUserRequest::new(USER)),
        Box::new(ListMonetizationSettingsRequest::new()),
        Box::new(GetMonetizationSettingRequest::new("1")),
        Box::new(CreateMonetizationSettingRequest::new(
            FeatureCode::SpotTrade,
            MethodCode::FeeRate,
            d("0.01"),
        )),
        Box::new(UpdateMonetizationSettingRequest::new("1", d("0.02"))),
        Box::new(DeleteMonetizationSettingRequest::new("1")),
        Box::new(OwnerBalanceRequest::new()),
        Box::new(OwnerTransactionsRequest::new()),
        Box::new(ListCurrenciesRequest::new()),
        Box::new(ListTradingPairsRequest::new()),
        Box::new(CreateWalletRequest::new(USER, wallet)),
        Box::new(ListWalletsRequest::new(USER)),
        Box::new(WalletBalancesRequest::new(WALLET)),
        Box::new(WalletTransactionsRequest::new(WALLET)),
        Box::new(CreateAddressRequest::new(WALLET, "btc", "bitcoin-testnet")),
        Box::new(ListAddressesRequest::new(WALLET)),
        Box::new(UserBalanceRequest::new(USER)),
        Box::new(UserTransactionsRequest::new(USER)),
        Box::new(QuoteRequest::amount(WALLET, "btcusd", Side::Buy, d("10"))),
        Box::new(PlaceOrderRequest::new(WALLET, "q")),
        Box::new(InitiateWithdrawalRequest::new(
            USER,
            "btc",
            d("0.01"),
            "tb1q",
        )),
        Box::new(ConfirmWithdrawalRequest::new(USER, "w1", "1")),
        Box::new(ResendWithdrawalCodeRequest::new(USER, "w1")),
        Box::new(GetWithdrawalRequest::new(USER, "w1")),
        Box::new(ListWithdrawalsRequest::new(USER)),
        Box::new(CancelWithdrawalRequest::new(USER, "w1")),
        Box::new(CreateTransferRequest::new(WALLET, transfer)),
        Box::new(ConfirmTransferRequest::new(WALLET, "t1", "1")),
        Box::new(ResendTransferCodeRequest::new(WALLET, "t1")),
        Box::new(CancelTransferRequest::new(WALLET, "t1")),
        Box::new(ListTransfersRequest::new(WALLET)),
        Box::new(GetTransferRequest::new(WALLET, "t1")),
    ];
    assert_eq!(
        all.len(),
        sovx::routes::ALL.len(),
        "a SovX endpoint is missing from this test"
    );
    all.iter().map(|e| e.parse_count(r)).sum()
}

/// Object-safe view of `Endpoint::parse`, so endpoints with different outputs share a list.
trait ErasedParse {
    fn parse_count(&self, r: &Response<Vec<u8>>) -> usize;
}

impl<E: Endpoint> ErasedParse for E {
    fn parse_count(&self, r: &Response<Vec<u8>>) -> usize {
        ok_sx(self, r)
    }
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(200u16),
        Just(201),
        Just(202),
        Just(204),
        Just(206),
        Just(400),
        Just(401),
        Just(402),
        Just(403),
        Just(404),
        Just(409),
        Just(422),
        Just(429),
        Just(500),
        Just(502),
        Just(503),
        100u16..600,
    ]
}

fn header() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![
        Just("content-type".to_owned()),
        Just("payment-required".to_owned()),
        Just("payment-response".to_owned()),
        Just("x-payment-response".to_owned()),
        Just("retry-after".to_owned()),
        Just("x-trace-id".to_owned()),
        "[a-z-]{1,12}".prop_map(|s| s),
    ];
    let value = prop_oneof![
        Just("application/json".to_owned()),
        Just("text/html".to_owned()),
        "[ -~]{0,64}".prop_map(|s| s),
        "[A-Za-z0-9+/=_-]{0,120}".prop_map(|s| s),
    ];
    (name, value)
}

/// Bodies that look like the API's JSON, with fields of the wrong type here and there.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let key = prop_oneof![
        Just("status"),
        Just("walletAddress"),
        Just("jobId"),
        Just("prepaidJobId"),
        Just("requestId"),
        Just("huds"),
        Just("queued"),
        Just("skipped"),
        Just("notFound"),
        Just("summary"),
        Just("hud"),
        Just("behaviorCode"),
        Just("winRate"),
        Just("dataQualityTier"),
        Just("isBot"),
        Just("isWhale"),
        Just("calculatedAt"),
        Just("trimmedMeanPnl"),
        Just("profiles"),
        Just("metadata"),
        Just("data"),
        Just("total"),
        Just("page"),
        Just("pageSize"),
        Just("progress"),
        Just("message"),
        Just("statusCode"),
        Just("error"),
        Just("required"),
        Just("skipReason"),
        Just("similarity"),
        Just("holderProfiles"),
        Just("pairs"),
        Just("aggregate"),
        Just("coordinationScore"),
        Just("mode"),
        Just("success"),
        Just("errors"),
        Just("meta"),
    ];
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("1e309".to_owned()),
        Just("0.5".to_owned()),
        Just("\"GOLD\"".to_owned()),
        Just("\"W\"".to_owned()),
        Just("\"queued\"".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("[\"a\",1]".to_owned()),
        "\"[ -~]{0,12}\"".prop_map(|s| s.replace('\\', "")),
    ];
    let obj = prop::collection::vec((key, leaf), 0..12).prop_map(|kv| {
        let fields: Vec<String> = kv
            .into_iter()
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect();
        format!("{{{}}}", fields.join(","))
    });
    let nested = obj.prop_recursive(3, 48, 6, |inner| {
        (prop::collection::vec(inner.clone(), 0..3), inner).prop_map(|(items, o)| {
            let o = o.trim_end_matches('}').to_owned();
            let sep = if o.len() > 1 { "," } else { "" };
            format!(
                "{o}{sep}\"profiles\":[{}],\"huds\":{{\"{ADDR}\":{}}}}}",
                items.join(","),
                items.first().cloned().unwrap_or_else(|| "{}".into())
            )
        })
    });
    prop_oneof![
        3 => nested.prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..256),
        1 => Just(b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec()),
        1 => Just(Vec::new()),
    ]
}

fn response(
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
) -> Option<Response<Vec<u8>>> {
    let mut b = Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(k, v);
    }
    b.body(body).ok()
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/prop_parsers.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn parsers_never_panic(status in status(), headers in prop::collection::vec(header(), 0..5), body in body()) {
        if let Some(r) = response(status, headers, body) {
            let n = parse_all(&r);
            // Error statuses never parse as success.
            if !r.status().is_success() {
                prop_assert_eq!(n, 0);
            }
        }
    }

    #[test]
    fn truncations_of_valid_answers_never_panic(cut in 0usize..2000, which in 0usize..3) {
        let docs = [
            format!(r#"{{"walletAddress":"{ADDR}","signalType":"wallet_behavior_v1","behaviorCode":"W","winRate":0.5,"trimmedMeanPnl":1.0,"avgTxValueSol":1.0,"avgTradesPerDay":1.0,"uniqueTokensPerDay":1.0,"currentHoldingsSol":1.0,"dataQualityTier":"GOLD","isBot":false,"isWhale":false,"calculatedAt":"2026-03-03T11:30:00.000Z"}}"#),
            format!(r#"{{"huds":{{"{ADDR}":{{"behaviorCode":"W","winRate":0.5,"trimmedMeanPnl":1.0,"dataQualityTier":"GOLD","isBot":false,"isWhale":false,"calculatedAt":"x"}}}},"queued":[{{"walletAddress":"{ADDR}","jobId":"j","monitoringUrl":"/api/v1/jobs/j"}}],"skipped":[]}}"#),
            r#"{"status":"queued","jobId":"j","requestId":"r","monitoringUrl":"/api/v1/jobs/j"}"#.to_owned(),
        ];
        let doc = &docs[which];
        let body = doc.as_bytes()[..cut.min(doc.len())].to_vec();
        let r = response(200, vec![("content-type".into(), "application/json".into())], body).unwrap();
        let complete = cut >= doc.len();
        let n = parse_all(&r);
        if !complete && cut > 0 {
            // A truncated document parses nowhere (an empty body is a valid answer for
            // SovX operations whose result may be empty, e.g. confirm/cancel).
            prop_assert_eq!(n, 0);
        }
    }
}
