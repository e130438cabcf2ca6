//! Associated token account derivation, memoized.
//!
//! A derivation is a program-address search (SHA-256 and a curve check per bump), 10–20 µs
//! each; a payment needs two. The results are a pure function of
//! `(owner, mint, token program)`, so they are remembered in a process-wide table
//! (bounded; cleared when full), which makes warm payments skip the search.

use std::collections::HashMap;
use std::sync::{LazyLock, PoisonError, RwLock};

use solana_pubkey::Pubkey;

use crate::programs::ASSOCIATED_TOKEN_PROGRAM_ID;

/// Entries kept before the table is cleared.
const CAPACITY: usize = 4096;

type Key = (Pubkey, Pubkey, Pubkey);

static CACHE: LazyLock<RwLock<HashMap<Key, Pubkey>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

/// The associated token account of `owner` for `mint` under `token_program`
/// (seeds `[owner, token_program, mint]` under the Associated Token program).
///
/// ```
/// use sova_x402::{associated_token_address, programs};
/// use solana_pubkey::Pubkey;
/// let owner = Pubkey::from_str_const("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM");
/// let a = associated_token_address(&owner, &programs::USDC_MAINNET, &programs::TOKEN_PROGRAM_ID);
/// let b = associated_token_address(&owner, &programs::USDC_MAINNET, &programs::TOKEN_2022_PROGRAM_ID);
/// assert_ne!(a, b);
/// ```
pub fn associated_token_address(owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Pubkey {
    let key = (*owner, *mint, *token_program);
    if let Some(found) = CACHE
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
    {
        return *found;
    }
    let derived = derive(owner, mint, token_program);
    let mut map = CACHE.write().unwrap_or_else(PoisonError::into_inner);
    if map.len() >= CAPACITY {
        map.clear();
    }
    map.insert(key, derived);
    derived
}

/// The derivation itself, without the memo table.
pub(crate) fn derive(owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[owner.as_ref(), token_program.as_ref(), mint.as_ref()],
        &ASSOCIATED_TOKEN_PROGRAM_ID,
    )
    .0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::programs::*;

    #[test]
    fn matches_the_interface_crate() {
        for seed in 0u8..8 {
            let owner = Pubkey::new_from_array([seed; 32]);
            for program in [TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID] {
                let ours = associated_token_address(&owner, &USDC_MAINNET, &program);
                let theirs = spl_associated_token_account_interface::address::get_associated_token_address_with_program_id(
                    &owner,
                    &USDC_MAINNET,
                    &program,
                );
                assert_eq!(ours, theirs);
                // warm path gives the same answer
                assert_eq!(
                    associated_token_address(&owner, &USDC_MAINNET, &program),
                    theirs
                );
            }
        }
    }
}
