//! The blocking Sovera SovX client.

use crate::sx::ClientBuilder;
use sova_protocol::sovx::{
    Decimal, FeatureCode, MethodCode, NewTransfer, NewUser, NewWallet, Side, UserToken, UserUpdate,
};
use sova_transport_blocking::{BlockingTransport, UreqTransport};

macro_rules! io {
    ($e:expr) => {
        $e
    };
}

crate::shell::client_shell! {
    /// The blocking SovX client. Cheap to clone; derive per-user clients with [`Client::for_user`].
    transport: BlockingTransport,
    new_transport: |b| UreqTransport::new(b.timeouts_ref()),
    config: crate::sx::Config,
    builder: ClientBuilder,
    build: build_blocking,
    run: crate::driver::run_blocking,
    env: "`SOVX_BASE_URL`, `SOVX_OWNER_KEY`, `SOVX_USER_TOKEN`",
    drive: [],
}

impl Client {
    /// A client acting as the user whose token this is; it shares this client's connections.
    pub fn for_user(&self, token: UserToken) -> Client {
        Client {
            config: std::sync::Arc::new(self.config.for_user(token)),
            transport: self.transport.clone(),
        }
    }

    crate::sx::sx_methods!();
}
