//! Offline emulator of Sova Intel and Sovera SovX with x402 settlement (placeholder until the sandbox issue lands).
//!
//! This crate is a placeholder: the folder exists so the workspace has its final shape.
#![forbid(unsafe_code)]
