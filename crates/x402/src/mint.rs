//! Mints: their token program and decimals, known up front or learnt from `getAccountInfo`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{PoisonError, RwLock};

use serde::{Deserialize, Serialize};
use solana_pubkey::Pubkey;

use crate::programs::{TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, USDC_DEVNET, USDC_MAINNET};

/// The token program that owns a mint. Source and destination accounts, the ATA derivation
/// and the `TransferChecked` instruction all use the mint's program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TokenProgram {
    /// The classic SPL Token program (`Tokenkeg…`).
    Token,
    /// The Token-2022 program (`Tokenz…`).
    Token2022,
}

impl TokenProgram {
    /// The program's address.
    pub const fn id(self) -> Pubkey {
        match self {
            TokenProgram::Token => TOKEN_PROGRAM_ID,
            TokenProgram::Token2022 => TOKEN_2022_PROGRAM_ID,
        }
    }

    /// The program at `id`, if it is one of the two token programs.
    pub fn from_id(id: &Pubkey) -> Option<TokenProgram> {
        if *id == TOKEN_PROGRAM_ID {
            Some(TokenProgram::Token)
        } else if *id == TOKEN_2022_PROGRAM_ID {
            Some(TokenProgram::Token2022)
        } else {
            None
        }
    }
}

impl fmt::Display for TokenProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenProgram::Token => f.write_str("SPL Token"),
            TokenProgram::Token2022 => f.write_str("Token-2022"),
        }
    }
}

/// What a payment needs to know about a mint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MintInfo {
    /// The mint address.
    pub mint: Pubkey,
    /// Its decimals (`TransferChecked` carries them).
    pub decimals: u8,
    /// The token program that owns it.
    pub program: TokenProgram,
}

/// Why a mint account could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MintError {
    /// The account does not exist.
    #[error("mint {mint} does not exist on this network")]
    NotFound {
        /// The mint asked for.
        mint: String,
    },
    /// The account is not owned by a token program.
    #[error(
        "account {mint} is owned by {owner}, not by the SPL Token or Token-2022 program, so it is not a mint"
    )]
    NotTokenProgram {
        /// The mint asked for.
        mint: String,
        /// Its owner.
        owner: String,
    },
    /// The account data is too short or not an initialized mint.
    #[error("account {mint} is not an initialized mint ({reason})")]
    NotAMint {
        /// The mint asked for.
        mint: String,
        /// What was wrong.
        reason: &'static str,
    },
}

/// Size of the base mint layout (both token programs).
pub(crate) const MINT_LEN: usize = 82;
/// Offset of `decimals` in the mint layout.
const DECIMALS_OFFSET: usize = 44;
/// Offset of `is_initialized`.
const INITIALIZED_OFFSET: usize = 45;

impl MintInfo {
    /// Mainnet USDC: 6 decimals, classic Token program.
    pub const USDC_MAINNET: MintInfo = MintInfo {
        mint: USDC_MAINNET,
        decimals: 6,
        program: TokenProgram::Token,
    };
    /// Devnet USDC: 6 decimals, classic Token program.
    pub const USDC_DEVNET: MintInfo = MintInfo {
        mint: USDC_DEVNET,
        decimals: 6,
        program: TokenProgram::Token,
    };

    /// Reads a mint account: `owner` must be a token program, `data` the mint layout
    /// (decimals at byte 44, `is_initialized` at byte 45).
    pub fn from_account(mint: Pubkey, owner: &Pubkey, data: &[u8]) -> Result<MintInfo, MintError> {
        let program = TokenProgram::from_id(owner).ok_or_else(|| MintError::NotTokenProgram {
            mint: mint.to_string(),
            owner: owner.to_string(),
        })?;
        if data.len() < MINT_LEN {
            return Err(MintError::NotAMint {
                mint: mint.to_string(),
                reason: "the data is shorter than a mint",
            });
        }
        // Token accounts are 165 bytes; Token-2022 mints with extensions are longer than
        // 165 and carry an account-type byte of 1 at offset 165.
        if data.len() == 165 || (data.len() > 165 && data[165] != 1) {
            return Err(MintError::NotAMint {
                mint: mint.to_string(),
                reason: "the data is a token account, not a mint",
            });
        }
        if data[INITIALIZED_OFFSET] != 1 {
            return Err(MintError::NotAMint {
                mint: mint.to_string(),
                reason: "the mint is not initialized",
            });
        }
        Ok(MintInfo {
            mint,
            decimals: data[DECIMALS_OFFSET],
            program,
        })
    }
}

/// A shared, thread-safe table of known mints. Mainnet and devnet USDC are known from the
/// start; others are added from configuration or from a `getAccountInfo` answer
/// ([`crate::rpc::GetMintInfo`]).
#[derive(Debug)]
pub struct MintRegistry {
    map: RwLock<HashMap<Pubkey, MintInfo>>,
}

impl Default for MintRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl MintRegistry {
    /// A registry knowing mainnet and devnet USDC.
    pub fn new() -> Self {
        let mut map = HashMap::new();
        map.insert(USDC_MAINNET, MintInfo::USDC_MAINNET);
        map.insert(USDC_DEVNET, MintInfo::USDC_DEVNET);
        MintRegistry {
            map: RwLock::new(map),
        }
    }

    /// What is known about `mint`.
    pub fn get(&self, mint: &Pubkey) -> Option<MintInfo> {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(mint)
            .copied()
    }

    /// Records (or replaces) a mint.
    pub fn insert(&self, info: MintInfo) {
        self.map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(info.mint, info);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mint_data(decimals: u8, init: bool) -> Vec<u8> {
        let mut d = vec![0u8; MINT_LEN];
        d[DECIMALS_OFFSET] = decimals;
        d[INITIALIZED_OFFSET] = u8::from(init);
        d
    }

    #[test]
    fn reads_mints() {
        let m = Pubkey::new_from_array([3; 32]);
        let info = MintInfo::from_account(m, &TOKEN_2022_PROGRAM_ID, &mint_data(9, true)).unwrap();
        assert_eq!(info.decimals, 9);
        assert_eq!(info.program, TokenProgram::Token2022);
        let e = MintInfo::from_account(m, &Pubkey::new_from_array([1; 32]), &mint_data(6, true))
            .unwrap_err();
        assert!(e.to_string().contains("not a mint"), "{e}");
        assert!(MintInfo::from_account(m, &TOKEN_PROGRAM_ID, &mint_data(6, false)).is_err());
        assert!(MintInfo::from_account(m, &TOKEN_PROGRAM_ID, &[0; 10]).is_err());
        assert!(MintInfo::from_account(m, &TOKEN_PROGRAM_ID, &[1; 165]).is_err());
        let reg = MintRegistry::new();
        assert_eq!(reg.get(&USDC_MAINNET), Some(MintInfo::USDC_MAINNET));
        assert_eq!(reg.get(&m), None);
        reg.insert(info);
        assert_eq!(reg.get(&m), Some(info));
    }
}
