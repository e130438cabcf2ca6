//! The in-memory store: the journal and the shared rules of one process, gone with it.

use std::collections::{HashMap, HashSet};

use super::types::{
    Entry, LedgerError, MINUTE_MS, Op, Query, Reply, ReserveOutcome, ReserveRequest, Scope, Status,
    Store, Transition, TransitionOutcome, check_caps,
};

/// Payments that ended without holding budget are forgotten after this long.
const FORGET_RELEASED_MS: u64 = 3_600_000;

/// Journal entries in memory: today's in-process behaviour, for tests and for users who opt
/// out of a durable ledger.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: HashMap<String, Entry>,
    /// Ids in reservation order (oldest first), for listing and pruning.
    order: Vec<String>,
    digests: HashSet<String>,
    digest_of: HashMap<String, String>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn held(&self, payer: &str, scope: &Scope, asset: &str, since_ms: u64) -> u64 {
        self.entries
            .values()
            .filter(|e| {
                (payer.is_empty() || e.payer == payer)
                    && e.asset == asset
                    && e.created_ms >= since_ms
                    && e.status.holds_budget()
                    && match scope {
                        Scope::Wallet => true,
                        Scope::Named(n) => e.scope.as_deref() == Some(n.as_str()),
                    }
            })
            .fold(0u64, |s, e| s.saturating_add(e.amount))
    }

    fn recent(&self, payer: &str, now_ms: u64) -> u64 {
        let since = now_ms.saturating_sub(MINUTE_MS);
        self.entries
            .values()
            .filter(|e| e.payer == payer && e.created_ms > since && e.status != Status::Released)
            .count() as u64
    }

    fn reserve(&mut self, req: &ReserveRequest) -> ReserveOutcome {
        if self.entries.contains_key(&req.id) {
            return ReserveOutcome::Reserved;
        }
        if let Some(d) = &req.message_digest
            && self.digests.contains(d)
        {
            return ReserveOutcome::Duplicate;
        }
        let refusal = check_caps(
            req,
            |scope, since| Ok(self.held(&req.payer, scope, &req.asset, since)),
            || Ok(self.recent(&req.payer, req.now_ms)),
        );
        if let Ok(Some(r)) = refusal {
            return ReserveOutcome::Refused(r);
        }
        self.prune(req.now_ms);
        if let Some(d) = &req.message_digest {
            self.digests.insert(d.clone());
            self.digest_of.insert(req.id.clone(), d.clone());
        }
        self.order.push(req.id.clone());
        self.entries.insert(
            req.id.clone(),
            Entry {
                id: req.id.clone(),
                request_id: req.request_id.clone(),
                created_ms: req.now_ms,
                updated_ms: req.now_ms,
                status: Status::Reserved,
                payer: req.payer.clone(),
                scope: req.scope.clone(),
                asset: req.asset.clone(),
                amount: req.amount,
                pay_to: req.pay_to.clone(),
                host: req.host.clone(),
                endpoint: req.endpoint.clone(),
                signature: None,
                transaction_id: None,
                record: None,
                transaction: None,
                detail: None,
            },
        );
        ReserveOutcome::Reserved
    }

    /// Forgets entries that no longer hold budget and ended long ago, so a long-lived
    /// process does not grow without bound. (Entries holding budget stay: a window may
    /// still count them.)
    fn prune(&mut self, now_ms: u64) {
        if self.order.len() < 4096 {
            return;
        }
        let cutoff = now_ms.saturating_sub(FORGET_RELEASED_MS);
        let entries = &mut self.entries;
        let digest_of = &mut self.digest_of;
        let digests = &mut self.digests;
        self.order.retain(|id| {
            let keep = entries
                .get(id)
                .is_some_and(|e| e.status.holds_budget() || e.updated_ms >= cutoff);
            if !keep {
                entries.remove(id);
                if let Some(d) = digest_of.remove(id) {
                    digests.remove(&d);
                }
            }
            keep
        });
    }

    fn transition(&mut self, t: &Transition) -> TransitionOutcome {
        let Some(e) = self.entries.get_mut(&t.id) else {
            return TransitionOutcome::NotFound;
        };
        if !t.allowed_from(e.status) {
            return TransitionOutcome::Conflict(e.status);
        }
        e.status = t.to;
        e.updated_ms = t.now_ms;
        if let Some(r) = &t.record {
            e.signature = Some(r.payer_signature.clone());
            if e.transaction_id.is_none() {
                e.transaction_id.clone_from(&r.transaction_signature);
            }
            e.record = Some(r.clone());
        }
        if t.transaction.is_some() {
            e.transaction.clone_from(&t.transaction);
        }
        if t.transaction_id.is_some() {
            e.transaction_id.clone_from(&t.transaction_id);
        }
        if t.detail.is_some() {
            e.detail.clone_from(&t.detail);
        }
        TransitionOutcome::Applied
    }

    fn list(&self, q: &Query) -> Vec<Entry> {
        let mut out: Vec<Entry> = self
            .order
            .iter()
            .rev()
            .filter_map(|id| self.entries.get(id))
            .filter(|e| matches_query(e, q))
            .cloned()
            .collect();
        if let Some(l) = q.limit {
            out.truncate(l as usize);
        }
        out
    }

    fn reclaim(&mut self, older_than_ms: u64, now_ms: u64) -> Vec<String> {
        let ids: Vec<String> = self
            .entries
            .values()
            .filter(|e| e.status == Status::Reserved && e.updated_ms < older_than_ms)
            .map(|e| e.id.clone())
            .collect();
        for id in &ids {
            self.transition(
                &Transition::new(id, Status::Released, now_ms)
                    .detail("reclaimed: never sent by a process that stopped"),
            );
        }
        ids
    }
}

/// Whether `e` matches `q`'s filters (the limit aside).
pub(crate) fn matches_query(e: &Entry, q: &Query) -> bool {
    q.since_ms.is_none_or(|s| e.created_ms >= s)
        && q.until_ms.is_none_or(|u| e.created_ms < u)
        && (q.statuses.is_empty() || q.statuses.contains(&e.status))
        && q.payer.as_ref().is_none_or(|p| *p == e.payer)
}

impl Store for MemoryStore {
    fn apply(&mut self, ops: &[Op]) -> Result<Vec<Reply>, LedgerError> {
        Ok(ops
            .iter()
            .map(|op| match op {
                Op::Reserve(r) => Reply::Reserve(self.reserve(r)),
                Op::Transition(t) => Reply::Transition(self.transition(t)),
                Op::Get(id) => Reply::Entry(self.entries.get(id).cloned().map(Box::new)),
                Op::List(q) => Reply::Entries(self.list(q)),
                Op::Held {
                    payer,
                    scope,
                    asset,
                    since_ms,
                } => Reply::Amount(self.held(payer, scope, asset, *since_ms)),
                Op::Reclaim {
                    older_than_ms,
                    now_ms,
                } => Reply::Ids(self.reclaim(*older_than_ms, *now_ms)),
            })
            .collect())
    }

    fn describe(&self) -> String {
        "memory".to_owned()
    }
}
