//! A transport of one's own, written against `sova::transport` only (no reqwest, no ureq).
#![cfg(feature = "blocking")]
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sova::protocol::http::{Request, Response};
use sova::protocol::retry::RetryPolicy;
use sova::transport::{BlockingTransport, TransportError, TransportErrorKind};

/// Records each request's URI and answers from a script.
struct Scripted {
    seen: Mutex<Vec<String>>,
    answers: Mutex<Vec<Result<Response<Vec<u8>>, TransportError>>>,
}

impl BlockingTransport for Scripted {
    fn send(
        &self,
        request: Request<Vec<u8>>,
        _: Duration,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        self.seen.lock().unwrap().push(request.uri().to_string());
        self.answers.lock().unwrap().remove(0)
    }
}

fn json(status: u16, body: &str) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

#[test]
fn a_blocking_client_runs_on_a_transport_of_ones_own() {
    let t = Arc::new(Scripted {
        seen: Mutex::default(),
        answers: Mutex::new(vec![
            // A refused connection is retried (the request never reached the server)…
            Err(TransportError::new(TransportErrorKind::Connect, "refused")),
            // …and the answer of the second attempt is decoded.
            Ok(json(200, r#"{"status":"active","progress":40}"#)),
        ]),
    });
    let builder = sova::blocking::intel::Client::builder()
        .base_url("http://127.0.0.1:9/api/v1")
        .retry(RetryPolicy {
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            ..RetryPolicy::default()
        });
    let client = sova::blocking::intel::Client::with_transport(builder, t.clone()).unwrap();
    let status = client.job_status("job-7").unwrap();
    assert_eq!(status.status, sova::intel::JobPhase::Active);
    let seen = t.seen.lock().unwrap();
    assert_eq!(
        *seen,
        vec![
            "http://127.0.0.1:9/api/v1/jobs/job-7".to_owned(),
            "http://127.0.0.1:9/api/v1/jobs/job-7".to_owned()
        ]
    );
}
