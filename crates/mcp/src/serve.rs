//! Serving: stdio (the client starts the server as a child process) and streamable HTTP on
//! loopback, behind a bearer token.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use rmcp::ServiceExt as _;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;

use crate::{Error, SovaMcp};

/// The path of the MCP endpoint on the HTTP server: `http://127.0.0.1:8787/mcp`.
pub const HTTP_PATH: &str = "/mcp";

/// The environment variable holding the HTTP bearer token (`sova mcp --http`, `sova-mcp --http`).
pub const TOKEN_ENV: &str = "SOVA_MCP_TOKEN";

/// The bearer token every HTTP request must carry (`Authorization: Bearer <token>`): any local
/// process could otherwise spend the wallet up to the budget. Its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken([redacted])")
    }
}

impl BearerToken {
    /// A token of the caller's choosing: at least 16 visible ASCII characters.
    pub fn new(token: impl Into<String>) -> Result<BearerToken, Error> {
        let t: String = token.into().trim().to_owned();
        if t.len() < 16 || !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Config(format!(
                "the MCP bearer token ({TOKEN_ENV}) must be at least 16 visible ASCII characters"
            )));
        }
        Ok(BearerToken(t))
    }

    /// A fresh random token (32 bytes, hex).
    pub fn generate() -> Result<BearerToken, Error> {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b)
            .map_err(|e| Error::Config(format!("could not generate a bearer token: {e}")))?;
        Ok(BearerToken(b.iter().map(|x| format!("{x:02x}")).collect()))
    }

    /// The token from [`TOKEN_ENV`] when set (`Ok(Some)`), else `Ok(None)`.
    pub fn from_env() -> Result<Option<BearerToken>, Error> {
        match std::env::var(TOKEN_ENV) {
            Ok(v) if !v.trim().is_empty() => BearerToken::new(v).map(Some),
            _ => Ok(None),
        }
    }

    /// The token's text, for the client's `Authorization: Bearer` header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether an `Authorization` header value carries this token (constant time in the
    /// token's length).
    fn admits(&self, header: Option<&[u8]>) -> bool {
        let Some(h) = header else { return false };
        let Some(given) = h
            .strip_prefix(b"Bearer ")
            .or_else(|| h.strip_prefix(b"bearer "))
        else {
            return false;
        };
        let want = self.0.as_bytes();
        if given.len() != want.len() {
            return false;
        }
        given
            .iter()
            .zip(want)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// Refuses a request without the bearer token: `401` with `WWW-Authenticate: Bearer`.
async fn require_token(token: Arc<BearerToken>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    if token.admits(given) {
        return next.run(request).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer realm=\"sova-mcp\"")],
        "this MCP server needs Authorization: Bearer <token> (printed when it started, or SOVA_MCP_TOKEN)",
    )
        .into_response()
}

/// Binds the HTTP listener. Only loopback addresses are accepted: the server pays from the
/// configured wallet, so it is reachable from this machine only, and then only with the token.
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
    /// until Ctrl-C. Over HTTP the bearer token is [`TOKEN_ENV`] when set, else a fresh one;
    /// `on_ready` is told the URL once the listener is bound, and the token when it was
    /// generated (to print it for the user: nobody else knows it).
    pub fn run(
        self,
        listen: Listen,
        on_ready: impl FnOnce(&str, Option<&BearerToken>),
    ) -> Result<(), Error> {
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
                    let (token, generated) = match BearerToken::from_env()? {
                        Some(t) => (t, false),
                        None => (BearerToken::generate()?, true),
                    };
                    let listener = bind_http(addr).await?;
                    let bound = listener.local_addr().unwrap_or(addr);
                    on_ready(
                        &format!("http://{bound}{HTTP_PATH}"),
                        generated.then_some(&token),
                    );
                    self.serve_http(listener, token, async {
                        let _ = tokio::signal::ctrl_c().await;
                    })
                    .await
                }
            }
        })
    }

    /// Serves one MCP session over stdin/stdout until the client closes it.
    pub async fn serve_stdio(self) -> Result<(), Error> {
        // Payments of unknown outcome are reconciled at start and every 30 s while serving.
        let _reconciler = self.start_reconciler();
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
    /// completes. All sessions share this server's spend policy and spend log. Requests
    /// without `Authorization: Bearer <token>` are refused with `401`; requests with a `Host`
    /// other than loopback, or with an `Origin` header (web pages), with `403`.
    pub async fn serve_http(
        self,
        listener: TcpListener,
        token: BearerToken,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let local = listener.local_addr().ok();
        // Payments of unknown outcome are reconciled at start and every 30 s while serving.
        let _reconciler = self.start_reconciler();
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
        let token = Arc::new(token);
        let app =
            axum::Router::new()
                .nest_service(HTTP_PATH, service)
                .layer(axum::middleware::from_fn(
                    move |req: Request, next: Next| require_token(token.clone(), req, next),
                ));
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
