//! The call machine, driven by hand: every request it emits is answered by a script, so the
//! tests count sends, RPC calls and payments exactly, without a network or a clock.

use std::sync::Arc;

use serde_json::Map;
use sova_protocol::http::{Method, Request, Response, StatusCode};
use sova_protocol::intel::{Fetched, JobStatusRequest, WalletHudRequest};
use sova_protocol::x402::{
    PaymentPayload, PaymentRequired, PaymentRequirements, SettlementResponse, USDC_MAINNET_MINT,
    networks,
};
use sova_x402::{Keypair, Payer, SpendPolicy, programs};

use super::*;

const ADDR: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
const TREASURY: &str = "GThUX1Atko4tqhN2NaiTazWSeFWMuiUvfFnyJyUghFMJ";
const BLOCKHASH_ANSWER: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"context":{"slot":1},"value":{"blockhash":"EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N","lastValidBlockHeight":3090}}}"#;
const HUD: &str = r#"{"walletAddress":"9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM","signalType":"wallet_behavior_v1","behaviorCode":"W","winRate":0.5,"trimmedMeanPnl":1.0,"dataQualityTier":"GOLD","isBot":false,"isWhale":false,"calculatedAt":"2026-03-03T11:30:00.000Z"}"#;

struct NoAuth;
impl Authorizer for NoAuth {
    fn authorize(&self, _: Credential, _: &mut HeaderMap) -> Result<(), Error> {
        Ok(())
    }
}

fn settings() -> CallSettings {
    CallSettings {
        attempt_timeout: Duration::from_secs(30),
        call_timeout: Duration::from_secs(60),
        retry: RetryPolicy::default(),
        jitter_seed: 1,
        max_payment: None,
    }
}

fn base() -> BaseUrl {
    BaseUrl::parse("http://127.0.0.1:1/api/v1").unwrap()
}

fn resp(status: u16, body: &str) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

fn challenge(amount: u64) -> PaymentRequired {
    PaymentRequired {
        x402_version: 2,
        error: None,
        resource: None,
        accepts: vec![PaymentRequirements::new(
            networks::SOLANA_MAINNET,
            USDC_MAINNET_MINT,
            amount,
            TREASURY,
            60,
            Map::new(),
        )],
        extensions: None,
    }
}

fn with_challenge(status: u16, required: &PaymentRequired, body: &str) -> Response<Vec<u8>> {
    let mut r = resp(status, body);
    r.headers_mut().insert(
        "payment-required",
        required.encode_header().parse().unwrap(),
    );
    r
}

fn payments(cap: u64, budget: u64) -> Payments {
    let policy = SpendPolicy::builder()
        .max_per_payment(programs::USDC_MAINNET, cap)
        .budget(programs::USDC_MAINNET, budget)
        .build();
    let payer = Payer::builder()
        .signer(Keypair::from_seed([7; 32]))
        .policy(Arc::new(policy))
        .build()
        .unwrap();
    Payments {
        payer: Arc::new(payer),
        rpc_url: "http://127.0.0.1:2/rpc".into(),
        cache: Arc::default(),
    }
}

/// What the script saw.
#[derive(Default, Debug)]
struct Log {
    api: Vec<Option<String>>,
    rpc: Vec<String>,
}

enum Answer {
    Ok(Response<Vec<u8>>),
    Fail(TransportErrorKind),
}

/// Drives `m`: RPC requests (to the `/rpc` URL) get `rpc(method)`, API requests get the
/// next scripted answer.
fn drive<E: Endpoint>(
    mut m: CallMachine<'_, E>,
    api: &mut dyn FnMut(usize, &Request<Vec<u8>>) -> Answer,
    rpc: &dyn Fn(&str) -> Response<Vec<u8>>,
) -> (Result<Paid<E::Output>, Error>, Log) {
    let mut log = Log::default();
    let mut now = Instant::now();
    let mut action = m.start(now);
    loop {
        action = match action {
            Action::Send { request, .. } => {
                if request.uri().path() == "/rpc" {
                    let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
                    let method = body["method"].as_str().unwrap().to_owned();
                    log.rpc.push(method.clone());
                    m.on_response(rpc(&method), now)
                } else {
                    let header = request
                        .headers()
                        .get("payment-signature")
                        .map(|v| v.to_str().unwrap().to_owned());
                    log.api.push(header);
                    match api(log.api.len(), &request) {
                        Answer::Ok(r) => m.on_response(r, now),
                        Answer::Fail(kind) => {
                            m.on_transport_error(kind, "scripted failure".into(), None, now)
                        }
                    }
                }
            }
            Action::Sleep(d) => {
                now += d;
                m.on_wake(now)
            }
            Action::Done => return (m.into_result(), log),
        };
    }
}

fn blockhash_rpc(method: &str) -> Response<Vec<u8>> {
    match method {
        "getLatestBlockhash" => resp(200, BLOCKHASH_ANSWER),
        "getBlockHeight" => resp(200, r#"{"jsonrpc":"2.0","id":3,"result":100}"#),
        "getSignatureStatuses" => resp(
            200,
            r#"{"jsonrpc":"2.0","id":1,"result":{"context":{"slot":5},"value":[null]}}"#,
        ),
        other => panic!("unexpected RPC {other}"),
    }
}

fn machine<'e, E: Endpoint>(ep: &'e E, p: &'e Payments) -> CallMachine<'e, E> {
    CallMachine::new(ep, &base(), &NoAuth, &settings(), Instant::now())
        .unwrap()
        .with_payments(Some(p))
}

fn settled(sig: &str) -> Response<Vec<u8>> {
    let mut r = resp(200, HUD);
    r.headers_mut()
        .insert("x-payment-response", sig.parse().unwrap());
    r
}

/// The self-paid signature of a header: the transaction id is the payer's signature.
fn payer_signature(header: &str) -> String {
    let p = PaymentPayload::decode(header).unwrap();
    let tx = sova_protocol::x402::b64::decode(&p.payload.transaction).unwrap();
    bs58_sig(&tx[1..65])
}

fn bs58_sig(bytes: &[u8]) -> String {
    sova_x402::Signature::try_from(bytes).unwrap().to_string()
}

#[test]
fn pays_once_on_402_then_once_per_call_in_steady_state() {
    let p = payments(100_000, 1_000_000);
    let ep = WalletHudRequest::new(ADDR);
    let required = challenge(15_000);
    let (r, log) = drive(
        machine(&ep, &p),
        &mut |n, req| match n {
            1 => Answer::Ok(with_challenge(402, &required, "{}")),
            _ => Answer::Ok(settled(&payer_signature(
                req.headers()["payment-signature"].to_str().unwrap(),
            ))),
        },
        &blockhash_rpc,
    );
    let paid = r.unwrap();
    assert!(matches!(paid.value, Fetched::Ready(_)));
    let receipt = paid.receipt.unwrap();
    assert_eq!(
        (
            receipt.amount,
            receipt.asset.as_str(),
            receipt.pay_to.as_str()
        ),
        (15_000, USDC_MAINNET_MINT, TREASURY)
    );
    assert_eq!(
        receipt.transaction.as_deref(),
        Some(receipt.payer_signature.as_str())
    );
    assert_eq!(log.api.len(), 2);
    assert!(log.api[0].is_none() && log.api[1].is_some());
    assert_eq!(log.rpc, ["getLatestBlockhash"]);
    assert_eq!(p.payer.policy().spent(&programs::USDC_MAINNET), 15_000);

    // Steady state: the requirement and the blockhash are cached → one request, no RPC.
    for i in 0..5 {
        let (r, log) = drive(
            machine(&ep, &p),
            &mut |_, req| {
                Answer::Ok(settled(&payer_signature(
                    req.headers()["payment-signature"].to_str().unwrap(),
                )))
            },
            &blockhash_rpc,
        );
        assert!(r.unwrap().receipt.is_some());
        assert_eq!(log.api.len(), 1, "call {i}");
        assert!(log.api[0].is_some());
        assert!(log.rpc.is_empty());
    }
    assert_eq!(p.payer.policy().spent(&programs::USDC_MAINNET), 6 * 15_000);
}

#[test]
fn transport_retries_resend_the_same_signed_payment() {
    let p = payments(100_000, 1_000_000);
    let ep = JobStatusRequest::new("j"); // free, so use a paid one:
    let _ = ep;
    let ep = WalletHudRequest::new(ADDR);
    let required = challenge(15_000);
    let (r, log) = drive(
        machine(&ep, &p),
        &mut |n, req| match n {
            1 => Answer::Ok(with_challenge(402, &required, "{}")),
            2 => Answer::Fail(TransportErrorKind::Io),
            3 => Answer::Ok(resp(503, "{}")),
            _ => Answer::Ok(settled(&payer_signature(
                req.headers()["payment-signature"].to_str().unwrap(),
            ))),
        },
        &blockhash_rpc,
    );
    r.unwrap();
    assert_eq!(log.api.len(), 4);
    let sent: Vec<&String> = log.api.iter().flatten().collect();
    assert_eq!(sent.len(), 3);
    assert!(
        sent.iter().all(|h| *h == sent[0]),
        "every resend carries the same signed payment"
    );
    assert_eq!(p.payer.policy().spent(&programs::USDC_MAINNET), 15_000);
}

#[test]
fn a_price_change_refreshes_the_cache_and_pays_once_more() {
    let p = payments(100_000, 1_000_000);
    let ep = WalletHudRequest::new(ADDR);
    p.cache.remember(
        &format!(
            "GET {}",
            "/api/v1/intel/wallet/9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM/hud"
        ),
        challenge(15_000),
    );
    let mut new_price = challenge(30_000);
    new_price.error = Some("USDC amount 15000 < required 30000".into());
    let (r, log) = drive(
        machine(&ep, &p),
        &mut |n, req| match n {
            1 => Answer::Ok(with_challenge(402, &new_price, "{}")),
            _ => Answer::Ok(settled(&payer_signature(
                req.headers()["payment-signature"].to_str().unwrap(),
            ))),
        },
        &blockhash_rpc,
    );
    let paid = r.unwrap();
    assert_eq!(paid.receipt.unwrap().amount, 30_000);
    assert_eq!(log.api.len(), 2);
    assert_ne!(log.api[0], log.api[1]);
    // The refused first payment was released: only the second is spent.
    assert_eq!(p.payer.policy().spent(&programs::USDC_MAINNET), 30_000);
}

#[test]
fn an_ambiguous_402_is_reconciled_and_never_repaid() {
    let p = payments(100_000, 1_000_000);
    let ep = WalletHudRequest::new(ADDR);
    let required = challenge(15_000);
    let mut replay = challenge(15_000);
    replay.error = Some("transaction already used (replay attack)".into());
    let landed = |method: &str| match method {
        "getSignatureStatuses" => resp(
            200,
            r#"{"jsonrpc":"2.0","id":1,"result":{"context":{"slot":9},"value":[{"slot":9,"confirmations":null,"err":null,"confirmationStatus":"finalized"}]}}"#,
        ),
        other => blockhash_rpc(other),
    };
    let (r, log) = drive(
        machine(&ep, &p),
        &mut |n, _| match n {
            1 => Answer::Ok(with_challenge(402, &required, "{}")),
            _ => Answer::Ok(with_challenge(402, &replay, "{}")),
        },
        &landed,
    );
    let e = r.unwrap_err();
    assert!(e.may_have_charged(), "{e}");
    assert!(e.to_string().contains("landed on chain"), "{e}");
    assert_eq!(log.api.len(), 2, "no second payment");
    assert_eq!(
        log.rpc,
        [
            "getLatestBlockhash",
            "getSignatureStatuses",
            "getBlockHeight"
        ]
    );
    assert_eq!(
        p.payer.policy().spent(&programs::USDC_MAINNET),
        15_000,
        "the landed payment stays spent"
    );
}

#[test]
fn a_dropped_connection_after_paying_is_reported_with_its_reference() {
    let p = payments(100_000, 1_000_000);
    let ep = WalletHudRequest::new(ADDR);
    let required = challenge(15_000);
    let (r, log) = drive(
        machine(&ep, &p),
        &mut |n, _| match n {
            1 => Answer::Ok(with_challenge(402, &required, "{}")),
            _ => Answer::Fail(TransportErrorKind::Io),
        },
        &blockhash_rpc,
    );
    let e = r.unwrap_err();
    assert!(e.may_have_charged(), "{e}");
    let reference = e.payment().unwrap();
    assert_eq!(reference.amount, 15_000);
    // The same payment was resent on every retry, then the chain was read: not found and
    // not expired (height 100 ≤ 3090) → pending, never paid again.
    let headers: Vec<&String> = log.api.iter().flatten().collect();
    assert_eq!(headers.len() as u32, RetryPolicy::default().max_attempts);
    assert!(headers.iter().all(|h| *h == headers[0]));
    assert_eq!(log.rpc.last().map(String::as_str), Some("getBlockHeight"));
}

#[test]
fn expired_and_unlanded_payments_are_released() {
    let p = payments(100_000, 1_000_000);
    let ep = WalletHudRequest::new(ADDR);
    let required = challenge(15_000);
    let expired = |method: &str| match method {
        "getBlockHeight" => resp(200, r#"{"jsonrpc":"2.0","id":3,"result":99999}"#),
        other => blockhash_rpc(other),
    };
    let (r, _) = drive(
        machine(&ep, &p),
        &mut |n, _| match n {
            1 => Answer::Ok(with_challenge(402, &required, "{}")),
            _ => Answer::Ok(resp(500, r#"{"message":"boom","statusCode":500}"#)),
        },
        &expired,
    );
    let e = r.unwrap_err();
    assert!(!e.may_have_charged(), "{e}");
    assert_eq!(e.status(), Some(StatusCode::PAYMENT_REQUIRED));
    assert_eq!(p.payer.policy().spent(&programs::USDC_MAINNET), 0);
}

#[test]
fn the_spend_policy_refuses_before_signing() {
    let p = payments(10_000, 1_000_000);
    let ep = WalletHudRequest::new(ADDR);
    let required = challenge(300_000);
    let (r, log) = drive(
        machine(&ep, &p),
        &mut |_, _| Answer::Ok(with_challenge(402, &required, "{}")),
        &blockhash_rpc,
    );
    let e = r.unwrap_err();
    assert!(matches!(e, Error::PaymentRefused(_)), "{e}");
    assert!(
        e.to_string().contains("300000") && e.to_string().contains("10000"),
        "{e}"
    );
    assert_eq!(log.api.len(), 1);
    assert!(log.rpc.is_empty());
    assert_eq!(e.reached(), crate::Reached::No);
}

#[test]
fn without_a_payer_a_402_is_payment_required() {
    let ep = WalletHudRequest::new(ADDR);
    let m = CallMachine::new(&ep, &base(), &NoAuth, &settings(), Instant::now()).unwrap();
    let required = challenge(15_000);
    let (r, _) = drive(
        m,
        &mut |_, _| {
            Answer::Ok(with_challenge(
                402,
                &required,
                r#"{"error":"Payment required","required":1}"#,
            ))
        },
        &blockhash_rpc,
    );
    let e = r.unwrap_err();
    let Error::PaymentRequired(api) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(api.required_credits, Some(1));
    assert_eq!(
        api.payment_required.as_ref().unwrap().accepts[0]
            .amount
            .get(),
        15_000
    );
}

#[test]
fn settlement_json_header_fills_the_receipt() {
    let p = payments(100_000, 1_000_000);
    let ep = WalletHudRequest::new(ADDR);
    let required = challenge(15_000);
    let (r, _) = drive(
        machine(&ep, &p),
        &mut |n, _| match n {
            1 => Answer::Ok(with_challenge(402, &required, "{}")),
            _ => {
                let mut ok = resp(200, HUD);
                let s = SettlementResponse {
                    success: true,
                    error_reason: None,
                    error_message: None,
                    payer: None,
                    transaction: "5j7s6NiJS3JAkvgkoc18WVAsiSaci2pxB2A6ueCJP4tprA2TFg9wSyTLeYouxPBJEMzJinENTkpA52YStRW5Dia7".into(),
                    network: networks::SOLANA_MAINNET.into(),
                    amount: None,
                    extensions: None,
                };
                ok.headers_mut()
                    .insert("payment-response", s.encode().parse().unwrap());
                Answer::Ok(ok)
            }
        },
        &blockhash_rpc,
    );
    assert_eq!(
        r.unwrap().receipt.unwrap().transaction.as_deref(),
        Some(
            "5j7s6NiJS3JAkvgkoc18WVAsiSaci2pxB2A6ueCJP4tprA2TFg9wSyTLeYouxPBJEMzJinENTkpA52YStRW5Dia7"
        )
    );
}

#[test]
fn retries_503_then_succeeds_counting_sends() {
    let ep = JobStatusRequest::new("job-1");
    let m = CallMachine::new(&ep, &base(), &NoAuth, &settings(), Instant::now()).unwrap();
    let (r, log) = drive(
        m,
        &mut |n, req| {
            assert_eq!(req.uri().path(), "/api/v1/jobs/job-1");
            assert_eq!(req.method(), Method::GET);
            match n {
                1 => Answer::Ok(resp(503, "{}")),
                2 => Answer::Ok(resp(502, "<html>bad gateway</html>")),
                _ => Answer::Ok(resp(200, r#"{"status":"completed","progress":100}"#)),
            }
        },
        &blockhash_rpc,
    );
    assert!(r.is_ok());
    assert_eq!(log.api.len(), 3);
}

#[test]
fn connect_errors_retry_and_report_kind() {
    let ep = WalletHudRequest::new(ADDR);
    let m = CallMachine::new(&ep, &base(), &NoAuth, &settings(), Instant::now()).unwrap();
    let (r, log) = drive(
        m,
        &mut |_, _| Answer::Fail(TransportErrorKind::Connect),
        &blockhash_rpc,
    );
    assert_eq!(log.api.len() as u32, RetryPolicy::default().max_attempts);
    let e = r.unwrap_err();
    assert_eq!(e.reached(), crate::Reached::No);
    assert!(e.to_string().contains("could not connect"), "{e}");
}

#[test]
fn gives_up_when_the_call_budget_is_spent() {
    let ep = WalletHudRequest::new(ADDR);
    let t0 = Instant::now();
    let mut m = CallMachine::new(&ep, &base(), &NoAuth, &settings(), t0).unwrap();
    let Action::Send { .. } = m.start(t0) else {
        panic!()
    };
    let a = m.on_response(
        resp(503, r#"{"message":"busy","statusCode":503}"#),
        t0 + Duration::from_secs(61),
    );
    assert!(matches!(a, Action::Done));
    assert_eq!(
        m.into_result().unwrap_err().status(),
        Some(StatusCode::SERVICE_UNAVAILABLE)
    );
}

#[test]
fn bad_input_fails_before_sending() {
    let ep = WalletHudRequest::new("not-base58-0OIl");
    let e = CallMachine::new(&ep, &base(), &NoAuth, &settings(), Instant::now())
        .err()
        .unwrap();
    assert_eq!(e.reached(), crate::Reached::No);
}
