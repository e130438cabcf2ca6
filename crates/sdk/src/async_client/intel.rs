//! The async Sova Intel client.

use crate::intel::ClientBuilder;
use sova_transport_async::{AsyncTransport, ReqwestTransport};

macro_rules! io {
    ($e:expr) => {
        $e.await
    };
}

macro_rules! pause {
    ($d:expr) => {
        tokio::time::sleep($d).await
    };
}

crate::shell::client_shell! {
    /// The async Sova Intel client. Cheap to clone; share one per process.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), sova::Error> {
    /// let client = sova::intel::Client::builder().api_key("ak_0123abcd").build()?;
    /// let hud = client.wallet_hud("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM").await?;
    /// println!("{} {}", hud.behavior_code, hud.win_rate);
    /// # Ok(()) }
    /// ```
    transport: AsyncTransport,
    new_transport: |b| ReqwestTransport::new(b.timeouts_ref()).map_err(|e| crate::Error::Config(format!("could not create the HTTP client: {e}")))?,
    config: crate::intel::Config,
    builder: ClientBuilder,
    build: build,
    run: crate::driver::run_async,
    env: "`SOVA_BASE_URL`, `SOVA_API_KEY`, `SOVA_KEYPAIR`, `SOLANA_RPC_URL`",
    drive: [async],
}

impl Client {
    crate::intel::intel_methods!(async);
}
