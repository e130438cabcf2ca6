//! The async Sova Intel client.

use std::sync::Arc;

use sova_transport_async::{AsyncTransport, ReqwestTransport};

use crate::call::CallMachine;
use crate::error::Error;
use crate::intel::{ClientBuilder, Config};

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

/// The async Sova Intel client. Cheap to clone; share one per process.
///
/// ```no_run
/// # async fn run() -> Result<(), sova::Error> {
/// let client = sova::intel::Client::builder().api_key("ak_0123abcd").build()?;
/// let hud = client.wallet_hud("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM").await?;
/// println!("{} {}", hud.behavior_code, hud.win_rate);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    config: Arc<Config>,
    transport: Arc<dyn AsyncTransport>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder with the documented defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from `SOVA_BASE_URL` and `SOVA_API_KEY`.
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env().build()
    }

    pub(crate) fn from_builder(builder: ClientBuilder) -> Result<Client, Error> {
        let transport = ReqwestTransport::new(builder.timeouts_ref())
            .map_err(|e| Error::Config(format!("could not create the HTTP client: {e}")))?;
        Self::with_transport(builder, Arc::new(transport))
    }

    /// A client on a transport of your own (a configured `ReqwestTransport`, a mock, …).
    pub fn with_transport(
        builder: ClientBuilder,
        transport: Arc<dyn AsyncTransport>,
    ) -> Result<Client, Error> {
        Ok(Client {
            config: Arc::new(builder.config()?),
            transport,
        })
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    async fn drive<E: sova_protocol::Endpoint>(
        &self,
        machine: CallMachine<'_, E>,
    ) -> Result<crate::call::Paid<E::Output>, Error> {
        crate::driver::run_async(machine, self.transport.as_ref()).await
    }

    crate::intel::intel_methods!(async);
}
