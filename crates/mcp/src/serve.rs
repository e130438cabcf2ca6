//! Serving: stdio (the client starts the server as a child process) and streamable HTTP on
//! loopback.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use rmcp::ServiceExt as _;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;

use crate::{Error, SovaMcp};

/// The path of the MCP endpoint on the HTTP server: `http://127.0.0.1:8787/mcp`.
pub const HTTP_PATH: &str = "/mcp";

/// Binds the HTTP listener. Only loopback addresses are accepted: the server has no
/// authentication of its own and pays from the configured wallet.
pub async fn bind_http(addr: SocketAddr) -> Result<TcpListener, Error> {
    if !addr.ip().is_loopback() {
        return Err(Error::Config(format!(
            "{addr} is not a loopback address: the MCP server has no authentication and spends from your wallet, so it listens on 127.0.0.1 or ::1 only"
        )));
    }
    TcpListener::bind(addr).await.map_err(|source| Error::Io {
        context: format!("could not listen on {addr}"),
        source,
    })
}

/// Where [`SovaMcp::run`] serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Listen {
    /// One session over stdin/stdout.
    Stdio,
    /// Streamable HTTP on this loopback address, at [`HTTP_PATH`].
    Http(SocketAddr),
}

impl SovaMcp {
    /// Serves on a runtime of its own until the stdio client disconnects or, over HTTP,
    /// until Ctrl-C. `on_ready` is told the URL once the HTTP listener is bound.
    pub fn run(self, listen: Listen, on_ready: impl FnOnce(&str)) -> Result<(), Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                context: "could not start the async runtime".into(),
                source,
            })?;
        runtime.block_on(async move {
            match listen {
                Listen::Stdio => self.serve_stdio().await,
                Listen::Http(addr) => {
                    let listener = bind_http(addr).await?;
                    let bound = listener.local_addr().unwrap_or(addr);
                    on_ready(&format!("http://{bound}{HTTP_PATH}"));
                    self.serve_http(listener, async {
                        let _ = tokio::signal::ctrl_c().await;
                    })
                    .await
                }
            }
        })
    }

    /// Serves one MCP session over stdin/stdout until the client closes it.
    pub async fn serve_stdio(self) -> Result<(), Error> {
        let running = self
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| Error::Mcp(e.to_string()))?;
        running
            .waiting()
            .await
            .map_err(|e| Error::Mcp(e.to_string()))?;
        Ok(())
    }

    /// Serves MCP over streamable HTTP at [`HTTP_PATH`] on `listener` until `shutdown`
    /// completes. All sessions share this server's spend policy and spend log. Requests with
    /// a `Host` other than loopback, or with an `Origin` header (web pages), are refused.
    pub async fn serve_http(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let local = listener.local_addr().ok();
        let mut config = StreamableHttpServerConfig::default();
        if let Some(a) = local {
            // Accept the Host header with its port too (clients send `127.0.0.1:PORT`).
            config = config.with_allowed_hosts([
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
                "::1".to_owned(),
                "[::1]".to_owned(),
                format!("localhost:{}", a.port()),
                format!("127.0.0.1:{}", a.port()),
                format!("[::1]:{}", a.port()),
            ]);
        }
        // Web pages must not drive a server that spends from the wallet: a request carrying
        // an Origin header (a browser) is refused; MCP clients send none.
        config = config.enforce_origin_validation();
        let stop = config.cancellation_token.clone();
        let server = self;
        let service = StreamableHttpService::new(
            move || Ok(server.clone()),
            Arc::new(LocalSessionManager::default()),
            config,
        );
        let app = axum::Router::new().nest_service(HTTP_PATH, service);
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                stop.cancel();
            })
            .await
            .map_err(|source| Error::Io {
                context: format!(
                    "the HTTP server{} stopped",
                    local.map(|a| format!(" on {a}")).unwrap_or_default()
                ),
                source,
            })
    }
}
