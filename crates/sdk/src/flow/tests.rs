//! The flows, driven by hand: every request they emit is answered by a script, so the tests
//! count sends, RPC calls and payments exactly, without a network or a clock. Each test of
//! a hostile server asserts what the budget and the error say, so it fails if the SDK ever
//! trusts the server's word again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Map;
use sova_protocol::http::{HeaderMap, Method, Request, Response, StatusCode};
use sova_protocol::intel::{Fetched, JobStatusRequest, WalletHudRequest, WalletProfileRequest};
use sova_protocol::retry::{RetryPolicy, TransportErrorKind};
use sova_protocol::x402::{
    PaymentPayload, PaymentRequired, PaymentRequirements, SettlementResponse, USDC_MAINNET_MINT,
    networks,
};
use sova_protocol::{BaseUrl, Credential};
use sova_x402::{Keypair, Payer, SpendPolicy, programs};

use super::intel::wallet_get;
use super::*;
use crate::call::{Authorizer, CallSettings, Paid, Payments, RequirementCache};
use crate::error::{Error, PaymentState};

const ADDR: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
const TREASURY: &str = "GThUX1Atko4tqhN2NaiTazWSeFWMuiUvfFnyJyUghFMJ";
const BLOCKHASH_ANSWER: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"context":{"slot":1},"value":{"blockhash":"EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N","lastValidBlockHeight":3090}}}"#;
const HUD: &str = r#"{"walletAddress":"9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM","signalType":"wallet_behavior_v1","behaviorCode":"W","winRate":0.5,"trimmedMeanPnl":1.0,"dataQualityTier":"GOLD","isBot":false,"isWhale":false,"calculatedAt":"2026-03-03T11:30:00.000Z"}"#;
const QUEUED: &str = r#"{"status":"queued","walletAddress":"9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM","jobId":"job-7","prepaidJobId":"job-7","monitoringUrl":"/api/v1/jobs/job-7","message":"queued"}"#;
const USDC: sova_x402::Pubkey = programs::USDC_MAINNET;

struct NoAuth;
impl Authorizer for NoAuth {
    fn authorize(&self, _: Credential, _: &'static str, _: &mut HeaderMap) -> Result<(), Error> {
        Ok(())
    }
}

/// An x402-only client: no API key, so authenticated reads are refused before sending
/// (what the Intel client's authorizer does).
struct NoKey;
impl Authorizer for NoKey {
    fn authorize(&self, c: Credential, _: &'static str, _: &mut HeaderMap) -> Result<(), Error> {
        match c {
            Credential::IntelAuthenticated => Err(Error::ResultAuthRequired {
                key: String::new(),
                job_id: None,
                handle: None,
                refused: None,
                payment: None,
            }),
            _ => Ok(()),
        }
    }
}

/// The wall clock of the scripted calls at their start (Unix seconds).
const T0: u64 = 1_800_000_000;

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
    challenge_extra(amount, Map::new())
}

fn challenge_extra(amount: u64, extra: Map<String, serde_json::Value>) -> PaymentRequired {
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
            extra,
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

/// A keypair seed no other test of this process uses: the payers of a process share the
/// memory of documented payments signed (to avoid byte-identical ones), so a test that
/// expects a first payment without a nonce needs a wallet of its own.
fn fresh_seed() -> [u8; 32] {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut seed = [7u8; 32];
    seed[..8].copy_from_slice(&n.to_le_bytes());
    seed
}

fn payments(cap: u64, budget: u64) -> Payments {
    let policy = SpendPolicy::builder()
        .max_per_payment(USDC, cap)
        .budget(USDC, budget)
        .build();
    // 127.0.0.1 is not a Sova host here: today's defaults for other hosts (v0 with a Memo
    // nonce, hybrid payload), self-paid enabled explicitly.
    let payer = Payer::builder()
        .self_paid(sova_x402::SelfPaid::Anywhere)
        .signer(Keypair::from_seed(fresh_seed()))
        .policy(Arc::new(policy))
        .build()
        .unwrap();
    // The balance check has its own tests (`an_unfunded_wallet_*`).
    payer.set_funded(true);
    Payments {
        payer: Arc::new(payer),
        rpc_url: "http://127.0.0.1:2/rpc".into(),
        cache: Arc::default(),
    }
}

fn spent(p: &Payments) -> u64 {
    p.payer.policy().spent(&USDC)
}

/// What the script saw.
#[derive(Default, Debug)]
struct Log {
    /// API requests: path and the payment header they carried.
    api: Vec<(String, Option<String>)>,
    /// RPC methods, in order.
    rpc: Vec<String>,
    /// Ledger operations run as actions (durable ledgers only).
    ledger: usize,
}

impl Log {
    fn headers(&self) -> Vec<&String> {
        self.api.iter().filter_map(|(_, h)| h.as_ref()).collect()
    }
}

enum Answer {
    Ok(Response<Vec<u8>>),
    Fail(TransportErrorKind),
}

/// Drives a call: RPC requests (target `Rpc`) get `rpc(method)`, API requests get the next
/// scripted answer. Sleeps advance a virtual clock.
fn drive<M: Machine>(
    p: Option<&Payments>,
    settings: CallSettings,
    machine: M,
    api: &mut dyn FnMut(usize, &Request<Vec<u8>>) -> Answer,
    rpc: &dyn Fn(&str) -> Response<Vec<u8>>,
) -> (Result<M::Value, Error>, Log, Stats) {
    drive_as(&NoAuth, p, settings, machine, api, rpc)
}

/// [`drive`] with another authorizer.
fn drive_as<M: Machine>(
    auth: &dyn Authorizer,
    p: Option<&Payments>,
    settings: CallSettings,
    machine: M,
    api: &mut dyn FnMut(usize, &Request<Vec<u8>>) -> Answer,
    rpc: &dyn Fn(&str) -> Response<Vec<u8>>,
) -> (Result<M::Value, Error>, Log, Stats) {
    drive_full(auth, p, settings, JobRetry::Requeue, machine, api, rpc)
}

/// Which failed jobs a test's call retries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum JobRetry {
    /// None.
    Off,
    /// Only the free retry (the client's default).
    FreeOnly,
    /// Also a paid POST job, queued again.
    Requeue,
}

/// [`drive_as`], choosing whether failed jobs are retried.
fn drive_full<M: Machine>(
    auth: &dyn Authorizer,
    p: Option<&Payments>,
    settings: CallSettings,
    jobs: JobRetry,
    machine: M,
    api: &mut dyn FnMut(usize, &Request<Vec<u8>>) -> Answer,
    rpc: &dyn Fn(&str) -> Response<Vec<u8>>,
) -> (Result<M::Value, Error>, Log, Stats) {
    let base = base();
    let mut log = Log::default();
    let mut now = Instant::now();
    let mut cx = Ctx::new(&base, auth, p, settings, now).with_wall_clock(T0);
    cx.retry_failed_jobs = jobs != JobRetry::Off;
    cx.requeue_paid_jobs = jobs == JobRetry::Requeue;
    let mut call = Call::new("test", cx, machine);
    let mut action = call.start(now);
    loop {
        action = match action {
            Action::Send {
                target, request, ..
            } => {
                if target == Target::Rpc {
                    assert_eq!(request.uri().path(), "/rpc");
                    let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
                    let method = body["method"].as_str().unwrap().to_owned();
                    log.rpc.push(method.clone());
                    call.on_response(rpc(&method), now)
                } else {
                    let header = request
                        .headers()
                        .get("payment-signature")
                        .map(|v| v.to_str().unwrap().to_owned());
                    log.api.push((request.uri().path().to_owned(), header));
                    match api(log.api.len(), &request) {
                        Answer::Ok(r) => call.on_response(r, now),
                        Answer::Fail(kind) => call.on_failure(
                            Failure {
                                kind,
                                message: "scripted failure".into(),
                                source: None,
                            },
                            now,
                        ),
                    }
                }
            }
            Action::Sleep(d) => {
                now += d;
                call.on_wake(now)
            }
            Action::Ledger { ledger, ops } => {
                log.ledger += ops.len();
                call.on_ledger(ledger.apply(ops), now)
            }
            Action::Done => {
                let (r, stats) = call.finish();
                return (r, log, stats);
            }
        };
    }
}

/// Our RPC: blockhash valid until height 3090, current height 100, transaction not found.
fn chain(method: &str) -> Response<Vec<u8>> {
    match method {
        "getLatestBlockhash" => resp(200, BLOCKHASH_ANSWER),
        "getEpochInfo" => resp(
            200,
            r#"{"jsonrpc":"2.0","id":3,"result":{"absoluteSlot":5,"blockHeight":100}}"#,
        ),
        "getSignatureStatuses" => resp(
            200,
            r#"{"jsonrpc":"2.0","id":1,"result":{"context":{"slot":5},"value":[null]}}"#,
        ),
        other => panic!("unexpected RPC {other}"),
    }
}

/// The chain once the blockhash expired (height past 3090), transaction not found.
fn expired_chain(method: &str) -> Response<Vec<u8>> {
    match method {
        "getEpochInfo" => resp(
            200,
            r#"{"jsonrpc":"2.0","id":3,"result":{"absoluteSlot":5,"blockHeight":99999}}"#,
        ),
        other => chain(other),
    }
}

/// The chain with the transaction landed.
fn landed_chain(method: &str) -> Response<Vec<u8>> {
    match method {
        "getSignatureStatuses" => resp(
            200,
            r#"{"jsonrpc":"2.0","id":1,"result":{"context":{"slot":9},"value":[{"slot":9,"confirmations":null,"err":null,"confirmationStatus":"finalized"}]}}"#,
        ),
        other => chain(other),
    }
}

fn hud() -> impl Machine<Value = Paid<sova_protocol::intel::WalletHud>> {
    wallet_get(WalletHudRequest::new(ADDR))
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
    sova_x402::Signature::try_from(&tx[1..65])
        .unwrap()
        .to_string()
}

fn settle(req: &Request<Vec<u8>>) -> Answer {
    Answer::Ok(settled(&payer_signature(
        req.headers()["payment-signature"].to_str().unwrap(),
    )))
}

fn cached(p: &Payments, name: &str, required: PaymentRequired) {
    p.cache
        .remember(&RequirementCache::key("127.0.0.1", name), required);
}

#[test]
fn pays_once_on_402_then_once_per_call_in_steady_state() {
    let p = payments(100_000, 1_000_000);
    let required = challenge(15_000);
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |n, req| match n {
            1 => Answer::Ok(with_challenge(402, &required, "{}")),
            _ => settle(req),
        },
        &chain,
    );
    let receipt = r.unwrap().receipt.unwrap();
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
    assert!(log.api[0].1.is_none() && log.api[1].1.is_some());
    assert_eq!(log.rpc, ["getLatestBlockhash"]);
    assert_eq!((stats.api, stats.rpc, stats.payments), (2, 1, 1));
    assert_eq!(spent(&p), 15_000);

    // Steady state: the requirement (keyed by route template, not by wallet) and the
    // blockhash are cached → one request, no RPC, for any wallet.
    for (i, wallet) in [ADDR, TREASURY, ADDR].iter().enumerate() {
        let (r, log, _) = drive(
            Some(&p),
            settings(),
            wallet_get(WalletHudRequest::new(*wallet)),
            &mut |_, req| settle(req),
            &chain,
        );
        assert!(r.unwrap().receipt.is_some());
        assert_eq!(log.api.len(), 1, "call {i}");
        assert!(log.api[0].1.is_some());
        assert!(log.rpc.is_empty());
    }
    assert_eq!(p.cache.len(), 1);
    assert_eq!(spent(&p), 4 * 15_000);
}

#[test]
fn transport_retries_resend_the_same_signed_payment() {
    let p = payments(100_000, 1_000_000);
    let required = challenge(15_000);
    let (r, log, _) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |n, req| match n {
            1 => Answer::Ok(with_challenge(402, &required, "{}")),
            2 => Answer::Fail(TransportErrorKind::Io),
            3 => Answer::Ok(resp(503, "{}")),
            _ => settle(req),
        },
        &chain,
    );
    r.unwrap();
    assert_eq!(log.api.len(), 4);
    let sent = log.headers();
    assert_eq!(sent.len(), 3);
    assert!(
        sent.iter().all(|h| *h == sent[0]),
        "every resend carries the same signed payment"
    );
    assert_eq!(spent(&p), 15_000);
}

/// Hole 1a: a 202 without a settlement header. The payment stays live: the job is polled
/// and the re-call carries the *same* payment, which the server settles then.
#[test]
fn a_free_202_keeps_the_payment_for_the_recall() {
    let p = payments(100_000, 1_000_000);
    cached(&p, "GET intel.wallet_hud", challenge(15_000));
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |n, req| match n {
            1 => Answer::Ok(resp(202, QUEUED)),
            2 => Answer::Ok(resp(200, r#"{"status":"completed","progress":100}"#)),
            _ => {
                assert_eq!(req.headers()["x-prepaid-job-id"], "job-7");
                settle(req)
            }
        },
        &chain,
    );
    let paid = r.unwrap();
    assert!(paid.receipt.is_some());
    assert_eq!(log.api[1].0, "/api/v1/jobs/job-7");
    assert!(log.api[1].1.is_none(), "job polls carry no payment");
    let sent = log.headers();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0], sent[1], "the re-call resends the first payment");
    assert_eq!(stats.payments, 1);
    assert_eq!(spent(&p), 15_000);
}

/// Hole 1a, hostile: the server settled the payment and answered 202 as if it were free,
/// then refuses the re-call. One payment in all, reported as charged; the budget keeps it.
#[test]
fn a_lying_202_never_costs_a_second_payment() {
    let p = payments(100_000, 1_000_000);
    cached(&p, "GET intel.wallet_hud", challenge(15_000));
    let mut replay = challenge(15_000);
    replay.error = Some("transaction already used (replay attack)".into());
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |n, _| match n {
            1 => Answer::Ok(resp(202, QUEUED)),
            2 => Answer::Ok(resp(200, r#"{"status":"completed"}"#)),
            _ => Answer::Ok(with_challenge(402, &replay, "{}")),
        },
        &landed_chain,
    );
    let e = r.unwrap_err();
    assert!(e.may_have_charged(), "{e}");
    assert_eq!(e.payment().unwrap().state, PaymentState::Charged);
    assert_eq!(stats.payments, 1);
    assert_eq!(log.headers().len(), 2);
    assert_eq!(spent(&p), 15_000, "the budget keeps the charged payment");
}

/// Hole 1b: a 402 that says "nothing charged" (here: a price change) is only the server's
/// word. While our RPC cannot prove the first payment dead, the call ends uncertain and
/// the budget keeps it; no second payment is signed.
#[test]
fn nothing_charged_is_not_proof() {
    let p = payments(100_000, 1_000_000);
    cached(&p, "GET intel.wallet_hud", challenge(15_000));
    let mut new_price = challenge(30_000);
    new_price.error = Some("USDC amount 15000 < required 30000".into());
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |_, _| Answer::Ok(with_challenge(402, &new_price, "{}")),
        &chain,
    );
    let e = r.unwrap_err();
    assert!(matches!(e, Error::PaymentUncertain { .. }), "{e}");
    assert_eq!(e.payment().unwrap().state, PaymentState::MayHaveCharged);
    assert_eq!(stats.payments, 1);
    assert_eq!(log.api.len(), 1);
    assert_eq!(spent(&p), 15_000);
    // The block height is read before the signature lookup.
    assert_eq!(
        log.rpc,
        ["getLatestBlockhash", "getEpochInfo", "getSignatureStatuses"]
    );
}

/// With proof (our RPC's height past our blockhash's last valid height, nothing found), the
/// refused payment is released and the call pays once more at the new price.
#[test]
fn a_price_change_pays_again_only_on_proof() {
    let p = payments(100_000, 1_000_000);
    cached(&p, "GET intel.wallet_hud", challenge(15_000));
    let mut new_price = challenge(30_000);
    new_price.error = Some("USDC amount 15000 < required 30000".into());
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |n, req| match n {
            1 => Answer::Ok(with_challenge(402, &new_price, "{}")),
            _ => settle(req),
        },
        &expired_chain,
    );
    assert_eq!(r.unwrap().receipt.unwrap().amount, 30_000);
    assert_eq!(stats.payments, 2);
    let sent = log.headers();
    assert_ne!(sent[0], sent[1]);
    assert_eq!(spent(&p), 30_000, "the proven-dead payment was released");
    // Blockhash for the first payment; height before status; a fresh blockhash for the
    // second (the first one's is never reused).
    assert_eq!(
        log.rpc,
        [
            "getLatestBlockhash",
            "getEpochInfo",
            "getSignatureStatuses",
            "getLatestBlockhash"
        ]
    );
}

/// Hole 1c: any other 4xx after the payment. The server's error is kept, marked as
/// possibly charged; the budget keeps the payment.
#[test]
fn a_4xx_after_paying_is_possibly_charged() {
    let p = payments(100_000, 1_000_000);
    cached(&p, "GET intel.wallet_hud", challenge(15_000));
    let (r, _, _) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |_, _| Answer::Ok(resp(422, r#"{"message":"system wallet","statusCode":422}"#)),
        &chain,
    );
    let e = r.unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
    assert!(e.may_have_charged(), "{e}");
    assert_eq!(spent(&p), 15_000);
}

/// Hole 2: the server advertises its own blockhash with `lastValidBlockHeight: 1`. The SDK
/// signs over our RPC's blockhash instead, so the server's height proves nothing.
#[test]
fn a_stale_last_valid_height_from_the_server_is_ignored() {
    let p = payments(100_000, 1_000_000);
    let mut extra = Map::new();
    extra.insert(
        "recentBlockhash".into(),
        "11111111111111111111111111111112".into(),
    );
    extra.insert("lastValidBlockHeight".into(), 1.into());
    let required = challenge_extra(15_000, extra);
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |n, _| match n {
            1 => Answer::Ok(with_challenge(402, &required, "{}")),
            _ => Answer::Ok(resp(500, r#"{"message":"boom","statusCode":500}"#)),
        },
        &chain,
    );
    let e = r.unwrap_err();
    assert!(e.may_have_charged(), "{e}");
    assert_eq!(stats.payments, 1, "never paid again");
    assert_eq!(
        log.rpc[0], "getLatestBlockhash",
        "the blockhash came from our RPC"
    );
    assert_eq!(spent(&p), 15_000);
}

/// Hole 3: a timeout (which may have delivered the payment) followed by "connection
/// refused". Every attempt counts: the call may have charged, and says so.
#[test]
fn a_timeout_then_refused_still_may_have_charged() {
    let p = payments(100_000, 1_000_000);
    cached(&p, "GET intel.wallet_hud", challenge(15_000));
    let (r, log, _) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |n, _| match n {
            1 => Answer::Fail(TransportErrorKind::Timeout),
            _ => Answer::Fail(TransportErrorKind::Connect),
        },
        &chain,
    );
    let e = r.unwrap_err();
    assert!(e.may_have_charged(), "{e}");
    assert_eq!(e.reached(), crate::Reached::Maybe);
    assert_eq!(spent(&p), 15_000);
    assert_eq!(
        log.rpc,
        ["getLatestBlockhash", "getEpochInfo", "getSignatureStatuses"]
    );
}

/// A payment that never left (every attempt refused at connect) is released.
#[test]
fn a_payment_that_never_left_is_released() {
    let p = payments(100_000, 1_000_000);
    cached(&p, "GET intel.wallet_hud", challenge(15_000));
    let (r, log, _) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |_, _| Answer::Fail(TransportErrorKind::Connect),
        &chain,
    );
    let e = r.unwrap_err();
    assert!(!e.may_have_charged(), "{e}");
    assert_eq!(e.reached(), crate::Reached::No);
    assert_eq!(e.payment().unwrap().state, PaymentState::NotCharged);
    assert_eq!(spent(&p), 0);
    assert_eq!(log.rpc, ["getLatestBlockhash"], "no reconciliation needed");
}

/// Hole 7: a paid 2xx that cannot be parsed was charged.
#[test]
fn an_unreadable_paid_answer_was_charged() {
    let p = payments(100_000, 1_000_000);
    cached(&p, "GET intel.wallet_hud", challenge(15_000));
    let (r, _, _) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |_, req| {
            let sig = payer_signature(req.headers()["payment-signature"].to_str().unwrap());
            let mut ok = resp(200, "<html>oops</html>");
            ok.headers_mut()
                .insert("x-payment-response", sig.parse().unwrap());
            Answer::Ok(ok)
        },
        &chain,
    );
    let e = r.unwrap_err();
    assert!(e.may_have_charged(), "{e}");
    assert_eq!(e.payment().unwrap().state, PaymentState::Charged);
    assert_eq!(spent(&p), 15_000);
}

/// Hole 7: a deadline hit before the first paid send commits nothing.
#[test]
fn a_deadline_before_the_paid_send_releases_the_payment() {
    let p = payments(100_000, 1_000_000);
    cached(&p, "GET intel.wallet_hud", challenge(15_000));
    let mut s = settings();
    s.call_timeout = Duration::ZERO;
    let (r, log, stats) = drive(Some(&p), s, hud(), &mut |_, req| settle(req), &chain);
    let e = r.unwrap_err();
    assert!(matches!(e, Error::CallTimeout { .. }), "{e}");
    assert!(!e.may_have_charged());
    assert_eq!(stats.payments, 1);
    assert!(log.api.is_empty());
    assert_eq!(spent(&p), 0);
}

/// Hole 7: `now + Duration::MAX` does not panic.
#[test]
fn an_unbounded_call_budget_does_not_overflow() {
    let mut s = settings();
    s.call_timeout = Duration::MAX;
    let (r, _, _) = drive(
        None,
        s,
        Exchange::new(JobStatusRequest::new("job-1")),
        &mut |_, _| Answer::Ok(resp(200, r#"{"status":"completed"}"#)),
        &chain,
    );
    r.unwrap();
}

/// An ambiguous 402 on a landed payment is never paid again.
#[test]
fn an_ambiguous_402_is_reconciled_and_never_repaid() {
    let p = payments(100_000, 1_000_000);
    let required = challenge(15_000);
    let mut replay = challenge(15_000);
    replay.error = Some("transaction already used (replay attack)".into());
    let (r, log, _) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |n, _| match n {
            1 => Answer::Ok(with_challenge(402, &required, "{}")),
            _ => Answer::Ok(with_challenge(402, &replay, "{}")),
        },
        &landed_chain,
    );
    let e = r.unwrap_err();
    assert!(e.may_have_charged(), "{e}");
    assert!(e.to_string().contains("landed on chain"), "{e}");
    assert_eq!(log.api.len(), 2, "no second payment");
    assert_eq!(
        log.rpc,
        ["getLatestBlockhash", "getEpochInfo", "getSignatureStatuses"]
    );
    assert_eq!(spent(&p), 15_000, "the landed payment stays spent");
}

/// An expired, unlanded payment is released, and the server's error is reported as such.
#[test]
fn expired_and_unlanded_payments_are_released() {
    let p = payments(100_000, 1_000_000);
    cached(&p, "GET intel.wallet_hud", challenge(15_000));
    let (r, _, _) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |_, _| Answer::Ok(resp(400, r#"{"message":"bad","statusCode":400}"#)),
        &expired_chain,
    );
    let e = r.unwrap_err();
    assert!(!e.may_have_charged(), "{e}");
    assert_eq!(e.status(), Some(StatusCode::BAD_REQUEST));
    assert_eq!(e.payment().unwrap().state, PaymentState::NotCharged);
    assert_eq!(spent(&p), 0);
}

/// Slot-consistent evidence: a status lookup answered by a node behind the one that read
/// the (expired) height proves nothing, and neither does a node behind our blockhash.
#[test]
fn a_lagging_node_cannot_prove_a_payment_dead() {
    fn lagging_statuses(method: &str) -> Response<Vec<u8>> {
        match method {
            "getEpochInfo" => resp(
                200,
                r#"{"jsonrpc":"2.0","id":3,"result":{"absoluteSlot":500,"blockHeight":99999}}"#,
            ),
            // Answered at slot 5, before the height's slot 500: another, lagging node.
            other => chain(other),
        }
    }
    fn behind_our_blockhash(method: &str) -> Response<Vec<u8>> {
        match method {
            "getEpochInfo" => resp(
                200,
                r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32016,"message":"Minimum context slot has not been reached"}}"#,
            ),
            other => expired_chain(other),
        }
    }
    for (label, rpc) in [
        (
            "lagging statuses",
            lagging_statuses as fn(&str) -> Response<Vec<u8>>,
        ),
        ("node behind the blockhash", behind_our_blockhash),
    ] {
        let p = payments(100_000, 1_000_000);
        cached(&p, "GET intel.wallet_hud", challenge(15_000));
        let (r, _, _) = drive(
            Some(&p),
            settings(),
            hud(),
            &mut |_, _| Answer::Ok(resp(400, r#"{"message":"bad","statusCode":400}"#)),
            &rpc,
        );
        let e = r.unwrap_err();
        assert!(e.may_have_charged(), "{label}: {e}");
        assert_eq!(spent(&p), 15_000, "{label}: the budget keeps it");
    }
}

/// Before this client's first USDC payment our RPC is asked for the wallet's balance: an
/// unfunded wallet is told so, and nothing is signed or sent.
#[test]
fn an_unfunded_wallet_is_told_so_before_anything_is_signed() {
    fn balance(held: &'static str) -> impl Fn(&str) -> Response<Vec<u8>> {
        move |method: &str| match method {
            "getTokenAccountBalance" if held == "missing" => resp(
                200,
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid param: could not find account"}}"#,
            ),
            "getTokenAccountBalance" => resp(
                200,
                &format!(
                    r#"{{"jsonrpc":"2.0","id":1,"result":{{"context":{{"slot":1}},"value":{{"amount":"{held}","decimals":6,"uiAmountString":"0"}}}}}}"#
                ),
            ),
            other => chain(other),
        }
    }
    for held in ["missing", "14999"] {
        let p = payments(100_000, 1_000_000);
        p.payer.set_funded(false);
        let required = challenge(15_000);
        let (r, log, stats) = drive(
            Some(&p),
            settings(),
            hud(),
            &mut |_, _| Answer::Ok(with_challenge(402, &required, "{}")),
            &balance(held),
        );
        let e = r.unwrap_err();
        assert!(
            matches!(e, Error::Unfunded { needed: 15_000, .. }),
            "{held}: {e}"
        );
        assert!(e.to_string().contains("no USDC to pay with"), "{e}");
        assert_eq!(e.payment_state(), PaymentState::NotCharged);
        assert_eq!(stats.payments, 0, "nothing signed");
        assert_eq!(log.api.len(), 1, "only the unpaid request went out");
        assert_eq!(spent(&p), 0);
    }
    // Enough USDC: checked once, then the payment goes out; the next call asks no RPC.
    let p = payments(100_000, 1_000_000);
    p.payer.set_funded(false);
    let (r, log, _) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |n, req| {
            if n == 1 {
                Answer::Ok(with_challenge(402, &challenge(15_000), "{}"))
            } else {
                settled_with(req, 200, HUD)
            }
        },
        &balance("15000"),
    );
    r.unwrap();
    assert_eq!(
        log.rpc.first().map(String::as_str),
        Some("getTokenAccountBalance")
    );
    assert!(p.payer.known_funded());
}

/// A failed transaction counts only at `confirmed` or better.
#[test]
fn a_processed_failure_is_not_proof() {
    fn processed_failure(method: &str) -> Response<Vec<u8>> {
        match method {
            "getSignatureStatuses" => resp(
                200,
                r#"{"jsonrpc":"2.0","id":1,"result":{"context":{"slot":9},"value":[{"slot":8,"confirmations":0,"err":{"InstructionError":[0,"Custom"]},"confirmationStatus":"processed"}]}}"#,
            ),
            other => expired_chain(other),
        }
    }
    let p = payments(100_000, 1_000_000);
    cached(&p, "GET intel.wallet_hud", challenge(15_000));
    let (r, _, _) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |_, _| Answer::Ok(resp(400, r#"{"message":"bad","statusCode":400}"#)),
        &processed_failure,
    );
    let e = r.unwrap_err();
    assert!(e.may_have_charged(), "{e}");
    assert_eq!(spent(&p), 15_000);
}

#[test]
fn the_spend_policy_refuses_before_signing() {
    let p = payments(10_000, 1_000_000);
    let required = challenge(300_000);
    let (r, log, _) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |_, _| Answer::Ok(with_challenge(402, &required, "{}")),
        &chain,
    );
    let e = r.unwrap_err();
    let Error::PaymentRefused(list) = &e else {
        panic!("{e}")
    };
    assert!(matches!(
        list[0].reason,
        sova_x402::RefusalReason::Policy(sova_x402::PolicyRefusal::OverCap {
            amount: 300_000,
            cap: 10_000,
            ..
        })
    ));
    assert_eq!(log.api.len(), 1);
    assert!(log.rpc.is_empty());
    assert_eq!(e.reached(), crate::Reached::No);
}

#[test]
fn a_per_call_cap_refuses_before_signing() {
    let p = payments(1_000_000, 10_000_000);
    cached(&p, "GET intel.wallet_hud", challenge(300_000));
    let mut s = settings();
    s.max_payment = Some(100_000);
    let (r, log, stats) = drive(Some(&p), s, hud(), &mut |_, req| settle(req), &chain);
    let e = r.unwrap_err();
    assert!(
        e.to_string().contains("300000") && e.to_string().contains("100000"),
        "{e}"
    );
    assert_eq!(stats.payments, 0);
    assert!(log.api.is_empty());
    assert_eq!(spent(&p), 0);
}

#[test]
fn without_a_payer_a_402_is_payment_required() {
    let required = challenge(15_000);
    let (r, _, _) = drive(
        None,
        settings(),
        Exchange::new(WalletHudRequest::new(ADDR)),
        &mut |_, _| {
            Answer::Ok(with_challenge(
                402,
                &required,
                r#"{"error":"Payment required","required":1}"#,
            ))
        },
        &chain,
    );
    let e = r.unwrap_err();
    let Error::PaymentRequired(api) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(api.required_credits, Some(1));
}

#[test]
fn settlement_json_header_fills_the_receipt() {
    let p = payments(100_000, 1_000_000);
    cached(&p, "GET intel.wallet_hud", challenge(15_000));
    let tx =
        "5j7s6NiJS3JAkvgkoc18WVAsiSaci2pxB2A6ueCJP4tprA2TFg9wSyTLeYouxPBJEMzJinENTkpA52YStRW5Dia7";
    let (r, _, _) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |_, _| {
            let mut ok = resp(200, HUD);
            let s = SettlementResponse {
                success: true,
                error_reason: None,
                error_message: None,
                payer: None,
                transaction: tx.into(),
                network: networks::SOLANA_MAINNET.into(),
                amount: None,
                extensions: None,
            };
            ok.headers_mut()
                .insert("payment-response", s.encode().parse().unwrap());
            Answer::Ok(ok)
        },
        &chain,
    );
    assert_eq!(r.unwrap().receipt.unwrap().transaction.as_deref(), Some(tx));
}

#[test]
fn retries_503_then_succeeds_counting_sends() {
    let (r, log, _) = drive(
        None,
        settings(),
        Exchange::new(JobStatusRequest::new("job-1")),
        &mut |n, req| {
            assert_eq!(req.uri().path(), "/api/v1/jobs/job-1");
            assert_eq!(req.method(), Method::GET);
            match n {
                1 => Answer::Ok(resp(503, "{}")),
                2 => Answer::Ok(resp(502, "<html>bad gateway</html>")),
                _ => Answer::Ok(resp(200, r#"{"status":"completed","progress":100}"#)),
            }
        },
        &chain,
    );
    assert!(r.is_ok());
    assert_eq!(log.api.len(), 3);
}

#[test]
fn connect_errors_retry_and_report_kind() {
    let (r, log, _) = drive(
        None,
        settings(),
        Exchange::new(WalletHudRequest::new(ADDR)),
        &mut |_, _| Answer::Fail(TransportErrorKind::Connect),
        &chain,
    );
    assert_eq!(log.api.len() as u32, RetryPolicy::default().max_attempts);
    let e = r.unwrap_err();
    assert_eq!(e.reached(), crate::Reached::No);
    assert!(e.to_string().contains("could not connect"), "{e}");
}

#[test]
fn bad_input_fails_before_sending() {
    let (r, log, _) = drive(
        None,
        settings(),
        Exchange::new(WalletHudRequest::new("not-base58-0OIl")),
        &mut |_, _| panic!("nothing may be sent"),
        &chain,
    );
    assert_eq!(r.unwrap_err().reached(), crate::Reached::No);
    assert!(log.api.is_empty());
}

/// The profile GET, unpaid (API key clients), follows its 202 with X-Prepaid-Job-Id.
#[test]
fn the_profile_fallback_is_followed_without_payment() {
    let (r, log, _) = drive(
        None,
        settings(),
        wallet_get(WalletProfileRequest::new(ADDR)),
        &mut |n, req| match n {
            1 => Answer::Ok(resp(202, QUEUED)),
            2 => Answer::Ok(resp(200, r#"{"status":"active","progress":50}"#)),
            3 => Answer::Ok(resp(200, r#"{"status":"completed","progress":100}"#)),
            _ => {
                assert_eq!(req.headers()["x-prepaid-job-id"], "job-7");
                Answer::Ok(resp(202, QUEUED))
            }
        },
        &chain,
    );
    let e = r.unwrap_err();
    assert!(matches!(e, Error::JobPending { .. }), "{e}");
    assert_eq!(log.api.len(), 4);
    let _ = Fetched::<()>::Queued;
}

/// The `payment-identifier` extension, when advertised, is echoed with an id that stays the
/// same on every resend (it rides inside the one signed header).
#[test]
fn the_payment_identifier_is_stable_across_resends() {
    let p = payments(100_000, 1_000_000);
    let mut required = challenge(15_000);
    required.extensions = Some(
        sova_protocol::x402::RawJson::from_string(
            r#"{"payment-identifier":{"info":{"required":false}}}"#.into(),
        )
        .unwrap(),
    );
    let (r, log, _) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |n, req| match n {
            1 => Answer::Ok(with_challenge(402, &required, "{}")),
            2 => Answer::Fail(TransportErrorKind::Timeout),
            _ => settle(req),
        },
        &chain,
    );
    let receipt = r.unwrap().receipt.unwrap();
    let id = receipt.payment_id.clone().unwrap();
    let sent = log.headers();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0], sent[1]);
    for h in sent {
        let payload = PaymentPayload::decode(h).unwrap();
        let ext = payload.extensions.unwrap().to_value();
        assert_eq!(ext["payment-identifier"]["info"]["id"], id.as_str());
    }
}

/// A header's payload shape, whether its transaction is a legacy message, and its
/// instruction count.
fn form(header: &str) -> (sova_protocol::x402::PayloadShape, bool, usize) {
    let p = PaymentPayload::decode(header).unwrap();
    let bytes = sova_protocol::x402::b64::decode(&p.payload.transaction).unwrap();
    let tx = sova_x402::wire::parse(&bytes).unwrap();
    (p.shape(), !tx.versioned, tx.instructions.len())
}

/// A 402 refusing the payment before settlement (a fresh challenge, no settlement header).
fn refused_form(required: &PaymentRequired) -> Response<Vec<u8>> {
    let mut refusal = required.clone();
    refusal.error = Some("invalid payment payload".into());
    with_challenge(
        402,
        &refusal,
        r#"{"statusCode":402,"message":"invalid payment payload"}"#,
    )
}

/// Issue 11 item 2: the server refuses our (hybrid, v0) payment before settlement. Once our
/// RPC proves it can never land, the call pays once more in the documented form (flat
/// payload, legacy message with one `TransferChecked`), and the host keeps that form.
#[test]
fn a_refused_form_falls_back_to_the_documented_one_on_proof() {
    let p = payments(100_000, 1_000_000);
    let required = challenge(15_000);
    cached(&p, "GET intel.wallet_hud", required.clone());
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |n, req| match n {
            1 => Answer::Ok(refused_form(&required)),
            _ => settle(req),
        },
        &expired_chain,
    );
    assert_eq!(r.unwrap().receipt.unwrap().amount, 15_000);
    assert_eq!(stats.payments, 2);
    let sent = log.headers();
    assert_eq!(form(sent[0]).0, sova_protocol::x402::PayloadShape::Hybrid);
    assert!(!form(sent[0]).1, "the first payment was v0");
    assert_eq!(
        form(sent[1]),
        (sova_protocol::x402::PayloadShape::Flat, true, 1),
        "the fallback is the documented form"
    );
    assert_eq!(
        spent(&p),
        15_000,
        "the refused payment was released on proof"
    );
    assert!(p.payer.remembers_documented_form("127.0.0.1"));
    // The next call starts with the documented form: one payment.
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |_, req| settle(req),
        &chain,
    );
    assert!(r.is_ok());
    assert_eq!(stats.payments, 1);
    let (shape, legacy, _) = form(log.headers()[0]);
    assert_eq!(shape, sova_protocol::x402::PayloadShape::Flat);
    assert!(legacy);
}

/// Without proof (the blockhash is still valid), the refusal is only a claim: no second
/// payment, the call ends uncertain. Later calls to the host start with the documented form
/// (each signing once).
#[test]
fn a_refused_form_without_proof_never_pays_again() {
    let p = payments(100_000, 1_000_000);
    let required = challenge(15_000);
    cached(&p, "GET intel.wallet_hud", required.clone());
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |_, _| Answer::Ok(refused_form(&required)),
        &chain,
    );
    let e = r.unwrap_err();
    assert!(matches!(e, Error::PaymentUncertain { .. }), "{e}");
    assert!(e.may_have_charged());
    assert_eq!(stats.payments, 1);
    assert_eq!(log.headers().len(), 1);
    assert_eq!(spent(&p), 15_000);
    assert!(p.payer.remembers_documented_form("127.0.0.1"));
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |_, req| settle(req),
        &chain,
    );
    assert!(r.is_ok());
    assert_eq!(stats.payments, 1);
    assert_eq!(
        form(log.headers()[0]),
        (sova_protocol::x402::PayloadShape::Flat, true, 1)
    );
}

/// A refusal at another price is not about the form: the second payment (on proof) keeps
/// the configured form.
#[test]
fn a_price_refusal_does_not_switch_the_form() {
    let p = payments(100_000, 1_000_000);
    cached(&p, "GET intel.wallet_hud", challenge(15_000));
    let new_price = challenge(30_000);
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |n, req| match n {
            1 => Answer::Ok(refused_form(&new_price)),
            _ => settle(req),
        },
        &expired_chain,
    );
    assert_eq!(r.unwrap().receipt.unwrap().amount, 30_000);
    assert_eq!(stats.payments, 2);
    assert_eq!(
        form(log.headers()[1]).0,
        sova_protocol::x402::PayloadShape::Hybrid
    );
    assert!(!p.payer.remembers_documented_form("127.0.0.1"));
}

fn challenge_timeout(amount: u64, max_timeout_seconds: u64) -> PaymentRequired {
    PaymentRequired {
        x402_version: 2,
        error: None,
        resource: None,
        accepts: vec![PaymentRequirements::new(
            networks::SOLANA_MAINNET,
            USDC_MAINNET_MINT,
            amount,
            TREASURY,
            max_timeout_seconds,
            Map::new(),
        )],
        extensions: None,
    }
}

/// Issue 11 item 5: a payment that never left and is older than `maxTimeoutSeconds` is not
/// sent; never sent, it is provably uncharged, so it is released and signed afresh.
#[test]
fn an_unsent_payment_older_than_max_timeout_is_signed_afresh() {
    let p = payments(100_000, 1_000_000);
    cached(&p, "GET intel.wallet_hud", challenge_timeout(15_000, 1));
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |n, req| match n {
            // Refused at connect: it never left. The backoff (≥ 2 s) outlives the 1 s.
            1 => Answer::Fail(TransportErrorKind::Connect),
            _ => settle(req),
        },
        &chain,
    );
    assert_eq!(r.unwrap().receipt.unwrap().amount, 15_000);
    assert_eq!(stats.payments, 2);
    let sent = log.headers();
    assert_eq!(sent.len(), 2);
    assert_ne!(sent[0], sent[1], "the expired payment was not sent again");
    assert_eq!(
        spent(&p),
        15_000,
        "the expired, unsent payment was released"
    );
}

/// Within `maxTimeoutSeconds` the same payment is resent (never a second signature).
#[test]
fn an_unsent_payment_within_max_timeout_is_resent_as_is() {
    let p = payments(100_000, 1_000_000);
    cached(&p, "GET intel.wallet_hud", challenge_timeout(15_000, 60));
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |n, req| match n {
            1 => Answer::Fail(TransportErrorKind::Connect),
            _ => settle(req),
        },
        &chain,
    );
    assert!(r.is_ok());
    assert_eq!(stats.payments, 1);
    let sent = log.headers();
    assert_eq!(sent[0], sent[1]);
}

/// A payment that may have reached the server is never re-signed because it expired: a
/// resend keeps it (the server decides), and only the proof rule could allow another.
#[test]
fn an_expired_payment_that_may_have_arrived_is_not_resigned() {
    let p = payments(100_000, 1_000_000);
    cached(&p, "GET intel.wallet_hud", challenge_timeout(15_000, 1));
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |n, req| match n {
            1 => Answer::Fail(TransportErrorKind::Timeout),
            _ => settle(req),
        },
        &chain,
    );
    assert!(r.is_ok());
    assert_eq!(stats.payments, 1);
    let sent = log.headers();
    assert_eq!(sent[0], sent[1]);
}

// ---- jobs: by-key auth, queue time, 206 ------------------------------------------------

const HOLDERS_202: &str =
    r#"{"status":"queued","jobId":"hp-1","requestId":"req-1","monitoringUrl":"/api/v1/jobs/hp-1"}"#;
const HOLDERS_RESULT: &str = r#"{"mode":"token","profiles":[],"metadata":{"totalHoldersRequested":3,"totalHoldersAnalyzed":0,"totalProcessingTimeMs":1,"avgProcessingTimePerWalletMs":0.0}}"#;

fn holders_wait() -> impl Machine<Value = Paid<sova_protocol::intel::HolderProfilesResult>> {
    super::intel::queue_and_wait(
        sova_protocol::intel::HoldersRequest::new(ADDR).top_n(3),
        sova_protocol::intel::JobAccepted::holder_profiles_handle,
    )
}

fn settled_with(req: &Request<Vec<u8>>, status: u16, body: &str) -> Answer {
    let sig = payer_signature(req.headers()["payment-signature"].to_str().unwrap());
    let mut r = resp(status, body);
    r.headers_mut()
        .insert("x-payment-response", sig.parse().unwrap());
    Answer::Ok(r)
}

/// An x402-only client never sends the result read bare: the job is paid once, the read
/// stops before sending, and the error names the key, the job, the handle and the charged
/// payment.
#[test]
fn without_a_key_the_result_read_is_not_sent_and_the_payment_is_reported() {
    let p = payments(1_000_000, 10_000_000);
    cached(&p, "POST intel.holders", challenge(300_000));
    let (r, log, stats) = drive_as(
        &NoKey,
        Some(&p),
        settings(),
        holders_wait(),
        &mut |n, req| match n {
            1 => settled_with(req, 202, HOLDERS_202),
            2 => Answer::Ok(resp(200, r#"{"status":"completed","progress":100}"#)),
            _ => panic!("the result read must not be sent: {}", req.uri()),
        },
        &chain,
    );
    let e = r.unwrap_err();
    let Error::ResultAuthRequired {
        key,
        job_id,
        handle,
        refused,
        payment,
    } = &e
    else {
        panic!("{e}")
    };
    assert_eq!(key, "holder-profiles:result:hp-1");
    assert_eq!(job_id.as_deref(), Some("hp-1"));
    assert!(refused.is_none());
    let h = sova_protocol::jobs::JobHandle::decode(handle.as_deref().unwrap()).unwrap();
    assert_eq!(h.queued_at_unix, Some(T0), "stamped with the 202's time");
    let pay = payment.as_deref().unwrap();
    assert_eq!((pay.state, pay.amount), (PaymentState::Charged, 300_000));
    assert_eq!(e.reached(), crate::Reached::No);
    for part in [
        "holder-profiles:result:hp-1",
        "hp-1",
        "API key",
        "300000",
        "charged",
    ] {
        assert!(e.to_string().contains(part), "{part} missing from: {e}");
    }
    assert_eq!(log.api.len(), 2);
    assert_eq!(stats.payments, 1);
    assert_eq!(spent(&p), 300_000);
}

/// A `402` on the result read (even with a challenge) is never paid: the job was paid.
#[test]
fn a_402_on_the_result_read_is_never_paid() {
    let p = payments(1_000_000, 10_000_000);
    cached(&p, "POST intel.holders", challenge(300_000));
    let read_challenge = challenge(15_000);
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        holders_wait(),
        &mut |n, req| match n {
            1 => settled_with(req, 202, HOLDERS_202),
            2 => Answer::Ok(resp(200, r#"{"status":"completed"}"#)),
            _ => {
                assert!(req.headers().get("payment-signature").is_none());
                Answer::Ok(with_challenge(
                    402,
                    &read_challenge,
                    r#"{"error":"Payment required","required":1}"#,
                ))
            }
        },
        &chain,
    );
    let e = r.unwrap_err();
    let Error::ResultAuthRequired {
        refused, payment, ..
    } = &e
    else {
        panic!("{e}")
    };
    assert_eq!(
        refused.as_ref().unwrap().status,
        StatusCode::PAYMENT_REQUIRED
    );
    assert_eq!(payment.as_deref().unwrap().state, PaymentState::Charged);
    assert_eq!(e.status(), Some(StatusCode::PAYMENT_REQUIRED));
    assert!(e.to_string().contains("not paid again"), "{e}");
    assert_eq!(stats.payments, 1, "one payment: the job's");
    assert_eq!(log.headers().len(), 1);
    assert_eq!(spent(&p), 300_000);
}

fn deep_handle(queued_at: Option<u64>) -> sova_protocol::jobs::JobHandle {
    sova_protocol::jobs::JobHandle {
        job_id: Some("hp-1".into()),
        follow_up: sova_protocol::jobs::FollowUp::PollResultKey {
            result_key: "similarity:result:req-2".into(),
        },
        also: vec!["holder-profiles:result:hp-1".into()],
        queued_at_unix: queued_at,
        origin: None,
        payment: None,
    }
}

/// Resuming a deep handle queued 20 minutes ago: a 404 on the similarity key means the
/// result expired (the TTL runs from the queueing at the earliest), not "still running".
#[test]
fn a_late_resume_reports_an_expired_result() {
    let (r, log, _) = drive(
        None,
        settings(),
        super::intel::resume::<serde_json::Value>(deep_handle(Some(T0 - 20 * 60))),
        &mut |n, _| match n {
            1 => Answer::Ok(resp(200, r#"{"status":"completed"}"#)),
            _ => Answer::Ok(resp(
                404,
                r#"{"message":"Result not found or expired","statusCode":404}"#,
            )),
        },
        &chain,
    );
    let e = r.unwrap_err();
    assert!(
        matches!(e, Error::ResultExpired { ref key, .. } if key == "similarity:result:req-2"),
        "{e}"
    );
    assert_eq!(log.api.len(), 2, "no polling of a gone result");
    // Without the queue time, the same 404 is read as "not ready": polled again.
    let (r, log, _) = drive(
        None,
        settings(),
        super::intel::resume::<serde_json::Value>(deep_handle(None)),
        &mut |n, _| match n {
            1 => Answer::Ok(resp(200, r#"{"status":"completed"}"#)),
            2 => Answer::Ok(resp(
                404,
                r#"{"message":"Result not ready","statusCode":404}"#,
            )),
            _ => Answer::Ok(resp(200, r#"{"pairwiseSimilarities":[]}"#)),
        },
        &chain,
    );
    r.unwrap();
    assert_eq!(log.api.len(), 3);
}

const PARTIAL: &str = r#"{"statusCode":206,"message":"one of two bundled jobs failed","similarity":{"status":"failed"}}"#;

fn deep() -> impl Machine<
    Value = Paid<(
        sova_protocol::intel::HolderProfilesResult,
        sova_protocol::intel::SimilarityResult,
    )>,
> {
    super::intel::deep_wait(sova_protocol::intel::DeepRequest::new(ADDR).top_n(3))
}

/// API-key callers: a 206 is a typed partial success, raw body kept, nothing paid.
#[test]
fn a_206_is_a_typed_partial_success() {
    let (r, log, _) = drive(
        None,
        settings(),
        deep(),
        &mut |_, _| Answer::Ok(resp(206, PARTIAL)),
        &chain,
    );
    let e = r.unwrap_err();
    let Error::PartialSuccess { partial, payment } = &e else {
        panic!("{e}")
    };
    assert_eq!(
        partial.message.as_deref(),
        Some("one of two bundled jobs failed")
    );
    assert_eq!(partial.body["similarity"]["status"], "failed");
    assert_eq!(partial.raw, PARTIAL.as_bytes());
    assert!(payment.is_none());
    assert!(!e.may_have_charged());
    assert_eq!(e.status(), Some(StatusCode::PARTIAL_CONTENT));
    assert_eq!(log.api.len(), 1, "never retried or followed");
}

/// x402: a settled 206 is charged whatever "0cr" says; an unsettled one is decided by the
/// chain (released only on proof, else possibly charged).
#[test]
fn a_206_after_paying_is_reported_as_the_chain_shows() {
    // Settled: charged.
    let p = payments(1_000_000, 10_000_000);
    cached(&p, "POST intel.holders_deep", challenge(525_000));
    let (r, _, stats) = drive(
        Some(&p),
        settings(),
        deep(),
        &mut |_, req| settled_with(req, 206, PARTIAL),
        &chain,
    );
    let e = r.unwrap_err();
    assert!(matches!(e, Error::PartialSuccess { .. }), "{e}");
    assert_eq!(e.payment().unwrap().state, PaymentState::Charged);
    assert_eq!(stats.paid, 525_000);
    assert_eq!(spent(&p), 525_000);

    // No settlement, the payment proven dead: released.
    let p = payments(1_000_000, 10_000_000);
    cached(&p, "POST intel.holders_deep", challenge(525_000));
    let (r, _, stats) = drive(
        Some(&p),
        settings(),
        deep(),
        &mut |_, _| Answer::Ok(resp(206, PARTIAL)),
        &expired_chain,
    );
    let e = r.unwrap_err();
    assert!(matches!(e, Error::PartialSuccess { .. }), "{e}");
    assert_eq!(e.payment().unwrap().state, PaymentState::NotCharged);
    assert_eq!((stats.payments, stats.paid), (1, 0));
    assert_eq!(spent(&p), 0, "not recorded as spent");

    // No settlement, the transaction landed: charged.
    let p = payments(1_000_000, 10_000_000);
    cached(&p, "POST intel.holders_deep", challenge(525_000));
    let (r, _, _) = drive(
        Some(&p),
        settings(),
        deep(),
        &mut |_, _| Answer::Ok(resp(206, PARTIAL)),
        &landed_chain,
    );
    let e = r.unwrap_err();
    assert!(matches!(e, Error::PartialSuccess { .. }), "{e}");
    assert_eq!(e.payment().unwrap().state, PaymentState::Charged);
    assert_eq!(spent(&p), 525_000);

    // No settlement, nothing proven: possibly charged; the budget keeps it.
    let p = payments(1_000_000, 10_000_000);
    cached(&p, "POST intel.holders_deep", challenge(525_000));
    let (r, _, _) = drive(
        Some(&p),
        settings(),
        deep(),
        &mut |_, _| Answer::Ok(resp(206, PARTIAL)),
        &chain,
    );
    let e = r.unwrap_err();
    assert!(matches!(e, Error::PartialSuccess { .. }), "{e}");
    assert_eq!(e.payment().unwrap().state, PaymentState::MayHaveCharged);
    assert_eq!(spent(&p), 525_000);
}

// ---- failed jobs: retried once -----------------------------------------------------------

const HOLDERS_202_B: &str =
    r#"{"status":"queued","jobId":"hp-2","requestId":"req-2","monitoringUrl":"/api/v1/jobs/hp-2"}"#;
const FAILED: &str = r#"{"status":"failed","error":"RPC timeout"}"#;
const COMPLETED: &str = r#"{"status":"completed","progress":100}"#;

/// A failed POST job is queued once more — a new job, charged again through the spend
/// policy — and both receipts come back, the first in `earlier_receipts`.
#[test]
fn a_failed_post_job_is_requeued_once_and_both_payments_are_visible() {
    let p = payments(1_000_000, 10_000_000);
    cached(&p, "POST intel.holders", challenge(300_000));
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        holders_wait(),
        &mut |n, req| match n {
            1 => settled_with(req, 202, HOLDERS_202),
            2 => Answer::Ok(resp(200, FAILED)),
            3 => {
                assert_eq!(req.method(), Method::POST, "the retry queues the job again");
                settled_with(req, 202, HOLDERS_202_B)
            }
            4 => {
                assert_eq!(req.uri().path(), "/api/v1/jobs/hp-2");
                Answer::Ok(resp(200, COMPLETED))
            }
            _ => {
                assert!(req.uri().query().unwrap().contains("hp-2"));
                Answer::Ok(resp(200, HOLDERS_RESULT))
            }
        },
        &chain,
    );
    let paid = r.unwrap();
    assert_eq!(paid.earlier_receipts.len(), 1);
    let first = &paid.earlier_receipts[0];
    let second = paid.receipt.as_ref().unwrap();
    assert_ne!(first.payer_signature, second.payer_signature);
    let sent = log.headers();
    assert_eq!(sent.len(), 2);
    assert_ne!(sent[0], sent[1], "a new job, a new payment");
    assert_eq!(stats.payments, 2);
    assert_eq!(stats.paid, 600_000);
    assert_eq!(spent(&p), 600_000);
}

/// Both attempts fail: the error is the first failure with the first charged payment; the
/// retry's failure (with its own charged payment) is inside. No third attempt.
#[test]
fn a_job_that_fails_twice_reports_the_first_payment_and_the_retry() {
    let p = payments(1_000_000, 10_000_000);
    cached(&p, "POST intel.holders", challenge(300_000));
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        holders_wait(),
        &mut |n, req| match n {
            1 => settled_with(req, 202, HOLDERS_202),
            2 => Answer::Ok(resp(200, FAILED)),
            3 => settled_with(req, 202, HOLDERS_202_B),
            4 => Answer::Ok(resp(200, r#"{"status":"failed","error":"again"}"#)),
            _ => panic!("retried only once"),
        },
        &chain,
    );
    let e = r.unwrap_err();
    let Error::JobFailed {
        job_id,
        reason,
        payment,
        retry,
    } = &e
    else {
        panic!("{e}")
    };
    assert_eq!(job_id, "hp-1");
    assert_eq!(reason.as_deref(), Some("RPC timeout"));
    let first = payment.as_deref().unwrap();
    assert_eq!(first.state, PaymentState::Charged);
    assert_eq!(first.signature, payer_signature(log.headers()[0]));
    let retry = retry.as_deref().unwrap();
    assert!(
        matches!(retry, Error::JobFailed { job_id, .. } if job_id == "hp-2"),
        "{retry}"
    );
    let second = retry.payment().unwrap();
    assert_eq!(second.state, PaymentState::Charged);
    assert_eq!(second.signature, payer_signature(log.headers()[1]));
    assert!(e.may_have_charged());
    assert!(e.to_string().contains("retried once"), "{e}");
    assert_eq!((stats.payments, log.api.len()), (2, 4));
    assert_eq!(spent(&p), 600_000);
}

/// The retry's payment goes through the spend policy: over budget, nothing more is signed,
/// and the first (charged) payment is still what the error reports.
#[test]
fn the_retry_payment_is_refused_by_the_spend_policy() {
    let p = payments(1_000_000, 400_000);
    cached(&p, "POST intel.holders", challenge(300_000));
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        holders_wait(),
        &mut |n, req| match n {
            1 => settled_with(req, 202, HOLDERS_202),
            2 => Answer::Ok(resp(200, FAILED)),
            _ => panic!("nothing may be sent: {}", req.uri()),
        },
        &chain,
    );
    let e = r.unwrap_err();
    let Error::JobFailed { payment, retry, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!(payment.as_deref().unwrap().state, PaymentState::Charged);
    assert!(
        matches!(retry.as_deref(), Some(Error::PaymentRefused(_))),
        "{e}"
    );
    assert_eq!((stats.payments, log.api.len()), (1, 2));
    assert_eq!(spent(&p), 300_000);
}

/// Turned off, a failed job is reported at once with its payment.
#[test]
fn without_retries_a_failed_job_is_reported_at_once() {
    let p = payments(1_000_000, 10_000_000);
    cached(&p, "POST intel.holders", challenge(300_000));
    let (r, log, _) = drive_full(
        &NoAuth,
        Some(&p),
        settings(),
        JobRetry::Off,
        holders_wait(),
        &mut |n, req| match n {
            1 => settled_with(req, 202, HOLDERS_202),
            2 => Answer::Ok(resp(200, FAILED)),
            _ => panic!("no retry"),
        },
        &chain,
    );
    let e = r.unwrap_err();
    assert!(matches!(e, Error::JobFailed { retry: None, .. }), "{e}");
    assert_eq!(e.payment().unwrap().state, PaymentState::Charged);
    assert_eq!(log.api.len(), 2);
    assert_eq!(spent(&p), 300_000);
}

/// The client's default: a failed POST job was charged already, and queueing it again would
/// sign a second payment for the logical request, so the failure is reported at once with
/// the charged payment.
#[test]
fn by_default_a_failed_post_job_is_not_paid_for_again() {
    let p = payments(1_000_000, 10_000_000);
    cached(&p, "POST intel.holders", challenge(300_000));
    let (r, log, stats) = drive_full(
        &NoAuth,
        Some(&p),
        settings(),
        JobRetry::FreeOnly,
        holders_wait(),
        &mut |n, req| match n {
            1 => settled_with(req, 202, HOLDERS_202),
            2 => Answer::Ok(resp(200, FAILED)),
            _ => panic!("no second charge"),
        },
        &chain,
    );
    let e = r.unwrap_err();
    assert!(matches!(e, Error::JobFailed { retry: None, .. }), "{e}");
    assert_eq!(e.payment().unwrap().state, PaymentState::Charged);
    assert_eq!(log.api.len(), 2);
    assert_eq!(stats.payments, 1);
    assert_eq!(spent(&p), 300_000);
}

/// A wallet GET whose analysis failed: the same GET again, with the same (still unsettled)
/// payment — the free 202 charged nothing, so the retry costs nothing more.
#[test]
fn a_failed_wallet_analysis_is_retried_with_the_same_payment() {
    let p = payments(100_000, 1_000_000);
    cached(&p, "GET intel.wallet_hud", challenge(15_000));
    let (r, log, stats) = drive(
        Some(&p),
        settings(),
        hud(),
        &mut |n, req| match n {
            1 => Answer::Ok(resp(202, QUEUED)),
            2 => Answer::Ok(resp(200, FAILED)),
            _ => {
                assert!(req.headers().get("x-prepaid-job-id").is_none());
                settle(req)
            }
        },
        &chain,
    );
    assert!(r.unwrap().receipt.is_some());
    let sent = log.headers();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0], sent[1], "the retry carries the first payment");
    assert_eq!(stats.payments, 1);
    assert_eq!(spent(&p), 15_000);
}

/// Resuming a handle whose job the server forgot, queued longer ago than the TTL: expired.
/// Without the queue time the server's 404 is reported as it is.
#[test]
fn a_forgotten_job_past_the_ttl_is_an_expired_result() {
    let gone = r#"{"message":"Job hp-1 not found","statusCode":404}"#;
    let (r, log, _) = drive(
        None,
        settings(),
        super::intel::resume::<serde_json::Value>(deep_handle(Some(T0 - 16 * 60))),
        &mut |_, _| Answer::Ok(resp(404, gone)),
        &chain,
    );
    let e = r.unwrap_err();
    assert!(
        matches!(e, Error::ResultExpired { ref key, .. } if key == "similarity:result:req-2"),
        "{e}"
    );
    assert_eq!(log.api.len(), 1);
    let (r, _, _) = drive(
        None,
        settings(),
        super::intel::resume::<serde_json::Value>(deep_handle(Some(T0 - 60))),
        &mut |_, _| Answer::Ok(resp(404, gone)),
        &chain,
    );
    let e = r.unwrap_err();
    assert!(matches!(e, Error::Api { .. }), "{e}");
    assert_eq!(e.status(), Some(StatusCode::NOT_FOUND));
}
