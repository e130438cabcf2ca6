//! The blocking clients (feature `blocking`), on `sova-transport-blocking` (ureq). They run
//! no hidden async runtime and may be called from inside one.

/// The blocking Sova Intel client and its builder.
pub mod intel {
    pub use crate::intel::{ClientBuilder, Config, IntelClient, Progress};

    /// The blocking Sova Intel client. Cheap to clone; share one per process.
    ///
    /// ```no_run
    /// # fn run() -> Result<(), sova::Error> {
    /// // `builder()` of the blocking client builds the blocking client.
    /// let client = sova::blocking::intel::Client::builder()
    ///     .api_key("ak_0123abcd")
    ///     .build()?;
    /// let hud = client.wallet_hud("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM")?;
    /// println!("{} {}", hud.behavior_code, hud.win_rate);
    /// # Ok(()) }
    /// ```
    pub type Client = IntelClient<crate::runner::BlockingRunner>;
}

/// The blocking Sovera SovX client and its builder.
pub mod sx {
    pub use crate::sx::{ClientBuilder, Config, SxClient};

    /// The blocking SovX client. Cheap to clone; derive per-user clients with
    /// [`SxClient::for_user`].
    pub type Client = SxClient<crate::runner::BlockingRunner>;
}
