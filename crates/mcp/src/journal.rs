//! The server's money as the payment ledger holds it: the budget held in its window, the spend
//! report, the `payments` listing and the background reconciliation of payments whose outcome
//! is unknown.
//!
//! The ledger is shared: every server (and `sova` command) on one ledger file or PostgreSQL
//! database sees the same budget and the same journal, across restarts. Reads go through
//! [`Ledger::submit`] and are awaited, so a durable ledger never blocks the executor.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sova_x402::ledger::{
    Charge, Entry, Ledger, LedgerError, Op, Query, Reply as LedgerReply, Scope, Status, Window,
    unix_ms,
};
use sova_x402::programs;

use crate::call::{Reply, Stop, ToolError};
use crate::run::ledger_error;
use crate::server::{Inner, lock};
use crate::spend::rfc3339_ms;
use crate::tools::{PaymentState, PaymentsArgs};
use crate::usdc;

/// Most journal entries read for a report.
const REPORT_LIMIT: u32 = 1_000;

async fn one(ledger: &Ledger, op: Op) -> Result<LedgerReply, LedgerError> {
    ledger
        .submit(vec![op])
        .await?
        .pop()
        .ok_or(LedgerError::Mismatch("nothing"))
}

/// Base units of USDC held (charged or may be) by `payer` in the window ending now.
pub(crate) async fn held(ledger: &Ledger, payer: &str, window: Window) -> Result<u64, LedgerError> {
    let op = Op::Held {
        payer: payer.to_owned(),
        scope: Scope::Wallet,
        asset: programs::USDC_MAINNET.to_string(),
        since_ms: window.since(unix_ms()),
    };
    match one(ledger, op).await? {
        LedgerReply::Amount(a) => Ok(a),
        _ => Err(LedgerError::Mismatch("to a sum")),
    }
}

/// Journal entries, newest first.
pub(crate) async fn list(ledger: &Ledger, q: Query) -> Result<Vec<Entry>, LedgerError> {
    match one(ledger, Op::List(q)).await? {
        LedgerReply::Entries(e) => Ok(e),
        _ => Err(LedgerError::Mismatch("to a listing")),
    }
}

/// `charged`, `may_have_charged` or `not_charged`: the state every result names.
pub(crate) fn charge_name(s: Status) -> &'static str {
    match s.charge() {
        Charge::Charged => "charged",
        Charge::NotCharged => "not_charged",
        _ => "may_have_charged",
    }
}

/// What this session knows of a payment: its tool, endpoint and whether the user approved.
fn session(inner: &Inner, e: &Entry) -> Option<(String, String, bool)> {
    let sig = e.signature.as_deref()?;
    let log = lock(&inner.log);
    if let Some(s) = log.settled.iter().find(|s| s.payer_signature == sig) {
        return Some((s.tool.clone(), s.endpoint.clone(), s.user_approved));
    }
    log.uncertain
        .iter()
        .find(|s| s.payer_signature == sig)
        .map(|s| (s.tool.clone(), s.endpoint.clone(), false))
}

/// The tool that made a payment: this session's record, else the endpoint's tool.
fn tool_of(inner: &Inner, e: &Entry) -> Option<String> {
    if let Some((tool, _, _)) = session(inner, e) {
        return Some(tool);
    }
    let ep = e.endpoint.as_deref()?.strip_prefix("intel.")?;
    crate::tools::TOOL_NAMES
        .iter()
        .find(|t| **t == ep)
        .map(|t| (*t).to_owned())
}

/// The endpoint paid for: the journal's, else this session's record.
fn endpoint_of(inner: &Inner, e: &Entry) -> Option<String> {
    e.endpoint
        .clone()
        .or_else(|| session(inner, e).map(|(_, ep, _)| ep))
}

/// One journal entry as the tools show it (never the signed transaction).
pub(crate) fn entry_json(inner: &Inner, e: &Entry) -> Value {
    let network = inner
        .payer
        .as_ref()
        .map(|p| p.network().to_owned())
        .unwrap_or_default();
    json!({
        "ledgerId": e.id,
        "status": e.status.as_str(),
        "state": charge_name(e.status),
        "tool": tool_of(inner, e),
        "endpoint": endpoint_of(inner, e),
        "amount": usdc::json(e.amount),
        "transaction": e.transaction_id,
        "payerSignature": e.signature,
        "payer": e.payer,
        "asset": e.asset,
        "payTo": e.pay_to,
        "network": network,
        "scope": e.scope,
        "time": rfc3339_ms(e.created_ms),
        "updated": rfc3339_ms(e.updated_ms),
        "userApproved": session(inner, e).is_some_and(|(_, _, ok)| ok),
        "detail": e.detail,
    })
}

/// The wallet's payments in the budget's window, newest first (USDC only).
async fn window_entries(inner: &Inner, wallet: &str) -> Result<Vec<Entry>, LedgerError> {
    let q = Query {
        since_ms: Some(inner.limits.window.since(unix_ms())),
        payer: Some(wallet.to_owned()),
        limit: Some(REPORT_LIMIT),
        ..Query::default()
    };
    let usdc = programs::USDC_MAINNET.to_string();
    Ok(list(&inner.ledger, q)
        .await?
        .into_iter()
        .filter(|e| e.asset == usdc)
        .collect())
}

/// What the wallet spent in the budget's window, from the ledger.
pub(crate) struct Spent {
    /// Base units held: charged or may have been.
    pub(crate) held: u64,
    /// Charged payments and their total.
    pub(crate) charged: (usize, u64),
    /// Payments whose outcome is unknown (or still in flight) and their total.
    pub(crate) unsure: (usize, u64),
    /// Payments in the last minute.
    pub(crate) last_minute: usize,
}

/// Reads the wallet's spend from the ledger (`None` without a wallet).
pub(crate) async fn spent(inner: &Inner) -> Option<Result<Spent, LedgerError>> {
    let wallet = inner.payer.as_ref()?.pubkey().to_string();
    Some(spent_of(inner, &wallet).await)
}

async fn spent_of(inner: &Inner, wallet: &str) -> Result<Spent, LedgerError> {
    let held = held(&inner.ledger, wallet, inner.limits.window).await?;
    let entries = window_entries(inner, wallet).await?;
    let minute_ago = unix_ms().saturating_sub(60_000);
    let mut s = Spent {
        held,
        charged: (0, 0),
        unsure: (0, 0),
        last_minute: 0,
    };
    for e in &entries {
        match e.status.charge() {
            Charge::Charged => {
                s.charged.0 += 1;
                s.charged.1 += e.amount;
            }
            Charge::NotCharged => {}
            _ => {
                s.unsure.0 += 1;
                s.unsure.1 += e.amount;
            }
        }
        if e.created_ms >= minute_ago && e.status.holds_budget() {
            s.last_minute += 1;
        }
    }
    Ok(s)
}

/// The `spend_report` document: the wallet's payments in the budget's window, from the
/// ledger (so every server sharing it reports the same), and those of unknown outcome.
pub(crate) async fn spend_report(inner: &Inner) -> Result<(String, Value), LedgerError> {
    let Some(p) = &inner.payer else {
        return Ok((
            "No x402 wallet: calls use the API key's credits; nothing is paid in USDC.".into(),
            json!({"payments": [], "total": usdc::json(0), "uncertain": []}),
        ));
    };
    let wallet = p.pubkey().to_string();
    let entries = window_entries(inner, &wallet).await?;
    let mut payments = Vec::new();
    let mut uncertain = Vec::new();
    let (mut total, mut released) = (0u64, 0usize);
    // Oldest first, as a statement reads.
    for e in entries.iter().rev() {
        match e.status.charge() {
            Charge::Charged => {
                total += e.amount;
                payments.push(entry_json(inner, e));
            }
            Charge::NotCharged => released += 1,
            _ => {
                let mut v = entry_json(inner, e);
                v["reason"] = json!(
                    e.detail
                        .clone()
                        .unwrap_or_else(|| format!("{}: the outcome is not known yet", e.status))
                );
                uncertain.push(v);
            }
        }
    }
    let window = inner.limits.window;
    let mut summary = format!(
        "{} payments of wallet {wallet} {}, {} USDC in all (from the payment ledger, shared by every server on it).",
        payments.len(),
        window_phrase(window),
        usdc::format(total)
    );
    if !uncertain.is_empty() {
        summary.push_str(&format!(
            " {} payments have an unknown outcome and may have been charged (listed under uncertain); they are reconciled in the background, or now with payments(reconcile: true).",
            uncertain.len()
        ));
    }
    let doc = json!({
        "wallet": wallet,
        "window": window.as_str(),
        "since": rfc3339_ms(window.since(unix_ms())),
        "ledger": inner.ledger.describe(),
        "payments": payments,
        "total": usdc::json(total),
        "uncertain": uncertain,
        "notCharged": released,
    });
    Ok((summary, doc))
}

/// `in the last day`, `in all`…
pub(crate) fn window_phrase(w: Window) -> &'static str {
    match w {
        Window::Hour => "in the last hour",
        Window::Day => "in the last 24 hours",
        Window::Week => "in the last 7 days",
        Window::Days30 => "in the last 30 days",
        _ => "in all",
    }
}

/// Stops the background reconciliation when dropped.
#[derive(Debug)]
pub struct Reconciler {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Reconciler {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// One reconciliation pass: resolves the wallet's sent and uncertain payments through our
/// RPC and reclaims unsent payments of stopped processes.
pub(crate) async fn reconcile_once(inner: &Inner) -> Result<sova::flow::Reconciled, sova::Error> {
    let r = inner.client.reconcile_pending().await?;
    let resolved = r.checked.iter().filter(|c| c.after != c.before).count();
    if resolved > 0 || !r.reclaimed.is_empty() {
        tracing::info!(
            resolved,
            reclaimed = r.reclaimed.len(),
            still_pending = r.pending().count(),
            "reconciled payments"
        );
    }
    Ok(r)
}

/// Starts the background reconciliation: once now, then every `inner.reconcile_every`, until
/// the returned guard is dropped. Nothing runs without an x402 wallet.
pub(crate) fn start(inner: Arc<Inner>) -> Reconciler {
    if inner.payer.is_none() {
        return Reconciler { task: None };
    }
    let every = inner.reconcile_every.max(Duration::from_millis(10));
    let task = tokio::spawn(async move {
        loop {
            if let Err(e) = reconcile_once(&inner).await {
                tracing::warn!(error = %e, "background reconciliation failed; will retry");
            }
            tokio::time::sleep(every).await;
        }
    });
    Reconciler { task: Some(task) }
}

fn statuses(state: Option<PaymentState>) -> Vec<Status> {
    Status::ALL
        .into_iter()
        .filter(|s| match state {
            None => true,
            Some(PaymentState::Charged) => s.charge() == Charge::Charged,
            Some(PaymentState::NotCharged) => s.charge() == Charge::NotCharged,
            Some(PaymentState::MayHaveCharged) => s.charge() == Charge::MayHaveCharged,
        })
        .collect()
}

/// One line of the `payments` text: time, status, amount, tool, signature.
fn line(inner: &Inner, e: &Entry) -> String {
    let mut time = rfc3339_ms(e.created_ms);
    time.truncate(19);
    format!(
        "- {time}Z {} ({}) {} USDC {} {}",
        e.status,
        charge_name(e.status),
        usdc::format(e.amount),
        tool_of(inner, e)
            .or_else(|| endpoint_of(inner, e))
            .unwrap_or_else(|| "?".into()),
        e.signature.as_deref().unwrap_or("(not signed)"),
    )
}

/// The `payments` tool: recent payments of the wallet from the journal, paged, after an
/// optional reconciliation of those whose outcome is unknown.
pub(crate) async fn payments(inner: &Inner, a: PaymentsArgs) -> Result<Reply, Stop> {
    let limit = a.limit.unwrap_or(crate::tools::DEFAULT_LIMIT) as usize;
    let offset = a.offset.unwrap_or(0) as usize;
    let wallet = inner.payer.as_ref().map(|p| p.pubkey().to_string());
    let mut head = Vec::new();
    let mut reconciled = Value::Null;
    if a.reconcile.unwrap_or(false) {
        if wallet.is_none() {
            head.push("No x402 wallet: nothing to reconcile.".to_owned());
        } else {
            let r = reconcile_once(inner).await.map_err(|e| {
                Stop::from(ToolError::new(
                    "reconcile_failed",
                    format!("Reconciliation failed: {e}. Nothing was paid; the journal is unchanged for the payments not yet checked."),
                ))
            })?;
            head.push(reconcile_sentence(&r));
            reconciled = json!({
                "checked": r.checked.iter().map(|c| json!({
                    "ledgerId": c.id,
                    "payerSignature": c.signature,
                    "amount": usdc::json(c.amount),
                    "before": c.before.as_str(),
                    "after": c.after.as_str(),
                    "state": charge_name(c.after),
                })).collect::<Vec<_>>(),
                "reclaimed": r.reclaimed,
                "released": usdc::json(r.released_amount()),
                "stillPending": r.pending().count(),
            });
        }
    }
    let q = Query {
        statuses: statuses(a.state),
        payer: wallet.clone(),
        limit: Some(u32::try_from(offset + limit + 1).unwrap_or(u32::MAX)),
        ..Query::default()
    };
    let entries = list(&inner.ledger, q).await.map_err(ledger_error)?;
    let more = entries.len() > offset + limit;
    let page: Vec<&Entry> = entries.iter().skip(offset).take(limit).collect();
    let whose = wallet
        .as_deref()
        .map(|w| format!("wallet {w}"))
        .unwrap_or_else(|| "every wallet".into());
    let filter = a
        .state
        .map(|s| match s {
            PaymentState::Charged => " charged",
            PaymentState::MayHaveCharged => " possibly charged",
            PaymentState::NotCharged => " not charged",
        })
        .unwrap_or("");
    head.push(if page.is_empty() {
        format!(
            "No{filter} payments of {whose} in the journal from {}.",
            offset + 1
        )
    } else {
        format!(
            "Payments{filter} of {whose}, newest first: {} to {}.",
            offset + 1,
            offset + page.len()
        )
    });
    head.extend(page.iter().map(|e| line(inner, e)));
    let mut reply = Reply::done(
        head.join("\n"),
        json!({
            "wallet": wallet,
            "ledger": inner.ledger.describe(),
            "offset": offset,
            "limit": limit,
            "hasMore": more,
            "payments": page.iter().map(|e| entry_json(inner, e)).collect::<Vec<_>>(),
            "reconciled": reconciled,
        }),
    );
    reply.quiet = true;
    if more {
        reply.more = Some(format!(
            "More: payments with offset {} (free).",
            offset + limit
        ));
    }
    Ok(reply)
}

fn reconcile_sentence(r: &sova::flow::Reconciled) -> String {
    let count = |f: fn(Status) -> bool| r.checked.iter().filter(|c| f(c.after)).count();
    let landed = count(|s| s.charge() == Charge::Charged);
    let dead = count(|s| !s.holds_budget());
    let pending = r.pending().count();
    format!(
        "Reconciled {} payments with our RPC: {landed} charged, {dead} not charged ({} USDC of budget back), {pending} still undecided (their blockhash may still be valid; checked again in the background). {} unsent payments of stopped processes released.",
        r.checked.len(),
        usdc::format(r.released_amount()),
        r.reclaimed.len()
    )
}
