//! The Sova Rust SDK.
//!
//! This crate is a placeholder until the sdk issue lands: today it re-exports the sans-IO
//! [`sova_protocol`] crate so that users can already build requests and parse responses.
#![forbid(unsafe_code)]

pub use sova_protocol as protocol;
