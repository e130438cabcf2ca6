//! The ledger's plain data: statuses, journal entries, operations and their replies.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::budget::Budget;
use crate::policy::PolicyRefusal;
use crate::record::PaymentRecord;

/// Where a payment stands. A payment moves `Reserved → Signed → Sent` and ends `Settled`,
/// `Landed`, `Expired`, `Failed` or `Released`; `Uncertain` waits for our RPC's proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Status {
    /// Budget reserved; nothing signed yet.
    Reserved,
    /// Signed and journaled; not handed to the network yet.
    Signed,
    /// Handed to the network (it may have reached the server).
    Sent,
    /// The server answered with the paid resource or a settlement: charged.
    Settled,
    /// Our RPC found the transaction landed and succeeded: charged.
    Landed,
    /// Our RPC proved it can never land (its blockhash expired, nothing found): not charged.
    Expired,
    /// Our RPC found the transaction failed on chain (at `confirmed` or better): not charged.
    Failed,
    /// The call ended without proof either way: may have been charged.
    Uncertain,
    /// It never left this process (refused, never sent, or reclaimed after a crash before
    /// sending): not charged.
    Released,
}

impl Status {
    /// Every status, in journal order.
    pub const ALL: [Status; 9] = [
        Status::Reserved,
        Status::Signed,
        Status::Sent,
        Status::Settled,
        Status::Landed,
        Status::Expired,
        Status::Failed,
        Status::Uncertain,
        Status::Released,
    ];

    /// Whether the payment's amount counts against budgets (charged or may be).
    pub const fn holds_budget(self) -> bool {
        !matches!(self, Status::Expired | Status::Failed | Status::Released)
    }

    /// Whether no later state change is expected.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            Status::Settled | Status::Landed | Status::Expired | Status::Failed | Status::Released
        )
    }

    /// Whether reconciliation with our RPC may settle it: it may have left the process
    /// (`sent`, `uncertain`), or it was signed by a process that may have stopped before
    /// journaling the send (`signed`: the chain decides once its blockhash expires).
    pub const fn needs_reconciliation(self) -> bool {
        matches!(self, Status::Signed | Status::Sent | Status::Uncertain)
    }

    /// The name stored in the ledger (`reserved`, `signed`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Reserved => "reserved",
            Status::Signed => "signed",
            Status::Sent => "sent",
            Status::Settled => "settled",
            Status::Landed => "landed",
            Status::Expired => "expired",
            Status::Failed => "failed",
            Status::Uncertain => "uncertain",
            Status::Released => "released",
        }
    }

    /// The status of a stored name.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The payment state a user is told: charged, may have been charged, or not charged.
    pub const fn charge(self) -> Charge {
        match self {
            Status::Settled | Status::Landed => Charge::Charged,
            Status::Expired | Status::Failed | Status::Released => Charge::NotCharged,
            Status::Reserved => Charge::NotCharged,
            Status::Signed | Status::Sent | Status::Uncertain => Charge::MayHaveCharged,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a status means for the user's money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Charge {
    /// Charged.
    Charged,
    /// May have been charged: the budget keeps it until our RPC proves otherwise.
    MayHaveCharged,
    /// Not charged, and it never will be.
    NotCharged,
}

/// Which payments a cap counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// Every payment of the wallet (the pool).
    Wallet,
    /// Payments of the wallet made under this scope name (one agent, one tool, one bot).
    Named(String),
}

/// A budget of one asset in one scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cap {
    /// Which payments count.
    pub scope: Scope,
    /// The mint (base58).
    pub asset: String,
    /// The budget.
    pub budget: Budget,
}

/// A reservation request: every rule the policy leaves to shared history, checked and
/// applied atomically by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveRequest {
    /// The ledger id, chosen by the caller: writing the same id twice is one reservation.
    pub id: String,
    /// The logical request this payment belongs to.
    pub request_id: String,
    /// The paying wallet (base58).
    pub payer: String,
    /// The scope name of this payment (`None`: the wallet's pool only).
    pub scope: Option<String>,
    /// The mint (base58).
    pub asset: String,
    /// Base units.
    pub amount: u64,
    /// The recipient wallet.
    pub pay_to: String,
    /// The API host.
    pub host: Option<String>,
    /// The endpoint (e.g. `intel.wallet_hud`).
    pub endpoint: Option<String>,
    /// The caps that apply (the pool's and the scope's).
    pub caps: Vec<Cap>,
    /// Payments per rolling minute for the wallet, when limited.
    pub per_minute: Option<u32>,
    /// A digest of the unsigned message, when the payment carries no nonce: the store
    /// refuses a second reservation with the same digest ([`ReserveOutcome::Duplicate`]), so
    /// two processes on one wallet never sign byte-identical payments.
    pub message_digest: Option<String>,
    /// Wall-clock time, Unix milliseconds.
    pub now_ms: u64,
}

/// The answer to a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReserveOutcome {
    /// Reserved (or already reserved under this id).
    Reserved,
    /// A rule refused it; nothing was written.
    Refused(PolicyRefusal),
    /// Another payment already holds this message digest: add a nonce and try again.
    Duplicate,
}

/// One state change of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The ledger id.
    pub id: String,
    /// The new status.
    pub to: Status,
    /// The record of the signed payment (with [`Status::Signed`]).
    pub record: Option<PaymentRecord>,
    /// The signed transaction, base64 (with [`Status::Signed`]).
    pub transaction: Option<String>,
    /// The transaction id the server or the chain named (settled, landed).
    pub transaction_id: Option<String>,
    /// Why (a verdict, a server's word), shown in reports.
    pub detail: Option<String>,
    /// Wall-clock time, Unix milliseconds.
    pub now_ms: u64,
}

impl Transition {
    /// A change of `id` to `to` at `now_ms`.
    pub fn new(id: &str, to: Status, now_ms: u64) -> Transition {
        Transition {
            id: id.to_owned(),
            to,
            record: None,
            transaction: None,
            transaction_id: None,
            detail: None,
            now_ms,
        }
    }

    /// With a detail.
    pub fn detail(mut self, detail: impl Into<String>) -> Transition {
        self.detail = Some(detail.into());
        self
    }

    /// Whether `from → self.to` is a move the journal allows. Moves only go forward: a
    /// final status never changes, and nothing returns to `Reserved` or `Signed`.
    pub fn allowed_from(&self, from: Status) -> bool {
        use Status::*;
        if from == self.to {
            return true; // idempotent repeat
        }
        match (from, self.to) {
            (Reserved, Signed | Released) => true,
            (Signed, Sent | Released) => true,
            // A signed payment of a stopped process, resolved by the chain.
            (Signed, Landed | Expired | Failed) => true,
            (Sent | Uncertain, Settled | Landed | Expired | Failed | Uncertain) => true,
            // The flow knows the transport never delivered it (e.g. the connection was
            // refused): released, as if never sent.
            (Sent, Released) => true,
            // A settlement the server reported is confirmed or contradicted by the chain.
            (Settled, Landed) => true,
            _ => false,
        }
    }
}

/// The answer to a [`Transition`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransitionOutcome {
    /// Written (or already in that status).
    Applied,
    /// The payment is in another status that does not allow the move (e.g. a crash
    /// recovery released it): do not act on the payment.
    Conflict(Status),
    /// No payment has this id.
    NotFound,
}

/// One payment in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// The ledger id.
    pub id: String,
    /// The logical request.
    pub request_id: String,
    /// Reserved at (Unix ms).
    pub created_ms: u64,
    /// Last change (Unix ms).
    pub updated_ms: u64,
    /// Status.
    pub status: Status,
    /// Paying wallet.
    pub payer: String,
    /// Scope name.
    pub scope: Option<String>,
    /// Mint.
    pub asset: String,
    /// Base units.
    pub amount: u64,
    /// Recipient.
    pub pay_to: String,
    /// API host.
    pub host: Option<String>,
    /// Endpoint.
    pub endpoint: Option<String>,
    /// The payer's signature (base58), once signed.
    pub signature: Option<String>,
    /// The transaction id, when known.
    pub transaction_id: Option<String>,
    /// The record of the signed payment (blockhash, heights, source account, nonce, …).
    pub record: Option<PaymentRecord>,
    /// The signed transaction, base64.
    pub transaction: Option<String>,
    /// The last detail written.
    pub detail: Option<String>,
}

/// Which journal entries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Reserved at or after (Unix ms).
    pub since_ms: Option<u64>,
    /// Reserved before (Unix ms).
    pub until_ms: Option<u64>,
    /// Only these statuses (empty: all).
    pub statuses: Vec<Status>,
    /// Only this wallet.
    pub payer: Option<String>,
    /// At most this many, newest first (`None`: all).
    pub limit: Option<u32>,
}

/// How durable a commit must be before the ledger answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Durability {
    /// Every commit is flushed to disk before it returns (SQLite `synchronous = FULL`,
    /// PostgreSQL `synchronous_commit = on`).
    Full,
    /// The write-ahead step — a payment journaled as `signed` or `sent`, before it leaves the
    /// process — is flushed to disk before it returns; reservations and outcomes are
    /// committed without waiting for the disk (SQLite `synchronous = NORMAL` in WAL mode,
    /// PostgreSQL `synchronous_commit = off`): they survive a crash of the process (SIGKILL)
    /// at once, and are flushed with the next write-ahead commit or within a fraction of a
    /// second; after a power loss, what was lost is rebuilt from the chain by
    /// reconciliation (a reservation lost with its process was never signed; an outcome lost
    /// is found again on chain). The default: one disk flush per paid call.
    #[default]
    WriteAhead,
}

impl Durability {
    /// Whether a batch of `ops` must be flushed to disk before the ledger answers.
    pub fn must_flush(self, ops: &[Op]) -> bool {
        match self {
            Durability::Full => true,
            Durability::WriteAhead => ops.iter().any(
                |o| matches!(o, Op::Transition(t) if matches!(t.to, Status::Signed | Status::Sent)),
            ),
        }
    }
}

/// What a backend is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// Check the shared rules and reserve.
    Reserve(Box<ReserveRequest>),
    /// Change a payment's status.
    Transition(Box<Transition>),
    /// One entry.
    Get(String),
    /// Entries.
    List(Query),
    /// Base units held by payments of `payer` (and `scope`) in `asset` since `since_ms`.
    Held {
        /// Wallet.
        payer: String,
        /// Scope (`Wallet`: all of the wallet's).
        scope: Scope,
        /// Mint.
        asset: String,
        /// From (Unix ms).
        since_ms: u64,
    },
    /// Releases reservations (never signed) idle since before `older_than_ms`: their
    /// process stopped before signing. Returns their ids. Signed payments are left to the
    /// chain (reconciliation), since their process may have sent them.
    Reclaim {
        /// Cut-off (Unix ms).
        older_than_ms: u64,
        /// Wall-clock time.
        now_ms: u64,
    },
}

/// A backend's answer, in the order of the [`Op`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// To [`Op::Reserve`].
    Reserve(ReserveOutcome),
    /// To [`Op::Transition`].
    Transition(TransitionOutcome),
    /// To [`Op::Get`].
    Entry(Option<Box<Entry>>),
    /// To [`Op::List`].
    Entries(Vec<Entry>),
    /// To [`Op::Held`].
    Amount(u64),
    /// To [`Op::Reclaim`].
    Ids(Vec<String>),
}

/// A storage failure. The payment it concerned was not acted on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The store could not be opened (path, URL, permissions, schema).
    #[error("could not open the payment ledger {location}: {message}")]
    Open {
        /// The file or server (without credentials).
        location: String,
        /// Why.
        message: String,
    },
    /// A read or write failed.
    #[error("the payment ledger failed: {0}")]
    Store(String),
    /// The ledger's worker is gone (the process is shutting down).
    #[error("the payment ledger is closed")]
    Closed,
    /// A reply did not match its operation (a bug).
    #[error("the payment ledger answered {0} out of turn")]
    Mismatch(&'static str),
}

/// A backend: executes operations on its store. One runs on the ledger's worker thread.
pub trait Store: Send {
    /// Executes `ops` in order as one atomic unit where the backend supports it (one
    /// transaction: one fsync for all). A failure fails the whole batch; nothing of it was
    /// applied.
    fn apply(&mut self, ops: &[Op]) -> Result<Vec<Reply>, LedgerError>;
    /// A short description for errors and `Debug` (never a password).
    fn describe(&self) -> String;
}

/// Shared by the backends: checks the caps and the rate limit against the held amounts
/// that `held` reads (per scope, since a window's start) and `recent` (payments of the
/// wallet in the last minute).
pub(crate) fn check_caps(
    req: &ReserveRequest,
    mut held: impl FnMut(&Scope, u64) -> Result<u64, LedgerError>,
    recent: impl FnOnce() -> Result<u64, LedgerError>,
) -> Result<Option<PolicyRefusal>, LedgerError> {
    let applies = |c: &&Cap| {
        c.asset == req.asset
            && match &c.scope {
                Scope::Wallet => true,
                Scope::Named(n) => req.scope.as_deref() == Some(n.as_str()),
            }
    };
    for cap in req.caps.iter().filter(applies) {
        let since = cap.budget.window.since(req.now_ms);
        let spent = held(&cap.scope, since)?;
        let remaining = cap.budget.amount.saturating_sub(spent);
        if req.amount > remaining {
            return Ok(Some(PolicyRefusal::OverBudget {
                asset: req.asset.clone(),
                amount: req.amount,
                spent,
                budget: cap.budget.amount,
                remaining,
            }));
        }
    }
    if let Some(limit) = req.per_minute {
        let count = recent()?;
        if count >= u64::from(limit) {
            return Ok(Some(PolicyRefusal::RateLimited {
                count: usize::try_from(count).unwrap_or(usize::MAX),
                limit,
            }));
        }
    }
    Ok(None)
}

/// The rate window: one minute.
pub(crate) const MINUTE_MS: u64 = 60_000;
