//! A hostile front for the sandbox: a loopback HTTP/1.1 proxy that forwards every request to
//! the sandbox and lets a test rewrite the answer (truncate a paid body, break or change the
//! `PAYMENT-REQUIRED` challenge) — server faults the sandbox has no switch for.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use sova_protocol::http;
use sova_transport_blocking::{BlockingTransport, Timeouts, UreqTransport};

/// An answer on its way back to the client.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    /// The status.
    pub status: u16,
    /// The headers (lowercase names).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The value of a header.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces (or adds) a header.
    pub(crate) fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
    }
}

/// Rewrites an answer: `(method, path, reply)`.
pub(crate) type Rewrite = dyn Fn(&str, &str, &mut Reply) + Send + Sync;

/// A running proxy (it lives as long as the test process).
pub(crate) struct Proxy {
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Proxy {
    /// The Intel base URL through the proxy.
    pub(crate) fn intel_base_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }
}

/// Starts a proxy in front of `origin` (`http://127.0.0.1:PORT`).
pub(crate) fn start(origin: String, rewrite: Arc<Rewrite>) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let origin = origin.clone();
            let rewrite = rewrite.clone();
            std::thread::spawn(move || {
                let _ = serve(stream, &origin, &*rewrite);
            });
        }
    });
    Proxy { addr }
}

fn serve(stream: TcpStream, origin: &str, rewrite: &Rewrite) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("GET").to_owned();
    let path = parts.next().unwrap_or("/").to_owned();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
            if k == "content-length" {
                length = v.parse().unwrap_or(0);
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;

    let mut req = http::Request::builder()
        .method(method.as_str())
        .uri(format!("{origin}{path}"));
    for (k, v) in &headers {
        if !["host", "connection", "content-length", "transfer-encoding"].contains(&k.as_str()) {
            req = req.header(k.as_str(), v.as_str());
        }
    }
    let transport = UreqTransport::new(&Timeouts::new());
    let resp = transport
        .send(req.body(body).unwrap(), Duration::from_secs(30))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut reply = Reply {
        status: resp.status().as_u16(),
        headers: resp
            .headers()
            .iter()
            .filter(|(k, _)| {
                !["content-length", "transfer-encoding", "connection"].contains(&k.as_str())
            })
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: resp.into_body(),
    };
    rewrite(&method, &path, &mut reply);

    let mut out = stream;
    let mut head = format!("HTTP/1.1 {} X\r\n", reply.status);
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        reply.body.len()
    ));
    out.write_all(head.as_bytes())?;
    out.write_all(&reply.body)?;
    out.flush()
}
