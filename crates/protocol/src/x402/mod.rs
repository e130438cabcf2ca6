//! The x402 header codec (v2, with v1 fallbacks), per `reference/x402-solana.md`.
//!
//! * [`PaymentRequired`]: from the v2 `PAYMENT-REQUIRED` header or a v1 JSON body. Each
//!   [`PaymentRequirements`] keeps its raw JSON so it can be echoed exactly as received.
//! * [`PaymentPayload`]: the `PAYMENT-SIGNATURE` value, encodable in three [`PayloadShape`]s.
//! * [`Settlement`]: `PAYMENT-RESPONSE` (base64 JSON) or Sova's bare-signature
//!   `X-Payment-Response`.
//!
//! Encoding is standard base64 with padding; decoding also accepts url-safe and unpadded
//! input. Amounts are `u64` base units parsed from base-10 strings only.

pub mod b64;
mod codec;
mod failure;

pub use codec::{
    Amount, AmountError, CodecError, ExactSvmPayload, PayloadShape, PaymentPayload,
    PaymentRequired, PaymentRequirements, RawJson, Settlement, SettlementResponse,
};
pub use failure::FailureReason;

/// Header names (lower case; HTTP matches them case-insensitively).
pub mod headers {
    /// v2: server → client with 402, base64 JSON `PaymentRequired`.
    pub const PAYMENT_REQUIRED: &str = "payment-required";
    /// v2: client → server, base64 JSON `PaymentPayload`.
    pub const PAYMENT_SIGNATURE: &str = "payment-signature";
    /// v2: server → client, base64 JSON `SettlementResponse`.
    pub const PAYMENT_RESPONSE: &str = "payment-response";
    /// Sova: server → client on success, a bare transaction signature. Also the v1 name.
    pub const X_PAYMENT_RESPONSE: &str = "x-payment-response";
    /// v1: client → server payment header.
    pub const X_PAYMENT: &str = "x-payment";
}

/// CAIP-2 network identifiers and the v1 names that map to them.
pub mod networks {
    /// Solana mainnet.
    pub const SOLANA_MAINNET: &str = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp";
    /// Solana devnet.
    pub const SOLANA_DEVNET: &str = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
    /// Solana testnet.
    pub const SOLANA_TESTNET: &str = "solana:4uhcVJyU9pJkvQyS88uRDiswHXSCkY3z";

    /// Maps a v1 network name (`solana`, `solana-devnet`, `solana-testnet`) to CAIP-2;
    /// CAIP-2 ids pass through unchanged.
    pub fn normalize(network: &str) -> &str {
        match network {
            "solana" | "solana-mainnet" => SOLANA_MAINNET,
            "solana-devnet" => SOLANA_DEVNET,
            "solana-testnet" => SOLANA_TESTNET,
            other => other,
        }
    }
}

/// The mainnet USDC mint (6 decimals, classic Token program).
pub const USDC_MAINNET_MINT: &str = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
/// Decimals of USDC.
pub const USDC_DECIMALS: u8 = 6;
/// The scheme this SDK pays with.
pub const SCHEME_EXACT: &str = "exact";
