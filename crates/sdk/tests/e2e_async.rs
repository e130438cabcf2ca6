//! The async clients against the embedded sandbox, over loopback: API-key and x402 auth
//! (self-paid Sova mode and sponsored standard mode), jobs, SovX onboarding, and payment
//! safety under faults, counted on the sandbox's ledger.
#![cfg(feature = "async")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use sova::Error;
use sova::protocol::jobs::PollConfig;
use sova::protocol::sovx::{Decimal, Individual, NewUser, NewWallet, Side, WalletNetwork};
use sova_sandbox::{Fault, FaultKind, Mode, Sandbox};
use sova_x402::{Keypair, Payer, SpendPolicy, programs};

const WALLET: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
const WALLET2: &str = "GThUX1Atko4tqhN2NaiTazWSeFWMuiUvfFnyJyUghFMJ";
const MINT: &str = "So11111111111111111111111111111111111111112";

async fn sandbox(mode: Mode) -> Sandbox {
    Sandbox::builder()
        .mode(mode)
        .sync_hold(Duration::from_millis(200))
        .flash_analysis(Duration::from_millis(50))
        .job_duration(Duration::from_millis(150))
        .start()
        .await
        .unwrap()
}

fn fast_poll() -> PollConfig {
    PollConfig {
        interval: Duration::from_millis(30),
        max_wait: Duration::from_secs(20),
    }
}

fn payer(seed: u8, cap: u64, budget: u64) -> Arc<Payer> {
    let policy = SpendPolicy::builder()
        .max_per_payment(programs::USDC_MAINNET, cap)
        .budget(programs::USDC_MAINNET, budget)
        .build();
    Arc::new(
        Payer::builder()
            .sova_host("127.0.0.1") // the sandbox in Sova mode
            .signer(Keypair::from_seed([seed; 32]))
            .policy(Arc::new(policy))
            .build()
            .unwrap(),
    )
}

fn x402_client(sb: &Sandbox, payer: Arc<Payer>) -> sova::intel::Client {
    sova::intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .x402(payer)
        .rpc_url(sb.rpc_url())
        .poll(fast_poll())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_covers_every_intel_endpoint() {
    let sb = sandbox(Mode::Sova).await;
    let key = sb.create_api_key(1_000);
    let client = sova::intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .api_key(key.clone())
        .poll(fast_poll())
        .build()
        .unwrap();

    let hud = client.wallet_hud(WALLET).await.unwrap();
    assert!(hud.receipt.is_none(), "API-key calls have no receipt");
    assert!((0.0..=1.0).contains(&hud.win_rate));
    let profile = client.wallet_profile(WALLET).await.unwrap();
    assert_eq!(profile.wallet_address, WALLET);
    let tokens = client
        .wallet_tokens(WALLET, Default::default())
        .await
        .unwrap();
    assert!(tokens.page >= 1);
    let batch = client.batch_hud(&[WALLET, WALLET2]).await.unwrap();
    assert!(batch.huds.len() + batch.queued.len() + batch.skipped.len() >= 1);
    let holders = client.holders_wait(MINT, 5).await.unwrap();
    assert!(!holders.profiles.is_empty());
    let agent = client.holders_agent_wait(MINT, 5).await.unwrap();
    assert!(!agent.profiles.is_empty());
    let sim = client.similarity_wait(&[WALLET, WALLET2]).await.unwrap();
    assert!(!sim.pairwise_similarities.is_empty() || sim.global_metrics.is_some());
    let sim_agent = client
        .similarity_agent_wait(&[WALLET, WALLET2])
        .await
        .unwrap();
    let _ = sim_agent.coordination_score;
    let deep = client.deep_wait(MINT, 5).await.unwrap();
    assert!(!deep.0.profiles.is_empty());
    let pricing = client.pricing().await.unwrap();
    assert!(pricing.is_object());
    // Charged as documented: 1 + 5 + 3 + 5 + 20 + 20 + 20 + 20 + 35 = 129 credits.
    assert_eq!(sb.credits(&key), Some(1_000 - 129));
    assert!(sb.payments().is_empty(), "no x402 payment with an API key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_202_fallback_is_paid_once() {
    let sb = Sandbox::builder()
        .sync_hold(Duration::from_millis(20))
        .flash_analysis(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let key = sb.create_api_key(100);
    let client = sova::intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .api_key(key.clone())
        .poll(fast_poll())
        .build()
        .unwrap();
    let profile = client.wallet_profile(WALLET2).await.unwrap();
    assert_eq!(profile.wallet_address, WALLET2);
    assert_eq!(
        sb.credits(&key),
        Some(95),
        "the fallback is free and the prepaid re-call charged once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x402_self_paid_pays_once_per_call_with_receipts() {
    let sb = sandbox(Mode::Sova).await;
    let kp = Keypair::from_seed([3; 32]);
    sb.fund_wallet(&kp.pubkey(), 1_000_000_000, 10_000_000);
    let client = x402_client(&sb, payer(3, 1_000_000, 5_000_000));
    let before = sb.usdc_balance(&kp.pubkey());
    let mut signatures = Vec::new();
    for _ in 0..5 {
        let hud = client.wallet_hud(WALLET).await.unwrap();
        let r = hud.receipt.clone().expect("a paid call has a receipt");
        assert_eq!(r.amount, 15_000);
        signatures.push(r.transaction.unwrap());
    }
    let settled = sb.payments();
    assert_eq!(settled.len(), 5);
    for (p, sig) in settled.iter().zip(&signatures) {
        assert_eq!(
            &p.signature, sig,
            "the receipt names the settled transaction"
        );
        assert_eq!(p.amount, 15_000);
    }
    assert_eq!(before - sb.usdc_balance(&kp.pubkey()), 5 * 15_000);
    // Steady state: the requirement was cached after the first 402.
    assert_eq!(client.config().payments().unwrap().cache.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x402_sponsored_mode_leaves_the_client_without_sol() {
    let sb = sandbox(Mode::Standard).await;
    let kp = Keypair::from_seed([4; 32]);
    sb.fund_wallet(&kp.pubkey(), 0, 1_000_000);
    let client = x402_client(&sb, payer(4, 1_000_000, 5_000_000));
    let accepted = client.queue_holders(MINT, 5).await.unwrap();
    let r = accepted.receipt.clone().unwrap();
    assert_eq!(r.amount, 20 * 15_000);
    assert_eq!(sb.usdc_balance(&kp.pubkey()), 1_000_000 - 300_000);
    assert_eq!(sb.sol_balance(&kp.pubkey()), 0);
    // An x402-only client cannot authenticate the result read: it stops before sending,
    // naming the result and the job, and pays nothing more.
    let handle = accepted.holder_profiles_handle();
    let e = client
        .resume::<sova::protocol::intel::HolderProfilesResult>(&handle)
        .await
        .unwrap_err();
    let Error::ResultAuthRequired {
        key,
        job_id,
        handle: h,
        refused,
        ..
    } = &e
    else {
        panic!("{e}")
    };
    assert_eq!(key, &format!("holder-profiles:result:{}", accepted.job_id));
    assert_eq!(job_id.as_deref(), Some(accepted.job_id.as_str()));
    assert_eq!(h.as_deref(), Some(handle.encode().as_str()));
    assert!(refused.is_none(), "nothing was sent");
    assert_eq!(e.reached(), sova::Reached::No);
    assert!(e.to_string().contains("API key"), "{e}");
    assert_eq!(sb.payments().len(), 1, "never paid again");
    // With a key used only for reading results, the same handle resumes; payments stay x402.
    let reader = sova::intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .x402(payer(4, 1_000_000, 5_000_000))
        .rpc_url(sb.rpc_url())
        .results_api_key(sb.create_api_key(0))
        .poll(fast_poll())
        .build()
        .unwrap();
    let result: sova::protocol::intel::HolderProfilesResult = reader.resume(&handle).await.unwrap();
    assert!(!result.profiles.is_empty());
    assert_eq!(sb.payments().len(), 1);
}

/// An x402 client waiting for a job without any API key: the job is paid once, then the
/// result read stops before sending, with the payment reported as charged and a handle to
/// resume with an API key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x402_only_wait_reports_the_charged_payment_and_the_handle() {
    let sb = sandbox(Mode::Sova).await;
    let kp = Keypair::from_seed([6; 32]);
    sb.fund_wallet(&kp.pubkey(), 1_000_000_000, 10_000_000);
    let client = x402_client(&sb, payer(6, 1_000_000, 5_000_000));
    let e = client.holders_agent_wait(MINT, 3).await.unwrap_err();
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
    assert!(key.starts_with("holder-profiles:agent:result:"), "{key}");
    assert!(refused.is_none());
    let p = payment
        .as_deref()
        .expect("the queueing payment is reported");
    assert_eq!(p.state, sova::PaymentState::Charged);
    assert_eq!(p.amount, 20 * 15_000);
    assert!(e.may_have_charged());
    let settled = sb.payments();
    assert_eq!(settled.len(), 1, "paid once, never for the read");
    assert_eq!(settled[0].payer_signature, p.signature);
    // The handle carries the queue time and resumes with a results key.
    let h = sova::protocol::jobs::JobHandle::decode(handle.as_deref().unwrap()).unwrap();
    assert_eq!(h.job_id.as_deref(), job_id.as_deref());
    assert!(h.queued_at_unix.is_some(), "stamped when the 202 arrived");
    let reader = sova::intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .results_api_key(sb.create_api_key(0))
        .poll(fast_poll())
        .build()
        .unwrap();
    let agent: sova::protocol::intel::AgentHolderProfilesResult = reader.resume(&h).await.unwrap();
    assert!(!agent.profiles.is_empty());
    // A results-only key never pays with credits: paid calls still go to x402.
    assert!(matches!(
        reader.wallet_hud(WALLET).await.unwrap_err(),
        Error::PaymentRequired(_)
    ));
}

/// `queue_with` stamps the handle with the time its `202` arrived (the expiry it enables is
/// tested on a virtual clock in the flow tests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_handles_carry_the_queue_time() {
    let sb = sandbox(Mode::Sova).await;
    let key = sb.create_api_key(100);
    let client = sova::intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .api_key(key)
        .poll(fast_poll())
        .build()
        .unwrap();
    let before = sova::flow::unix_now();
    let q = client
        .queue_with(
            &sova::intel::HoldersRequest::new(MINT).top_n(3),
            &sova::CallOptions::default(),
        )
        .await
        .unwrap();
    let at = q.handle.queued_at_unix.unwrap();
    assert!(at >= before && at <= sova::flow::unix_now());
    assert_eq!(q.handle.job_id.as_deref(), Some(q.accepted.job_id.as_str()));
    let r: sova::protocol::intel::HolderProfilesResult = client.resume(&q.handle).await.unwrap();
    assert_eq!(r.profiles.len(), 3);
}

/// A handle names the server that accepted its job: resumed against another server (here
/// a second sandbox, as when an embedded one is gone) it is refused before anything is
/// sent or paid. Fails without the origin stamp: the second server was asked for a job it
/// never had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handle_of_another_server_is_refused_before_anything_is_sent() {
    let sb = sandbox(Mode::Sova).await;
    let key = sb.create_api_key(100);
    let client = sova::intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .api_key(key.clone())
        .poll(fast_poll())
        .build()
        .unwrap();
    let q = client
        .queue_with(
            &sova::intel::HoldersRequest::new(MINT).top_n(3),
            &sova::CallOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        q.handle.origin.as_deref(),
        Some(sb.intel_base_url().split("/api").next().unwrap())
    );
    let other = sandbox(Mode::Sova).await;
    let elsewhere = sova::intel::ClientBuilder::new()
        .base_url(other.intel_base_url())
        .api_key(key)
        .poll(fast_poll())
        .build()
        .unwrap();
    let handle = sova::protocol::jobs::JobHandle::decode(&q.handle.encode()).unwrap();
    let e = elsewhere
        .resume::<sova::protocol::intel::HolderProfilesResult>(&handle)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ResumeRefused { .. }), "{e}");
    assert!(e.to_string().contains("cannot be resumed here"), "{e}");
    assert!(e.to_string().contains("embedded sandbox"), "{e}");
    assert_eq!(
        other.requests().values().sum::<u64>(),
        0,
        "nothing was sent"
    );
    // On its own server the same handle resumes.
    let r: sova::protocol::intel::HolderProfilesResult = client.resume(&handle).await.unwrap();
    assert_eq!(r.profiles.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spend_policy_refuses_before_anything_is_signed() {
    let sb = sandbox(Mode::Sova).await;
    let kp = Keypair::from_seed([5; 32]);
    sb.fund_wallet(&kp.pubkey(), 1_000_000_000, 10_000_000);
    let client = x402_client(&sb, payer(5, 100_000, 5_000_000));
    let e = client.queue_holders(MINT, 5).await.unwrap_err();
    assert!(matches!(e, Error::PaymentRefused(_)), "{e}");
    assert!(
        e.to_string().contains("300000") && e.to_string().contains("100000"),
        "{e}"
    );
    assert!(sb.payments().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_on_429_and_5xx_are_counted() {
    let sb = sandbox(Mode::Sova).await;
    let key = sb.create_api_key(10);
    // The default policy (3 attempts; 429, 500, 502, 503, 504), with short delays.
    let client = sova::intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .api_key(key.clone())
        .retry(sova::protocol::retry::RetryPolicy {
            base_delay: Duration::from_millis(10),
            ..Default::default()
        })
        .build()
        .unwrap();
    const HUD: &str = "GET /api/v1/intel/wallet/{address}/hud";
    sb.add_fault(Fault {
        route: Some(HUD.into()),
        kind: FaultKind::Status { status: 503 },
        times: Some(2),
    });
    client.wallet_hud(WALLET).await.unwrap();
    assert_eq!(sb.request_count(HUD), 3, "two 503s, then the answer");
    sb.add_fault(Fault {
        route: Some(HUD.into()),
        kind: FaultKind::RateLimit {
            retry_after_secs: 0,
        },
        times: Some(1),
    });
    client.wallet_hud(WALLET).await.unwrap();
    assert_eq!(sb.request_count(HUD), 5, "one 429, then the answer");
    sb.add_fault(Fault {
        route: Some(HUD.into()),
        kind: FaultKind::Status { status: 500 },
        times: Some(1),
    });
    client.wallet_hud(WALLET).await.unwrap();
    assert_eq!(
        sb.request_count(HUD),
        7,
        "500 is retried by default, as the docs advise"
    );
    sb.add_fault(Fault {
        route: Some(HUD.into()),
        kind: FaultKind::Status { status: 500 },
        times: Some(3),
    });
    let e = client.wallet_hud(WALLET).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(sb.request_count(HUD), 10, "three attempts in all");
    assert_eq!(
        sb.credits(&key),
        Some(7),
        "charged once per delivered answer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_after_settlement_is_reported_never_repaid() {
    let sb = sandbox(Mode::Sova).await;
    let kp = Keypair::from_seed([6; 32]);
    sb.fund_wallet(&kp.pubkey(), 1_000_000_000, 10_000_000);
    let client = x402_client(&sb, payer(6, 1_000_000, 5_000_000));
    client.wallet_hud(WALLET).await.unwrap(); // warm: requirement and blockhash cached
    sb.add_fault(Fault {
        route: Some("GET /api/v1/intel/wallet/{address}/hud".into()),
        kind: FaultKind::DropAfterSettlement,
        times: Some(1),
    });
    let e = client.wallet_hud(WALLET).await.unwrap_err();
    assert!(e.may_have_charged(), "{e}");
    let reference = e.payment().unwrap();
    let settled = sb.payments();
    assert_eq!(settled.len(), 2, "exactly one payment for the failed call");
    assert_eq!(settled[1].signature, reference.signature);
    assert!(!settled[1].delivered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_change_is_not_paid_twice_without_proof() {
    let sb = sandbox(Mode::Sova).await;
    let kp = Keypair::from_seed([8; 32]);
    sb.fund_wallet(&kp.pubkey(), 1_000_000_000, 10_000_000);
    let policy = payer(8, 1_000_000, 5_000_000);
    let client = x402_client(&sb, policy.clone());
    // Learn the HUD price, then make the cached one wrong: the server refuses the
    // underpayment and says nothing was charged. That is only its word: the SDK keeps the
    // payment reserved and reports it, and signs nothing more in this call.
    client.wallet_hud(WALLET).await.unwrap();
    let cheap = sova::protocol::x402::PaymentRequired {
        x402_version: 2,
        error: None,
        resource: None,
        accepts: vec![sova::protocol::x402::PaymentRequirements::new(
            sova::protocol::x402::networks::SOLANA_MAINNET,
            sova::protocol::x402::USDC_MAINNET_MINT,
            1_000,
            &sb.treasury().to_string(),
            60,
            Default::default(),
        )],
        extensions: None,
    };
    let cache = &client.config().payments().unwrap().cache;
    cache.remember(
        &sova::call::RequirementCache::key("127.0.0.1", "GET intel.wallet_hud"),
        cheap,
    );
    let before = sb.usdc_balance(&kp.pubkey());
    let e = client.wallet_hud(WALLET).await.unwrap_err();
    assert!(e.may_have_charged(), "{e}");
    assert_eq!(e.payment().unwrap().amount, 1_000);
    assert_eq!(
        sb.usdc_balance(&kp.pubkey()),
        before,
        "nothing moved on chain"
    );
    assert_eq!(sb.payments().len(), 1, "one payment on the ledger");
    assert_eq!(
        policy.policy().spent(&sova_x402::programs::USDC_MAINNET),
        15_000 + 1_000,
        "the budget keeps the unproven payment"
    );
    // The refusal refreshed the cached price: the next call pays the right amount once.
    let hud = client.wallet_hud(WALLET).await.unwrap();
    assert_eq!(hud.receipt.as_ref().unwrap().amount, 15_000);
    assert_eq!(before - sb.usdc_balance(&kp.pubkey()), 15_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sovx_onboarding_end_to_end() {
    let sb = sandbox(Mode::Sova).await;
    let owner = sova::sx::ClientBuilder::new()
        .base_url(sb.sovx_base_url())
        .owner_key(sb.sovx_owner_key())
        .build()
        .unwrap();
    let health = owner.health().await.unwrap();
    assert_eq!(health.status, "ok");
    let individual = Individual {
        dob: Some("1990-10-15".into()),
        residential_country_code: Some("US".into()),
        ..Individual::default()
    };
    let user = owner
        .create_user(NewUser::individual(
            "Ada",
            "Lovelace",
            "ada@example.com",
            "US",
            "+13075550100",
            individual,
        ))
        .await
        .unwrap();
    let user_id = user
        .data
        .user_id
        .clone()
        .expect("the sandbox returns the new user's id");
    owner.activate_user(user_id.as_str()).await.unwrap();
    let token = owner
        .issue_user_token(user_id.as_str())
        .await
        .unwrap()
        .data
        .token;
    let as_user = owner.for_user(token);
    let wallet = as_user
        .create_wallet(
            user_id.as_str(),
            NewWallet::new(
                "main",
                vec![WalletNetwork::new("networks/solana-devnet", "usdc")],
            ),
        )
        .await
        .unwrap()
        .data;
    assert!(sb.sovx_fund(wallet.wallet_id.as_str(), "usd", "1000"));
    let quote = as_user
        .quote_amount(
            wallet.wallet_id.as_str(),
            "btcusd",
            Side::Buy,
            "100".parse::<Decimal>().unwrap(),
        )
        .await
        .unwrap()
        .data;
    as_user
        .place_order(wallet.wallet_id.as_str(), quote.quote_id.as_str())
        .await
        .unwrap();
    let balances = as_user.user_balance(user_id.as_str()).await.unwrap().data;
    assert!(
        balances
            .iter()
            .any(|b| b.currency.eq_ignore_ascii_case("btc")),
        "{balances:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_hud_follows_queued_wallets_when_asked() {
    let sb = Sandbox::builder()
        .flash_analysis(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let key = sb.create_api_key(100);
    let client = sova::intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .api_key(key.clone())
        .poll(fast_poll())
        .build()
        .unwrap();
    // Cold wallets are queued on the first answer…
    let plain = client.batch_hud(&[WALLET]).await.unwrap();
    assert_eq!(plain.queued.len(), 1);
    // …followed by batch_hud_complete with one charge by default: the queued wallets'
    // analyses are waited for and the answer keeps them queued (5 credits, not 10)…
    let one = client
        .batch_hud_complete(&["Ag2bRsuGuHAmXhZnFx5Dcn6sLhb8VBnuh6k6ptb3CgTc"])
        .await
        .unwrap();
    assert_eq!(one.queued.len(), 1);
    assert_eq!(sb.credits(&key), Some(100 - 5 - 5));
    // …and completed by the explicit second charge (two calls, 5 credits each).
    let done = client
        .batch_hud_complete_with_second_charge(&[WALLET2, "11111111111111111111111111111111"])
        .await
        .unwrap();
    assert!(done.queued.is_empty());
    assert!(
        done.huds.contains_key(WALLET2),
        "{:?}",
        done.huds.keys().collect::<Vec<_>>()
    );
    assert_eq!(done.skipped, ["11111111111111111111111111111111"]);
    assert_eq!(sb.credits(&key), Some(100 - 5 - 5 - 10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sovx_every_endpoint() {
    use sova::protocol::sovx::{
        FeatureCode, MethodCode, NewMonetizationSetting, NewTransfer, NewWithdrawal, TransferType,
        UserUpdate,
    };
    let sb = sandbox(Mode::Sova).await;
    let owner = sova::sx::ClientBuilder::new()
        .base_url(sb.sovx_base_url())
        .owner_key(sb.sovx_owner_key())
        .build()
        .unwrap();
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let mk = |n: u32| {
        NewUser::individual(
            "Grace",
            "Hopper",
            format!("g{n}@example.com"),
            "US",
            format!("+1307555010{n}"),
            Individual::default(),
        )
    };
    let u1 = owner
        .create_user(mk(1))
        .await
        .unwrap()
        .data
        .user_id
        .unwrap();
    let u2 = owner
        .create_user(mk(2))
        .await
        .unwrap()
        .data
        .user_id
        .unwrap();
    // 409 on a duplicate email.
    assert_eq!(
        owner
            .create_user(mk(1))
            .await
            .unwrap_err()
            .status()
            .map(|s| s.as_u16()),
        Some(409)
    );
    owner.get_user(u1.as_str()).await.unwrap();
    owner
        .update_user(
            u1.as_str(),
            UserUpdate {
                last_name: Some("Murray Hopper".into()),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    owner.activate_user(u1.as_str()).await.unwrap();
    owner.activate_user(u2.as_str()).await.unwrap();
    let tokens = owner
        .issue_user_tokens(&[u1.as_str(), u2.as_str()])
        .await
        .unwrap()
        .data;
    assert_eq!(tokens.len(), 2);

    let fee = owner
        .create_fee(NewMonetizationSetting::new(
            FeatureCode::SpotTrade,
            MethodCode::FeeRate,
            d("0.01"),
        ))
        .await
        .unwrap()
        .data;
    let id = fee.id.to_string();
    assert!(
        !owner
            .list_fees(Default::default())
            .await
            .unwrap()
            .data
            .is_empty()
    );
    owner.get_fee(&id).await.unwrap();
    owner.update_fee(&id, d("0.02")).await.unwrap();
    owner.delete_fee(&id).await.unwrap();

    owner.owner_balance().await.unwrap();
    owner.owner_transactions(Default::default()).await.unwrap();
    owner.trading_pairs().await.unwrap();

    let me = owner.for_user(tokens[0].token.clone());
    let net = || vec![WalletNetwork::new("networks/solana-devnet", "usdc")];
    let w1 = me
        .create_wallet(u1.as_str(), NewWallet::new("one", net()))
        .await
        .unwrap()
        .data
        .wallet_id;
    let w2 = me
        .create_wallet(u1.as_str(), NewWallet::new("two", net()))
        .await
        .unwrap()
        .data
        .wallet_id;
    assert!(
        !me.list_wallets(u1.as_str(), Default::default())
            .await
            .unwrap()
            .data
            .is_empty()
    );
    me.wallet_balances(w1.as_str()).await.unwrap();
    me.wallet_transactions(w1.as_str(), Default::default())
        .await
        .unwrap();
    me.create_address(w1.as_str(), "btc", "bitcoin-testnet")
        .await
        .unwrap();
    me.list_addresses(w1.as_str()).await.unwrap();
    me.user_transactions(u1.as_str(), Default::default())
        .await
        .unwrap();
    assert!(sb.sovx_fund(w1.as_str(), "usd", "1000"));
    assert!(sb.sovx_fund(w1.as_str(), "usdc", "100"));
    let q = me
        .quote_quantity(w1.as_str(), "btcusd", Side::Buy, d("0.001"))
        .await
        .unwrap()
        .data;
    me.place_order(w1.as_str(), q.quote_id.as_str())
        .await
        .unwrap();

    let wd = me
        .initiate_withdrawal(
            u1.as_str(),
            NewWithdrawal::new("usdc", d("1"), "tb1qexampleaddress"),
        )
        .await
        .unwrap()
        .data;
    let wid = wd.id.clone().unwrap();
    me.resend_withdrawal_code(u1.as_str(), wid.as_str())
        .await
        .unwrap();
    let code = sb
        .sovx_code(wid.as_str())
        .expect("the sandbox exposes the emailed code");
    me.confirm_withdrawal(u1.as_str(), wid.as_str(), &code)
        .await
        .unwrap();
    me.get_withdrawal(u1.as_str(), wid.as_str()).await.unwrap();
    assert!(
        !me.list_withdrawals(u1.as_str(), Default::default())
            .await
            .unwrap()
            .data
            .is_empty()
    );
    let wd2 = me
        .initiate_withdrawal(
            u1.as_str(),
            NewWithdrawal::new("usdc", d("1"), "tb1qexampleaddress"),
        )
        .await
        .unwrap()
        .data;
    me.cancel_withdrawal(u1.as_str(), wd2.id.unwrap().as_str())
        .await
        .unwrap();

    let transfer = |amount: &str| NewTransfer {
        destination_wallet_id: w2.clone(),
        transfer_type: TransferType::Payout,
        purpose: "rent".into(),
        description: "March".into(),
        currency: "USDC".into(),
        amount: d(amount),
    };
    let t = me
        .create_transfer(w1.as_str(), transfer("2"))
        .await
        .unwrap()
        .data;
    let tid = t.id.unwrap();
    me.resend_transfer_code(w1.as_str(), tid.as_str())
        .await
        .unwrap();
    let code = sb.sovx_code(tid.as_str()).unwrap();
    me.confirm_transfer(w1.as_str(), tid.as_str(), &code)
        .await
        .unwrap();
    me.get_transfer(w1.as_str(), tid.as_str()).await.unwrap();
    assert!(
        !me.list_transfers(w1.as_str(), Default::default())
            .await
            .unwrap()
            .data
            .is_empty()
    );
    let t2 = me
        .create_transfer(w1.as_str(), transfer("1"))
        .await
        .unwrap()
        .data;
    me.cancel_transfer(w1.as_str(), t2.id.unwrap().as_str())
        .await
        .unwrap();

    // A client holding only a user token cannot do owner work: refused before sending.
    let user_only = sova::sx::ClientBuilder::new()
        .base_url(sb.sovx_base_url())
        .user_token(tokens[1].token.expose())
        .build()
        .unwrap();
    assert_eq!(
        user_only.owner_balance().await.unwrap_err().reached(),
        sova::Reached::No
    );
    user_only.user_balance(u2.as_str()).await.unwrap();
    // Lifecycle end: deactivate and soft-delete.
    owner.deactivate_user(u2.as_str()).await.unwrap();
    owner.delete_user(u2.as_str()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x402_202_fallback_is_paid_once_on_chain_and_in_the_budget() {
    let sb = Sandbox::builder()
        .sync_hold(Duration::from_millis(20))
        .flash_analysis(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let kp = Keypair::from_seed([9; 32]);
    sb.fund_wallet(&kp.pubkey(), 1_000_000_000, 10_000_000);
    let p = payer(9, 1_000_000, 5_000_000);
    let client = x402_client(&sb, p.clone());
    // Learn the profile price first on a warm wallet so the cold call is prepaid.
    client.wallet_profile(WALLET).await.ok();
    let before = sb.payments().len();
    let spent_before = p.policy().spent(&programs::USDC_MAINNET);
    let profile = client.wallet_profile(WALLET2).await.unwrap();
    assert_eq!(profile.receipt.as_ref().unwrap().amount, 75_000);
    assert_eq!(sb.payments().len() - before, 1, "one payment on the ledger");
    assert_eq!(
        p.policy().spent(&programs::USDC_MAINNET) - spent_before,
        75_000,
        "one payment in the budget"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sovx_list_filters_change_the_results_and_memo_pair_are_sent() {
    use sova::protocol::sovx::{
        FeatureCode, MethodCode, MonetizationSettingsQuery, NewMonetizationSetting, NewWithdrawal,
        Sort, Status, TransactionQuery, WithdrawalQuery,
    };
    // 2026-01-15T10:30:00.000Z, moved by hand so created_at ranges are exact.
    let clock = sova_sandbox::Clock::manual(1_768_473_000_000);
    let sb = Sandbox::builder()
        .mode(Mode::Sova)
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let owner = sova::sx::ClientBuilder::new()
        .base_url(sb.sovx_base_url())
        .owner_key(sb.sovx_owner_key())
        .build()
        .unwrap();
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let user = owner
        .create_user(NewUser::individual(
            "Ada",
            "Lovelace",
            "ada@example.com",
            "US",
            "+13075550199",
            Individual::default(),
        ))
        .await
        .unwrap()
        .data
        .user_id
        .unwrap();
    let uid = user.as_str();
    owner.activate_user(uid).await.unwrap();
    let token = owner.issue_user_token(uid).await.unwrap().data.token;
    let me = owner.for_user(token);
    let wid = me
        .create_wallet(
            uid,
            NewWallet::new(
                "main",
                vec![WalletNetwork::new("networks/solana-devnet", "usdc")],
            ),
        )
        .await
        .unwrap()
        .data
        .wallet_id;
    assert!(sb.sovx_fund(wid.as_str(), "usdc", "100"));
    assert!(sb.sovx_fund(wid.as_str(), "usd", "1000"));

    // Fees: `pair` is sent only when set, stored and echoed; the pair filter selects.
    let btc = owner
        .create_fee(
            NewMonetizationSetting::new(FeatureCode::SpotTrade, MethodCode::FeeRate, d("0.01"))
                .pair("BTCUSD"),
        )
        .await
        .unwrap()
        .data;
    assert_eq!(btc.pair.as_deref(), Some("BTCUSD"));
    let any = owner
        .create_fee(NewMonetizationSetting::new(
            FeatureCode::Withdraw,
            MethodCode::FeeFlat,
            d("0.5"),
        ))
        .await
        .unwrap()
        .data;
    assert_eq!(any.pair, None);
    assert_eq!(
        owner
            .list_fees(Default::default())
            .await
            .unwrap()
            .data
            .len(),
        2
    );
    let only_btc = owner
        .list_fees(MonetizationSettingsQuery::new().pair("BTCUSD"))
        .await
        .unwrap()
        .data;
    assert_eq!(only_btc.len(), 1);
    assert_eq!(only_btc[0].id, btc.id);
    let flat = owner
        .list_fees(MonetizationSettingsQuery::new().method(MethodCode::FeeFlat))
        .await
        .unwrap()
        .data;
    assert_eq!(flat.len(), 1);
    assert_eq!(flat[0].id, any.id);

    // A trade on btcusd the next day.
    clock.advance(Duration::from_secs(86_400));
    let q = me
        .quote_quantity(wid.as_str(), "btcusd", Side::Buy, d("0.001"))
        .await
        .unwrap()
        .data;
    me.place_order(wid.as_str(), q.quote_id.as_str())
        .await
        .unwrap();

    // Withdrawals: the memo is sent and echoed; one is cancelled, one stays pending.
    clock.advance(Duration::from_secs(86_400));
    let first = me
        .initiate_withdrawal(
            uid,
            NewWithdrawal::new("usdc", d("10"), "addr-1").memo("rent"),
        )
        .await
        .unwrap()
        .data;
    assert_eq!(first.memo.as_deref(), Some("rent"));
    let first_id = first.id.unwrap();
    me.cancel_withdrawal(uid, first_id.as_str()).await.unwrap();
    let second = me
        .initiate_withdrawal(uid, NewWithdrawal::new("usdc", d("5"), "addr-2"))
        .await
        .unwrap()
        .data;
    assert_eq!(second.memo, None);
    let second_id = second.id.unwrap();

    let all = me.list_withdrawals(uid, Default::default()).await.unwrap();
    assert_eq!(all.data.len(), 2);
    let pending = me
        .list_withdrawals(uid, WithdrawalQuery::new().status(Status::Pending))
        .await
        .unwrap()
        .data;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id.as_ref(), Some(&second_id));
    let cancelled = me
        .list_withdrawals(
            uid,
            WithdrawalQuery {
                status: Some(Status::Cancelled),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .data;
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].id.as_ref(), Some(&first_id));
    assert_eq!(cancelled[0].memo.as_deref(), Some("rent"));
    // Pagination: one per page, oldest first.
    let page = me
        .list_withdrawals(
            uid,
            WithdrawalQuery::new().limit(1).sort(Sort::asc("amount")),
        )
        .await
        .unwrap();
    assert_eq!(page.data.len(), 1);
    assert_eq!(page.data[0].id.as_ref(), Some(&second_id), "5 < 10");
    let p = page.meta.pagination.unwrap();
    assert_eq!(
        (p["total"].as_u64(), p["has_more"].as_bool()),
        (Some(2), Some(true))
    );
    // A status the SDK does not know is sent as is and simply matches nothing.
    let none = me
        .list_withdrawals(uid, WithdrawalQuery::new().status(Status::parse("ON_HOLD")))
        .await
        .unwrap()
        .data;
    assert!(none.is_empty());

    // Transactions: by pair, kind and date range (owner, user and wallet lists agree).
    let trades = me
        .user_transactions(uid, TransactionQuery::new().pair("btcusd"))
        .await
        .unwrap()
        .data;
    assert_eq!(trades.len(), 1);
    assert_eq!(trades[0].kind.as_deref(), Some("TRADE"));
    let deposits = TransactionQuery::new().kind("DEPOSIT");
    assert_eq!(
        me.wallet_transactions(wid.as_str(), deposits.clone())
            .await
            .unwrap()
            .data
            .len(),
        2
    );
    assert_eq!(
        owner
            .owner_transactions(deposits.user_id(uid))
            .await
            .unwrap()
            .data
            .len(),
        2
    );
    let day_two = me
        .user_transactions(
            uid,
            TransactionQuery::new()
                .created_from("2026-01-16")
                .created_before("2026-01-17"),
        )
        .await
        .unwrap()
        .data;
    assert_eq!(day_two.len(), 1, "{day_two:?}");
    assert_eq!(day_two[0].kind.as_deref(), Some("TRADE"));
    assert_eq!(
        me.user_transactions(uid, Default::default())
            .await
            .unwrap()
            .data
            .len(),
        3
    );

    // Bad input is refused before anything is sent.
    let e = me
        .list_withdrawals(uid, WithdrawalQuery::new().created_from("last week"))
        .await
        .unwrap_err();
    assert_eq!(e.reached(), sova::Reached::No);
    assert!(e.to_string().contains("created_from"), "{e}");
}

/// Issue 11 item 1: for a Sova host (here the sandbox in Sova mode, declared with
/// `sova_host`) the first payment is the documented one: no memo, so a legacy message with a
/// single `TransferChecked`; later payments over the same cached blockhash carry a nonce and
/// still settle (no replay refusal).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sova_hosts_are_paid_in_the_documented_form() {
    let sb = sandbox(Mode::Sova).await;
    let kp = Keypair::from_seed([21; 32]);
    sb.fund_wallet(&kp.pubkey(), 1_000_000_000, 10_000_000);
    let client = x402_client(&sb, payer(21, 1_000_000, 5_000_000));
    for _ in 0..3 {
        client.wallet_hud(WALLET).await.unwrap();
    }
    let settled = sb.payments();
    assert_eq!(settled.len(), 3);
    assert_eq!(
        settled[0].memo, None,
        "the documented transaction has no memo"
    );
    assert!(
        settled.iter().all(|p| p.preflight_failures.is_empty()),
        "{settled:?}"
    );
    let mut sigs: Vec<_> = settled.iter().map(|p| p.signature.clone()).collect();
    sigs.dedup();
    assert_eq!(sigs.len(), 3, "three distinct transactions");
}

/// Issue 11 item 4: a server that speaks x402 v1 (402 JSON body with `maxAmountRequired`,
/// v1 network name) is paid with a v1 payload in `X-PAYMENT` (the sandbox refuses a v1
/// payload in any other header), and the v1 `X-PAYMENT-RESPONSE` (base64 JSON) fills the
/// receipt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x402_v1_server_is_paid_in_x_payment() {
    let sb = Sandbox::builder()
        .mode(Mode::Sova)
        .x402_v1(true)
        .start()
        .await
        .unwrap();
    let kp = Keypair::from_seed([22; 32]);
    sb.fund_wallet(&kp.pubkey(), 1_000_000_000, 10_000_000);
    let client = x402_client(&sb, payer(22, 1_000_000, 5_000_000));
    let before = sb.usdc_balance(&kp.pubkey());
    for _ in 0..2 {
        let hud = client.wallet_hud(WALLET).await.unwrap();
        let r = hud.receipt.clone().expect("a paid call has a receipt");
        assert_eq!(r.amount, 15_000);
        assert_eq!(
            r.transaction.as_deref(),
            sb.payments().last().map(|p| p.signature.as_str()),
            "the receipt names the settled transaction"
        );
    }
    let settled = sb.payments();
    assert_eq!(settled.len(), 2);
    assert!(
        settled.iter().all(|p| p.preflight_failures.is_empty()),
        "{settled:?}"
    );
    assert_eq!(before - sb.usdc_balance(&kp.pubkey()), 2 * 15_000);
}

/// Issue 11 item 2, against the sandbox: a server that reads only the documented form
/// refuses the hybrid/v0 payment before settlement. Without proof that it can never land, the
/// call pays nothing more and ends uncertain; the host is remembered, so the next call is
/// paid once, in the documented form, and settles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_form_is_remembered_and_the_next_call_uses_the_documented_one() {
    let sb = Sandbox::builder()
        .mode(Mode::Sova)
        .documented_form_only(true)
        .start()
        .await
        .unwrap();
    let kp = Keypair::from_seed([23; 32]);
    sb.fund_wallet(&kp.pubkey(), 1_000_000_000, 10_000_000);
    // 127.0.0.1 is not declared a Sova host: the general defaults (v0 + Memo, hybrid).
    let payer = Arc::new(
        Payer::builder()
            .self_paid(sova_x402::SelfPaid::Anywhere)
            .signer(Keypair::from_seed([23; 32]))
            .policy(Arc::new(SpendPolicy::unlimited()))
            .build()
            .unwrap(),
    );
    let client = x402_client(&sb, payer.clone());
    let e = client.wallet_hud(WALLET).await.unwrap_err();
    assert!(matches!(e, Error::PaymentUncertain { .. }), "{e}");
    assert!(
        sb.payments().is_empty(),
        "the refused payment was not settled"
    );
    assert!(payer.remembers_documented_form("127.0.0.1"));
    let hud = client.wallet_hud(WALLET).await.unwrap();
    assert_eq!(hud.receipt.as_ref().unwrap().amount, 15_000);
    let settled = sb.payments();
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].memo, None, "the documented transaction");
}

/// The deep bundle's 206 partial success against the sandbox: typed, the raw body kept; with
/// an API key no credits are taken; with x402 the unsettled payment is not trusted away on the
/// server's "0cr" word — our RPC cannot prove it dead yet, so it stays possibly charged (and
/// the ledger shows it never landed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_206_deep_partial_success_is_typed_and_never_retried() {
    let sb = Sandbox::builder()
        .deep_partial_failure(true)
        .job_duration(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let key = sb.create_api_key(100);
    let client = sova::intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .api_key(key.clone())
        .poll(fast_poll())
        .build()
        .unwrap();
    let e = client.deep_wait(MINT, 3).await.unwrap_err();
    let Error::PartialSuccess { partial, payment } = &e else {
        panic!("{e}")
    };
    assert!(payment.is_none());
    assert_eq!(partial.body["similarity"]["status"], "failed");
    assert!(e.to_string().contains("0cr charged"), "{e}");
    assert_eq!(sb.credits(&key), Some(100), "0 credits, as documented");

    let kp = Keypair::from_seed([8; 32]);
    sb.fund_wallet(&kp.pubkey(), 1_000_000_000, 10_000_000);
    let payer = payer(8, 1_000_000, 5_000_000);
    let client = x402_client(&sb, payer.clone());
    let e = client.deep_wait(MINT, 3).await.unwrap_err();
    assert!(matches!(e, Error::PartialSuccess { .. }), "{e}");
    assert_eq!(
        e.payment().unwrap().state,
        sova::PaymentState::MayHaveCharged
    );
    assert!(sb.payments().is_empty(), "the sandbox settled nothing");
    assert_eq!(sb.usdc_balance(&kp.pubkey()), 10_000_000);
    // One request per call (the x402 one after its 402 probe): a 206 is never retried.
    assert_eq!(
        sb.request_count("POST /api/v1/intel/token/{mint}/holders/deep"),
        3
    );
}

/// A failed job against the sandbox: queued once more, as documented, paid again with x402
/// (both payments on the ledger and in the receipts); the result comes from the retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_is_queued_again_once_and_both_payments_are_receipted() {
    let sb = Sandbox::builder()
        .job_duration(Duration::from_millis(100))
        .fail_jobs(1)
        .start()
        .await
        .unwrap();
    let kp = Keypair::from_seed([9; 32]);
    sb.fund_wallet(&kp.pubkey(), 1_000_000_000, 10_000_000);
    let client = sova::intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .x402(payer(9, 1_000_000, 5_000_000))
        .rpc_url(sb.rpc_url())
        .results_api_key(sb.create_api_key(0))
        .poll(fast_poll())
        .requeue_failed_jobs(true)
        .build()
        .unwrap();
    let r = client.holders_wait(MINT, 3).await.unwrap();
    assert_eq!(r.profiles.len(), 3);
    let receipts: Vec<_> = r.receipts().cloned().collect();
    assert_eq!(receipts.len(), 2);
    let settled = sb.payments();
    assert_eq!(settled.len(), 2);
    for (p, rec) in settled.iter().zip(&receipts) {
        assert_eq!(p.payer_signature, rec.payer_signature);
        assert_eq!(p.amount, 300_000);
    }
    assert_eq!(sb.usdc_balance(&kp.pubkey()), 10_000_000 - 600_000);
}
