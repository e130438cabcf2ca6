//! The async Sovera SovX client.

use std::sync::Arc;

use sova_protocol::sovx::{
    Decimal, FeatureCode, MethodCode, NewTransfer, NewUser, NewWallet, Side, UserToken, UserUpdate,
};
use sova_transport_async::{AsyncTransport, ReqwestTransport};

use crate::call::CallMachine;
use crate::error::Error;
use crate::sx::{ClientBuilder, Config};

macro_rules! io {
    ($e:expr) => {
        $e.await
    };
}

/// The async SovX client. Cheap to clone; derive per-user clients with [`Client::for_user`].
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
    /// A builder (sandbox base URL, no credential).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from `SOVX_BASE_URL`, `SOVX_OWNER_KEY` and `SOVX_USER_TOKEN`.
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env().build()
    }

    pub(crate) fn from_builder(builder: ClientBuilder) -> Result<Client, Error> {
        let transport = ReqwestTransport::new(builder.timeouts_ref())
            .map_err(|e| Error::Config(format!("could not create the HTTP client: {e}")))?;
        Self::with_transport(builder, Arc::new(transport))
    }

    /// A client on a transport of your own.
    pub fn with_transport(
        builder: ClientBuilder,
        transport: Arc<dyn AsyncTransport>,
    ) -> Result<Client, Error> {
        Ok(Client {
            config: Arc::new(builder.config()?),
            transport,
        })
    }

    /// A client acting as the user whose token this is; it shares this client's connections.
    pub fn for_user(&self, token: UserToken) -> Client {
        Client {
            config: Arc::new(self.config.for_user(token)),
            transport: self.transport.clone(),
        }
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

    crate::sx::sx_methods!(async);
}
