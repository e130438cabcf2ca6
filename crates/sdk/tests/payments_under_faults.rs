//! Money safety against a failing or hostile server, measured on the sandbox ledger.
//!
//! Per (mode, client kind) — self-paid (`Mode::Sova`) and sponsored (`Mode::Standard`), async
//! and blocking — 2,000 paid logical calls from 16 concurrent tasks (threads for the blocking
//! client), every fault kind of the sandbox interleaved: the failing server (dropped
//! connections around settlement, 5xx, 503/429 up front, latency, settlement pending,
//! expired blockhashes) and the hostile one (settle then claim the answer was free or the
//! payment invalid or refused, hold the payment and land it after a lie, advertise a stale
//! `lastValidBlockHeight`, hang then refuse connections), plus the honest 202 fallback of a
//! cold wallet.
//!
//! Every call uses its own wallet address, so each fault hits exactly one logical call and
//! every ledger payment maps back to the call that paid it (through the request path the
//! sandbox records). Each fault kind has its own payer and spend policy (one keypair for
//! all), so "budget − ledger" is exact per kind. For every call the test keeps the payer
//! signature the client reported (the receipt on success, the payment reference of an
//! error) and checks, after every held transaction was submitted:
//!
//! * (a) every ledger payment's payer signature was reported by the client;
//! * (b) no logical call has more than one ledger payment;
//! * (c) each policy's `spent` is at least what the ledger took for its calls;
//! * (d) every successful call has a receipt whose signature is on the ledger;
//! * (e) a call that reported no signature has no ledger payment;
//! * (f) a call with a ledger payment either delivered or says it may have charged;
//! * liveness: the healthy kinds (none, the honest 202, latency, 429, 503 up front, a drop
//!   before settlement) deliver every call, and every fault kind fired at least once (a
//!   fault left installed on all of its calls' paths never fired), so a client that never
//!   pays, or a schedule that never hits, fails.
//!
//! The hostile kinds include settle-then-202-forever (the call is followed by one
//! `resume_paid` of its handle: one logical request), settle then a truncated body, and a
//! malformed challenge. Raw requests across routes of different prices and overpayment are
//! measured by `tests/money_truth.rs` (`raw_requests_pay_their_own_route_price`) and the
//! sandbox's exact-amount verifier.
//!
//! A table per fault kind is printed (`--nocapture` or on failure): calls, delivered (`Ok`),
//! reported possibly charged (`may_have_charged()`), ledger payments, double payments,
//! unreported ledger payments, silent charges (f), budget − ledger (base units). Set
//! `SOVA_FAULTS_VERBOSE=1` to list every call and the faults left unused.
//!
//! The clients that meet `timeout_then_refused` (attempt timeout 600 ms; the answer hangs
//! 2.5 s and the port refuses connections for 1.2 s) talk to a port of their own, one per
//! task, so the refusal hits only that call. `expire_blockhash` kills every blockhash of the
//! ledger, including the ones cached by the payers and those of held transactions, so the
//! next call of each kind after one (about 5 per kind and run) meets its fault with a payment
//! that cannot land: it still counts, but tests the fault less.
#![cfg(feature = "async")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sova::protocol::jobs::PollConfig;
use sova::protocol::retry::RetryPolicy;
use sova_sandbox::{Fault, FaultKind, Mode, PaymentRecord, Sandbox, SandboxBuilder};
use sova_x402::{Keypair, Payer, Pubkey, SpendPolicy, programs};

/// Paid logical calls per (mode, client kind): 2,000, or `SOVA_FAULTS_CALLS`.
fn calls_per_run() -> usize {
    std::env::var("SOVA_FAULTS_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}
/// Concurrent tasks (threads for the blocking client).
const TASKS: usize = 16;
/// The attempt timeout of the clients that meet `timeout_then_refused`; the hang is longer,
/// the refusal covers the retries.
const VICTIM_ATTEMPT: Duration = Duration::from_millis(600);

/// What happens to one logical call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    None,
    Honest202,
    DropBeforeSettlement,
    DropAfterSettlement,
    StatusAfterSettlement500,
    SettlementPending,
    ExpireBlockhash,
    Status503,
    RateLimit,
    Latency,
    SettleThen202,
    SettleThen402Invalid,
    SettleThen4xx,
    SettleThen500,
    Hold402,
    Hold202,
    Hold503,
    StaleLastValidHeight,
    TimeoutThenRefused,
    SettleThen202Forever,
    SettleThenTruncated,
    MalformedChallenge,
}

impl Kind {
    const ALL: [Kind; 22] = [
        Kind::None,
        Kind::Honest202,
        Kind::DropBeforeSettlement,
        Kind::DropAfterSettlement,
        Kind::StatusAfterSettlement500,
        Kind::SettlementPending,
        Kind::ExpireBlockhash,
        Kind::Status503,
        Kind::RateLimit,
        Kind::Latency,
        Kind::SettleThen202,
        Kind::SettleThen402Invalid,
        Kind::SettleThen4xx,
        Kind::SettleThen500,
        Kind::Hold402,
        Kind::Hold202,
        Kind::Hold503,
        Kind::StaleLastValidHeight,
        Kind::TimeoutThenRefused,
        Kind::SettleThen202Forever,
        Kind::SettleThenTruncated,
        Kind::MalformedChallenge,
    ];

    /// A healthy server (or a transient fault before anything is charged): every call must
    /// be delivered, so a client that never pays, or gives up, fails the test.
    fn healthy(self) -> bool {
        matches!(
            self,
            Kind::None
                | Kind::Honest202
                | Kind::Latency
                | Kind::RateLimit
                | Kind::Status503
                | Kind::DropBeforeSettlement
        )
    }

    fn name(self) -> &'static str {
        match self {
            Kind::None => "none",
            Kind::Honest202 => "honest 202 fallback",
            Kind::DropBeforeSettlement => "drop_before_settlement",
            Kind::DropAfterSettlement => "drop_after_settlement",
            Kind::StatusAfterSettlement500 => "status_after_settlement 500",
            Kind::SettlementPending => "settlement_pending",
            Kind::ExpireBlockhash => "expire_blockhash",
            Kind::Status503 => "status 503",
            Kind::RateLimit => "rate_limit",
            Kind::Latency => "latency",
            Kind::SettleThen202 => "settle_then_202",
            Kind::SettleThen402Invalid => "settle_then_402_invalid",
            Kind::SettleThen4xx => "settle_then_4xx 422",
            Kind::SettleThen500 => "settle_then_500",
            Kind::Hold402 => "hold_and_submit_later 402",
            Kind::Hold202 => "hold_and_submit_later 202",
            Kind::Hold503 => "hold_and_submit_later 503",
            Kind::StaleLastValidHeight => "stale_last_valid_height",
            Kind::TimeoutThenRefused => "timeout_then_refused",
            Kind::SettleThen202Forever => "settle_then_202_forever+resume",
            Kind::SettleThenTruncated => "settle_then_truncated_body",
            Kind::MalformedChallenge => "malformed_challenge",
        }
    }

    fn fault(self) -> Option<FaultKind> {
        Some(match self {
            Kind::None | Kind::Honest202 => return None,
            Kind::DropBeforeSettlement => FaultKind::DropBeforeSettlement,
            Kind::DropAfterSettlement => FaultKind::DropAfterSettlement,
            Kind::StatusAfterSettlement500 => FaultKind::StatusAfterSettlement { status: 500 },
            Kind::SettlementPending => FaultKind::SettlementPending,
            Kind::ExpireBlockhash => FaultKind::ExpireBlockhash,
            Kind::Status503 => FaultKind::Status { status: 503 },
            Kind::RateLimit => FaultKind::RateLimit {
                retry_after_secs: 0,
            },
            Kind::Latency => FaultKind::Latency { ms: 30 },
            Kind::SettleThen202 => FaultKind::SettleThen202,
            Kind::SettleThen402Invalid => FaultKind::SettleThen402Invalid,
            Kind::SettleThen4xx => FaultKind::SettleThen4xx { status: 422 },
            Kind::SettleThen500 => FaultKind::SettleThen500,
            Kind::Hold402 => FaultKind::HoldAndSubmitLater {
                status: 402,
                delay_ms: 150,
            },
            Kind::Hold202 => FaultKind::HoldAndSubmitLater {
                status: 202,
                delay_ms: 150,
            },
            Kind::Hold503 => FaultKind::HoldAndSubmitLater {
                status: 503,
                delay_ms: 150,
            },
            // Long enough for the client to read the chain and pay again first.
            Kind::StaleLastValidHeight => FaultKind::StaleLastValidHeight {
                status: 503,
                delay_ms: 1_500,
            },
            Kind::TimeoutThenRefused => FaultKind::TimeoutThenRefused {
                hang_ms: 2_500,
                refuse_ms: 1_200,
            },
            Kind::SettleThen202Forever => FaultKind::SettleThen202Forever,
            Kind::SettleThenTruncated => FaultKind::SettleThenTruncatedBody,
            Kind::MalformedChallenge => FaultKind::MalformedChallenge,
        })
    }
}

/// The schedule, a cycle of 24 calls: every kind once, `none` for the rest.
/// `expire_blockhash` expires every blockhash of the ledger — in-flight payments, held
/// transactions and the cached blockhash of every payer included, so the next call of each
/// kind pays twice (the first attempt cannot land) and meets its fault with a payment that
/// fails — so it comes once every 16 cycles only.
const CYCLE: [Kind; 24] = [
    Kind::None,
    Kind::SettleThen202,
    Kind::DropAfterSettlement,
    Kind::Hold402,
    Kind::SettleThen402Invalid,
    Kind::StatusAfterSettlement500,
    Kind::TimeoutThenRefused,
    Kind::SettleThen4xx,
    Kind::Honest202,
    Kind::StaleLastValidHeight,
    Kind::SettlementPending,
    Kind::Hold202,
    Kind::None,
    Kind::SettleThen500,
    Kind::DropBeforeSettlement,
    Kind::Hold503,
    Kind::Status503,
    Kind::RateLimit,
    Kind::ExpireBlockhash,
    Kind::Latency,
    Kind::SettleThen202Forever,
    Kind::SettleThenTruncated,
    Kind::MalformedChallenge,
    Kind::None,
];

/// One logical call's plan.
struct Plan {
    kind: Kind,
    /// `wallet_profile` (the GET with the 202 fallback) rather than `wallet_hud`.
    profile: bool,
    wallet: String,
}

fn plan(run: u8, i: usize) -> Plan {
    let round = i / CYCLE.len();
    let mut kind = CYCLE[i % CYCLE.len()];
    if kind == Kind::ExpireBlockhash && round % 16 != 15 {
        kind = Kind::None;
    }
    // A quarter of the calls read the profile; the honest fallback always does.
    let profile = kind == Kind::Honest202 || round % 4 == 1;
    let mut bytes = [0x5au8; 32];
    bytes[0] = run;
    bytes[1..9].copy_from_slice(&(i as u64).to_le_bytes());
    Plan {
        kind,
        profile,
        wallet: Pubkey::new_from_array(bytes).to_string(),
    }
}

fn path_of(p: &Plan) -> String {
    if p.profile {
        format!("/api/v1/intel/wallet/{}", p.wallet)
    } else {
        format!("/api/v1/intel/wallet/{}/hud", p.wallet)
    }
}

/// Prepares the sandbox for one call: a warm wallet (except for the honest fallback, which
/// needs a cold one) and the call's fault on its own path.
fn install(sb: &Sandbox, p: &Plan) {
    if p.kind != Kind::Honest202 {
        sb.warm_wallet(&p.wallet);
    }
    if let Some(kind) = p.kind.fault() {
        sb.add_fault(Fault::on(path_of(p), kind).times(1));
    }
}

/// What the client said about one logical call.
#[derive(Debug, Clone)]
struct Call {
    kind: Kind,
    profile: bool,
    wallet: String,
    ok: bool,
    /// The receipt's payer signature on success.
    receipt: Option<String>,
    /// The payer signature the client reported (receipt or error's payment reference).
    reported: Option<String>,
    may_have_charged: bool,
    error: Option<String>,
}

/// The handle to resume when a call ended with a pending job (one logical request: the
/// settle-then-202-forever kind is resumed once).
fn pending_handle<T>(
    r: &Result<sova::call::Paid<T>, sova::Error>,
) -> Option<sova::protocol::jobs::JobHandle> {
    match r {
        Err(sova::Error::JobPending { handle, .. }) => {
            sova::protocol::jobs::JobHandle::decode(handle).ok()
        }
        _ => None,
    }
}

/// The call after a resume: the first attempt's reported payment is kept when the resume
/// reports none.
fn resumed(
    first: Call,
    r: Result<sova::call::Paid<serde_json::Value>, sova::Error>,
    p: &Plan,
) -> Call {
    let mut c = call_of(p, r);
    if c.reported.is_none() {
        c.reported = first.reported;
    }
    c.may_have_charged |= first.may_have_charged && !c.ok;
    c
}

fn call_of<T>(p: &Plan, r: Result<sova::call::Paid<T>, sova::Error>) -> Call {
    match r {
        Ok(paid) => {
            let receipt = paid.receipt.as_ref().map(|r| r.payer_signature.clone());
            Call {
                kind: p.kind,
                profile: p.profile,
                wallet: p.wallet.clone(),
                ok: true,
                reported: receipt.clone(),
                receipt,
                may_have_charged: false,
                error: None,
            }
        }
        Err(e) => Call {
            kind: p.kind,
            profile: p.profile,
            wallet: p.wallet.clone(),
            ok: false,
            receipt: None,
            reported: e.payment().map(|p| p.signature.clone()),
            may_have_charged: e.may_have_charged(),
            error: Some(e.to_string()),
        },
    }
}

fn sandbox(mode: Mode) -> SandboxBuilder {
    Sandbox::builder()
        .mode(mode)
        .listeners(1 + TASKS)
        .sync_hold(Duration::from_millis(10))
        .flash_analysis(Duration::from_millis(15))
        .job_duration(Duration::from_millis(15))
}

/// One payer and spend policy per fault kind, all on one funded keypair.
struct Payers(BTreeMap<Kind, (Arc<Payer>, Arc<SpendPolicy>)>);

impl Payers {
    fn new(sb: &Sandbox) -> Payers {
        let seed = [42; 32];
        sb.fund_wallet(
            &Keypair::from_seed(seed).pubkey(),
            100_000_000_000,
            2_000_000_000,
        );
        let payers = Kind::ALL
            .iter()
            .map(|k| {
                let policy = Arc::new(
                    SpendPolicy::builder()
                        .max_per_payment(programs::USDC_MAINNET, 100_000)
                        .budget(programs::USDC_MAINNET, 1_000_000_000)
                        .build(),
                );
                let payer = Payer::builder()
                    .sova_host("127.0.0.1") // the sandbox in Sova mode
                    .signer(Keypair::from_seed(seed))
                    .policy(policy.clone())
                    .build()
                    .unwrap();
                (*k, (Arc::new(payer), policy))
            })
            .collect();
        Payers(payers)
    }

    fn spent(&self) -> BTreeMap<Kind, u64> {
        self.0
            .iter()
            .map(|(k, (_, policy))| (*k, policy.spent(&programs::USDC_MAINNET)))
            .collect()
    }
}

fn builder(
    sb: &Sandbox,
    payer: &Arc<Payer>,
    base: String,
    victim: bool,
) -> sova::intel::ClientBuilder {
    let attempt = if victim {
        VICTIM_ATTEMPT
    } else {
        Duration::from_secs(10)
    };
    sova::intel::ClientBuilder::new()
        .base_url(base)
        .x402(payer.clone())
        .rpc_url(sb.rpc_url())
        .retry(RetryPolicy {
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            ..Default::default()
        })
        .timeouts(
            sova::Timeouts::new()
                .with_attempt(attempt)
                .with_call(Duration::from_secs(60)),
        )
        .poll(PollConfig {
            interval: Duration::from_millis(10),
            max_wait: Duration::from_secs(20),
        })
}

/// The clients of one run: one per fault kind on the main port, and for
/// `timeout_then_refused` one per task, each on a port of its own (a refused port refuses
/// only that task's calls).
struct Clients<C> {
    by_kind: HashMap<Kind, C>,
    victims: Vec<C>,
}

impl<C> Clients<C> {
    fn new(
        sb: &Sandbox,
        payers: &Payers,
        build: impl Fn(sova::intel::ClientBuilder) -> C,
    ) -> Clients<C> {
        let by_kind = payers
            .0
            .iter()
            .map(|(k, (p, _))| (*k, build(builder(sb, p, sb.intel_base_url(), false))))
            .collect();
        let victim_payer = &payers.0[&Kind::TimeoutThenRefused].0;
        let victims = (0..TASKS)
            .map(|t| {
                let base = sb.intel_base_url_at(1 + t).unwrap();
                build(builder(sb, victim_payer, base, true))
            })
            .collect();
        Clients { by_kind, victims }
    }

    fn for_call(&self, task: usize, kind: Kind) -> &C {
        if kind == Kind::TimeoutThenRefused {
            &self.victims[task]
        } else {
            &self.by_kind[&kind]
        }
    }
}

fn wallet_of_path(path: &str) -> &str {
    path.split('/').nth(5).unwrap_or("")
}

#[derive(Default)]
struct Row {
    calls: usize,
    delivered: usize,
    maybe_charged: usize,
    ledger: usize,
    ledger_amount: u64,
    double: usize,
    unreported: usize,
    silent: usize,
}

/// Checks (a)–(f), prints the table, and fails with the violations.
fn check(
    label: &str,
    sb: &Sandbox,
    calls: &[Call],
    spent: &BTreeMap<Kind, u64>,
    elapsed: Duration,
) {
    let ledger = &sb.payments();
    let requests = sb.requests();
    let rpc = requests.get("POST /rpc").copied().unwrap_or(0);
    let api: u64 = requests.values().sum::<u64>() - rpc;
    assert_eq!(calls.len(), calls_per_run(), "every logical call ran");
    let by_wallet: HashMap<&str, usize> = calls
        .iter()
        .enumerate()
        .map(|(i, c)| (c.wallet.as_str(), i))
        .collect();
    let reported: HashSet<&str> = calls.iter().filter_map(|c| c.reported.as_deref()).collect();
    let on_ledger: HashSet<&str> = ledger.iter().map(|p| p.payer_signature.as_str()).collect();
    let mut per_call: Vec<Vec<&PaymentRecord>> = vec![Vec::new(); calls.len()];
    let mut violations: Vec<String> = Vec::new();
    for p in ledger {
        match by_wallet.get(wallet_of_path(&p.path)) {
            Some(&i) => per_call[i].push(p),
            None => violations.push(format!(
                "ledger payment {} on {} belongs to no call",
                p.payer_signature, p.path
            )),
        }
    }
    let mut rows: BTreeMap<Kind, Row> = BTreeMap::new();
    let mut examples: BTreeMap<(Kind, &str), String> = BTreeMap::new();
    for (i, c) in calls.iter().enumerate() {
        let row = rows.entry(c.kind).or_default();
        let paid = &per_call[i];
        row.calls += 1;
        row.delivered += usize::from(c.ok);
        row.maybe_charged += usize::from(c.may_have_charged);
        row.ledger += paid.len();
        row.ledger_amount += paid.iter().map(|p| p.amount).sum::<u64>();
        row.double += paid.len().saturating_sub(1);
        let unreported = paid
            .iter()
            .filter(|p| !reported.contains(p.payer_signature.as_str()))
            .count();
        row.unreported += unreported;
        let silent = !paid.is_empty() && !c.ok && !c.may_have_charged;
        row.silent += usize::from(silent);
        let what = || {
            format!(
                "call {} ({}): ok={} reported={:?} may_have_charged={} ledger={:?} error={:?}",
                c.wallet,
                c.kind.name(),
                c.ok,
                c.reported,
                c.may_have_charged,
                paid.iter().map(|p| &p.payer_signature).collect::<Vec<_>>(),
                c.error
            )
        };
        let mut note = |rule: &'static str| {
            examples.entry((c.kind, rule)).or_insert_with(what);
        };
        if unreported > 0 {
            note("(a) a ledger payment the client never reported");
        }
        if paid.len() > 1 {
            note("(b) more than one ledger payment for one call");
        }
        if c.ok && !c.receipt.as_deref().is_some_and(|s| on_ledger.contains(s)) {
            note("(d) a success without a receipt on the ledger");
        }
        if c.reported.is_none() && !paid.is_empty() {
            note("(e) no signature reported, yet a ledger payment");
        }
        if silent {
            note("(f) charged, but neither delivered nor reported as possibly charged");
        }
    }

    // The table.
    eprintln!(
        "\n{label}: {} calls, {TASKS} tasks, {elapsed:.1?}; {api} API requests, {rpc} RPC \
         requests ({:.2} and {:.2} per call)",
        calls_per_run(),
        api as f64 / calls_per_run() as f64,
        rpc as f64 / calls_per_run() as f64
    );
    eprintln!(
        "{:<28} {:>5} {:>9} {:>7} {:>6} {:>6} {:>10} {:>6} {:>13}",
        "fault kind",
        "calls",
        "delivered",
        "maybe$",
        "ledger",
        "double",
        "unreported",
        "silent",
        "budget-ledger"
    );
    let mut total = Row::default();
    let mut total_spent = 0u64;
    for (kind, row) in &rows {
        let spent_k = spent.get(kind).copied().unwrap_or(0);
        let margin = i128::from(spent_k) - i128::from(row.ledger_amount);
        eprintln!(
            "{:<28} {:>5} {:>9} {:>7} {:>6} {:>6} {:>10} {:>6} {:>13}",
            kind.name(),
            row.calls,
            row.delivered,
            row.maybe_charged,
            row.ledger,
            row.double,
            row.unreported,
            row.silent,
            margin
        );
        if margin < 0 {
            violations.push(format!(
                "(c) {}: the policy counted {spent_k} base units, the ledger took {}",
                kind.name(),
                row.ledger_amount
            ));
        }
        if row.double > 0 {
            violations.push(format!(
                "(b) {}: {} double payments",
                kind.name(),
                row.double
            ));
        }
        total_spent += spent_k;
        total.calls += row.calls;
        total.delivered += row.delivered;
        total.maybe_charged += row.maybe_charged;
        total.ledger += row.ledger;
        total.ledger_amount += row.ledger_amount;
        total.double += row.double;
        total.unreported += row.unreported;
        total.silent += row.silent;
    }
    let margin = i128::from(total_spent) - i128::from(total.ledger_amount);
    eprintln!(
        "{:<28} {:>5} {:>9} {:>7} {:>6} {:>6} {:>10} {:>6} {:>13}",
        "all",
        total.calls,
        total.delivered,
        total.maybe_charged,
        total.ledger,
        total.double,
        total.unreported,
        total.silent,
        margin
    );
    if total_spent < total.ledger_amount {
        violations.push(format!(
            "(c) in all: policy.spent() = {total_spent} < ledger total {}",
            total.ledger_amount
        ));
    }
    // Liveness: healthy kinds deliver every call; every fault kind fired at least once.
    let unfired: HashMap<String, usize> = sb
        .faults()
        .into_iter()
        .filter_map(|(_, f)| f.route)
        .fold(HashMap::new(), |mut m, r| {
            *m.entry(r).or_default() += 1;
            m
        });
    for (kind, row) in &rows {
        if kind.healthy() && row.delivered < row.calls {
            violations.push(format!(
                "liveness: {} delivered {} of {} calls on a healthy server",
                kind.name(),
                row.delivered,
                row.calls
            ));
        }
    }
    for kind in Kind::ALL {
        if kind.fault().is_none() {
            continue;
        }
        let planned: Vec<&Call> = calls.iter().filter(|c| c.kind == kind).collect();
        let never = planned
            .iter()
            .filter(|c| {
                let path = if c.profile {
                    format!("/api/v1/intel/wallet/{}", c.wallet)
                } else {
                    format!("/api/v1/intel/wallet/{}/hud", c.wallet)
                };
                unfired.contains_key(&path)
            })
            .count();
        let scheduled = calls_per_run() >= CYCLE.len() * 16;
        if (planned.is_empty() && scheduled) || (!planned.is_empty() && never == planned.len()) {
            violations.push(format!(
                "liveness: the fault kind {} never fired ({} calls planned)",
                kind.name(),
                planned.len()
            ));
        }
    }
    for ((kind, rule), example) in &examples {
        violations.push(format!("{rule} [{}], e.g. {example}", kind.name()));
    }
    if std::env::var_os("SOVA_FAULTS_VERBOSE").is_some() {
        for (_, f) in sb.faults() {
            eprintln!("unused fault: {f:?}");
        }
        for (i, c) in calls.iter().enumerate() {
            eprintln!(
                "{} {} profile={} ok={} reported={:?} ledger={:?}: {:?}",
                c.kind.name(),
                c.wallet,
                c.profile,
                c.ok,
                c.reported,
                per_call[i]
                    .iter()
                    .map(|p| (&p.payer_signature, &p.path, p.delivered))
                    .collect::<Vec<_>>(),
                c.error
            );
        }
    }
    assert!(
        violations.is_empty(),
        "{label}: money safety violated:\n  {}",
        violations.join("\n  ")
    );
}

async fn run_async(mode: Mode, run: u8) {
    let started = Instant::now();
    // The sandbox serves from a runtime of its own, as a real server would.
    let sb = Arc::new(sandbox(mode).start_blocking().unwrap());
    let payers = Payers::new(&sb);
    let clients = Arc::new(Clients::new(&sb, &payers, |b| b.build().unwrap()));
    let next = Arc::new(AtomicUsize::new(0));
    let calls = Arc::new(Mutex::new(Vec::with_capacity(calls_per_run())));
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (sb, clients, next, calls) = (sb.clone(), clients.clone(), next.clone(), calls.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= calls_per_run() {
                    break;
                }
                let p = plan(run, i);
                install(&sb, &p);
                let client = clients.for_call(task, p.kind);
                let (call, handle) = if p.profile {
                    let r = client.wallet_profile(&p.wallet).await;
                    let h = pending_handle(&r);
                    (call_of(&p, r), h)
                } else {
                    let r = client.wallet_hud(&p.wallet).await;
                    let h = pending_handle(&r);
                    (call_of(&p, r), h)
                };
                let call = match handle {
                    Some(h) if p.kind == Kind::SettleThen202Forever => {
                        resumed(call, client.resume_paid::<serde_json::Value>(&h).await, &p)
                    }
                    _ => call,
                };
                calls.lock().unwrap().push(call);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    sb.flush_held().await;
    let calls = calls.lock().unwrap().clone();
    check(
        &format!("{mode:?}, async client"),
        &sb,
        &calls,
        &payers.spent(),
        started.elapsed(),
    );
}

#[cfg(feature = "blocking")]
fn run_blocking(mode: Mode, run: u8) {
    let started = Instant::now();
    let sb = sandbox(mode).start_blocking().unwrap();
    let payers = Payers::new(&sb);
    let clients = Clients::new(&sb, &payers, |b| b.build_blocking().unwrap());
    let next = AtomicUsize::new(0);
    let calls = Mutex::new(Vec::with_capacity(calls_per_run()));
    std::thread::scope(|s| {
        for task in 0..TASKS {
            let (sb, clients, next, calls) = (&sb, &clients, &next, &calls);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= calls_per_run() {
                        break;
                    }
                    let p = plan(run, i);
                    install(sb, &p);
                    let client = clients.for_call(task, p.kind);
                    let (call, handle) = if p.profile {
                        let r = client.wallet_profile(&p.wallet);
                        let h = pending_handle(&r);
                        (call_of(&p, r), h)
                    } else {
                        let r = client.wallet_hud(&p.wallet);
                        let h = pending_handle(&r);
                        (call_of(&p, r), h)
                    };
                    let call = match handle {
                        Some(h) if p.kind == Kind::SettleThen202Forever => {
                            resumed(call, client.resume_paid::<serde_json::Value>(&h), &p)
                        }
                        _ => call,
                    };
                    calls.lock().unwrap().push(call);
                }
            });
        }
    });
    assert!(
        sb.wait_held(Duration::from_secs(30)),
        "held payments submitted"
    );
    let calls = calls.into_inner().unwrap();
    check(
        &format!("{mode:?}, blocking client"),
        &sb,
        &calls,
        &payers.spent(),
        started.elapsed(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_paid_async_under_faults() {
    run_async(Mode::Sova, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sponsored_async_under_faults() {
    run_async(Mode::Standard, 2).await;
}

#[cfg(feature = "blocking")]
#[test]
fn self_paid_blocking_under_faults() {
    run_blocking(Mode::Sova, 3);
}

#[cfg(feature = "blocking")]
#[test]
fn sponsored_blocking_under_faults() {
    run_blocking(Mode::Standard, 4);
}
