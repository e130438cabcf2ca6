//! Offline emulator of Sova Intel and Sovera SovX with x402 settlement.
#![forbid(unsafe_code)]
pub use litesvm;
