//! A logical request driven to its end: the machine's steps become the runner's actions,
//! and the journal writes the call's money owes the ledger are made durable before the
//! action they guard.

use std::time::{Duration, Instant};

use sova_x402::ledger::{LedgerError, Reply, TransitionOutcome};

use super::{Action, Ctx, FAR, Failure, Machine, Stats, Step};
use crate::error::Error;
use sova_protocol::http::Response;

/// One logical request: a top-level machine and the call's context. The runners drive it.
pub struct Call<'a, M: Machine> {
    name: &'static str,
    cx: Ctx<'a>,
    machine: M,
    result: Option<Result<M::Value, Error>>,
    /// The action held back until the journal writes before it are durable.
    held: Option<Action>,
    /// The pending `Ledger` action starts with this many journal writes, followed by the
    /// machine's own operations.
    journal_then_machine: Option<usize>,
}

impl<'a, M: Machine> Call<'a, M> {
    /// A call named `name` (for spans) running `machine`.
    pub fn new(name: &'static str, cx: Ctx<'a>, machine: M) -> Self {
        Call {
            name,
            cx,
            machine,
            result: None,
            held: None,
            journal_then_machine: None,
        }
    }

    /// The call's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn act(&mut self, step: Step<Result<M::Value, Error>>) -> Action {
        let action = match step {
            Step::Send {
                target,
                request,
                timeout,
            } => Action::Send {
                target,
                request,
                timeout,
            },
            Step::Sleep(d) => Action::Sleep(d),
            Step::Ledger(ops) => {
                // The machine's own request (a reservation): journal writes go first.
                return match self.cx.ledger().cloned() {
                    Some(ledger) => {
                        let mut all = self.cx.money.take_ops();
                        let journal = all.len();
                        all.extend(ops);
                        self.held = None;
                        self.journal_then_machine = Some(journal);
                        Action::Ledger { ledger, ops: all }
                    }
                    None => {
                        let now = self.cx.now;
                        let step =
                            self.machine
                                .on_ledger(&mut self.cx, Err(LedgerError::Closed), now);
                        self.act(step)
                    }
                };
            }
            Step::Done(result) => {
                let result = self.cx.money.finish(result);
                self.result = Some(result);
                Action::Done
            }
        };
        self.journal_before(action)
    }

    /// Makes the journal writes the money queued durable before `action` runs: at once on
    /// an in-memory ledger, else as a `Ledger` action that holds `action` back.
    fn journal_before(&mut self, action: Action) -> Action {
        let ops = self.cx.money.take_ops();
        if ops.is_empty() {
            return action;
        }
        let Some(ledger) = self.cx.ledger().cloned() else {
            return action;
        };
        if ledger.is_inline() {
            let replies = ledger.apply(ops);
            return match journal_problem(&replies) {
                None => action,
                Some(problem) => self.abort(action, problem),
            };
        }
        self.held = Some(action);
        Action::Ledger { ledger, ops }
    }

    /// A journal write failed or was refused: the action it guarded must not run. A call
    /// that was finishing keeps its result (the record left behind is resolved at the next
    /// start); any other ends with the ledger's error, its payment's state on it.
    fn abort(&mut self, action: Action, problem: String) -> Action {
        if matches!(action, Action::Done) {
            tracing::warn!(call = self.name, problem = %problem, "a payment's final state could not be journaled; it is resolved at the next start");
            return Action::Done;
        }
        let result = self.cx.money.finish(Err(Error::Ledger {
            message: problem,
            payment: None,
        }));
        self.result = Some(result);
        // The money's last word (released, uncertain) is written if the ledger takes it.
        let ops = self.cx.money.take_ops();
        if let Some(ledger) = self.cx.ledger()
            && !ops.is_empty()
        {
            if ledger.is_inline() {
                let _ = ledger.apply(ops);
            } else {
                self.held = Some(Action::Done);
                self.journal_then_machine = None;
                return Action::Ledger {
                    ledger: ledger.clone(),
                    ops,
                };
            }
        }
        Action::Done
    }

    /// The ledger's replies to the last [`Action::Ledger`].
    pub fn on_ledger(&mut self, replies: Result<Vec<Reply>, LedgerError>, now: Instant) -> Action {
        self.cx.now = now;
        self.tick();
        if let Some(journal) = self.journal_then_machine.take() {
            // Journal writes, then the machine's own operations.
            let (head, tail) = match replies {
                Ok(mut r) if r.len() >= journal => {
                    let tail = r.split_off(journal);
                    (Ok(r), Ok(tail))
                }
                Ok(_) => (
                    Err(LedgerError::Mismatch("a short batch")),
                    Err(LedgerError::Mismatch("a short batch")),
                ),
                Err(e) => (Err(e.clone()), Err(e)),
            };
            if let Some(problem) = journal_problem(&head) {
                return self.abort(Action::Sleep(Duration::ZERO), problem);
            }
            let step = self.machine.on_ledger(&mut self.cx, tail, now);
            return self.act(step);
        }
        let Some(action) = self.held.take() else {
            let step = self.machine.on_ledger(&mut self.cx, replies, now);
            return self.act(step);
        };
        match journal_problem(&replies) {
            None => action,
            Some(problem) => self.abort(action, problem),
        }
    }

    /// The first action. The call's time budget starts now.
    pub fn start(&mut self, now: Instant) -> Action {
        self.cx.deadline = now
            .checked_add(self.cx.settings.call_timeout)
            .or_else(|| now.checked_add(FAR))
            .unwrap_or(now);
        self.cx.now = now;
        self.tick();
        let step = self.machine.start(&mut self.cx, now);
        self.act(step)
    }

    /// A response arrived.
    pub fn on_response(&mut self, response: Response<Vec<u8>>, now: Instant) -> Action {
        self.cx.now = now;
        self.tick();
        let step = self.machine.on_response(&mut self.cx, response, now);
        self.act(step)
    }

    /// The transport failed.
    pub fn on_failure(&mut self, failure: Failure, now: Instant) -> Action {
        self.cx.now = now;
        self.tick();
        let step = self.machine.on_failure(&mut self.cx, failure, now);
        self.act(step)
    }

    /// The sleep is over.
    pub fn on_wake(&mut self, now: Instant) -> Action {
        self.cx.now = now;
        self.tick();
        let step = self.machine.on_wake(&mut self.cx, now);
        self.act(step)
    }

    /// Stamps the money's journal writes with the time of the event being handled.
    fn tick(&mut self) {
        let ms = self.cx.now_ms();
        self.cx.money.set_clock(ms);
    }

    /// The call's logical request id (its payments carry it in the ledger).
    pub fn request_id(&self) -> &str {
        &self.cx.request_id
    }

    /// The result and the counters, once [`Action::Done`] was returned.
    pub fn finish(self) -> (Result<M::Value, Error>, Stats) {
        let result = self
            .result
            .unwrap_or_else(|| Err(Error::internal("the call was not driven to completion")));
        let mut stats = self.cx.stats;
        stats.paid = self.cx.money.settled_amount();
        stats.transaction = self.cx.money.last_transaction();
        (result, stats)
    }
}

/// What went wrong with journal writes, if anything: a failed write, or a move the journal
/// refused (the payment was reclaimed or resolved elsewhere).
fn journal_problem(replies: &Result<Vec<Reply>, LedgerError>) -> Option<String> {
    match replies {
        Err(e) => Some(e.to_string()),
        Ok(r) => r.iter().find_map(|r| match r {
            Reply::Transition(TransitionOutcome::Conflict(s)) => Some(format!(
                "the ledger refused a change of this payment's state (it is already {s}): it was resolved by another process"
            )),
            Reply::Transition(TransitionOutcome::NotFound) => {
                Some("the payment is missing from the ledger".to_owned())
            }
            _ => None,
        }),
    }
}
