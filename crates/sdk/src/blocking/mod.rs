//! The blocking clients (feature `blocking`), on `sova-transport-blocking` (ureq). They run
//! no hidden async runtime and may be called from inside one.

/// The blocking Sova Intel client and its builder.
pub mod intel {
    pub use crate::blocking_intel::Client;
    pub use crate::intel::{ClientBuilder, Config, Progress};
}

/// The blocking Sovera SovX client and its builder.
pub mod sx {
    pub use crate::blocking_sx::Client;
    pub use crate::sx::{ClientBuilder, Config};
}
