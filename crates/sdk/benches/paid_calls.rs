#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)] // criterion_group! generates undocumented items
//! Paid calls against the embedded sandbox on loopback (`cargo bench -p sova --bench paid_calls`):
//!
//! * HTTP requests and RPC calls per paid call in steady state (printed; targets 1 and 0),
//! * client CPU time per paid call: the call machine with a prepared payment and a canned
//!   answer (build, sign, verify, encode, parse — no I/O),
//! * paid calls per second with 16 concurrent tasks (async) and 16 threads (blocking).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, criterion_group, criterion_main};
use sova::call::{Authorizer, CallSettings, Payments, RequirementCache};
use sova::flow::{Action, Call, Ctx};
use sova::protocol::http::{HeaderMap, Response};
use sova::protocol::intel::WalletHudRequest;
use sova::protocol::retry::RetryPolicy;
use sova::protocol::x402::{PaymentRequired, PaymentRequirements, USDC_MAINNET_MINT, networks};
use sova::protocol::{BaseUrl, Credential};
use sova_sandbox::{Mode, Sandbox};
use sova_x402::{Keypair, LatestBlockhash, Payer, SpendPolicy, programs};

const WALLET: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
const HUD_ROUTE: &str = "GET /api/v1/intel/wallet/{address}/hud";
const HUD: &str = r#"{"walletAddress":"9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM","signalType":"wallet_behavior_v1","behaviorCode":"W","winRate":0.5,"trimmedMeanPnl":1.0,"dataQualityTier":"GOLD","isBot":false,"isWhale":false,"calculatedAt":"2026-03-03T11:30:00.000Z"}"#;

fn payer(seed: u8) -> Arc<Payer> {
    let policy = SpendPolicy::builder()
        .max_per_payment(programs::USDC_MAINNET, 1_000_000)
        .budget(programs::USDC_MAINNET, u64::MAX / 4)
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

fn funded(sb: &Sandbox, seed: u8) -> Arc<Payer> {
    let p = payer(seed);
    sb.fund_wallet(&p.pubkey(), 100_000_000_000, 1_000_000_000_000);
    p
}

struct NoAuth;
impl Authorizer for NoAuth {
    fn authorize(
        &self,
        _: Credential,
        _: &'static str,
        _: &mut HeaderMap,
    ) -> Result<(), sova::Error> {
        Ok(())
    }
}

/// Client CPU per paid call, steady state: requirement and blockhash cached, one send, a
/// canned 200 with `X-Payment-Response`.
fn client_cpu(c: &mut Criterion) {
    client_cpu_with(c, "client CPU per paid call (flow, steady state)");
}

/// The same loop measured in the thread's own CPU time, which other processes on the
/// machine do not inflate (wall time does, when the cores are shared).
fn client_cpu_thread_time(c: &mut Criterion<ThreadCpu>) {
    client_cpu_with(
        c,
        "client CPU per paid call (flow, steady state, thread CPU time)",
    );
}

fn client_cpu_with<M: Measurement + 'static>(c: &mut Criterion<M>, name: &str) {
    let before = PAID_CALLS.load(std::sync::atomic::Ordering::Relaxed);
    let payments = Payments {
        payer: payer(1),
        rpc_url: "http://127.0.0.1:1/rpc".into(),
        cache: Arc::default(),
    };
    let base = BaseUrl::parse("http://127.0.0.1:1/api/v1").unwrap();
    let required = PaymentRequired {
        x402_version: 2,
        error: None,
        resource: None,
        accepts: vec![PaymentRequirements::new(
            networks::SOLANA_MAINNET,
            USDC_MAINNET_MINT,
            15_000,
            "GThUX1Atko4tqhN2NaiTazWSeFWMuiUvfFnyJyUghFMJ",
            60,
            Default::default(),
        )],
        extensions: None,
    };
    payments.cache.remember(
        &RequirementCache::key("127.0.0.1", "GET intel.wallet_hud"),
        required,
    );
    let hash = LatestBlockhash::parse("EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N").unwrap();
    let settings = CallSettings {
        attempt_timeout: Duration::from_secs(30),
        call_timeout: Duration::from_secs(60),
        retry: RetryPolicy::default(),
        jitter_seed: 1,
        max_payment: None,
    };
    let answer = Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("x-payment-response", "5j7s6NiJS3JAkvgkoc18WVAsiSaci2pxB2A6ueCJP4tprA2TFg9wSyTLeYouxPBJEMzJinENTkpA52YStRW5Dia7")
        .body(HUD.as_bytes().to_vec())
        .unwrap();
    c.bench_function(name, |b| {
        b.iter(|| {
            paid_call_once(|| {
                let now = Instant::now();
                payments
                    .payer
                    .blockhash_cache()
                    .store(LatestBlockhash::new(hash), now);
                let cx = Ctx::new(&base, &NoAuth, Some(&payments), settings.clone(), now);
                let mut call = Call::new(
                    "intel.wallet_hud",
                    cx,
                    sova::flow::intel::wallet_get(WalletHudRequest::new(WALLET)),
                );
                let Action::Send { .. } = call.start(now) else {
                    panic!("expected one send")
                };
                let Action::Done = call.on_response(answer.clone(), now) else {
                    panic!("expected done")
                };
                let (result, stats) = call.finish();
                assert_eq!(stats.payments, 1);
                result.unwrap()
            })
        })
    });
    let calls = PAID_CALLS.load(std::sync::atomic::Ordering::Relaxed) - before;
    eprintln!("{name}: {calls} paid calls run");
}

/// Steady-state counts and throughput, async and blocking.
fn throughput(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for mode in [Mode::Sova, Mode::Standard] {
        let sb = rt.block_on(Sandbox::builder().mode(mode).start()).unwrap();
        let client = sova::intel::ClientBuilder::new()
            .base_url(sb.intel_base_url())
            .x402(funded(&sb, 2))
            .rpc_url(sb.rpc_url())
            .build()
            .unwrap();
        // Warm up (the first call learns the requirement from a 402 and fetches a blockhash).
        rt.block_on(client.wallet_hud(WALLET)).unwrap();
        sb.reset_inspection();
        let n = 200u64;
        rt.block_on(async {
            for _ in 0..n {
                client.wallet_hud(WALLET).await.unwrap();
            }
        });
        let http = sb.request_count(HUD_ROUTE) as f64 / n as f64;
        let rpc = sb
            .requests()
            .iter()
            .filter(|(k, _)| k.contains("/rpc"))
            .map(|(_, v)| *v)
            .sum::<u64>() as f64
            / n as f64;
        eprintln!(
            "{mode:?} steady state over {n} paid calls: {http:.3} HTTP requests and {rpc:.3} RPC calls per paid call"
        );

        let mut g = c.benchmark_group(format!("paid HUD calls, {mode:?} mode"));
        g.sample_size(10).measurement_time(Duration::from_secs(6));
        g.throughput(criterion::Throughput::Elements(16 * 8));
        g.bench_function("async, 16 tasks × 8 calls", |b| {
            b.iter(|| {
                rt.block_on(async {
                    let tasks: Vec<_> = (0..16)
                        .map(|_| {
                            let client = client.clone();
                            tokio::spawn(async move {
                                for _ in 0..8 {
                                    client.wallet_hud(WALLET).await.unwrap();
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                })
            })
        });
        let blocking = sova::intel::ClientBuilder::new()
            .base_url(sb.intel_base_url())
            .x402(funded(&sb, 3))
            .rpc_url(sb.rpc_url())
            .build_blocking()
            .unwrap();
        blocking.wallet_hud(WALLET).unwrap();
        g.bench_function("blocking, 16 threads × 8 calls", |b| {
            b.iter(|| {
                std::thread::scope(|s| {
                    for _ in 0..16 {
                        s.spawn(|| {
                            for _ in 0..8 {
                                blocking.wallet_hud(WALLET).unwrap();
                            }
                        });
                    }
                })
            })
        });
        g.finish();
    }
}

/// One paid call of the CPU benchmark, kept out of line so that an instruction-counting
/// profiler can attribute to it exactly what a call costs:
/// `valgrind --tool=callgrind --toggle-collect='*paid_call_once*' <bench> --bench "client CPU" --profile-time 5`
/// then divide the collected instructions by the number of calls printed at the end.
#[inline(never)]
fn paid_call_once<T>(f: impl FnOnce() -> T) -> T {
    PAID_CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    f()
}

static PAID_CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// CPU time consumed by the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
struct ThreadCpu;

fn thread_cpu_now() -> Duration {
    cpu_time::ThreadTime::now().as_duration()
}

impl Measurement for ThreadCpu {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        thread_cpu_now()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu_now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WallTime.formatter()
    }
}

criterion_group!(benches, client_cpu, throughput);
criterion_group! {
    name = cpu_time;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = client_cpu_thread_time
}
criterion_main!(benches, cpu_time);
