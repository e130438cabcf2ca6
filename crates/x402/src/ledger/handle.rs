//! The ledger handle: one backend, driven inline (memory) or by a worker thread that
//! commits the operations of concurrent calls together (durable stores).

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use super::memory::MemoryStore;
use super::types::{
    Entry, LedgerError, Op, Query, Reply, ReserveOutcome, ReserveRequest, Scope, Store, Transition,
    TransitionOutcome,
};

/// Most operations committed in one transaction by the worker.
const MAX_BATCH: usize = 256;

/// A payment event: a state change that the journal made durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The ledger id.
    pub id: String,
    /// The new status.
    pub status: super::Status,
    /// The detail written with it.
    pub detail: Option<String>,
}

/// A callback for [`Event`]s. It runs on the ledger's thread: keep it short.
pub type EventFn = Arc<dyn Fn(&Event) + Send + Sync>;

/// The replies once they are in, and the task to wake then.
type SlotState = (Option<Result<Vec<Reply>, LedgerError>>, Option<Waker>);

struct Slot {
    result: Mutex<SlotState>,
    ready: Condvar,
}

impl Slot {
    fn new() -> Arc<Slot> {
        Arc::new(Slot {
            result: Mutex::new((None, None)),
            ready: Condvar::new(),
        })
    }

    fn fill(&self, r: Result<Vec<Reply>, LedgerError>) {
        let mut g = self.result.lock().unwrap_or_else(PoisonError::into_inner);
        g.0 = Some(r);
        if let Some(w) = g.1.take() {
            w.wake();
        }
        self.ready.notify_all();
    }
}

/// Operations under way: wait for them with [`Pending::wait`] (blocking) or `.await` them
/// (async; the executor is never blocked).
#[must_use = "the operations may not be durable until they are waited for"]
pub struct Pending {
    slot: Arc<Slot>,
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pending")
    }
}

impl Pending {
    fn ready(r: Result<Vec<Reply>, LedgerError>) -> Pending {
        let slot = Slot::new();
        slot.fill(r);
        Pending { slot }
    }

    /// Blocks the current thread until the operations are durable.
    pub fn wait(self) -> Result<Vec<Reply>, LedgerError> {
        let mut g = self
            .slot
            .result
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(r) = g.0.take() {
                return r;
            }
            g = self
                .slot
                .ready
                .wait(g)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Future for Pending {
    type Output = Result<Vec<Reply>, LedgerError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut g = self
            .slot
            .result
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match g.0.take() {
            Some(r) => Poll::Ready(r),
            None => {
                g.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

struct Job {
    ops: Vec<Op>,
    slot: Arc<Slot>,
}

enum Engine {
    Inline(Mutex<Box<dyn Store>>),
    Worker(Mutex<mpsc::Sender<Job>>),
}

struct Inner {
    engine: Engine,
    describe: String,
    events: Arc<Mutex<Vec<EventFn>>>,
}

/// The payment ledger: reservations, the payment journal, the rate window and the
/// duplicate memory, in one store shared by every client, thread and — for durable
/// backends — process and machine that opens it. Cheap to clone.
///
/// * [`Ledger::memory`]: this process only (inline, no thread).
/// * [`Ledger::sqlite`] (feature `sqlite`): one file shared by the processes of a machine.
/// * [`Ledger::postgres`] (feature `postgres`): one server shared by a fleet.
/// * [`Ledger::open`]: any of them from a location (`SOVA_LEDGER`).
#[derive(Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Ledger").field(&self.inner.describe).finish()
    }
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger::memory()
    }
}

impl Ledger {
    /// A ledger in this process's memory.
    pub fn memory() -> Ledger {
        Ledger::inline(Box::new(MemoryStore::new()))
    }

    /// A ledger whose operations run on the calling thread (for fast, in-memory stores).
    pub fn inline(store: Box<dyn Store>) -> Ledger {
        let describe = store.describe();
        Ledger {
            inner: Arc::new(Inner {
                engine: Engine::Inline(Mutex::new(store)),
                describe,
                events: Arc::default(),
            }),
        }
    }

    /// A ledger whose operations run on a worker thread that owns `store` and commits the
    /// operations waiting at the same time in one transaction. The thread ends when the
    /// last handle is dropped.
    pub fn worker(store: Box<dyn Store>) -> Result<Ledger, LedgerError> {
        let describe = store.describe();
        let (tx, rx) = mpsc::channel::<Job>();
        let events: Arc<Mutex<Vec<EventFn>>> = Arc::default();
        let ev = Arc::clone(&events);
        std::thread::Builder::new()
            .name("sova-ledger".into())
            .spawn(move || run_worker(store, rx, ev))
            .map_err(|e| LedgerError::Store(format!("could not start the ledger thread: {e}")))?;
        Ok(Ledger {
            inner: Arc::new(Inner {
                engine: Engine::Worker(Mutex::new(tx)),
                describe,
                events,
            }),
        })
    }

    /// Whether operations complete on the calling thread (no I/O): the memory ledger.
    pub fn is_inline(&self) -> bool {
        matches!(self.inner.engine, Engine::Inline(_))
    }

    /// Whether the ledger outlives this process.
    pub fn is_durable(&self) -> bool {
        !self.is_inline()
    }

    /// Where it lives (a file path or a server, never a password).
    pub fn describe(&self) -> &str {
        &self.inner.describe
    }

    /// Calls `f` after every state change the journal made durable (signed, sent, settled,
    /// uncertain, resolved…), in this process.
    pub fn on_event(&self, f: EventFn) {
        self.inner
            .events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(f);
    }

    /// Submits `ops`; they are applied in order, atomically.
    pub fn submit(&self, ops: Vec<Op>) -> Pending {
        match &self.inner.engine {
            Engine::Inline(store) => {
                let r = store
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .apply(&ops);
                if let Ok(replies) = &r {
                    emit(&self.inner.events, &ops, replies);
                }
                Pending::ready(r)
            }
            Engine::Worker(tx) => {
                let slot = Slot::new();
                let job = Job {
                    ops,
                    slot: Arc::clone(&slot),
                };
                let sent = tx.lock().unwrap_or_else(PoisonError::into_inner).send(job);
                if sent.is_err() {
                    return Pending::ready(Err(LedgerError::Closed));
                }
                Pending { slot }
            }
        }
    }

    /// Applies `ops` and waits (blocking the thread; use [`Ledger::submit`] and `.await` in
    /// async code).
    pub fn apply(&self, ops: Vec<Op>) -> Result<Vec<Reply>, LedgerError> {
        self.submit(ops).wait()
    }

    fn one(&self, op: Op) -> Result<Reply, LedgerError> {
        self.apply(vec![op])?
            .pop()
            .ok_or(LedgerError::Mismatch("nothing"))
    }

    /// Reserves (blocking).
    pub fn reserve(&self, req: ReserveRequest) -> Result<ReserveOutcome, LedgerError> {
        match self.one(Op::Reserve(Box::new(req)))? {
            Reply::Reserve(o) => Ok(o),
            _ => Err(LedgerError::Mismatch("to a reservation")),
        }
    }

    /// Applies one state change (blocking).
    pub fn transition(&self, t: Transition) -> Result<TransitionOutcome, LedgerError> {
        match self.one(Op::Transition(Box::new(t)))? {
            Reply::Transition(o) => Ok(o),
            _ => Err(LedgerError::Mismatch("to a transition")),
        }
    }

    /// One journal entry (blocking).
    pub fn get(&self, id: &str) -> Result<Option<Entry>, LedgerError> {
        match self.one(Op::Get(id.to_owned()))? {
            Reply::Entry(e) => Ok(e.map(|b| *b)),
            _ => Err(LedgerError::Mismatch("to a lookup")),
        }
    }

    /// Journal entries, newest first (blocking).
    pub fn list(&self, q: Query) -> Result<Vec<Entry>, LedgerError> {
        match self.one(Op::List(q))? {
            Reply::Entries(e) => Ok(e),
            _ => Err(LedgerError::Mismatch("to a listing")),
        }
    }

    /// Base units held (charged or may be) by `payer`'s payments of `asset` in `scope`
    /// since `since_ms` (blocking).
    pub fn held(
        &self,
        payer: &str,
        scope: Scope,
        asset: &str,
        since_ms: u64,
    ) -> Result<u64, LedgerError> {
        match self.one(Op::Held {
            payer: payer.to_owned(),
            scope,
            asset: asset.to_owned(),
            since_ms,
        })? {
            Reply::Amount(a) => Ok(a),
            _ => Err(LedgerError::Mismatch("to a sum")),
        }
    }

    /// Releases reservations and signed payments that were never sent and have not moved
    /// since `older_than_ms` (their process stopped before sending): returns their ids.
    pub fn reclaim(&self, older_than_ms: u64, now_ms: u64) -> Result<Vec<String>, LedgerError> {
        match self.one(Op::Reclaim {
            older_than_ms,
            now_ms,
        })? {
            Reply::Ids(ids) => Ok(ids),
            _ => Err(LedgerError::Mismatch("to a reclaim")),
        }
    }
}

fn emit(events: &Mutex<Vec<EventFn>>, ops: &[Op], replies: &[Reply]) {
    let fns = events
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if fns.is_empty() {
        return;
    }
    for (op, reply) in ops.iter().zip(replies) {
        let event = match (op, reply) {
            (Op::Transition(t), Reply::Transition(TransitionOutcome::Applied)) => Event {
                id: t.id.clone(),
                status: t.to,
                detail: t.detail.clone(),
            },
            (Op::Reserve(r), Reply::Reserve(ReserveOutcome::Reserved)) => Event {
                id: r.id.clone(),
                status: super::Status::Reserved,
                detail: None,
            },
            (Op::Reclaim { .. }, Reply::Ids(ids)) => {
                for id in ids {
                    let e = Event {
                        id: id.clone(),
                        status: super::Status::Released,
                        detail: Some("reclaimed".into()),
                    };
                    fns.iter().for_each(|f| f(&e));
                }
                continue;
            }
            _ => continue,
        };
        fns.iter().for_each(|f| f(&event));
    }
}

fn run_worker(
    mut store: Box<dyn Store>,
    rx: mpsc::Receiver<Job>,
    events: Arc<Mutex<Vec<EventFn>>>,
) {
    let mut queue: VecDeque<Job> = VecDeque::new();
    while let Ok(first) = rx.recv() {
        queue.push_back(first);
        while queue.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => queue.push_back(j),
                Err(_) => break,
            }
        }
        let jobs: Vec<Job> = queue.drain(..).collect();
        let ops: Vec<Op> = jobs.iter().flat_map(|j| j.ops.iter().cloned()).collect();
        match store.apply(&ops) {
            Ok(mut replies) if replies.len() == ops.len() => {
                emit(&events, &ops, &replies);
                // Hand each job its own replies, in order.
                let mut rest = replies.split_off(0);
                for j in jobs {
                    let tail = rest.split_off(j.ops.len().min(rest.len()));
                    j.slot.fill(Ok(rest));
                    rest = tail;
                }
            }
            Ok(_) => jobs
                .iter()
                .for_each(|j| j.slot.fill(Err(LedgerError::Mismatch("a short batch")))),
            Err(_) if jobs.len() > 1 => {
                // One job's failure must not fail the others: apply them one by one.
                for j in jobs {
                    let r = store.apply(&j.ops);
                    if let Ok(replies) = &r {
                        emit(&events, &j.ops, replies);
                    }
                    j.slot.fill(r);
                }
            }
            Err(e) => jobs.iter().for_each(|j| j.slot.fill(Err(e.clone()))),
        }
    }
}
