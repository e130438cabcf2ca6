//! Reconciliation after the call: payments the journal holds as `sent` or `uncertain` are
//! looked up through our own RPC and resolved — landed (charged), failed on chain or
//! expired (budget released) — and payments left `reserved` or `signed` by a process that
//! stopped are reclaimed. Runs at client start, on demand and in the background.

use std::time::Instant;

use sova_protocol::http::Response;
use sova_x402::Reconciliation;
use sova_x402::ledger::{
    Entry, LedgerError, Op, Query, RECLAIM_AFTER_MS, Reply, Status, Transition,
};

use super::reconcile::{RecStep, Reconcile};
use super::{Ctx, Failure, Machine, Step, Target};
use crate::error::Error;

/// What reconciliation found for one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resolved {
    /// The ledger id.
    pub id: String,
    /// Base units.
    pub amount: u64,
    /// The mint.
    pub asset: String,
    /// The payer's signature.
    pub signature: Option<String>,
    /// Its status before.
    pub before: Status,
    /// Its status now (unchanged when the chain could not decide yet).
    pub after: Status,
}

/// The outcome of a reconciliation pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reconciled {
    /// Payments looked up on chain.
    pub checked: Vec<Resolved>,
    /// Unsent payments of stopped processes, released.
    pub reclaimed: Vec<String>,
}

impl Reconciled {
    /// Payments still undecided (their blockhash may still be valid, or our RPC could not
    /// answer): run again later.
    pub fn pending(&self) -> impl Iterator<Item = &Resolved> {
        self.checked
            .iter()
            .filter(|r| r.after.needs_reconciliation())
    }

    /// Base units whose budget came back (expired or failed on chain).
    pub fn released_amount(&self) -> u64 {
        self.checked
            .iter()
            .filter(|r| !r.after.holds_budget())
            .map(|r| r.amount)
            .sum()
    }
}

enum Phase {
    /// Reading the journal.
    Listing,
    /// Reading the chain about `entries[at]`.
    Looking {
        rec: Box<Reconcile>,
    },
    /// Writing a verdict.
    Writing,
    Over,
}

/// Reconciles the journal's open payments of this client's wallet (or one payment).
pub struct ReconcileJournal {
    only: Option<String>,
    reclaim_after_ms: u64,
    entries: Vec<Entry>,
    at: usize,
    out: Reconciled,
    phase: Phase,
}

impl ReconcileJournal {
    /// Every open payment of the wallet (and reclaims unsent ones left by stopped
    /// processes).
    pub fn all() -> Self {
        Self::new(None)
    }

    /// [`Self::all`], reclaiming reservations idle for `reclaim_after` (default
    /// [`RECLAIM_AFTER_MS`]): a shorter time is safe for money (a reclaimed reservation is
    /// never signed or sent) but fails a live call that was about to sign.
    pub fn all_reclaiming_after(reclaim_after: std::time::Duration) -> Self {
        let mut r = Self::new(None);
        r.reclaim_after_ms = u64::try_from(reclaim_after.as_millis()).unwrap_or(u64::MAX);
        r
    }

    /// One payment, by ledger id.
    pub fn one(id: &str) -> Self {
        Self::new(Some(id.to_owned()))
    }

    fn new(only: Option<String>) -> Self {
        ReconcileJournal {
            only,
            reclaim_after_ms: RECLAIM_AFTER_MS,
            entries: Vec::new(),
            at: 0,
            out: Reconciled::default(),
            phase: Phase::Listing,
        }
    }

    fn next(&mut self, cx: &mut Ctx<'_>) -> Step<Result<Reconciled, Error>> {
        let Some(p) = cx.payments else {
            self.phase = Phase::Over;
            return Step::Done(Ok(std::mem::take(&mut self.out)));
        };
        while let Some(e) = self.entries.get(self.at) {
            if !e.status.needs_reconciliation() {
                self.at += 1;
                continue;
            }
            let Some(record) = e.record.clone() else {
                self.at += 1;
                continue;
            };
            let (rec, step) = Reconcile::start(record, &p.rpc_url);
            self.phase = Phase::Looking { rec: Box::new(rec) };
            return self.rec_step(cx, step);
        }
        self.phase = Phase::Over;
        Step::Done(Ok(std::mem::take(&mut self.out)))
    }

    fn rec_step(&mut self, cx: &mut Ctx<'_>, step: RecStep) -> Step<Result<Reconciled, Error>> {
        match step {
            RecStep::Ask(request) => {
                cx.stats.rpc += 1;
                Step::Send {
                    target: Target::Rpc,
                    request,
                    timeout: cx.settings.attempt_timeout,
                }
            }
            RecStep::Verdict(v) => self.verdict(cx, v),
        }
    }

    fn verdict(&mut self, cx: &mut Ctx<'_>, v: Reconciliation) -> Step<Result<Reconciled, Error>> {
        let Some(e) = self.entries.get(self.at) else {
            return self.next(cx);
        };
        let (to, detail, txid) = match &v {
            Reconciliation::Landed { signature, slot } => (
                Status::Landed,
                format!("our RPC found it landed at slot {slot}"),
                Some(signature.clone()),
            ),
            Reconciliation::FailedOnChain { signature, error } => (
                Status::Failed,
                format!("our RPC found transaction {signature} failed on chain: {error}"),
                Some(signature.clone()),
            ),
            Reconciliation::Expired => (
                Status::Expired,
                "our RPC proved its blockhash expired and found nothing".to_owned(),
                None,
            ),
            _ => {
                self.out.checked.push(resolved(e, e.status));
                self.at += 1;
                return self.next(cx);
            }
        };
        self.out.checked.push(resolved(e, to));
        let mut t = Transition::new(&e.id, to, cx.now_ms()).detail(detail);
        t.transaction_id = txid;
        self.at += 1;
        self.phase = Phase::Writing;
        Step::Ledger(vec![Op::Transition(Box::new(t))])
    }
}

fn resolved(e: &Entry, after: Status) -> Resolved {
    Resolved {
        id: e.id.clone(),
        amount: e.amount,
        asset: e.asset.clone(),
        signature: e.signature.clone(),
        before: e.status,
        after,
    }
}

impl Machine for ReconcileJournal {
    type Value = Reconciled;

    fn start(&mut self, cx: &mut Ctx<'_>, _: Instant) -> Step<Result<Reconciled, Error>> {
        let Some(p) = cx.payments else {
            self.phase = Phase::Over;
            return Step::Done(Ok(Reconciled::default()));
        };
        let now = cx.now_ms();
        let ops = match &self.only {
            Some(id) => vec![Op::Get(id.clone())],
            None => vec![
                Op::Reclaim {
                    older_than_ms: now.saturating_sub(self.reclaim_after_ms),
                    now_ms: now,
                },
                Op::List(Query {
                    statuses: vec![Status::Signed, Status::Sent, Status::Uncertain],
                    payer: Some(p.payer.pubkey().to_string()),
                    ..Query::default()
                }),
            ],
        };
        self.phase = Phase::Listing;
        Step::Ledger(ops)
    }

    fn on_response(
        &mut self,
        cx: &mut Ctx<'_>,
        response: Response<Vec<u8>>,
        _: Instant,
    ) -> Step<Result<Reconciled, Error>> {
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Looking { mut rec } => {
                let step = rec.on_response(&response);
                self.phase = Phase::Looking { rec };
                self.rec_step(cx, step)
            }
            _ => Step::Done(Err(Error::internal(
                "an answer arrived when none was expected",
            ))),
        }
    }

    fn on_failure(
        &mut self,
        cx: &mut Ctx<'_>,
        _: Failure,
        _: Instant,
    ) -> Step<Result<Reconciled, Error>> {
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Looking { mut rec } => {
                let step = rec.on_failure();
                self.phase = Phase::Looking { rec };
                self.rec_step(cx, step)
            }
            _ => Step::Done(Err(Error::internal(
                "a transport failure arrived when nothing was sent",
            ))),
        }
    }

    fn on_wake(&mut self, _: &mut Ctx<'_>, _: Instant) -> Step<Result<Reconciled, Error>> {
        Step::Done(Err(Error::internal("a wake-up arrived when nothing slept")))
    }

    fn on_ledger(
        &mut self,
        cx: &mut Ctx<'_>,
        replies: Result<Vec<Reply>, LedgerError>,
        _: Instant,
    ) -> Step<Result<Reconciled, Error>> {
        let replies = match replies {
            Ok(r) => r,
            Err(e) => {
                return Step::Done(Err(Error::Ledger {
                    message: e.to_string(),
                    payment: None,
                }));
            }
        };
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Listing => {
                for r in replies {
                    match r {
                        Reply::Ids(ids) => self.out.reclaimed = ids,
                        Reply::Entries(e) => self.entries = e,
                        Reply::Entry(Some(e)) => self.entries = vec![*e],
                        _ => {}
                    }
                }
                self.at = 0;
                self.next(cx)
            }
            Phase::Writing => self.next(cx),
            _ => Step::Done(Err(Error::internal(
                "a ledger answer arrived when none was expected",
            ))),
        }
    }
}
