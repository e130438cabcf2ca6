//! Blocking HTTP transport for the Sova SDK, on ureq (placeholder until the transports issue lands).
//!
//! This crate is a placeholder: the folder exists so the workspace has its final shape.
#![forbid(unsafe_code)]
