//! Well-known Solana addresses used by x402 payments.

use solana_pubkey::Pubkey;

/// The classic SPL Token program.
pub const TOKEN_PROGRAM_ID: Pubkey =
    Pubkey::from_str_const("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
/// The Token-2022 program.
pub const TOKEN_2022_PROGRAM_ID: Pubkey =
    Pubkey::from_str_const("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
/// The Associated Token Account program.
pub const ASSOCIATED_TOKEN_PROGRAM_ID: Pubkey =
    Pubkey::from_str_const("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
/// The SPL Memo program (v2/v3), the one x402 payments use.
pub const MEMO_PROGRAM_ID: Pubkey =
    Pubkey::from_str_const("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");
/// The Compute Budget program.
pub const COMPUTE_BUDGET_PROGRAM_ID: Pubkey =
    Pubkey::from_str_const("ComputeBudget111111111111111111111111111111");
/// The System program.
pub const SYSTEM_PROGRAM_ID: Pubkey = Pubkey::from_str_const("11111111111111111111111111111111");
/// The mainnet USDC mint (6 decimals, classic Token program).
pub const USDC_MAINNET: Pubkey =
    Pubkey::from_str_const("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v");
/// The devnet USDC mint (6 decimals, classic Token program).
pub const USDC_DEVNET: Pubkey =
    Pubkey::from_str_const("4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU");

/// Instruction discriminator of `SetComputeUnitLimit`.
pub const CU_LIMIT_DISC: u8 = 2;
/// Instruction discriminator of `SetComputeUnitPrice`.
pub const CU_PRICE_DISC: u8 = 3;
/// Instruction discriminator of the token programs' `TransferChecked`.
pub const TRANSFER_CHECKED_DISC: u8 = 12;
/// Instruction data of `CreateIdempotent` (associated token account program).
pub const CREATE_IDEMPOTENT_DISC: u8 = 1;
