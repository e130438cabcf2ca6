//! The async Sovera SovX client.

use crate::sx::ClientBuilder;
use sova_protocol::sovx::{
    Decimal, FeatureCode, MethodCode, NewTransfer, NewUser, NewWallet, Side, UserToken, UserUpdate,
};
use sova_transport_async::{AsyncTransport, ReqwestTransport};

macro_rules! io {
    ($e:expr) => {
        $e.await
    };
}

crate::shell::client_shell! {
    /// The async SovX client. Cheap to clone; derive per-user clients with [`Client::for_user`].
    transport: AsyncTransport,
    new_transport: |b| ReqwestTransport::new(b.timeouts_ref()).map_err(|e| crate::Error::Config(format!("could not create the HTTP client: {e}")))?,
    config: crate::sx::Config,
    builder: ClientBuilder,
    build: build,
    run: crate::driver::run_async,
    env: "`SOVX_BASE_URL`, `SOVX_OWNER_KEY`, `SOVX_USER_TOKEN`",
    drive: [async],
}

impl Client {
    /// A client acting as the user whose token this is; it shares this client's connections.
    pub fn for_user(&self, token: UserToken) -> Client {
        Client {
            config: std::sync::Arc::new(self.config.for_user(token)),
            transport: self.transport.clone(),
        }
    }

    crate::sx::sx_methods!(async);
}
