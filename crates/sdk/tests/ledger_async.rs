//! The async client on a durable ledger: the executor is never blocked by a store call, and
//! a cancelled call's payment is still in the journal and in the events.
#![cfg(all(feature = "async", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support {
    pub(crate) mod ledger_payer;
}

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sova_sandbox::{Fault, FaultKind, Mode, Sandbox};
use sova_x402::ledger::{Event, Op, Reply, SqliteStore, Status, Store};
use sova_x402::{Keypair, Ledger};

const WALLET: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";

fn client(sb: &Sandbox, seed: u8, ledger: Ledger) -> sova::intel::Client {
    let payer = support::ledger_payer::payer(seed, 1_000_000, ledger, None);
    sova::intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .x402(payer)
        .rpc_url(sb.rpc_url())
        .build()
        .unwrap()
}

async fn sandbox(seed: u8) -> Sandbox {
    let sb = Sandbox::builder()
        .mode(Mode::Sova)
        .sync_hold(Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    sb.fund_wallet(
        &Keypair::from_seed([seed; 32]).pubkey(),
        1_000_000_000,
        1_000_000_000,
    );
    sb.warm_wallet(WALLET);
    sb
}

fn temp_ledger(name: &str) -> (std::path::PathBuf, SqliteStore) {
    let dir = std::env::temp_dir().join(sova_x402::ledger::new_id(name));
    let store = SqliteStore::open(&dir.join("ledger.sqlite3")).unwrap();
    (dir, store)
}

/// A store whose every write waits for a go-ahead sent by a task on the caller's runtime.
/// On a single-threaded runtime, a client that blocked its executor on the store would
/// never let that task run: the call would deadlock.
struct GatedStore {
    inner: SqliteStore,
    asks: mpsc::Sender<()>,
    go: Arc<Mutex<mpsc::Receiver<()>>>,
}

impl Store for GatedStore {
    fn apply(&mut self, ops: &[Op]) -> Result<Vec<Reply>, sova_x402::ledger::LedgerError> {
        self.asks.send(()).unwrap();
        if self
            .go
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(20))
            .is_err()
        {
            return Err(sova_x402::ledger::LedgerError::Store(
                "the runtime never answered: the executor was blocked".into(),
            ));
        }
        self.inner.apply(ops)
    }
    fn describe(&self) -> String {
        "gated".into()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_executor_is_never_blocked_by_a_store_call() {
    let seed = 61;
    let sb = sandbox(seed).await;
    let (dir, inner) = temp_ledger("sova-gated-");
    let (asks_tx, asks_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel();
    let store = GatedStore {
        inner,
        asks: asks_tx,
        go: Arc::new(Mutex::new(go_rx)),
    };
    let ledger = Ledger::worker(Box::new(store)).unwrap();
    // The gatekeeper runs on this same single thread: it answers each store call.
    let asks_rx = Arc::new(Mutex::new(asks_rx));
    let gate = tokio::spawn(async move {
        let mut answered = 0u32;
        loop {
            let got = asks_rx.lock().unwrap().try_recv();
            match got {
                Ok(()) => {
                    go_tx.send(()).unwrap();
                    answered += 1;
                }
                Err(mpsc::TryRecvError::Empty) => {
                    tokio::time::sleep(Duration::from_millis(2)).await
                }
                Err(mpsc::TryRecvError::Disconnected) => return answered,
            }
        }
    });
    let c = client(&sb, seed, ledger);
    let hud = c.wallet_hud(WALLET).await.unwrap();
    assert!(hud.receipt.is_some());
    drop(c);
    // Every journal write of the paid call went through the gate: reserve, signed+sent,
    // settled (at least three store calls, each answered by a task of this runtime).
    tokio::time::sleep(Duration::from_millis(50)).await;
    gate.abort();
    assert_eq!(sb.payments().len(), 1);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_cancelled_call_leaves_its_payment_in_the_journal_and_the_events() {
    let seed = 62;
    let sb = sandbox(seed).await;
    let (dir, store) = temp_ledger("sova-cancel-");
    let ledger = Ledger::worker(Box::new(store)).unwrap();
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let ev = Arc::clone(&events);
    ledger.on_event(Arc::new(move |e: &Event| {
        ev.lock().unwrap().push(e.clone())
    }));
    let c = client(&sb, seed, ledger.clone());
    // A first call learns the price (steady state: the next call pays on its first request).
    c.wallet_hud(WALLET).await.unwrap();
    // Then the server is slow, and the caller gives up (drops the future) mid-request.
    sb.add_fault(Fault {
        route: None,
        kind: FaultKind::Latency { ms: 800 },
        times: Some(1),
    });
    let cancelled = tokio::time::timeout(Duration::from_millis(300), c.wallet_hud(WALLET)).await;
    assert!(cancelled.is_err(), "the call was cancelled");
    let sent: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.status == Status::Sent)
        .map(|e| e.id.clone())
        .collect();
    assert_eq!(
        sent.len(),
        2,
        "both payments were journaled as sent before they left"
    );
    let cancelled_id = sent[1].clone();
    assert_eq!(
        ledger.get(&cancelled_id).unwrap().unwrap().status,
        Status::Sent
    );
    // Whether the server went on to settle it is the chain's to say: once the blockhash
    // has expired, reconciliation resolves it either way, as the chain shows.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    sb.expire_blockhashes();
    let r = c.reconcile_pending().await.unwrap();
    let entry = ledger.get(&cancelled_id).unwrap().unwrap();
    let signature = entry.signature.clone().unwrap();
    let on_chain = sb.payments().iter().any(|p| p.signature == signature);
    let expected = if on_chain {
        Status::Landed
    } else {
        Status::Expired
    };
    assert_eq!(entry.status, expected, "{r:?}");
    assert!(
        events
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.id == cancelled_id && e.status == expected),
        "the resolution is an event too"
    );
    let _ = std::fs::remove_dir_all(dir);
}
