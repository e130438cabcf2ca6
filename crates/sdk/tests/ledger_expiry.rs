//! Reconciliation after the call, as on mainnet: the blockhash is still valid when the call
//! ends, so the call can only say "may have been charged"; the release (or the charge) comes
//! later, from our RPC's proof, in `reconcile_pending` — here from another client on the
//! same ledger file, as after a restart.
#![cfg(all(feature = "blocking", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support {
    pub(crate) mod ledger_payer;
}

use std::time::Duration;

use sova::blocking::intel;
use sova_sandbox::{Fault, FaultKind, Mode, Sandbox};
use sova_x402::ledger::{Scope, Status};
use sova_x402::{Keypair, Ledger, programs};

const WALLET: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
const PRICE: u64 = 15_000;

fn client(sb: &Sandbox, seed: u8, ledger: Ledger) -> intel::Client {
    let payer = support::ledger_payer::payer(seed, 10 * PRICE, ledger, None);
    intel::ClientBuilder::new()
        .base_url(sb.intel_base_url())
        .x402(payer)
        .rpc_url(sb.rpc_url())
        // One attempt: the call ends while the held payment is still in the server's hands.
        .retry(sova::protocol::retry::RetryPolicy::none())
        .build_blocking()
        .unwrap()
}

fn setup(seed: u8, delay_ms: u64) -> (Sandbox, Ledger, std::path::PathBuf) {
    let sb = Sandbox::builder()
        .mode(Mode::Sova)
        .sync_hold(Duration::from_millis(50))
        .start_blocking()
        .unwrap();
    sb.fund_wallet(
        &Keypair::from_seed([seed; 32]).pubkey(),
        1_000_000_000,
        1_000_000_000,
    );
    sb.warm_wallet(WALLET);
    sb.add_fault(Fault {
        route: None,
        kind: FaultKind::HoldAndSubmitLater {
            status: 503,
            delay_ms,
        },
        times: Some(1),
    });
    let dir = std::env::temp_dir().join(sova_x402::ledger::new_id("sova-expiry-"));
    let ledger = Ledger::sqlite(&dir.join("ledger.sqlite3")).unwrap();
    (sb, ledger, dir)
}

fn held(ledger: &Ledger, seed: u8) -> u64 {
    ledger
        .held(
            &Keypair::from_seed([seed; 32]).pubkey().to_string(),
            Scope::Wallet,
            &programs::USDC_MAINNET.to_string(),
            0,
        )
        .unwrap()
}

#[test]
fn a_payment_that_never_lands_is_released_once_its_blockhash_expires() {
    let seed = 51;
    // The server holds the payment far longer than the test: it never submits it in time.
    let (sb, ledger, dir) = setup(seed, 600_000);
    let first = client(&sb, seed, ledger.clone());
    let e = first.wallet_hud(WALLET).unwrap_err();
    assert!(e.may_have_charged(), "{e}");
    let id = e
        .payment()
        .and_then(|p| p.ledger_id.clone())
        .expect("ledger id");
    assert_eq!(ledger.get(&id).unwrap().unwrap().status, Status::Uncertain);
    assert_eq!(
        held(&ledger, seed),
        PRICE,
        "the budget keeps an uncertain payment"
    );
    // While the blockhash is valid, reconciliation cannot decide: nothing is released.
    let restarted = client(
        &sb,
        seed,
        Ledger::sqlite(&dir.join("ledger.sqlite3")).unwrap(),
    );
    let r = restarted.reconcile_pending().unwrap();
    assert_eq!(r.pending().count(), 1, "{r:?}");
    assert_eq!(held(&ledger, seed), PRICE);
    // Later, our RPC proves the blockhash expired and finds nothing: released.
    sb.expire_blockhashes();
    let r = restarted.reconcile_pending().unwrap();
    assert_eq!(r.released_amount(), PRICE, "{r:?}");
    let entry = ledger.get(&id).unwrap().unwrap();
    assert_eq!(entry.status, Status::Expired, "{entry:?}");
    assert_eq!(held(&ledger, seed), 0, "the budget came back");
    assert!(sb.payments().is_empty(), "and nothing was charged");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_payment_that_lands_after_the_call_is_committed_as_charged() {
    let seed = 52;
    let (sb, ledger, dir) = setup(seed, 500);
    let first = client(&sb, seed, ledger.clone());
    let e = first.wallet_hud(WALLET).unwrap_err();
    assert!(e.may_have_charged(), "{e}");
    let payment = e.payment().cloned().expect("payment");
    let id = payment.ledger_id.clone().expect("ledger id");
    assert_eq!(ledger.get(&id).unwrap().unwrap().status, Status::Uncertain);
    // The server submits the held transaction after the answer.
    assert!(sb.wait_held(Duration::from_secs(10)));
    assert_eq!(sb.payments().len(), 1);
    let r = first.reconcile(&payment).unwrap();
    assert_eq!(r.checked.len(), 1);
    assert_eq!(r.checked[0].after, Status::Landed, "{r:?}");
    let entry = ledger
        .get(payment.ledger_id.as_deref().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(entry.status, Status::Landed);
    assert_eq!(
        held(&ledger, seed),
        PRICE,
        "a landed payment keeps its budget"
    );
    // Nothing more to do, and expiry changes nothing.
    sb.expire_blockhashes();
    assert!(first.reconcile_pending().unwrap().checked.is_empty());
    assert_eq!(held(&ledger, seed), PRICE);
    let _ = std::fs::remove_dir_all(dir);
}
