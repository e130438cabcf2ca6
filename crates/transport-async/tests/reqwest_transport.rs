//! `ReqwestTransport` against a handwritten HTTP/1.1 server on loopback.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod support;

use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sova_protocol::http::{Method, Request, StatusCode, header};
use sova_transport_async::{AsyncTransport, ReqwestTransport, Timeouts, TransportErrorKind};
use support::{Reply, Server, refused_addr, response};

/// Status, reason, headers, body.
type Case = (
    u16,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [u8],
);

const SHORT: Duration = Duration::from_millis(200);
const LONG: Duration = Duration::from_secs(10);

fn transport() -> ReqwestTransport {
    ReqwestTransport::new(&Timeouts::default()).unwrap()
}

fn get(url: &str) -> Request<Vec<u8>> {
    Request::get(url).body(Vec::new()).unwrap()
}

#[tokio::test]
async fn request_arrives_exactly() {
    let server = Server::always(response(
        200,
        "OK",
        &[("Content-Type", "application/json")],
        b"{\"ok\":true}",
    ));
    let body = br#"{"wallet":"9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM","n":1}"#.to_vec();
    let request = Request::builder()
        .method(Method::POST)
        .uri(server.url("/api/v1/intel/jobs?limit=5&cursor=a%2Fb"))
        .header("X-Api-Key", "ak_test_secret")
        .header("PAYMENT-SIGNATURE", "eyJ4NDAyVmVyc2lvbiI6Mn0=")
        .header(header::CONTENT_TYPE, "application/json")
        .header("X-Multi", "one")
        .header("X-Multi", "two")
        .body(body.clone())
        .unwrap();

    let answer = transport().send(request, LONG).await.unwrap();

    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(answer.body(), b"{\"ok\":true}");
    let got = &server.requests()[0];
    assert_eq!(got.method, "POST");
    assert_eq!(got.target, "/api/v1/intel/jobs?limit=5&cursor=a%2Fb");
    assert_eq!(got.header("x-api-key"), Some("ak_test_secret"));
    assert_eq!(
        got.header("payment-signature"),
        Some("eyJ4NDAyVmVyc2lvbiI6Mn0=")
    );
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header_values("x-multi"), ["one", "two"]);
    assert_eq!(
        got.header("content-length"),
        Some(body.len().to_string().as_str())
    );
    assert_eq!(got.body, body);
}

#[tokio::test]
async fn get_and_empty_post_bodies() {
    let server = Server::always(response(200, "OK", &[], b""));
    let t = transport();
    t.send(get(&server.url("/health")), LONG).await.unwrap();
    let post = Request::post(server.url("/orders"))
        .body(Vec::new())
        .unwrap();
    t.send(post, LONG).await.unwrap();

    let got = server.requests();
    assert_eq!(
        (got[0].method.as_str(), got[0].target.as_str()),
        ("GET", "/health")
    );
    assert!(got[0].body.is_empty());
    assert!(matches!(got[0].header("content-length"), None | Some("0")));
    assert_eq!(got[1].method, "POST");
    assert_eq!(got[1].header("content-length"), Some("0"));
}

#[tokio::test]
async fn error_statuses_are_responses_with_headers_and_body() {
    let cases: [Case; 4] = [
        (
            402,
            "Payment Required",
            &[("PAYMENT-REQUIRED", "eyJhY2NlcHRzIjpbXX0=")],
            b"{\"error\":\"payment required\"}",
        ),
        (
            429,
            "Too Many Requests",
            &[("Retry-After", "7")],
            b"{\"error\":\"rate limited\"}",
        ),
        (
            502,
            "Bad Gateway",
            &[("X-Trace-Id", "tr_1")],
            b"<html>upstream</html>",
        ),
        (500, "Internal Server Error", &[], b""),
    ];
    let t = transport();
    for (status, reason, headers, body) in cases {
        let server = Server::always(response(status, reason, headers, body));
        let answer = t.send(get(&server.url("/x")), LONG).await.unwrap();
        assert_eq!(answer.status().as_u16(), status);
        for (name, value) in headers {
            assert_eq!(answer.headers()[*name], *value);
        }
        assert_eq!(answer.body(), body);
    }
}

#[tokio::test]
async fn redirects_are_returned_not_followed() {
    let server = Server::always(response(
        307,
        "Temporary Redirect",
        &[("Location", "http://127.0.0.1:9/elsewhere")],
        b"",
    ));
    let answer = transport()
        .send(get(&server.url("/x")), LONG)
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        answer.headers()[header::LOCATION],
        "http://127.0.0.1:9/elsewhere"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn connection_refused_is_connect() {
    let addr = refused_addr();
    let err = transport()
        .send(get(&format!("http://{addr}/x")), LONG)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Connect);
    assert!(!err.may_have_been_sent());
    assert_eq!(
        err.to_string(),
        format!("could not connect to {addr}: connection refused")
    );
    assert!(err.source().is_some());
}

#[tokio::test]
async fn silent_server_times_out() {
    let server = Server::start(|_| Reply::SendAndHang(Vec::new()));
    let started = Instant::now();
    let err = transport()
        .send(get(&server.url("/slow")), SHORT)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Timeout);
    assert!(err.may_have_been_sent());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        err.to_string(),
        format!(
            "request to {} timed out: no complete response within 200ms",
            server.authority()
        )
    );
}

#[tokio::test]
async fn timeout_covers_the_body() {
    let mut head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".to_vec();
    head.extend_from_slice(b"first ten.");
    let server = Server::start(move |_| Reply::SendAndHang(head.clone()));
    let err = transport()
        .send(get(&server.url("/x")), SHORT)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Timeout);
}

#[tokio::test]
async fn close_mid_body_is_io() {
    let mut partial = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".to_vec();
    partial.extend_from_slice(b"first ten.");
    let server = Server::start(move |_| Reply::SendAndClose(partial.clone()));
    let err = transport()
        .send(get(&server.url("/x")), LONG)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Io, "{err}: {err:?}");
    assert!(err.may_have_been_sent());
    assert!(
        err.to_string()
            .starts_with(&format!("connection to {} broke: ", server.authority())),
        "{err}"
    );
}

#[tokio::test]
async fn close_without_answer_is_io() {
    let server = Server::start(|_| Reply::SendAndClose(Vec::new()));
    let post = Request::post(server.url("/orders"))
        .body(b"{}".to_vec())
        .unwrap();
    let err = transport().send(post, LONG).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Io, "{err}: {err:?}");
    assert!(err.may_have_been_sent());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn garbage_answer_is_other() {
    let server = Server::start(|_| Reply::SendAndClose(b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec()));
    let err = transport()
        .send(get(&server.url("/x")), LONG)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Other, "{err}: {err:?}");
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let server = Server::start(|_| {
        Reply::SendAndClose(b"HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n".to_vec())
    });
    let err = transport()
        .send(get(&server.url("/x")), LONG)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Other);
    assert!(err.to_string().contains("larger than 64 MiB"), "{err}");
}

#[tokio::test]
async fn tls_runs_with_the_preconfigured_provider() {
    // An https request to a plain-HTTP server: the TLS handshake fails cleanly (no panic
    // about a missing crypto provider), and TLS failures are `Other`.
    let server = Server::raw(response(400, "Bad Request", &[], b""));
    let url = format!("https://{}/x", server.authority());
    let err = transport().send(get(&url), LONG).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Other, "{err}: {err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("request to {} failed: ", server.authority())),
        "{err}"
    );
}

#[tokio::test]
async fn connections_are_reused() {
    let server = Server::start(|r| match r.target.as_str() {
        "/limited" => Reply::Send(response(
            429,
            "Too Many Requests",
            &[("Retry-After", "1")],
            b"slow down",
        )),
        _ => Reply::Send(response(200, "OK", &[], b"fine")),
    });
    let t = transport();
    for i in 0..4 {
        let request = match i {
            1 => Request::post(server.url("/orders"))
                .body(b"{\"a\":1}".to_vec())
                .unwrap(),
            2 => get(&server.url("/limited")),
            _ => get(&server.url("/x")),
        };
        t.send(request, LONG).await.unwrap();
    }
    // Clones share the pool.
    t.clone().send(get(&server.url("/x")), LONG).await.unwrap();
    assert_eq!(server.requests().len(), 5);
    assert_eq!(server.accepted(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_through_a_shared_transport() {
    let server = Server::always(response(200, "OK", &[], b"ok"));
    let t: Arc<dyn AsyncTransport> = Arc::new(transport());
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (t, url) = (t.clone(), server.url(&format!("/n/{i}")));
            tokio::spawn(async move { t.send(get(&url), LONG).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().body(), b"ok");
    }
    assert_eq!(server.requests().len(), 8);
}

#[tokio::test]
async fn a_user_supplied_client_is_used() {
    let server = Server::always(response(200, "OK", &[], b"ok"));
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    let mut defaults = header::HeaderMap::new();
    defaults.insert("x-client", header::HeaderValue::from_static("mine"));
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent("my-app/1.0")
        .default_headers(defaults)
        .build()
        .unwrap();
    let t = ReqwestTransport::from_client(client);
    for _ in 0..2 {
        assert_eq!(
            t.send(get(&server.url("/x")), LONG).await.unwrap().body(),
            b"ok"
        );
    }
    let got = &server.requests()[0];
    assert_eq!(got.header("user-agent"), Some("my-app/1.0"));
    assert_eq!(got.header("x-client"), Some("mine"));
    assert_eq!(server.accepted(), 1);
    // The per-send timeout still applies to a user's client.
    let hang = Server::start(|_| Reply::SendAndHang(Vec::new()));
    let err = t.send(get(&hang.url("/x")), SHORT).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Timeout);
}

#[test]
fn debug_does_not_show_client_internals() {
    assert_eq!(format!("{:?}", transport()), "ReqwestTransport { .. }");
}
