//! Solana USDC payments for x402 (being built).
#![forbid(unsafe_code)]
