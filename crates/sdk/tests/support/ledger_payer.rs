//! The payer the ledger tests use: a seeded wallet paying the sandbox (a Sova host on
//! loopback), its budget kept in a given ledger.

use std::sync::Arc;

use sova_x402::{Budget, Keypair, Ledger, Payer, SpendPolicy, Window, programs};

/// The seeded wallet's payer: payments up to 1 USDC, `budget` base units of USDC a rolling
/// day, counted in `ledger`; `scope` names its payments in the journal.
pub(crate) fn payer(seed: u8, budget: u64, ledger: Ledger, scope: Option<&str>) -> Arc<Payer> {
    let mut policy = SpendPolicy::builder()
        .max_per_payment(programs::USDC_MAINNET, 1_000_000)
        .budget_over(programs::USDC_MAINNET, Budget::new(budget, Window::Day))
        .ledger(ledger);
    if let Some(s) = scope {
        policy = policy.scope(s);
    }
    Arc::new(
        Payer::builder()
            .sova_host("127.0.0.1")
            .signer(Keypair::from_seed([seed; 32]))
            .policy(Arc::new(policy.build()))
            .build()
            .unwrap(),
    )
}
