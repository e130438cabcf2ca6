//! The async clients (feature `async`), on `sova-transport-async` (reqwest).

pub mod intel;
pub mod sx;
