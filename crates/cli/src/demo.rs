//! `sova demo`: the guided tour on an embedded sandbox. Every step checks what it shows; the
//! tour ends with a summary and the check that the payments on the ledger are exactly the
//! payments the SDK reported.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sova::blocking;
use sova::call::Receipt;
use sova::protocol::jobs::PollConfig;
use sova_sandbox::Sandbox;
use sova_x402::{Keypair, Payer, SpendPolicy, programs};

use crate::amount::{self, usdc};
use crate::cli::{DemoArgs, Global};
use crate::cmd_intel::{holders_human, hud_human, similarity_human};
use crate::cmd_sandbox::mode;
use crate::ctx::JobProgress;
use crate::err::{CliError, code, one_line};
use crate::out::{self, Done};

/// A wallet from the Sova docs.
const WALLET_A: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
/// A second wallet.
const WALLET_B: &str = "GThUX1Atko4tqhN2NaiTazWSeFWMuiUvfFnyJyUghFMJ";
/// Wrapped SOL, the token whose holders are profiled.
const MINT: &str = "So11111111111111111111111111111111111111112";

const FUND_LAMPORTS: u64 = 1_000_000_000;
const FUND_USDC: u64 = 5_000_000;
const MAX_PAYMENT: u64 = 1_000_000;
const BUDGET: u64 = 5_000_000;
/// Steps of the tour.
const STEPS: usize = 10;
/// The cap of the refusal step: 0.1 USDC, below the deep bundle's 0.525 USDC.
const SMALL_CAP: u64 = 100_000;

struct Tour {
    human: bool,
    steps: Vec<Value>,
    receipts: Vec<Receipt>,
    calls: u32,
    failed: u32,
}

impl Tour {
    fn say(&self, text: &str) {
        if self.human {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(text.as_bytes());
            let _ = o.flush();
        }
    }

    fn step<F>(&mut self, n: usize, title: &str, f: F)
    where
        F: FnOnce(&mut Tour) -> Result<(String, Value), String>,
    {
        self.say(&format!("\n[{n}/{STEPS}] {title}\n"));
        let started = Instant::now();
        let r = f(self);
        let ms = started.elapsed().as_millis() as u64;
        match r {
            Ok((text, detail)) => {
                self.say(&out::indent_block(&text, 2));
                self.say(&format!("  ok ({:.1} s)\n", ms as f64 / 1000.0));
                self.steps.push(
                    json!({"step": n, "title": title, "ok": true, "ms": ms, "detail": detail}),
                );
            }
            Err(e) => {
                self.failed += 1;
                self.say(&format!("  FAILED: {e}\n"));
                self.steps
                    .push(json!({"step": n, "title": title, "ok": false, "ms": ms, "error": e}));
            }
        }
    }

    fn paid(&mut self, r: Option<&Receipt>) -> Result<String, String> {
        let r = r.ok_or("the call reported no receipt")?;
        self.receipts.push(r.clone());
        Ok(format!(
            "receipt: paid {} · transaction {}\n",
            usdc(r.amount),
            r.transaction.as_deref().unwrap_or(&r.payer_signature)
        ))
    }
}

fn e(err: sova::Error) -> String {
    one_line(&err.to_string())
}

/// Runs the tour.
pub(crate) fn run(g: &Global, args: &DemoArgs) -> Result<Done, CliError> {
    let started = Instant::now();
    let human = !g.json && !g.quiet;
    let mut tour = Tour {
        human,
        steps: Vec::new(),
        receipts: Vec::new(),
        calls: 0,
        failed: 0,
    };
    tour.say(&format!(
        "{}An offline tour of the Sova SDK: Sova Intel paid per call with x402 (Solana USDC),\njobs, the spend policy, a SovX onboarding and the payment ledger, against an embedded sandbox.\n",
        out::heading("sova demo")
    ));

    // 1. The sandbox and a funded throwaway wallet.
    let sb = Sandbox::builder()
        .mode(mode(args.mode))
        .sync_hold(Duration::from_millis(400))
        .flash_analysis(Duration::from_millis(1200))
        .job_duration(Duration::from_millis(1200))
        .start_blocking()
        .map_err(|e| CliError::failure(format!("could not start the sandbox: {e}")))?;
    let keypair = Arc::new(Keypair::generate());
    let me = keypair.pubkey();
    let treasury = sb.treasury();
    let mut setup = Value::Null;
    tour.step(1, "start a sandbox, create and fund a throwaway wallet", |t| {
        sb.fund_wallet(&me, FUND_LAMPORTS, FUND_USDC);
        let held = sb.usdc_balance(&me);
        if held != FUND_USDC {
            return Err(format!("the faucet gave {held} base units, not {FUND_USDC}"));
        }
        setup = json!({"sandbox": sb.base_url(), "mode": sb.mode().as_str(), "wallet": me.to_string(), "treasury": treasury.to_string()});
        let _ = t;
        Ok((
            out::kv(&[
                ("sandbox", format!("{} ({} mode)", sb.base_url(), sb.mode().as_str())),
                ("wallet", me.to_string()),
                ("funded", format!("{} and {}", amount::sol(sb.sol_balance(&me)), usdc(held))),
                ("spend policy", format!("at most {} per payment, {} in total", usdc(MAX_PAYMENT), usdc(BUDGET))),
            ]),
            setup.clone(),
        ))
    });
    let payer_before = sb.usdc_balance(&me);
    let treasury_before = sb.usdc_balance(&treasury);
    let sol_before = sb.sol_balance(&me);

    let policy = SpendPolicy::builder()
        .max_per_payment(programs::USDC_MAINNET, MAX_PAYMENT)
        .budget(programs::USDC_MAINNET, BUDGET)
        .build();
    let payer = Payer::builder()
        .shared_signer(keypair.clone())
        .policy(Arc::new(policy))
        .sova_host(&sb.intel_base_url())
        .build()
        .map_err(|e| CliError::failure(format!("could not set up the payer: {e}")))?;
    let progress = JobProgress::new(human);
    let poll = PollConfig {
        interval: Duration::from_millis(150),
        max_wait: Duration::from_secs(30),
    };
    let p2 = progress.clone();
    // Stored job results need an API key (the docs: "Authentication required"); a key with
    // no credits reads them while every paid call pays with x402.
    let intel = blocking::intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .rpc_url(sb.rpc_url())
        .x402(Arc::new(payer))
        .results_api_key(sb.create_api_key(0))
        .poll(poll)
        .on_progress(move |p| p2.update(p))
        .build_blocking()
        .map_err(|e| CliError::failure(e.to_string()))?;

    // 2. HUD with its receipt.
    tour.step(2, "wallet HUD, paid with x402", |t| {
        t.calls += 1;
        // The sandbox's clock runs fast while the call is held, so the cold wallet's analysis
        // finishes within the synchronous hold and the HUD comes back at once.
        let done = AtomicBool::new(false);
        let r = std::thread::scope(|s| {
            s.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    sb.advance(Duration::from_millis(150));
                    std::thread::sleep(Duration::from_millis(10));
                }
            });
            let r = intel.wallet_hud(WALLET_A);
            done.store(true, Ordering::Relaxed);
            r
        })
        .map_err(e)?;
        let mut text = hud_human(&serde_json::to_value(&r.value).unwrap_or_default());
        text.push_str(&t.paid(r.receipt.as_ref())?);
        Ok((
            text,
            json!({"wallet": WALLET_A, "receipt": out::receipt_json(r.receipt.as_ref())}),
        ))
    });

    // 3. Profile through the 202 fallback.
    tour.step(
        3,
        "wallet profile: 202 fallback, then the prepaid re-call (one payment)",
        |t| {
            t.calls += 1;
            let route = "GET /api/v1/intel/wallet/{address}";
            let req0 = sb.request_count(route);
            let pay0 = sb.payments().len();
            let r = intel.wallet_profile(WALLET_B);
            progress.finish();
            let r = r.map_err(e)?;
            let requests = sb.request_count(route) - req0;
            let settled = sb.payments().len() - pay0;
            if settled != 1 {
                return Err(format!("{settled} payments settled for one profile"));
            }
            let mut text = out::kv(&[
                ("wallet", r.wallet_address.clone()),
                ("trades", r.summary.total_trades_count.to_string()),
                ("realized pnl", format!("{:.4} SOL", r.summary.realized_pnl)),
                (
                    "requests",
                    if requests == 3 {
                        "3: unpaid → 402 challenge; paid → 202 queued (nothing charged); prepaid re-call → 200".to_owned()
                    } else {
                        requests.to_string()
                    },
                ),
                ("payments", format!("{settled} settled on the ledger")),
            ]);
            text.push_str(&t.paid(r.receipt.as_ref())?);
            Ok((
                text,
                json!({"wallet": WALLET_B, "requests": requests, "paymentsSettled": settled}),
            ))
        },
    );

    // 4. Holder profiles job.
    let mut holders: Vec<String> = Vec::new();
    tour.step(4, "top-holder profiles: a job, with a progress bar", |t| {
        t.calls += 1;
        let r = intel.holders_wait(MINT, 10);
        progress.finish();
        let r = r.map_err(e)?;
        if r.profiles.is_empty() {
            return Err("the job returned no profiles".into());
        }
        holders = r
            .profiles
            .iter()
            .map(|p| p.wallet_address.clone())
            .collect();
        let mut v = serde_json::to_value(&r.value).unwrap_or_default();
        if let Some(Value::Array(a)) = v.get_mut("profiles") {
            a.truncate(5);
        }
        let mut text = holders_human(&json!({"profiles": v["profiles"]}));
        text.push_str(&format!(
            "({} holders analysed; first 5 shown)\n",
            r.profiles.len()
        ));
        text.push_str(&t.paid(r.receipt.as_ref())?);
        Ok((text, json!({"mint": MINT, "profiles": r.profiles.len()})))
    });

    // 5. Batch HUD.
    tour.step(5, "batch HUD: three wallets, one call", |t| {
        t.calls += 1;
        // A wallet nobody asked about yet: its analysis is queued.
        let wallet_c = Keypair::from_seed([7; 32]).pubkey().to_string();
        let r = intel
            .batch_hud(&[WALLET_A, WALLET_B, wallet_c.as_str()])
            .map_err(e)?;
        if r.huds.is_empty() {
            return Err("no HUD came back".into());
        }
        let rows: Vec<Vec<String>> = r
            .huds
            .iter()
            .map(|(w, h)| {
                vec![
                    w.clone(),
                    out::scalar(&serde_json::to_value(&h.behavior_code).unwrap_or_default()),
                    format!("{:.1}", h.win_rate * 100.0),
                    format!("{:.4}", h.trimmed_mean_pnl),
                ]
            })
            .collect();
        let mut text = out::table(&["wallet", "code", "win %", "pnl sol"], &rows);
        for q in &r.queued {
            text.push_str(&format!(
                "queued: {} (cold wallet; analysis job {})\n",
                q.wallet_address, q.job_id
            ));
        }
        for w in &r.skipped {
            text.push_str(&format!("skipped: {w} (not a trader wallet)\n"));
        }
        text.push_str(&t.paid(r.receipt.as_ref())?);
        Ok((
            text,
            json!({"huds": r.huds.len(), "queued": r.queued.len()}),
        ))
    });

    // 6. Similarity.
    tour.step(6, "wallet similarity: a job on four wallets", |t| {
        t.calls += 1;
        let mut wallets = vec![WALLET_A.to_owned(), WALLET_B.to_owned()];
        wallets.extend(holders.iter().take(2).cloned());
        let refs: Vec<&str> = wallets.iter().map(String::as_str).collect();
        let r = intel.similarity_wait(&refs);
        progress.finish();
        let r = r.map_err(e)?;
        let mut v = serde_json::to_value(&r.value).unwrap_or_default();
        if let Some(Value::Array(a)) = v.get_mut("pairwiseSimilarities") {
            a.truncate(4);
        }
        let mut text = similarity_human(&v);
        text.push_str(&t.paid(r.receipt.as_ref())?);
        Ok((
            text,
            json!({"wallets": wallets.len(), "pairs": r.pairwise_similarities.len()}),
        ))
    });

    // 7. Spend-policy refusal.
    tour.step(7, "the spend policy refuses a payment above its cap", |t| {
        t.calls += 1;
        let strict = Payer::builder()
            .shared_signer(keypair.clone())
            .policy(Arc::new(
                SpendPolicy::builder()
                    .max_per_payment(programs::USDC_MAINNET, SMALL_CAP)
                    .build(),
            ))
            .sova_host(&sb.intel_base_url())
            .build()
            .map_err(|e| e.to_string())?;
        let cautious = blocking::intel::ClientBuilder::new()
            .base_url(sb.intel_base_url())
            .rpc_url(sb.rpc_url())
            .x402(Arc::new(strict))
            .poll(poll)
            .build_blocking()
            .map_err(e)?;
        let pay0 = sb.payments().len();
        let bal0 = sb.usdc_balance(&me);
        match cautious.queue_deep(MINT, 10) {
            Ok(_) => Err("the payment went through; the policy should have refused it".into()),
            Err(err @ sova::Error::PaymentRefused(_)) => {
                let unchanged = sb.payments().len() == pay0 && sb.usdc_balance(&me) == bal0;
                if !unchanged {
                    return Err("the ledger changed although the payment was refused".into());
                }
                Ok((
                    out::kv(&[
                        (
                            "asked",
                            "deep analysis, 35 credits = 0.525000 USDC".to_owned(),
                        ),
                        ("policy", format!("at most {} per payment", usdc(SMALL_CAP))),
                        ("outcome", one_line(&err.to_string())),
                        ("ledger", "unchanged: nothing was signed or sent".to_owned()),
                        (
                            "exit code",
                            format!("the CLI exits {} for this", code::POLICY),
                        ),
                    ]),
                    json!({"refused": true, "message": one_line(&err.to_string())}),
                ))
            }
            Err(other) => Err(format!("expected a policy refusal, got: {}", e(other))),
        }
    });

    // 8. SovX onboarding.
    tour.step(
        8,
        "SovX onboarding: user → activate → token → wallet → quote → order → balance",
        |t| crate::demo_sx::onboarding(&sb, &mut t.calls),
    );

    // The treasury before the ledger steps: their wallets pay it too.
    let treasury_after = sb.usdc_balance(&treasury);

    // 9 and 10. The payment ledger (wallets of their own: the summary below is untouched).
    match crate::demo_ledger::DemoLedger::new() {
        Ok(store) => {
            tour.step(
                9,
                "the payment ledger: a budget held across two runs sharing one ledger file",
                |_| crate::demo_ledger::budget_across_runs(&sb, &store, [WALLET_A, WALLET_B]),
            );
            tour.step(
                10,
                "the payment ledger: a crashed payment resolved at the next start",
                |_| crate::demo_ledger::crash_recovered(&sb, &store, WALLET_A),
            );
        }
        Err(err) => {
            for (n, title) in [
                (9, "the payment ledger: budget"),
                (10, "the payment ledger: crash"),
            ] {
                tour.step(n, title, |_| {
                    Err(format!("no temporary ledger file: {err}"))
                });
            }
        }
    }

    // Summary and the ledger check.
    let ours: Vec<_> = sb
        .payments()
        .into_iter()
        .filter(|p| p.payer == me.to_string())
        .collect();
    let ledger_sum: u64 = ours.iter().map(|p| p.amount).sum();
    let reported_sum: u64 = tour.receipts.iter().map(|r| r.amount).sum();
    let payer_after = sb.usdc_balance(&me);
    let sol_after = sb.sol_balance(&me);
    let signatures_match = tour.receipts.iter().all(|r| {
        let sig = r.transaction.as_deref().unwrap_or(&r.payer_signature);
        ours.iter()
            .any(|p| p.signature == sig || p.signature == r.payer_signature)
    });
    let check = ours.len() == tour.receipts.len()
        && ledger_sum == reported_sum
        && signatures_match
        && payer_before - payer_after == reported_sum
        && treasury_after - treasury_before == reported_sum;
    let http_requests: u64 = sb.requests().values().sum();
    let wall = started.elapsed();
    let rows = vec![
        vec!["API calls".to_owned(), tour.calls.to_string()],
        vec![
            "HTTP requests seen by the sandbox".to_owned(),
            http_requests.to_string(),
        ],
        vec![
            "x402 payments reported (receipts)".to_owned(),
            tour.receipts.len().to_string(),
        ],
        vec!["USDC spent (receipts)".to_owned(), usdc(reported_sum)],
        vec![
            "payments on the ledger".to_owned(),
            format!("{} ({})", ours.len(), usdc(ledger_sum)),
        ],
        vec![
            "payer USDC before → after".to_owned(),
            format!("{} → {}", usdc(payer_before), usdc(payer_after)),
        ],
        vec![
            "treasury USDC before → after".to_owned(),
            format!("{} → {}", usdc(treasury_before), usdc(treasury_after)),
        ],
        vec![
            "payer SOL (fees) before → after".to_owned(),
            format!("{} → {}", amount::sol(sol_before), amount::sol(sol_after)),
        ],
        vec![
            "check: ledger payments = reported payments".to_owned(),
            if check {
                "ok".to_owned()
            } else {
                "MISMATCH".to_owned()
            },
        ],
        vec![
            "wall time".to_owned(),
            format!("{:.1} s", wall.as_secs_f64()),
        ],
    ];
    let steps_ok = tour.failed == 0;
    let passed = steps_ok && check;
    let summary_text = format!(
        "\n{}{}\n{}\n",
        out::heading("summary"),
        out::table(&["", ""], &rows)
            .lines()
            .skip(1)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
        if passed {
            "all steps passed".to_owned()
        } else {
            format!(
                "{} step(s) failed{}",
                tour.failed,
                if check {
                    ""
                } else {
                    "; the ledger does not match the receipts"
                }
            )
        }
    );
    let doc = json!({
        "passed": passed,
        "steps": tour.steps,
        "summary": {
            "calls": tour.calls,
            "httpRequests": http_requests,
            "payments": tour.receipts.len(),
            "usdcSpent": reported_sum,
            "ledgerPayments": ours.len(),
            "ledgerUsdc": ledger_sum,
            "payerUsdcBefore": payer_before,
            "payerUsdcAfter": payer_after,
            "treasuryUsdcBefore": treasury_before,
            "treasuryUsdcAfter": treasury_after,
            "ledgerMatchesReceipts": check,
            "wallTimeMs": wall.as_millis() as u64,
        },
    });
    drop(sb);
    Ok(Done::new(doc, summary_text).code(if passed { code::OK } else { code::FAILURE }))
}
