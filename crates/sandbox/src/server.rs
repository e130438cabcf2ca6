//! The HTTP server: the router, the front middleware (request counting, front faults, error
//! shapes) and an accept loop that can drop a connection unanswered and shuts down gracefully.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::post;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tower_service::Service;

use crate::faults::FaultKind;
use crate::respond::{ConnControl, intel_error_body, json_response};
use crate::state::{Shared, lock};

/// The whole application.
pub(crate) fn app(state: Shared) -> Router {
    Router::new()
        .nest(crate::intel::PREFIX, crate::intel::router())
        .nest(crate::sovx::PREFIX, crate::sovx::router())
        .nest(crate::admin::PREFIX, crate::admin::router())
        .route("/rpc", post(crate::rpc::handle))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), front))
        .layer(axum::extract::DefaultBodyLimit::max(1024 * 1024))
        .with_state(state)
}

async fn not_found(req: Request) -> Response {
    let msg = format!(
        "Cannot {} {}",
        req.method(),
        truncate(req.uri().path(), 200)
    );
    // Shaped by `front` according to the prefix.
    let mut r = Response::new(Body::from(msg));
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Surface {
    Intel,
    Sovx,
    Rpc,
    Admin,
}

fn surface(path: &str) -> Surface {
    if path.starts_with("/sovx/v1") {
        Surface::Sovx
    } else if path == "/rpc" {
        Surface::Rpc
    } else if path.starts_with("/__sandbox") {
        Surface::Admin
    } else {
        Surface::Intel
    }
}

fn shaped_error(
    state: &Shared,
    surface: Surface,
    status: StatusCode,
    message: &str,
    trace: &str,
) -> Response {
    let body = match surface {
        Surface::Sovx => crate::sovx::error_envelope(status, message, trace, state.clock.now_ms()),
        Surface::Rpc => serde_json::json!({
            "jsonrpc": "2.0",
            "error": {"code": -32600, "message": format!("{} {message}", status.as_u16())},
            "id": serde_json::Value::Null,
        }),
        Surface::Intel | Surface::Admin => intel_error_body(status, message),
    };
    let mut r = json_response(status, &body);
    if surface == Surface::Sovx
        && let Ok(v) = HeaderValue::from_str(trace)
    {
        r.headers_mut().insert("x-trace-id", v);
    }
    r
}

async fn front(
    State(state): State<Shared>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let template = matched
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".to_owned());
    let surface = surface(&path);
    let trace = crate::sovx::request_trace(req.headers(), state.config.seed, state.clock.now_ms());
    if surface != Surface::Admin {
        *lock(&state.inspect)
            .requests
            .entry(format!("{method} {template}"))
            .or_default() += 1;
        let faults = lock(&state.faults).take(&method, &template, &path, FaultKind::is_front);
        for f in faults {
            match f {
                FaultKind::Latency { ms } => {
                    tokio::time::sleep(Duration::from_millis(ms.min(600_000))).await
                }
                FaultKind::RateLimit { retry_after_secs } => {
                    let mut r = shaped_error(
                        &state,
                        surface,
                        StatusCode::TOO_MANY_REQUESTS,
                        "Too Many Requests",
                        &trace,
                    );
                    if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                        r.headers_mut().insert(header::RETRY_AFTER, v);
                    }
                    return r;
                }
                FaultKind::Status { status } => {
                    let status =
                        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    return shaped_error(&state, surface, status, "Injected failure", &trace);
                }
                _ => {}
            }
        }
    }
    let mut req = req;
    // Nested routers see the path without their prefix; handlers read the full one from here.
    let full = crate::respond::FullUri(req.uri().clone());
    req.extensions_mut().insert(full);
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        {
            let (_, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, 64 * 1024)
                .await
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            let msg = if text.trim().is_empty() {
                status.canonical_reason().unwrap_or("Error").to_owned()
            } else {
                truncate(text.trim(), 300)
            };
            return shaped_error(&state, surface, status, &msg, &trace);
        }
    }
    resp
}

/// Serves `router` on every listener until `shutdown` turns true, then drains connections for
/// up to `grace`.
pub(crate) async fn serve(
    listeners: Vec<TcpListener>,
    router: Router,
    shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let mut loops = JoinSet::new();
    for listener in listeners {
        loops.spawn(accept_loop(
            listener,
            router.clone(),
            shutdown.clone(),
            grace,
        ));
    }
    while loops.join_next().await.is_some() {}
}

/// Accepts on one listener. A handler may ask (through [`ConnControl::refuse_connections`])
/// for the socket to be closed for a while: the listener is dropped (new connections are
/// refused), the connections it accepted close once their current answer is out, and the
/// same address is bound again when the time is up.
async fn accept_loop(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let addr = listener.local_addr().ok();
    let mut listener = Some(listener);
    let (refuse_tx, mut refuse_rx) = mpsc::unbounded_channel::<Duration>();
    // Bumped to close (gracefully) every connection accepted so far.
    let (close_tx, _) = watch::channel(0u64);
    let mut reopen_at = tokio::time::Instant::now();
    let mut conns = JoinSet::new();
    loop {
        let Some(open) = listener.as_ref() else {
            tokio::select! {
                _ = shutdown.changed() => break,
                Some(d) = refuse_rx.recv() => {
                    reopen_at = reopen_at.max(tokio::time::Instant::now() + d);
                }
                _ = tokio::time::sleep_until(reopen_at) => {
                    match addr {
                        Some(a) => match TcpListener::bind(a).await {
                            Ok(l) => listener = Some(l),
                            // The port is briefly unavailable: try again shortly.
                            Err(_) => reopen_at = tokio::time::Instant::now() + Duration::from_millis(20),
                        },
                        None => break,
                    }
                }
            }
            while conns.try_join_next().is_some() {}
            continue;
        };
        let accepted = tokio::select! {
            r = open.accept() => Ok(r),
            _ = shutdown.changed() => break,
            Some(d) = refuse_rx.recv() => Err(d),
        };
        let accepted = match accepted {
            Ok(r) => r,
            Err(d) => {
                listener = None;
                close_tx.send_modify(|g| *g = g.wrapping_add(1));
                reopen_at = tokio::time::Instant::now() + d;
                continue;
            }
        };
        let Ok((stream, _peer)) = accepted else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn_ctl = ConnControl {
            kill: Arc::default(),
            refuse: Some(refuse_tx.clone()),
        };
        let kill = conn_ctl.kill.clone();
        let router = router.clone();
        let mut stop = shutdown.clone();
        let mut close = close_tx.subscribe();
        conns.spawn(async move {
            let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(conn_ctl.clone());
                let mut router = router.clone();
                router.call(req.map(Body::new))
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = kill.notified() => return,
                _ = stop.changed() => {}
                _ = close.changed() => {}
            }
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = kill.notified() => {}
            }
        });
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drain).await.is_err() {
        conns.abort_all();
    }
}

/// Binds a listener.
pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
