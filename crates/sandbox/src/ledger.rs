//! The in-process Solana ledger: litesvm running the real SPL Token program, with a USDC mint at
//! the mainnet address, a treasury, a fee-paying facilitator, a blockhash window driven by the
//! sandbox clock and a signature index for the JSON-RPC subset.

use std::collections::{HashMap, VecDeque};

use litesvm::LiteSVM;
use solana_account::Account;
use solana_hash::Hash;
use solana_keypair::Keypair;
use solana_message::VersionedMessage;
use solana_program_option::COption;
use solana_program_pack::Pack;
use solana_pubkey::Pubkey;
use solana_signature::Signature;
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;
use spl_token_interface::state::{Account as TokenAccount, AccountState, Mint};

use crate::clock::Clock;
use crate::rng::Rng;

pub(crate) use sova_x402::programs::{
    COMPUTE_BUDGET_PROGRAM_ID, MEMO_PROGRAM_ID, SYSTEM_PROGRAM_ID,
};
pub use sova_x402::programs::{TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID};

/// The SPL Memo program (v1); `sova_x402` never uses it, facilitators accept it.
pub(crate) const MEMO_V1_PROGRAM_ID: Pubkey =
    Pubkey::from_str_const("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo");
/// The Lighthouse program some wallets inject.
pub(crate) const LIGHTHOUSE_PROGRAM_ID: Pubkey =
    Pubkey::from_str_const("L2TExMFKdjpN9kozasaurPirfHy9P8sbXoAN1qA3S95");
/// The mainnet USDC mint.
pub const USDC_MINT: Pubkey = sova_x402::programs::USDC_MAINNET;

/// Blocks a blockhash stays valid for (as on mainnet).
pub(crate) const BLOCKHASH_VALID_BLOCKS: u64 = 150;

/// The block height at start: the chain already has some history, so a small height (such as
/// the `lastValidBlockHeight: 1` of a stale-height fault) is in the past, as on mainnet.
const START_HEIGHT: u64 = 1_000;

/// The associated token account of `owner` for `mint` under `program`.
pub fn ata(owner: &Pubkey, mint: &Pubkey, program: &Pubkey) -> Pubkey {
    spl_associated_token_account_interface::address::get_associated_token_address_with_program_id(
        owner, mint, program,
    )
}

/// What the signature index knows about a landed transaction.
#[derive(Debug, Clone)]
pub(crate) struct SigRecord {
    pub slot: u64,
    pub block_time_s: i64,
    pub err: Option<String>,
    pub memo: Option<String>,
}

/// Why the ledger refused or failed a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SendError {
    /// The blockhash is unknown or expired.
    BlockhashNotFound,
    /// Executed and failed (or refused by the runtime), with the runtime's reason and logs.
    Failed { reason: String, logs: Vec<String> },
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::BlockhashNotFound => f.write_str("Blockhash not found"),
            SendError::Failed { reason, .. } => f.write_str(reason),
        }
    }
}

/// The ledger. Not thread-safe by itself; the server keeps it behind a mutex.
pub(crate) struct Ledger {
    svm: LiteSVM,
    clock: Clock,
    seed: u64,
    genesis_ms: i64,
    slot_ms: u64,
    height_bump: u64,
    min_valid_height: u64,
    issued: HashMap<Hash, u64>,
    issued_order: VecDeque<Hash>,
    sigs: HashMap<Signature, SigRecord>,
    by_address: HashMap<Pubkey, Vec<Signature>>,
    pub usdc_mint: Pubkey,
    pub token22_mint: Option<Pubkey>,
    pub treasury: Pubkey,
    pub facilitator: Keypair,
    mint_authority: Pubkey,
    nonce: u64,
}

fn keypair_from_seed(seed: u64, label: &str) -> Keypair {
    let mut rng = Rng::keyed(seed, label);
    Keypair::new_from_array(rng.bytes::<32>())
}

impl Ledger {
    /// Builds the ledger: programs, USDC mint, treasury wallet and ATA, optional Token-2022 mint.
    pub(crate) fn new(
        clock: Clock,
        seed: u64,
        slot_ms: u64,
        token2022: bool,
        treasury: Option<Pubkey>,
    ) -> Ledger {
        let svm = LiteSVM::new()
            .with_blockhash_check(false)
            .with_transaction_history(0);
        let treasury = treasury.unwrap_or_else(|| keypair_from_seed(seed, "treasury").pubkey());
        let facilitator = keypair_from_seed(seed, "facilitator");
        let mint_authority = keypair_from_seed(seed, "mint-authority").pubkey();
        let genesis_ms = clock.now_ms();
        let mut ledger = Ledger {
            svm,
            clock,
            seed,
            genesis_ms,
            slot_ms: slot_ms.max(1),
            height_bump: START_HEIGHT,
            min_valid_height: 0,
            issued: HashMap::new(),
            issued_order: VecDeque::new(),
            sigs: HashMap::new(),
            by_address: HashMap::new(),
            usdc_mint: USDC_MINT,
            token22_mint: None,
            treasury,
            facilitator,
            mint_authority,
            nonce: 0,
        };
        ledger.create_mint(USDC_MINT, TOKEN_PROGRAM_ID, 6);
        if token2022 {
            let mint = keypair_from_seed(seed, "token-2022-mint").pubkey();
            ledger.create_mint(mint, TOKEN_2022_PROGRAM_ID, 6);
            ledger.token22_mint = Some(mint);
        }
        ledger.set_lamports(&treasury, 1_000_000_000);
        ledger.set_lamports(&ledger.facilitator.pubkey(), 1_000_000_000_000);
        ledger.ensure_token_account(&treasury, &USDC_MINT, &TOKEN_PROGRAM_ID);
        if let Some(m) = ledger.token22_mint {
            ledger.ensure_token_account(&treasury, &m, &TOKEN_2022_PROGRAM_ID);
        }
        ledger
    }

    fn rent(&self, len: usize) -> u64 {
        self.svm.minimum_balance_for_rent_exemption(len)
    }

    fn create_mint(&mut self, address: Pubkey, program: Pubkey, decimals: u8) {
        let mint = Mint {
            mint_authority: COption::Some(self.mint_authority),
            supply: 0,
            decimals,
            is_initialized: true,
            freeze_authority: COption::None,
        };
        let mut data = vec![0u8; Mint::LEN];
        mint.pack_into_slice(&mut data);
        let account = Account {
            lamports: self.rent(Mint::LEN),
            data,
            owner: program,
            executable: false,
            rent_epoch: 0,
        };
        let _ = self.svm.set_account(address, account);
    }

    /// The token program that owns `mint`, if it is a mint this ledger knows.
    pub(crate) fn mint_program(&self, mint: &Pubkey) -> Option<Pubkey> {
        let acc = self.svm.get_account(mint)?;
        (acc.owner == TOKEN_PROGRAM_ID || acc.owner == TOKEN_2022_PROGRAM_ID).then_some(acc.owner)
    }

    /// Decimals of a mint.
    pub(crate) fn mint_decimals(&self, mint: &Pubkey) -> Option<u8> {
        let acc = self.svm.get_account(mint)?;
        Mint::unpack_from_slice(acc.data.get(..Mint::LEN)?)
            .ok()
            .map(|m| m.decimals)
    }

    fn set_lamports(&mut self, address: &Pubkey, lamports: u64) {
        let mut acc = self.svm.get_account(address).unwrap_or(Account {
            lamports: 0,
            data: vec![],
            owner: SYSTEM_PROGRAM_ID,
            executable: false,
            rent_epoch: 0,
        });
        acc.lamports = lamports;
        let _ = self.svm.set_account(*address, acc);
    }

    /// Creates `owner`'s ATA for `mint` if missing; returns its address.
    pub(crate) fn ensure_token_account(
        &mut self,
        owner: &Pubkey,
        mint: &Pubkey,
        program: &Pubkey,
    ) -> Pubkey {
        let address = ata(owner, mint, program);
        if self.svm.get_account(&address).is_none() {
            let acc = TokenAccount {
                mint: *mint,
                owner: *owner,
                amount: 0,
                delegate: COption::None,
                state: AccountState::Initialized,
                is_native: COption::None,
                delegated_amount: 0,
                close_authority: COption::None,
            };
            let mut data = vec![0u8; TokenAccount::LEN];
            acc.pack_into_slice(&mut data);
            let account = Account {
                lamports: self.rent(TokenAccount::LEN),
                data,
                owner: *program,
                executable: false,
                rent_epoch: 0,
            };
            let _ = self.svm.set_account(address, account);
        }
        address
    }

    /// Adds lamports to a wallet; returns a synthetic signature recorded as landed.
    pub(crate) fn airdrop(&mut self, to: &Pubkey, lamports: u64) -> Signature {
        let current = self.svm.get_balance(to).unwrap_or(0);
        self.set_lamports(to, current.saturating_add(lamports));
        let sig = self.synthetic_signature("airdrop");
        self.record(sig, &[*to], None, None);
        sig
    }

    /// Mints `amount` base units of `mint` to `owner`'s ATA (created if missing).
    pub(crate) fn mint_tokens(
        &mut self,
        owner: &Pubkey,
        mint: &Pubkey,
        amount: u64,
    ) -> Option<Signature> {
        let program = self.mint_program(mint)?;
        let address = self.ensure_token_account(owner, mint, &program);
        let mut acc = self.svm.get_account(&address)?;
        let mut token = TokenAccount::unpack_from_slice(acc.data.get(..TokenAccount::LEN)?).ok()?;
        token.amount = token.amount.saturating_add(amount);
        token.pack_into_slice(acc.data.get_mut(..TokenAccount::LEN)?);
        let _ = self.svm.set_account(address, acc);
        let mut mint_acc = self.svm.get_account(mint)?;
        let mut m = Mint::unpack_from_slice(mint_acc.data.get(..Mint::LEN)?).ok()?;
        m.supply = m.supply.saturating_add(amount);
        m.pack_into_slice(mint_acc.data.get_mut(..Mint::LEN)?);
        let _ = self.svm.set_account(*mint, mint_acc);
        let sig = self.synthetic_signature("mint");
        self.record(sig, &[*owner, address, *mint], None, None);
        Some(sig)
    }

    fn synthetic_signature(&mut self, label: &str) -> Signature {
        self.nonce += 1;
        let mut rng = Rng::keyed(self.seed ^ self.nonce.wrapping_mul(0x9E37_79B9), label);
        Signature::from(rng.bytes::<64>())
    }

    /// An account, if it exists.
    pub(crate) fn account(&self, address: &Pubkey) -> Option<Account> {
        self.svm.get_account(address)
    }

    /// Lamports of an account (0 when missing).
    pub(crate) fn balance(&self, address: &Pubkey) -> u64 {
        self.svm.get_balance(address).unwrap_or(0)
    }

    /// A token account's (amount, decimals, mint), when `address` is one.
    pub(crate) fn token_balance(&self, address: &Pubkey) -> Option<(u64, u8, Pubkey)> {
        let acc = self.svm.get_account(address)?;
        if acc.owner != TOKEN_PROGRAM_ID && acc.owner != TOKEN_2022_PROGRAM_ID {
            return None;
        }
        let token = TokenAccount::unpack_from_slice(acc.data.get(..TokenAccount::LEN)?).ok()?;
        let decimals = self.mint_decimals(&token.mint)?;
        Some((token.amount, decimals, token.mint))
    }

    /// USDC base units held by `owner`'s ATA.
    pub(crate) fn usdc_of(&self, owner: &Pubkey) -> u64 {
        self.token_balance(&ata(owner, &self.usdc_mint, &TOKEN_PROGRAM_ID))
            .map(|t| t.0)
            .unwrap_or(0)
    }

    // -----------------------------------------------------------------------------------------
    // Blockhashes

    /// The current block height (from the sandbox clock).
    pub(crate) fn block_height(&self) -> u64 {
        let elapsed = self.clock.now_ms().saturating_sub(self.genesis_ms).max(0) as u64;
        elapsed / self.slot_ms + self.height_bump
    }

    /// The current slot (equal to the block height here).
    pub(crate) fn slot(&self) -> u64 {
        self.block_height()
    }

    fn hash_for_height(&self, height: u64) -> Hash {
        let mut rng =
            Rng::new(self.seed ^ 0xB10C_4A54 ^ height.wrapping_mul(0x2545_F491_4F6C_DD1D));
        Hash::new_from_array(rng.bytes::<32>())
    }

    /// The latest blockhash and the last block height at which it is valid. Issuing it
    /// registers it as valid.
    pub(crate) fn latest_blockhash(&mut self) -> (Hash, u64) {
        let h = self.block_height();
        let hash = self.hash_for_height(h);
        if let std::collections::hash_map::Entry::Vacant(e) = self.issued.entry(hash) {
            e.insert(h);
            self.issued_order.push_back(hash);
            while self.issued_order.len() > 4096 {
                if let Some(old) = self.issued_order.pop_front() {
                    self.issued.remove(&old);
                }
            }
        }
        (hash, h + BLOCKHASH_VALID_BLOCKS)
    }

    /// How long ago `hash` was issued, in milliseconds of chain time (blocks since its issue
    /// times the slot duration); `None` for a hash this ledger never issued.
    pub(crate) fn blockhash_age_ms(&self, hash: &Hash) -> Option<u64> {
        let issued = *self.issued.get(hash)?;
        Some(
            self.block_height()
                .saturating_sub(issued)
                .saturating_mul(self.slot_ms),
        )
    }

    /// Whether `hash` was issued and has not expired.
    pub(crate) fn blockhash_valid(&self, hash: &Hash) -> bool {
        match self.issued.get(hash) {
            Some(h) => {
                *h >= self.min_valid_height && self.block_height() <= h + BLOCKHASH_VALID_BLOCKS
            }
            None => false,
        }
    }

    /// Expires every blockhash issued so far, as the chain does: the block height moves past
    /// their last valid height (so reconciliation can prove an unlanded payment dead).
    pub(crate) fn expire_blockhashes(&mut self) {
        self.height_bump += BLOCKHASH_VALID_BLOCKS + 1;
        self.min_valid_height = self.block_height();
    }

    // -----------------------------------------------------------------------------------------
    // Transactions

    /// Executes a signed transaction after checking its blockhash. Records it in the
    /// signature index when it lands (success or on-chain failure).
    pub(crate) fn send(&mut self, tx: VersionedTransaction) -> Result<Signature, SendError> {
        if !self.blockhash_valid(tx.message.recent_blockhash()) {
            return Err(SendError::BlockhashNotFound);
        }
        let keys: Vec<Pubkey> = tx.message.static_account_keys().to_vec();
        let memo = extract_memos(&tx.message);
        match self.svm.send_transaction(tx) {
            Ok(meta) => {
                self.record(meta.signature, &keys, None, memo);
                Ok(meta.signature)
            }
            Err(failed) => {
                let reason = format!("{:?}", failed.err);
                // A transaction that paid its fee landed (failed); one refused before
                // execution (bad signature, missing fee payer funds) did not.
                let landed = failed.meta.fee > 0 && !failed.meta.logs.is_empty();
                if landed {
                    self.record(failed.meta.signature, &keys, Some(reason.clone()), memo);
                }
                Err(SendError::Failed {
                    reason,
                    logs: failed.meta.logs,
                })
            }
        }
    }

    /// Simulates a transaction without changing state: (units consumed, logs) or the error.
    pub(crate) fn simulate(
        &self,
        tx: VersionedTransaction,
    ) -> Result<(u64, Vec<String>), (String, Vec<String>)> {
        if !self.blockhash_valid(tx.message.recent_blockhash()) {
            return Err(("BlockhashNotFound".into(), vec![]));
        }
        match self.svm.simulate_transaction(tx) {
            Ok(info) => Ok((info.meta.compute_units_consumed, info.meta.logs)),
            Err(failed) => Err((format!("{:?}", failed.err), failed.meta.logs)),
        }
    }

    /// Signs slot 0 with the facilitator key (sponsored mode).
    pub(crate) fn cosign(&self, tx: &mut VersionedTransaction) -> bool {
        let keys = tx.message.static_account_keys();
        if keys.first() != Some(&self.facilitator.pubkey()) || tx.signatures.is_empty() {
            return false;
        }
        let bytes = tx.message.serialize();
        tx.signatures[0] = self.facilitator.sign_message(&bytes);
        true
    }

    fn record(
        &mut self,
        sig: Signature,
        keys: &[Pubkey],
        err: Option<String>,
        memo: Option<String>,
    ) {
        let rec = SigRecord {
            slot: self.slot(),
            block_time_s: self.clock.now_ms() / 1000,
            err,
            memo,
        };
        self.sigs.insert(sig, rec);
        for k in keys {
            self.by_address.entry(*k).or_default().push(sig);
        }
    }

    /// What the index knows about a signature.
    pub(crate) fn signature_status(&self, sig: &Signature) -> Option<&SigRecord> {
        self.sigs.get(sig)
    }

    /// Signatures touching `address`, newest first, with `before`/`until` bounds.
    pub(crate) fn signatures_for(
        &self,
        address: &Pubkey,
        limit: usize,
        before: Option<&Signature>,
        until: Option<&Signature>,
    ) -> Vec<(Signature, SigRecord)> {
        let Some(list) = self.by_address.get(address) else {
            return vec![];
        };
        let mut out = Vec::new();
        let mut started = before.is_none();
        for sig in list.iter().rev() {
            if !started {
                if Some(sig) == before {
                    started = true;
                }
                continue;
            }
            if Some(sig) == until {
                break;
            }
            if let Some(rec) = self.sigs.get(sig) {
                out.push((*sig, rec.clone()));
            }
            if out.len() >= limit {
                break;
            }
        }
        out
    }

    /// Rent-exempt minimum for `len` bytes.
    pub(crate) fn minimum_balance(&self, len: usize) -> u64 {
        self.rent(len)
    }
}

/// Formats the memos of a message the way Solana's RPC does: `[len] text`, joined by `; `.
pub(crate) fn extract_memos(message: &VersionedMessage) -> Option<String> {
    let keys = message.static_account_keys();
    let mut memos = Vec::new();
    for ix in message.instructions() {
        let Some(program) = keys.get(usize::from(ix.program_id_index)) else {
            continue;
        };
        if *program == MEMO_PROGRAM_ID || *program == MEMO_V1_PROGRAM_ID {
            let text = String::from_utf8_lossy(&ix.data);
            memos.push(format!("[{}] {}", ix.data.len(), text));
        }
    }
    (!memos.is_empty()).then(|| memos.join("; "))
}

/// Decodes a wire transaction (no trailing bytes).
pub(crate) fn decode_transaction(bytes: &[u8]) -> Result<VersionedTransaction, String> {
    if bytes.len() > 1232 {
        return Err(format!(
            "transaction is {} bytes; the limit is 1232",
            bytes.len()
        ));
    }
    let tx: VersionedTransaction = wincode::deserialize_exact(bytes)
        .map_err(|e| format!("transaction could not be decoded: {e}"))?;
    tx.sanitize()
        .map_err(|e| format!("transaction is malformed: {e}"))?;
    if tx.signatures.len() != usize::from(tx.message.header().num_required_signatures) {
        return Err("transaction signature count does not match its header".into());
    }
    Ok(tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mint_and_treasury_exist() {
        let clock = Clock::manual(1_700_000_000_000);
        let mut l = Ledger::new(clock.clone(), 7, 400, true, None);
        assert_eq!(l.mint_program(&USDC_MINT), Some(TOKEN_PROGRAM_ID));
        assert_eq!(l.mint_decimals(&USDC_MINT), Some(6));
        let t = l.treasury;
        assert_eq!(l.usdc_of(&t), 0);
        let w = Pubkey::new_from_array([9; 32]);
        l.mint_tokens(&w, &USDC_MINT, 1_000_000);
        assert_eq!(l.usdc_of(&w), 1_000_000);
        let (h, last) = l.latest_blockhash();
        assert!(l.blockhash_valid(&h));
        assert_eq!(last, l.block_height() + BLOCKHASH_VALID_BLOCKS);
        clock.advance(std::time::Duration::from_millis(400 * 151));
        assert!(!l.blockhash_valid(&h));
        let (h2, _) = l.latest_blockhash();
        assert!(l.blockhash_valid(&h2));
        l.expire_blockhashes();
        assert!(!l.blockhash_valid(&h2));
        assert!(l.token22_mint.is_some());
    }
}
