//! 32 threads paying against one budget never exceed it, whether they share one payer or
//! each has its own payer sharing the policy.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use solana_hash::Hash;
use solana_pubkey::Pubkey;
use sova_protocol::x402::{PaymentRequired, b64, networks};
use sova_x402::programs::USDC_MAINNET;
use sova_x402::{
    Error, Keypair, LatestBlockhash, Payer, PolicyRefusal, PrepareContext, RefusalReason,
    SpendPolicy,
};

const THREADS: usize = 32;
const AMOUNT: u64 = 15_000;
const BUDGET: u64 = 37 * AMOUNT + 7_000; // not a multiple of the amount

fn required() -> PaymentRequired {
    let json = format!(
        r#"{{"x402Version":2,"accepts":[{{"scheme":"exact","network":"{}","asset":"{USDC_MAINNET}","amount":"{AMOUNT}","payTo":"{}","maxTimeoutSeconds":60}}]}}"#,
        networks::SOLANA_MAINNET,
        Pubkey::new_from_array([9; 32])
    );
    PaymentRequired::decode_header(&b64::encode(json.as_bytes())).unwrap()
}

fn run(shared_payer: bool, release_every: Option<u64>) {
    let policy = Arc::new(SpendPolicy::builder().budget(USDC_MAINNET, BUDGET).build());
    let make = |seed: u8| {
        Arc::new(
            Payer::builder()
                .self_paid(sova_x402::SelfPaid::Anywhere)
                .signer(Keypair::from_seed([seed; 32]))
                .policy(Arc::clone(&policy))
                .build()
                .unwrap(),
        )
    };
    let shared = make(1);
    let req = Arc::new(required());
    let barrier = Arc::new(Barrier::new(THREADS));
    let paid = Arc::new(AtomicU64::new(0));
    let released = Arc::new(AtomicU64::new(0));
    let now = Instant::now();
    let blockhash = LatestBlockhash::new(Hash::new_from_array([4; 32]));
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            // Budgets count per wallet: payers of their own share the wallet (two clients
            // built from one keypair file), so they share its budget through the policy.
            let payer = if shared_payer {
                Arc::clone(&shared)
            } else {
                let _ = i;
                make(1)
            };
            let (req, barrier, paid, released) = (
                Arc::clone(&req),
                Arc::clone(&barrier),
                Arc::clone(&paid),
                Arc::clone(&released),
            );
            thread::spawn(move || {
                barrier.wait();
                let ctx = PrepareContext::new(now).blockhash(blockhash);
                let mut n = 0u64;
                for _ in 0..4 {
                    match payer.prepare(&req, &ctx) {
                        Ok(p) => {
                            let p = p.ready().unwrap();
                            n += 1;
                            if release_every.is_some_and(|k| n.is_multiple_of(k)) {
                                released.fetch_add(AMOUNT, Ordering::SeqCst);
                                p.release();
                            } else {
                                paid.fetch_add(AMOUNT, Ordering::SeqCst);
                                p.commit();
                            }
                        }
                        Err(Error::Refused(r)) => {
                            assert!(
                                matches!(
                                    r[0].reason,
                                    RefusalReason::Policy(PolicyRefusal::OverBudget { .. })
                                ),
                                "{r:?}"
                            );
                        }
                        Err(e) => panic!("{e}"),
                    }
                    // Spent never exceeds the budget, at any moment.
                    assert!(payer.policy().spent(&USDC_MAINNET) <= BUDGET);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let paid = paid.load(Ordering::SeqCst);
    assert!(paid <= BUDGET, "paid {paid} > budget {BUDGET}");
    assert_eq!(policy.spent(&USDC_MAINNET), paid);
    // 128 attempts for 37 slots: the budget is used up to the last whole payment.
    assert_eq!(
        paid,
        37 * AMOUNT,
        "released {}",
        released.load(Ordering::SeqCst)
    );
}

#[test]
fn thirty_two_threads_one_payer() {
    run(true, None);
}

#[test]
fn thirty_two_threads_own_payers_shared_policy() {
    run(false, None);
}

#[test]
fn thirty_two_threads_with_releases() {
    run(true, Some(3));
}
