//! A tiny HTTP/1.1 server on loopback for the transport tests (both transport crates include
//! this file): std only, one thread per connection, handwritten responses. It records every
//! request and counts accepted connections.
// Test scaffolding: a failure here should panic the test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// No connection thread outlives this, whatever a test does.
const MAX_CONNECTION_LIFE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(20);

/// A request as it arrived.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    /// Header names lower-cased, in order, repeated names kept.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// Every value of header `name`.
    pub(crate) fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The single value of header `name`.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let values = self.header_values(name);
        assert!(values.len() <= 1, "{name} repeated: {values:?}");
        values.first().copied()
    }
}

/// What the server does with a request.
pub(crate) enum Reply {
    /// Write these bytes; keep the connection open for the next request.
    Send(Vec<u8>),
    /// Write these bytes, then close the connection.
    SendAndClose(Vec<u8>),
    /// Write these bytes, then never write again (the connection stays open).
    SendAndHang(Vec<u8>),
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// The server; stopped when dropped.
pub(crate) struct Server {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts a server answering every request with `handler`.
    pub(crate) fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Server {
        Server::start_inner(None, Arc::new(handler))
    }

    /// Starts a server that does not speak HTTP: on each connection it waits for the first
    /// bytes (whatever they are: a TLS ClientHello…), writes `reply` and closes.
    pub(crate) fn raw(reply: Vec<u8>) -> Server {
        Server::start_inner(
            Some(reply),
            Arc::new(|_: &Recorded| Reply::Send(Vec::new())),
        )
    }

    fn start_inner(raw: Option<Vec<u8>>, handler: Arc<Handler>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (accepted, requests, stop) = (accepted.clone(), requests.clone(), stop.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let (handler, requests, stop) =
                        (handler.clone(), requests.clone(), stop.clone());
                    match raw.clone() {
                        Some(reply) => thread::spawn(move || serve_raw(stream, &reply, &stop)),
                        None => thread::spawn(move || serve(stream, &*handler, &requests, &stop)),
                    };
                }
            })
        };
        Server {
            addr,
            accepted,
            requests,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// Answers every request with `response` (keep-alive).
    pub(crate) fn always(response: Vec<u8>) -> Server {
        Server::start(move |_| Reply::Send(response.clone()))
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `127.0.0.1:PORT`.
    pub(crate) fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// Connections accepted so far.
    pub(crate) fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Requests received so far.
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// One connection: read requests and answer them until the peer closes, the handler says
/// close, or the server stops.
fn serve(
    mut stream: TcpStream,
    handler: &Handler,
    requests: &Mutex<Vec<Recorded>>,
    stop: &AtomicBool,
) {
    let born = Instant::now();
    let alive = || !stop.load(Ordering::SeqCst) && born.elapsed() < MAX_CONNECTION_LIFE;
    stream.set_read_timeout(Some(POLL)).unwrap();
    let mut buffer = Vec::new();
    loop {
        let Some(request) = read_request(&mut stream, &mut buffer, &alive) else {
            return;
        };
        requests.lock().unwrap().push(request.clone());
        match handler(&request) {
            Reply::Send(bytes) => {
                if stream.write_all(&bytes).is_err() {
                    return;
                }
            }
            Reply::SendAndClose(bytes) => {
                let _ = stream.write_all(&bytes);
                let _ = stream.flush();
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            Reply::SendAndHang(bytes) => {
                let _ = stream.write_all(&bytes);
                while alive() {
                    thread::sleep(POLL);
                }
                return;
            }
        }
    }
}

/// One connection of a [`Server::raw`].
fn serve_raw(mut stream: TcpStream, reply: &[u8], stop: &AtomicBool) {
    let born = Instant::now();
    let alive = || !stop.load(Ordering::SeqCst) && born.elapsed() < MAX_CONNECTION_LIFE;
    stream.set_read_timeout(Some(POLL)).unwrap();
    let mut buffer = Vec::new();
    if fill(&mut stream, &mut buffer, &alive).is_some() {
        let _ = stream.write_all(reply);
        let _ = stream.flush();
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// Reads one request (headers, then a `Content-Length` body); `None` when the connection
/// ends first.
fn read_request(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    alive: &dyn Fn() -> bool,
) -> Option<Recorded> {
    let head_end = loop {
        if let Some(at) = find(buffer, b"\r\n\r\n") {
            break at;
        }
        fill(stream, buffer, alive)?;
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap().split(' ');
    let method = request_line.next().unwrap().to_owned();
    let target = request_line.next().unwrap().to_owned();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    assert!(
        !headers.iter().any(|(n, _)| n == "transfer-encoding"),
        "the test server reads Content-Length bodies only: {headers:?}"
    );
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let body_start = head_end + 4;
    while buffer.len() < body_start + length {
        fill(stream, buffer, alive)?;
    }
    let body = buffer[body_start..body_start + length].to_vec();
    buffer.drain(..body_start + length);
    Some(Recorded {
        method,
        target,
        headers,
        body,
    })
}

fn fill(stream: &mut TcpStream, buffer: &mut Vec<u8>, alive: &dyn Fn() -> bool) -> Option<()> {
    let mut chunk = [0u8; 8192];
    loop {
        if !alive() {
            return None;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => {
                buffer.extend_from_slice(&chunk[..n]);
                return Some(());
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => return None,
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A complete response with a `Content-Length`.
pub(crate) fn response(
    status: u16,
    reason: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A loopback address nobody listens on (bound, then released).
pub(crate) fn refused_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}
