//! The blocking Sova Intel client.

use crate::intel::ClientBuilder;
use sova_transport_blocking::{BlockingTransport, UreqTransport};

macro_rules! io {
    ($e:expr) => {
        $e
    };
}

macro_rules! pause {
    ($d:expr) => {
        std::thread::sleep($d)
    };
}

crate::shell::client_shell! {
    /// The blocking Sova Intel client. Cheap to clone; share one per process.
    ///
    /// ```no_run
    /// # fn run() -> Result<(), sova::Error> {
    /// let client = sova::blocking::intel::Client::builder().api_key("ak_0123abcd").build_blocking()?;
    /// let hud = client.wallet_hud("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM")?;
    /// println!("{} {}", hud.behavior_code, hud.win_rate);
    /// # Ok(()) }
    /// ```
    transport: BlockingTransport,
    new_transport: |b| UreqTransport::new(b.timeouts_ref()),
    config: crate::intel::Config,
    builder: ClientBuilder,
    build: build_blocking,
    run: crate::driver::run_blocking,
    env: "`SOVA_BASE_URL`, `SOVA_API_KEY`, `SOVA_KEYPAIR`, `SOLANA_RPC_URL`",
    drive: [],
}

impl Client {
    crate::intel::intel_methods!();
}
