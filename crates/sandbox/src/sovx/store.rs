//! What SovX remembers: users and tokens, monetization settings, wallets and balances,
//! quotes, pending withdrawals and transfers with their codes, and the transaction log.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::clock::iso8601;
use crate::rng::Rng;

use super::reply::dec;

#[derive(Debug, Clone)]
pub(super) struct User {
    pub(super) id: String,
    pub(super) fields: Map<String, Value>,
    pub(super) status: &'static str,
    pub(super) deleted: bool,
    pub(super) created_ms: i64,
    pub(super) updated_ms: i64,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Bal {
    pub(super) balance: Decimal,
    pub(super) held: Decimal,
}

#[derive(Debug, Clone)]
pub(super) struct Wallet {
    pub(super) id: String,
    pub(super) vault_id: String,
    pub(super) user_id: String,
    pub(super) name: String,
    pub(super) description: Option<String>,
    pub(super) wallet_type: String,
    pub(super) networks: Vec<Value>,
    pub(super) addresses: Vec<Value>,
    pub(super) balances: BTreeMap<String, Bal>,
    pub(super) created_ms: i64,
    pub(super) updated_ms: i64,
}

#[derive(Debug, Clone)]
pub(super) struct Quote {
    pub(super) wallet_id: String,
    pub(super) pair: &'static str,
    pub(super) side: String,
    pub(super) quantity: Decimal,
    pub(super) amount: Decimal,
    pub(super) price: Decimal,
    pub(super) created_ms: i64,
    pub(super) expires_ms: i64,
    pub(super) used: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub(super) id: String,
    pub(super) numeric_id: String,
    pub(super) kind: &'static str,
    pub(super) user_id: String,
    pub(super) wallet_id: String,
    pub(super) destination_wallet_id: Option<String>,
    pub(super) currency: String,
    pub(super) amount: Decimal,
    pub(super) fee: Decimal,
    pub(super) status: &'static str,
    pub(super) body: Map<String, Value>,
    pub(super) idempotency_key: String,
    pub(super) created_ms: i64,
    pub(super) updated_ms: i64,
}

#[derive(Debug, Clone)]
pub(super) struct Setting {
    pub(super) id: u64,
    pub(super) feature: String,
    pub(super) method: String,
    pub(super) amount: Decimal,
    pub(super) pair: Option<String>,
    pub(super) currency: Option<String>,
    pub(super) created_ms: i64,
    pub(super) updated_ms: i64,
}

/// Everything SovX remembers.
pub(crate) struct SovxStore {
    pub(super) owner_key: String,
    pub(super) users: HashMap<String, User>,
    pub(super) tokens: HashMap<String, (String, i64)>,
    pub(super) current_token: HashMap<String, String>,
    pub(super) settings: Vec<Setting>,
    pub(super) next_setting: u64,
    pub(super) wallets: HashMap<String, Wallet>,
    pub(super) quotes: HashMap<String, Quote>,
    pub(super) pending: HashMap<String, Pending>,
    pub(super) codes: HashMap<String, String>,
    pub(super) txs: Vec<Value>,
    pub(super) owner_fees: BTreeMap<String, Decimal>,
    pub(super) next_numeric: u64,
    pub(super) rng: Rng,
    pub(super) started_ms: i64,
}

impl SovxStore {
    pub(crate) fn new(seed: u64, owner_key: String, now: i64) -> SovxStore {
        SovxStore {
            owner_key,
            users: HashMap::new(),
            tokens: HashMap::new(),
            current_token: HashMap::new(),
            settings: Vec::new(),
            next_setting: 1000,
            wallets: HashMap::new(),
            quotes: HashMap::new(),
            pending: HashMap::new(),
            codes: HashMap::new(),
            txs: Vec::new(),
            owner_fees: BTreeMap::new(),
            next_numeric: 9180,
            rng: Rng::keyed(seed, "sovx-store"),
            started_ms: now,
        }
    }

    /// The owner API key.
    pub(crate) fn owner_key(&self) -> &str {
        &self.owner_key
    }

    /// The current confirmation code of a pending withdrawal or transfer (by id or numeric id).
    pub(crate) fn code(&self, id: &str) -> Option<String> {
        let p = self.find_pending(id)?;
        self.codes.get(&p.id).cloned()
    }

    /// All current codes: (operation id, kind, code).
    pub(crate) fn codes(&self) -> Vec<(String, String, String)> {
        let mut v: Vec<_> = self
            .codes
            .iter()
            .filter_map(|(id, c)| {
                self.pending
                    .get(id)
                    .map(|p| (id.clone(), p.kind.to_owned(), c.clone()))
            })
            .collect();
        v.sort();
        v
    }

    pub(super) fn find_pending(&self, id: &str) -> Option<&Pending> {
        self.pending
            .get(id)
            .or_else(|| self.pending.values().find(|p| p.numeric_id == id))
    }

    /// Credits a wallet (admin funding); false when the wallet is unknown or the amount bad.
    pub(crate) fn fund(
        &mut self,
        wallet_id: &str,
        currency: &str,
        amount: Decimal,
        now: i64,
    ) -> bool {
        if amount <= Decimal::ZERO {
            return false;
        }
        let Some(w) = self.wallets.get_mut(wallet_id) else {
            return false;
        };
        let cur = currency.to_ascii_lowercase();
        w.balances.entry(cur.clone()).or_default().balance += amount;
        let (uid, wid) = (w.user_id.clone(), w.id.clone());
        let id = self.rng.uuid();
        self.push_tx(json!({
            "id": id, "type": "DEPOSIT", "status": "COMPLETED", "currency": cur, "amount": dec(amount),
            "wallet_id": wid, "user_id": uid, "description": "sandbox deposit",
            "created_at": iso8601(now), "updated_at": iso8601(now),
        }));
        true
    }

    pub(super) fn push_tx(&mut self, tx: Value) {
        self.txs.push(tx);
    }

    pub(super) fn new_code(&mut self, id: &str) -> String {
        let code = format!("{:06}", self.rng.int(0, 999_999));
        self.codes.insert(id.to_owned(), code.clone());
        code
    }
}
