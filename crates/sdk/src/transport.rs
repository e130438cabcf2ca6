//! How the clients reach the network: the transport traits and the two implementations.
//!
//! The traits, [`AsyncTransport`] and [`BlockingTransport`], are defined in the sans-IO
//! crate (`sova_protocol::transport`), so a test double or an adapter for another HTTP
//! client needs nothing but them (no reqwest, no ureq). Give one to
//! [`IntelClient::with_transport`](crate::intel::IntelClient::with_transport) or
//! [`SxClient::with_transport`](crate::sx::SxClient::with_transport).
//!
//! The implementations: [`ReqwestTransport`] (feature `async`) and [`UreqTransport`]
//! (feature `blocking`). Both use rustls with the *ring* provider and trust the same roots,
//! Mozilla's root program as bundled by `webpki-roots`, so both clients accept exactly the
//! same certificates on every machine, containers without a CA bundle included.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use sova::protocol::http::{Request, Response};
//! use sova::transport::{async_trait, AsyncTransport, TransportError};
//!
//! /// Answers every request with the same canned response.
//! struct Canned(&'static str);
//!
//! #[async_trait]
//! impl AsyncTransport for Canned {
//!     async fn send(&self, _: Request<Vec<u8>>, _: Duration) -> Result<Response<Vec<u8>>, TransportError> {
//!         Ok(Response::builder()
//!             .status(200)
//!             .header("content-type", "application/json")
//!             .body(self.0.as_bytes().to_vec())
//!             .unwrap())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), sova::Error> {
//! let transport: Arc<dyn AsyncTransport> = Arc::new(Canned(r#"{"status":"completed","progress":100}"#));
//! let client = sova::intel::Client::with_transport(sova::intel::Client::builder(), transport)?;
//! let status = client.job_status("job-1").await?;
//! assert_eq!(status.status, sova::intel::JobPhase::Completed);
//! # Ok(())
//! # }
//! ```

pub use sova_protocol::transport::*;
#[cfg(feature = "async")]
pub use sova_transport_async::ReqwestTransport;
#[cfg(feature = "blocking")]
pub use sova_transport_blocking::UreqTransport;
