//! Sova Intel fixtures (documented example shapes) decoded through the real endpoints.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use serde_json::Value;
use sova_protocol::http::{Response, StatusCode};
use sova_protocol::intel::*;
use sova_protocol::jobs::{FollowUp, JobHandle};
use sova_protocol::{BodyKind, DecodeErrorKind, Endpoint, ResponseError};

const WALLET: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
const W1: &str = "2rPTgeNDLWeY1GPcPtB7t76PXu9eZfpzcUHxDxkhYzAU";
const W2: &str = "3WQ4gLk2CL1FJJdH12MX2MiPE1GEbxsgYwwPEq7VSvyY";
const MINT: &str = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/intel/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn response(status: u16, content_type: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(body)
        .unwrap()
}

fn json(status: u16, name: &str) -> Response<Vec<u8>> {
    response(status, "application/json; charset=utf-8", fixture(name))
}

fn fetch_key(h: &JobHandle) -> String {
    match &h.follow_up {
        FollowUp::FetchResult { result_key } => result_key.clone(),
        other => panic!("expected FetchResult, got {other:?}"),
    }
}

fn api_error(err: ResponseError) -> sova_protocol::ApiError {
    match err {
        ResponseError::Api(e) => *e,
        other => panic!("expected an API error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Wallet HUD and profile

#[test]
fn hud_latest_shape() {
    let hud = WalletHudRequest::new(WALLET)
        .parse(&json(200, "wallet_hud.json"))
        .unwrap()
        .ready()
        .unwrap();
    assert_eq!(hud.wallet_address.as_deref(), Some(WALLET));
    assert_eq!(hud.signal_type.as_deref(), Some("wallet_behavior_v1"));
    assert_eq!(hud.behavior_code, BehaviorCode::Swing);
    assert_eq!(hud.behavior_category, None);
    assert_eq!(hud.win_rate, 0.62);
    assert_eq!(hud.trimmed_mean_pnl, 0.84);
    assert_eq!(hud.median_hold_time_hours, Some(38.5));
    assert_eq!(hud.avg_tx_value_sol, Some(2.4));
    assert_eq!(hud.avg_trades_per_day, Some(3.1));
    assert_eq!(hud.unique_tokens_per_day, Some(1.8));
    assert_eq!(hud.current_holdings_sol, Some(45.2));
    assert_eq!(hud.current_holdings_usd, Some(6780.5));
    assert_eq!(hud.typical_entry_mcap_usd, Some(15400.0));
    assert_eq!(hud.dominant_entry_mcap_bucket.as_deref(), Some("10-20k"));
    assert_eq!(hud.data_quality_tier, DataQualityTier::Gold);
    assert!(!hud.is_bot && !hud.is_whale);
    assert_eq!(hud.calculated_at, "2026-04-03T10:15:00.000Z");
    let p = hud.provenance.unwrap();
    assert_eq!(p.provider.as_deref(), Some("alpha-node"));
    assert_eq!(p.node_id, None);
    assert_eq!(p.schema_version.as_deref(), Some("1.0.0"));
    assert_eq!(p.source.as_deref(), Some("hybrid"));
    let range = p.data_range.unwrap();
    assert_eq!(range.from.as_deref(), Some("2025-10-01T00:00:00.000Z"));
    assert_eq!(range.to.as_deref(), Some("2026-04-03T10:00:00.000Z"));
    assert!(hud.extra.is_empty());
}

#[test]
fn hud_early_shape_with_full_word_code_and_nulls() {
    let hud = WalletHudRequest::new(WALLET)
        .parse(&json(200, "wallet_hud_early.json"))
        .unwrap()
        .ready()
        .unwrap();
    assert_eq!(
        hud.behavior_code,
        BehaviorCode::Unknown("SWING_TRADER".into())
    );
    assert_eq!(hud.behavior_code.as_str(), "SWING_TRADER");
    assert_eq!(hud.behavior_category, Some(BehaviorType::Swing));
    assert_eq!(hud.current_holdings_usd, None);
    assert_eq!(hud.median_hold_time_hours, None);
    assert_eq!(hud.provenance, None);
    assert_eq!(hud.data_quality_tier, DataQualityTier::Silver);
}

#[test]
fn hud_unknown_values_are_kept() {
    let hud = WalletHudRequest::new(W1)
        .parse(&json(200, "wallet_hud_unknown_values.json"))
        .unwrap()
        .ready()
        .unwrap();
    assert_eq!(hud.behavior_code, BehaviorCode::Unknown("ZQ".into()));
    assert_eq!(
        hud.behavior_category,
        Some(BehaviorType::Unknown("ARBITRAGEUR".into()))
    );
    assert_eq!(
        hud.data_quality_tier,
        DataQualityTier::Unknown("PLATINUM".into())
    );
    assert!(!hud.data_quality_tier.is_known());
    assert!(hud.is_bot);
    assert_eq!(hud.extra.get("chain"), Some(&Value::from("solana")));
    assert_eq!(hud.extra.get("riskScore"), Some(&Value::from(0.8)));
}

#[test]
fn get_fallback_202_is_queued() {
    for fetched in [
        WalletHudRequest::new(WALLET)
            .parse(&json(202, "wallet_queued_202.json"))
            .unwrap()
            .ready()
            .map(|_| ()),
        WalletProfileRequest::new(WALLET)
            .parse(&json(202, "wallet_queued_202.json"))
            .unwrap()
            .ready()
            .map(|_| ()),
    ] {
        assert!(fetched.is_none());
    }
    let Fetched::Queued(q) = WalletProfileRequest::new(WALLET)
        .parse(&json(202, "wallet_queued_202.json"))
        .unwrap()
    else {
        panic!("expected Queued");
    };
    assert_eq!(q.status, "queued");
    assert_eq!(q.wallet_address.as_deref(), Some(WALLET));
    assert_eq!(q.job_id, "intel-flash-abc123");
    assert_eq!(q.prepaid_id(), "intel-flash-abc123");
    assert_eq!(
        q.monitoring_url.as_deref(),
        Some("/api/v1/jobs/intel-flash-abc123")
    );
    assert_eq!(q.message.as_deref(), Some("Wallet analysis queued."));
    assert_eq!(q.status_request().job_id, "intel-flash-abc123");
}

#[test]
fn profile_latest_shape() {
    let p = WalletProfileRequest::new(WALLET)
        .parse(&json(200, "wallet_profile_full.json"))
        .unwrap()
        .ready()
        .unwrap();
    assert_eq!(p.status, "ok");
    assert_eq!(p.wallet_address, WALLET);
    let s = &p.summary;
    assert_eq!(
        s.last_analyzed_at.as_deref(),
        Some("2026-04-03T10:15:00.000Z")
    );
    assert_eq!(s.realized_pnl, 152.37);
    assert_eq!(s.profitable_trades_count, Some(87));
    assert_eq!(s.total_trades_count, 140);
    assert_eq!(s.current_sol_balance, Some(23.41));
    assert_eq!(s.known_type.as_deref(), Some("smart_money"));
    assert_eq!(s.known_label, None);
    let kol = p.kol.as_ref().unwrap();
    assert_eq!(kol.name, "Ansem");
    assert_eq!(kol.twitter.as_deref(), Some("https://x.com/blknoiz06"));
    assert_eq!(kol.telegram, None);
    let hud = p.hud.as_ref().unwrap();
    assert_eq!(hud.behavior_code, BehaviorCode::Swing);
    assert_eq!(
        hud.provenance.as_ref().unwrap().node_id.as_deref(),
        Some("node-eu-1")
    );
    assert_eq!(hud.provenance.as_ref().unwrap().data_range, None);
    let b = p.behavior.as_ref().unwrap();
    assert_eq!(b.trading_style.as_deref(), Some("swing"));
    assert_eq!(b.speed_category.as_deref(), Some("medium"));
    assert_eq!(b.avg_hold_time_hours, Some(52.1));
    assert_eq!(b.median_hold_time_hours, Some(38.5));
    assert_eq!(b.buy_sell_ratio, Some(1.12));
    assert_eq!(b.exit_pattern, Some(ExitPattern::PartialExit));
    assert_eq!(b.avg_entry_mcap_usd, Some(48200.0));
    assert_eq!(b.typical_entry_mcap_usd, Some(15400.0));
    assert_eq!(b.entry_mcap_p25_usd, Some(9800.0));
    assert_eq!(b.entry_mcap_p75_usd, Some(31000.0));
    assert_eq!(b.dominant_entry_mcap_bucket.as_deref(), Some("10-20k"));
    assert_eq!(b.dominant_entry_mcap_bucket_share, Some(0.41));
    let all = p.pnl.as_ref().unwrap().all_time.as_ref().unwrap();
    assert_eq!(all.realized_pnl_sol, 152.37);
    assert_eq!(all.unrealized_pnl_sol, -4.8);
    assert_eq!(all.net_pnl_sol, 147.57);
    assert_eq!(all.win_rate, 0.62);
    assert!(p.extra.is_empty());
}

#[test]
fn profile_early_shape_with_8_field_hud() {
    let p = WalletProfileRequest::new(W2)
        .parse(&json(200, "wallet_profile_early.json"))
        .unwrap()
        .ready()
        .unwrap();
    assert_eq!(p.kol, None, "kol was added later");
    assert_eq!(p.summary.current_sol_balance, None);
    assert_eq!(p.summary.realized_pnl, -3.5);
    let hud = p.hud.unwrap();
    assert_eq!(hud.behavior_code.as_str(), "SWING_TRADER");
    assert_eq!(hud.wallet_address, None);
    assert_eq!(hud.signal_type, None);
    assert_eq!(hud.avg_tx_value_sol, None);
    assert_eq!(hud.median_hold_time_hours, Some(30.2));
    assert_eq!(hud.data_quality_tier, DataQualityTier::Bronze);
    let b = p.behavior.unwrap();
    assert_eq!(b.exit_pattern, Some(ExitPattern::AllAtOnce));
    assert_eq!(b.avg_hold_time_hours, None);
    assert_eq!(b.entry_mcap_p25_usd, None);
    assert_eq!(p.pnl.unwrap().all_time, None);
}

#[test]
fn profile_with_skill_md_short_names() {
    let p = WalletProfileRequest::new("7gWX6zwGYqaLDUM3q9tv3F3Z1sq3nSFmhE7skZcRdukc")
        .parse(&json(200, "wallet_profile_skill_names.json"))
        .unwrap()
        .ready()
        .unwrap();
    assert_eq!(p.summary.total_trades_count, 33);
    assert_eq!(p.summary.current_sol_balance, Some(1.25));
    assert_eq!(p.summary.profitable_trades_count, None);
    assert_eq!(p.summary.last_analyzed_at, None);
    assert!(
        p.summary.extra.is_empty(),
        "aliases are consumed, not left in extra"
    );
    assert!(p.kol.is_none() && p.hud.is_none() && p.behavior.is_none() && p.pnl.is_none());
}

#[test]
fn wallet_tokens_page() {
    let r = WalletTokensRequest::new(WALLET)
        .parse(&json(200, "wallet_tokens.json"))
        .unwrap();
    assert_eq!(r.total, 47);
    assert_eq!(r.page, 2);
    assert_eq!(r.page_size, 20);
    assert_eq!(r.page_count(), 3);
    assert!(r.has_next_page());
    assert_eq!(r.data.len(), 2);
    let row = &r.data[0];
    assert_eq!(row.token_address, MINT);
    assert_eq!(row.realized_pnl_sol, 12.4);
    assert_eq!(row.unrealized_pnl_sol, 0.0);
    assert_eq!(row.roi, 1.5);
    assert_eq!(row.total_sol_spent, 8.3);
    assert_eq!(row.win_rate, 0.75);
    assert_eq!(r.data[1].realized_pnl_sol, -2.1);
}

// ---------------------------------------------------------------------------------------------
// Batch HUD: both documented shapes

#[test]
fn batch_hud_latest_shape() {
    let r = BatchHudRequest::new([WALLET, W1, W2])
        .parse(&json(200, "batch_hud_latest.json"))
        .unwrap();
    assert_eq!(r.huds.len(), 2);
    let h = &r.huds[WALLET];
    assert_eq!(h.behavior_code, BehaviorCode::Swing);
    assert_eq!(h.signal_type, None);
    assert_eq!(h.current_holdings_sol, None);
    let h1 = &r.huds[W1];
    assert_eq!(h1.behavior_code, BehaviorCode::Momentum);
    assert_eq!(h1.data_quality_tier, DataQualityTier::Insufficient);
    assert!(h1.is_bot && h1.is_whale);
    assert_eq!(r.queued.len(), 1);
    assert_eq!(r.queued[0].wallet_address, W2);
    assert_eq!(r.queued[0].job_id, "intel-flash-def456");
    assert_eq!(
        r.queued[0].monitoring_url.as_deref(),
        Some("/api/v1/jobs/intel-flash-def456")
    );
    assert_eq!(r.queued[0].status_request().job_id, "intel-flash-def456");
    assert_eq!(
        r.skipped,
        vec!["11111111111111111111111111111111".to_owned()]
    );
    assert!(r.not_found.is_empty());
    assert_eq!(r.calculated_at, None);
    assert!(!r.is_complete());
}

#[test]
fn batch_hud_early_shape() {
    let r = BatchHudRequest::new([WALLET])
        .parse(&json(200, "batch_hud_early.json"))
        .unwrap();
    assert_eq!(r.huds.len(), 1);
    let h = &r.huds[WALLET];
    assert_eq!(h.behavior_code.as_str(), "SWING_TRADER");
    assert_eq!(h.behavior_category, Some(BehaviorType::Swing));
    assert_eq!(h.median_hold_time_hours, Some(41.0));
    assert!(r.queued.is_empty());
    assert!(r.skipped.is_empty());
    assert_eq!(
        r.not_found,
        vec![
            "7gWX6zwGYqaLDUM3q9tv3F3Z1sq3nSFmhE7skZcRdukc".to_owned(),
            "Dr6Qfbo7ZoAQKyYKccGsxURn2NReW5mFJK5HUL4fSApL".to_owned()
        ]
    );
    assert_eq!(r.calculated_at.as_deref(), Some("2026-03-12T08:00:02.000Z"));
}

// ---------------------------------------------------------------------------------------------
// POST jobs: 202 bodies and result keys

#[test]
fn holders_accepted() {
    let a = HoldersRequest::new(MINT)
        .parse(&json(202, "holders_accepted_202.json"))
        .unwrap();
    assert_eq!(a.status, "queued");
    assert_eq!(a.job_id, "intel-holders-abc123");
    assert_eq!(a.request_id, "req-holders-7f3a");
    assert_eq!(
        a.monitoring_url.as_deref(),
        Some("/api/v1/jobs/intel-holders-abc123")
    );
    let h = a.holder_profiles_handle();
    assert_eq!(h.job_id.as_deref(), Some("intel-holders-abc123"));
    assert_eq!(
        fetch_key(&h),
        "holder-profiles:result:intel-holders-abc123",
        "built from jobId, not requestId"
    );
    assert_eq!(a.status_request().job_id, "intel-holders-abc123");
    let fetch: ResultByKeyRequest<HolderProfilesResult> =
        ResultByKeyRequest::for_handle(&h).unwrap();
    assert_eq!(fetch.key, "holder-profiles:result:intel-holders-abc123");
}

#[test]
fn a_200_answer_to_a_post_job_is_accepted_too() {
    let a = HoldersRequest::new(MINT)
        .parse(&json(200, "holders_accepted_202.json"))
        .unwrap();
    assert_eq!(a.job_id, "intel-holders-abc123");
}

#[test]
fn holders_agent_accepted() {
    let a = HoldersAgentRequest::new(MINT)
        .top_n(10)
        .parse(&json(202, "holders_agent_accepted_202.json"))
        .unwrap();
    let job = "holder-profiles-DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263-10-1743600000000";
    assert_eq!(a.token_mint.as_deref(), Some(MINT));
    assert_eq!(a.top_n, Some(10));
    assert_eq!(a.job_id, job);
    assert_eq!(a.request_id, "req-agent-91bc");
    assert_eq!(
        a.result_key.as_deref(),
        Some(format!("holder-profiles:result:{job}").as_str())
    );
    let h = a.handle();
    assert_eq!(h.job_id.as_deref(), Some(job));
    assert_eq!(fetch_key(&h), format!("holder-profiles:agent:result:{job}"));
    assert_eq!(
        fetch_key(&a.full_result_handle()),
        format!("holder-profiles:result:{job}")
    );
}

#[test]
fn similarity_accepted() {
    let a = SimilarityRequest::new([W1, W2])
        .parse(&json(202, "similarity_accepted_202.json"))
        .unwrap();
    assert_eq!(a.job_id, "intel-sim-abc123");
    assert_eq!(a.request_id, "sim-req-5d2e");
    let h = a.similarity_handle();
    assert_eq!(h.job_id.as_deref(), Some("intel-sim-abc123"));
    assert_eq!(
        fetch_key(&h),
        "similarity:result:sim-req-5d2e",
        "built from requestId, not jobId"
    );
}

#[test]
fn similarity_agent_accepted() {
    let a = SimilarityAgentRequest::new([W1, W2, WALLET])
        .parse(&json(202, "similarity_agent_accepted_202.json"))
        .unwrap();
    assert_eq!(a.wallet_count, Some(3));
    assert_eq!(a.job_id, "intel-sim-agent-42");
    let h = a.handle();
    assert_eq!(h.job_id.as_deref(), Some("intel-sim-agent-42"));
    assert_eq!(fetch_key(&h), "similarity:agent:result:sim-req-agent-77");
    assert_eq!(a.full_result_key(), "similarity:result:sim-req-agent-77");
}

#[test]
fn deep_accepted_with_null_similarity_job() {
    let a = DeepRequest::new(MINT)
        .parse(&json(202, "deep_accepted_202.json"))
        .unwrap();
    assert_eq!(a.status, "queued");
    assert_eq!(a.token_mint.as_deref(), Some(MINT));
    assert_eq!(a.top_n, Some(20));
    assert!(
        a.message
            .as_deref()
            .unwrap()
            .starts_with("Deep analysis queued")
    );
    assert_eq!(a.holder_profiles.job_id, "hp-job-abc123");
    assert_eq!(
        a.holder_profiles.request_id.as_deref(),
        Some("hp-req-abc123")
    );
    assert_eq!(a.similarity.job_id, None);
    assert_eq!(a.similarity.request_id, "sim-req-deep-abc123");
    let hp = a.holder_profiles_handle();
    assert_eq!(hp.job_id.as_deref(), Some("hp-job-abc123"));
    assert_eq!(fetch_key(&hp), "holder-profiles:result:hp-job-abc123");
    let bundle = a.handle();
    assert_eq!(
        bundle.job_id.as_deref(),
        Some("hp-job-abc123"),
        "the similarity half waits on the holder job"
    );
    assert_eq!(
        bundle.follow_up,
        FollowUp::PollResultKey {
            result_key: "similarity:result:sim-req-deep-abc123".into()
        }
    );
    assert_eq!(
        bundle.also,
        vec!["holder-profiles:result:hp-job-abc123".to_owned()]
    );
    assert_eq!(JobHandle::decode(&bundle.encode()).unwrap(), bundle);
}

// ---------------------------------------------------------------------------------------------
// Job status

#[test]
fn job_status_shapes() {
    let req = JobStatusRequest::new("intel-holders-abc123");
    let s = req.parse(&json(200, "job_status_active.json")).unwrap();
    assert_eq!(s.status, JobPhase::Active);
    assert_eq!(s.percent(), Some(45.0));
    assert!(!s.status.is_terminal());

    let s = req.parse(&json(200, "job_status_completed.json")).unwrap();
    assert_eq!(s.status, JobPhase::Completed);
    assert!(s.status.is_terminal());

    let s = req.parse(&json(200, "job_status_detailed.json")).unwrap();
    assert_eq!(s.status, JobPhase::Paused);
    assert_eq!(s.percent(), None);
    let Some(JobProgress::Other(obj)) = &s.progress else {
        panic!("object progress expected")
    };
    assert_eq!(obj["stage"], "fetching-holders");
    assert_eq!(s.extra["attempts"], 1);
    assert_eq!(s.extra["queue"], "holder-profiles");

    let s = req.parse(&json(200, "job_status_failed.json")).unwrap();
    assert_eq!(s.status, JobPhase::Failed);
    assert_eq!(
        s.error_message(),
        Some("RPC timeout while fetching token accounts")
    );

    let s = req.parse(&json(200, "job_status_unknown.json")).unwrap();
    assert_eq!(s.status, JobPhase::Unknown("waiting-children".into()));
    assert!(!s.status.is_terminal());
    assert_eq!(s.progress, None);
}

// ---------------------------------------------------------------------------------------------
// Results by key

#[test]
fn holder_profiles_result() {
    let r: HolderProfilesResult =
        ResultByKeyRequest::new("holder-profiles:result:intel-holders-abc123")
            .parse(&json(200, "holder_profiles_result.json"))
            .unwrap();
    assert_eq!(r.mode, ProfilesMode::Token);
    assert_eq!(r.token_mint.as_deref(), Some(MINT));
    assert_eq!(r.metadata.total_holders_requested, 5);
    assert_eq!(r.metadata.total_holders_analyzed, 4);
    assert_eq!(r.metadata.total_processing_time_ms, 48213);
    assert_eq!(r.metadata.avg_processing_time_per_wallet_ms, 12053.25);
    assert_eq!(r.metadata.failed_holders, Some(1));
    assert_eq!(r.profiles.len(), 4);

    let p = &r.profiles[0];
    assert_eq!(p.wallet_address, W1);
    assert_eq!(p.rank, 1);
    assert_eq!(p.supply_percent, 4.21);
    assert_eq!(p.behavior_type, Some(BehaviorType::Swing));
    assert_eq!(p.exit_pattern, Some(ExitPattern::PartialExit));
    assert_eq!(p.median_hold_time_hours, Some(52.3));
    assert_eq!(p.avg_hold_time_hours, Some(71.8));
    assert_eq!(p.daily_flip_ratio, Some(0.03));
    assert_eq!(p.data_quality_tier, DataQualityTier::Gold);
    assert_eq!(p.confidence, 0.87);
    assert_eq!(p.completed_cycle_count, 24);
    assert_eq!(p.token_holding_value_sol, Some(312.5));
    assert_eq!(p.wallet_realized_pnl_sol, Some(88.2));
    assert_eq!(p.wallet_pnl_sol, Some(91.4));
    assert_eq!(p.exit_rate, Some(0.62));
    assert_eq!(p.total_tokens_traded, Some(57));
    assert_eq!(p.analysis_skipped, Some(false));
    assert_eq!(p.sol_balance, Some(14.2));
    assert_eq!(p.current_holdings.as_ref().map(Vec::len), Some(1));

    let unclassified = &r.profiles[1];
    assert_eq!(
        unclassified.behavior_type, None,
        "null = fewer than 2 completed exits"
    );
    assert_eq!(unclassified.wallet_pnl_sol, None);
    assert_eq!(unclassified.daily_flip_ratio, None);

    let burn = &r.profiles[2];
    assert_eq!(burn.known_type.as_deref(), Some("BURN"));
    assert_eq!(burn.known_label.as_deref(), Some("Solana incinerator"));
    assert_eq!(burn.analysis_skipped, Some(true));

    let odd = &r.profiles[3];
    assert_eq!(
        odd.behavior_type,
        Some(BehaviorType::Unknown("COPY_TRADER".into()))
    );
    assert_eq!(
        odd.exit_pattern,
        Some(ExitPattern::Unknown("laddered".into()))
    );
    assert_eq!(odd.extra["currentHoldingsCount"], 12);
}

#[test]
fn agent_holder_profiles_result() {
    let r: AgentHolderProfilesResult = ResultByKeyRequest::new("holder-profiles:agent:result:x")
        .parse(&json(200, "agent_holder_profiles_result.json"))
        .unwrap();
    let a = &r.aggregate;
    assert_eq!(a.total_holders, 10);
    assert_eq!(a.analyzed_holders, 8);
    assert_eq!(a.top1_supply_pct, Some(4.21));
    assert_eq!(a.top5_supply_pct, Some(11.7));
    assert_eq!(a.avg_wallet_pnl_sol, Some(23.6));
    assert_eq!(a.behavior_distribution.len(), 4);
    assert_eq!(
        a.behavior_distribution[0].behavior_type,
        Some(BehaviorType::Swing)
    );
    assert_eq!(a.behavior_distribution[0].count, 3);
    assert_eq!(a.behavior_distribution[0].supply_pct, Some(6.4));
    assert_eq!(
        a.behavior_distribution[1].behavior_type,
        Some(BehaviorType::Fresh)
    );

    assert_eq!(r.profiles.len(), 2);
    let p = &r.profiles[0];
    assert_eq!(p.wallet_address, W1);
    assert_eq!(p.rank, 1);
    assert_eq!(p.exit_pattern, Some(ExitPattern::PartialExit));
    assert_eq!(p.completed_cycle_count, 24);
    let hs = p.holdings_summary.as_ref().unwrap();
    assert_eq!(hs.total_positions, 9);
    assert_eq!(hs.total_current_holdings_value_sol, 402.7);
    assert_eq!(hs.top_holdings.len(), 2);
    assert_eq!(hs.top_holdings[0].token_address, MINT);
    assert_eq!(hs.top_holdings[0].value_sol, 312.5);
    assert_eq!(r.profiles[1].behavior_type, None);
    assert_eq!(r.profiles[1].wallet_pnl_sol, None);

    let m = r.metadata.unwrap();
    assert_eq!(m.token_mint.as_deref(), Some(MINT));
    assert_eq!(m.total_holders_requested, Some(10));
    assert_eq!(m.total_holders_analyzed, Some(8));
}

#[test]
fn similarity_result() {
    let r: SimilarityResult = ResultByKeyRequest::new("similarity:result:sim-req-5d2e")
        .parse(&json(200, "similarity_result.json"))
        .unwrap();
    assert_eq!(r.vector_type_used.as_deref(), Some("combined"));
    let g = r.global_metrics.as_ref().unwrap();
    assert_eq!(g.average_similarity, Some(0.34));
    assert_eq!(g.most_similar_pairs.len(), 1);
    assert_eq!(g.most_similar_pairs[0].wallet_a, W1);
    assert_eq!(g.most_similar_pairs[0].wallet_b, W2);
    assert_eq!(g.most_similar_pairs[0].similarity_score, Some(0.81));
    assert_eq!(g.most_similar_pairs[0].shared_token_count, Some(23));

    assert_eq!(r.pairwise_similarities.len(), 2);
    let p = &r.pairwise_similarities[0];
    assert_eq!(p.binary_score, Some(0.72));
    assert_eq!(p.capital_score, Some(0.94));
    assert_eq!(p.shared_tokens.len(), 2);
    assert_eq!(p.shared_tokens[0].mint, MINT);
    assert_eq!(p.binary_shared_token_count, Some(23));
    assert_eq!(p.capital_shared_token_count, Some(18));
    assert!(r.pairwise_similarities[1].shared_tokens.is_empty());

    assert_eq!(r.unique_tokens_per_wallet.len(), 3);
    assert_eq!(r.unique_tokens_per_wallet[W1].binary, 57);
    assert_eq!(r.unique_tokens_per_wallet[W1].capital, 41);
    let cex = &r.wallet_labels["7gWX6zwGYqaLDUM3q9tv3F3Z1sq3nSFmhE7skZcRdukc"];
    assert_eq!(cex.known_type.as_deref(), Some("cex_deposit"));
    assert_eq!(cex.known_label.as_deref(), Some("Binance deposit"));
    assert_eq!(r.wallet_labels[W1].known_type, None);
}

#[test]
fn agent_similarity_result() {
    let r: AgentSimilarityResult =
        ResultByKeyRequest::new("similarity:agent:result:sim-req-agent-77")
            .parse(&json(200, "agent_similarity_result.json"))
            .unwrap();
    assert_eq!(r.coordination_score, Some(0.68));
    assert_eq!(r.pairs.len(), 4);
    let p = &r.pairs[0];
    assert_eq!(p.similarity_score, 0.81);
    assert_eq!(p.shared_token_count, 23);
    assert_eq!(p.portfolio_size_a, Some(57));
    assert_eq!(p.portfolio_size_b, Some(31));
    assert_eq!(p.overlap_pct_a, Some(0.4));
    assert_eq!(p.overlap_pct_b, Some(0.74));
    assert_eq!(p.flag, Some(PairFlag::HighSimilarityAndOverlap));
    assert_eq!(r.pairs[1].flag, Some(PairFlag::HighSimilarity));
    assert_eq!(r.pairs[1].portfolio_size_a, None);
    assert_eq!(
        r.pairs[2].flag,
        Some(PairFlag::Unknown("COORDINATED_EXIT".into()))
    );
    assert_eq!(r.pairs[3].flag, None);
    assert_eq!(
        r.global_metrics.as_ref().unwrap().average_similarity,
        Some(0.31)
    );
    let m = r.metadata.unwrap();
    assert_eq!(m.wallets_analyzed, Some(4));
    assert_eq!(m.total_pairs, Some(6));
    assert_eq!(m.meaningful_pairs, Some(4));
    assert_eq!(m.flagged_pairs, Some(3));
}

#[test]
fn deep_similarity_key_not_ready_is_a_404() {
    let handle = DeepRequest::new(MINT)
        .parse(&json(202, "deep_accepted_202.json"))
        .unwrap()
        .handle();
    let request = ResultByKeyRequest::<SimilarityResult>::for_handle(&handle).unwrap();
    assert_eq!(request.key, "similarity:result:sim-req-deep-abc123");
    let err = request.parse(&json(404, "error_404.json")).unwrap_err();
    assert!(is_not_ready(&err));
    let e = api_error(err);
    assert_eq!(e.status, StatusCode::NOT_FOUND);
    assert_eq!(e.message(), Some("Result not found or expired"));
    assert_eq!(e.body_kind, BodyKind::Json);
}

#[test]
fn pricing_is_raw_json() {
    let v = PricingRequest::new()
        .parse(&json(200, "pricing.json"))
        .unwrap();
    assert_eq!(v["creditPriceUsd"], 0.015);
    assert_eq!(v["endpoints"][2]["credits"], 35);
}

// ---------------------------------------------------------------------------------------------
// Error bodies

#[test]
fn nestjs_validation_error() {
    let err = SimilarityRequest::new([W1, W2])
        .parse(&json(400, "error_400_nestjs.json"))
        .unwrap_err();
    assert!(!is_not_ready(&err));
    let e = api_error(err);
    assert_eq!(e.status, StatusCode::BAD_REQUEST);
    assert_eq!(e.errors.len(), 2);
    assert_eq!(
        e.errors[0].message,
        "wallets must contain at least 2 elements"
    );
    assert_eq!(e.errors[1].code.as_deref(), Some("Bad Request"));
    assert_eq!(e.body_kind, BodyKind::Json);
}

#[test]
fn unauthorized_error() {
    let e = api_error(
        WalletHudRequest::new(WALLET)
            .parse(&json(401, "error_401.json"))
            .unwrap_err(),
    );
    assert_eq!(e.status, StatusCode::UNAUTHORIZED);
    assert_eq!(e.message(), Some("Invalid or inactive API key."));
    assert!(e.has_code("Unauthorized"));
}

#[test]
fn payment_required_body_and_header() {
    let header = sova_protocol::x402::b64::encode(&fixture("payment_required_header.json"));
    let mut resp = json(402, "error_402.json");
    resp.headers_mut()
        .insert("payment-required", header.parse().unwrap());
    let e = api_error(WalletProfileRequest::new(WALLET).parse(&resp).unwrap_err());
    assert_eq!(e.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(e.required_credits, Some(5));
    assert_eq!(e.message(), Some("Payment required"));
    let pr = e.payment_required.as_ref().unwrap();
    assert_eq!(pr.accepts.len(), 1);
    assert_eq!(pr.accepts[0].amount.get(), 75_000);
    assert_eq!(
        pr.accepts[0].pay_to,
        "47oR9hYV7v1HSk8KeCgVj2x9CXLRCcXGhFbXBdgs6Eno"
    );

    // Without the header (an API-key caller out of credits) the body alone is read.
    let e = api_error(
        HoldersRequest::new(MINT)
            .parse(&json(402, "error_402.json"))
            .unwrap_err(),
    );
    assert_eq!(e.required_credits, Some(5));
    assert!(e.payment_required.is_none());
}

#[test]
fn known_wallet_422() {
    let e = api_error(
        WalletHudRequest::new(WALLET)
            .parse(&json(422, "error_422.json"))
            .unwrap_err(),
    );
    assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e.skip_reason.as_deref(), Some("known-wallet"));
    assert!(e.message().unwrap().contains("system or program wallet"));
}

#[test]
fn html_502_from_a_proxy() {
    let resp = response(502, "text/html", fixture("error_502.html"));
    let e = api_error(BatchHudRequest::new([WALLET]).parse(&resp).unwrap_err());
    assert_eq!(e.status, StatusCode::BAD_GATEWAY);
    assert_eq!(e.body_kind, BodyKind::Html);
    assert!(e.errors.is_empty());
    assert!(e.body_text().contains("502 Bad Gateway"));
    assert!(e.to_string().contains("HTML"));
}

#[test]
fn truncated_fixture_on_200() {
    let mut body = fixture("wallet_profile_full.json");
    body.truncate(body.len() / 2);
    let err = WalletProfileRequest::new(WALLET)
        .parse(&response(200, "application/json", body))
        .unwrap_err();
    let d = err.as_decode().unwrap();
    assert!(
        matches!(d.kind, DecodeErrorKind::Truncated { .. }),
        "{:?}",
        d.kind
    );
}

#[test]
fn every_fixture_survives_every_endpoint_without_panicking() {
    let dir = format!("{}/tests/fixtures/intel", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(names.len() >= 30);
    for name in names {
        let body = fixture(&name);
        for status in [200, 202, 206, 400, 404, 500] {
            for cut in [body.len(), body.len() / 3] {
                let r = response(status, "application/json", body[..cut].to_vec());
                let _ = WalletHudRequest::new(WALLET).parse(&r);
                let _ = WalletProfileRequest::new(WALLET).parse(&r);
                let _ = WalletTokensRequest::new(WALLET).parse(&r);
                let _ = BatchHudRequest::new([WALLET]).parse(&r);
                let _ = HoldersRequest::new(MINT).parse(&r);
                let _ = HoldersAgentRequest::new(MINT).parse(&r);
                let _ = DeepRequest::new(MINT).parse(&r);
                let _ = SimilarityRequest::new([W1, W2]).parse(&r);
                let _ = SimilarityAgentRequest::new([W1, W2]).parse(&r);
                let _ = JobStatusRequest::new("j").parse(&r);
                let _ = ResultByKeyRequest::<HolderProfilesResult>::new("k").parse(&r);
                let _ = ResultByKeyRequest::<AgentHolderProfilesResult>::new("k").parse(&r);
                let _ = ResultByKeyRequest::<SimilarityResult>::new("k").parse(&r);
                let _ = ResultByKeyRequest::<AgentSimilarityResult>::new("k").parse(&r);
                let _ = PricingRequest::new().parse(&r);
            }
        }
    }
}
