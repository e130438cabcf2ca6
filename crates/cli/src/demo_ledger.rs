//! The demo's payment-ledger steps: a budget held across two runs that share one ledger
//! file, and a payment left `sent` by a crashed client that the next start resolves once its
//! blockhash expires. Each uses a throwaway wallet of its own, so the tour's other payments
//! and its summary are untouched.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sova::blocking;
use sova_sandbox::Sandbox;
use sova_x402::ledger::{Scope, Status, Transition, new_id, unix_ms};
use sova_x402::{
    Budget, Keypair, Ledger, Payer, PrepareContext, Prepared, PreparedPayment, SpendPolicy, Window,
    programs,
};

use crate::amount::usdc;
use crate::out;

/// The budget of both steps: 0.02 USDC a rolling day (one HUD at 0.015, not two).
const BUDGET: u64 = 20_000;
/// What each step's wallet is given.
const FUND_LAMPORTS: u64 = 100_000_000;
const FUND_USDC: u64 = 1_000_000;

/// A ledger file in a fresh temporary directory, removed on drop.
pub(crate) struct DemoLedger {
    dir: PathBuf,
    file: PathBuf,
}

impl DemoLedger {
    /// A new, empty ledger location.
    pub(crate) fn new() -> Result<DemoLedger, String> {
        let dir = std::env::temp_dir().join(format!("sova-demo-{}", new_id("")));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let file = dir.join("ledger.sqlite3");
        Ok(DemoLedger { dir, file })
    }

    /// Opens it, as a new process would (a connection of its own).
    fn open(&self) -> Result<Ledger, String> {
        Ledger::sqlite(&self.file).map_err(|e| e.to_string())
    }

    fn path(&self) -> &Path {
        &self.file
    }
}

impl Drop for DemoLedger {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A paying client of `keypair` with the 0.02/day budget counted in `ledger`.
fn client(
    sb: &Sandbox,
    keypair: &Arc<Keypair>,
    ledger: Ledger,
) -> Result<blocking::intel::Client, String> {
    blocking::intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .rpc_url(sb.rpc_url())
        .x402(Arc::new(payer(sb, keypair, ledger)?))
        .build_blocking()
        .map_err(|e| e.to_string())
}

fn payer(sb: &Sandbox, keypair: &Arc<Keypair>, ledger: Ledger) -> Result<Payer, String> {
    let policy = SpendPolicy::builder()
        .max_per_payment(programs::USDC_MAINNET, BUDGET)
        .budget_over(programs::USDC_MAINNET, Budget::new(BUDGET, Window::Day))
        .ledger(ledger)
        .build();
    Payer::builder()
        .shared_signer(keypair.clone())
        .policy(Arc::new(policy))
        .sova_host(&sb.intel_base_url())
        .build()
        .map_err(|e| e.to_string())
}

fn held(ledger: &Ledger, who: &Keypair) -> Result<u64, String> {
    ledger
        .held(
            &who.pubkey().to_string(),
            Scope::Wallet,
            &programs::USDC_MAINNET.to_string(),
            0,
        )
        .map_err(|e| e.to_string())
}

fn funded(sb: &Sandbox) -> Result<Arc<Keypair>, String> {
    let k = Arc::new(Keypair::generate());
    sb.fund_wallet(&k.pubkey(), FUND_LAMPORTS, FUND_USDC);
    if sb.usdc_balance(&k.pubkey()) != FUND_USDC {
        return Err("the faucet did not fund the wallet".into());
    }
    Ok(k)
}

/// Two runs, one ledger file: the first pays, the second is refused by the budget the
/// first used.
pub(crate) fn budget_across_runs(
    sb: &Sandbox,
    store: &DemoLedger,
    wallets: [&str; 2],
) -> Result<(String, Value), String> {
    let bot = funded(sb)?;
    let me = bot.pubkey().to_string();
    let paid_before = sb.payments().iter().filter(|p| p.payer == me).count();
    // Run 1: its own ledger connection, as a process of its own.
    let first = client(sb, &bot, store.open()?)?
        .wallet_hud(wallets[0])
        .map_err(|e| format!("run 1: {}", crate::err::one_line(&e.to_string())))?;
    let receipt = first.receipt.ok_or("run 1 reported no receipt")?;
    // Run 2: a new client and a new connection to the same file.
    let ledger = store.open()?;
    let second = client(sb, &bot, ledger.clone())?.wallet_hud(wallets[1]);
    let refusal = match second {
        Err(e @ sova::Error::PaymentRefused(_)) => crate::err::one_line(&e.to_string()),
        Err(e) => return Err(format!("run 2: expected a budget refusal, got: {e}")),
        Ok(_) => return Err("run 2 paid: the budget was not shared".into()),
    };
    let paid = sb.payments().iter().filter(|p| p.payer == me).count() - paid_before;
    if paid != 1 {
        return Err(format!("{paid} payments settled, not 1"));
    }
    let held = held(&ledger, &bot)?;
    Ok((
        out::kv(&[
            (
                "ledger",
                format!("{} (SQLite, shared)", store.path().display()),
            ),
            ("budget", format!("{} a rolling day", usdc(BUDGET))),
            ("run 1", format!("paid {}", usdc(receipt.amount))),
            ("run 2", format!("refused, nothing signed: {refusal}")),
            ("held in the ledger", usdc(held)),
            (
                "the CLI",
                "the same with `sova intel hud --budget 0.02` run twice (exit 3)".to_owned(),
            ),
        ]),
        json!({"paid": paid, "held": held, "refused": refusal}),
    ))
}

/// A payment signed and journaled `sent` by a client that then "crashed"; its blockhash
/// expires; the next start (`reconcile_pending()`) proves it never landed and frees its
/// budget.
pub(crate) fn crash_recovered(
    sb: &Sandbox,
    store: &DemoLedger,
    wallet: &str,
) -> Result<(String, Value), String> {
    let bot = funded(sb)?;
    // The crashed process: it signs and journals the payment `sent`, and dies before any
    // answer (the request never reached the server).
    let ledger = store.open()?;
    let id = sign_and_crash(sb, &bot, ledger.clone(), wallet)?;
    let status = |l: &Ledger| -> Result<Status, String> {
        l.get(&id)
            .map_err(|e| e.to_string())?
            .map(|e| e.status)
            .ok_or_else(|| "the payment is not in the journal".to_owned())
    };
    let before = status(&ledger)?;
    let held_before = held(&ledger, &bot)?;
    drop(ledger);
    // Its blockhash expires: from now on our RPC can prove it will never land.
    sb.expire_blockhashes();
    // The restart: a new client on the same ledger reconciles before paying.
    let ledger = store.open()?;
    let restarted = client(sb, &bot, ledger.clone())?;
    let r = restarted
        .reconcile_pending()
        .map_err(|e| crate::err::one_line(&e.to_string()))?;
    let after = status(&ledger)?;
    let held_after = held(&ledger, &bot)?;
    if after != Status::Expired || held_after != 0 {
        return Err(format!(
            "after reconciliation: {after}, {} still held",
            usdc(held_after)
        ));
    }
    let on_chain = sb
        .payments()
        .iter()
        .any(|p| p.payer == bot.pubkey().to_string());
    if on_chain {
        return Err("the crashed payment reached the chain".into());
    }
    Ok((
        out::kv(&[
            (
                "crashed run",
                format!("signed {id}, journaled `{before}`, then stopped"),
            ),
            ("held after the crash", usdc(held_before)),
            (
                "then",
                "the sandbox's chain moves past its blockhash".to_owned(),
            ),
            (
                "next start",
                format!(
                    "reconcile_pending(): {} checked, now `{after}` (our RPC proved it can never land)",
                    r.checked.len()
                ),
            ),
            (
                "held now",
                format!("{} (its budget came back)", usdc(held_after)),
            ),
            (
                "the CLI",
                "every paying command does this first; or `sova payments reconcile`".to_owned(),
            ),
        ]),
        json!({"id": id, "before": before, "after": after, "heldBefore": held_before, "heldAfter": held_after}),
    ))
}

/// Does what a paying call does up to the send, through the same journal: reserve, sign,
/// journal `signed` (with the record and the transaction), journal `sent`. Returns the
/// ledger id.
fn sign_and_crash(
    sb: &Sandbox,
    keypair: &Arc<Keypair>,
    ledger: Ledger,
    wallet: &str,
) -> Result<String, String> {
    let payer = payer(sb, keypair, ledger.clone())?;
    let url = format!("{}/intel/wallet/{wallet}/hud", sb.intel_base_url());
    let request = sova_protocol::http::Request::get(url)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    let (status, headers) = crate::http::send_headers(request).map_err(|e| e.message)?;
    if status != 402 {
        return Err(format!(
            "the HUD answered {status} without payment, not 402"
        ));
    }
    let header = headers.ok_or("the 402 carried no PAYMENT-REQUIRED")?;
    let required = crate::cmd_x402::parse_required(&header).map_err(|e| e.message.clone())?;
    let host = sb.base_url();
    let host = host.strip_prefix("http://").unwrap_or(&host).to_owned();
    let now = Instant::now();
    let mut latest = None;
    let mut next = None;
    let payment: Box<PreparedPayment> = loop {
        let prepared = match next.take() {
            Some(p) => p,
            None => {
                let mut ctx = PrepareContext::new(now)
                    .host(&host)
                    .wall_clock_ms(unix_ms());
                if let Some(l) = latest {
                    ctx = ctx.blockhash(l);
                }
                payer.prepare(&required, &ctx)
            }
        };
        match prepared.map_err(|e| e.to_string())? {
            Prepared::Ready(p) => break p,
            Prepared::NeedReservation(pending) => {
                let pending = pending
                    .for_request(&new_id("req_"), "intel.wallet_hud")
                    .at(unix_ms());
                let outcome = ledger
                    .reserve(pending.request().clone())
                    .map_err(|e| e.to_string())?;
                next = Some(payer.complete(pending, outcome));
            }
            Prepared::NeedBlockhash(call) => {
                latest = Some(crate::http::rpc_call(&sb.rpc_url(), &call).map_err(|e| e.message)?);
            }
            Prepared::NeedMintInfo(call) => {
                let info = crate::http::rpc_call(&sb.rpc_url(), &call).map_err(|e| e.message)?;
                payer.mints().insert(info);
            }
            _ => return Err("the payer gave an unexpected answer".into()),
        }
        if now.elapsed() > Duration::from_secs(10) {
            return Err("could not prepare the payment".into());
        }
    };
    let id = payment.reservation().id().to_owned();
    let mut signed = Transition::new(&id, Status::Signed, unix_ms());
    signed.record = Some(payment.record().clone());
    signed.transaction = Some(sova_protocol::x402::b64::encode(payment.transaction()));
    ledger.transition(signed).map_err(|e| e.to_string())?;
    ledger
        .transition(Transition::new(&id, Status::Sent, unix_ms()))
        .map_err(|e| e.to_string())?;
    // The crash: the process is gone before the request leaves; the reservation stays held.
    drop(payment);
    Ok(id)
}
