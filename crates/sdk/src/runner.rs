//! The runners: the only code that differs between the async and the blocking clients.
//! Each executes a [`Call`]'s actions with its transport in a short loop; all semantics
//! live in the call's machines.
//!
//! Each call runs in a `sova.call` span (its name); its end is one event with the API
//! attempts, RPC requests, payments signed, amount paid and the receipt's transaction. No
//! header, key or token is ever recorded.

use std::sync::Arc;

use crate::error::Error;
use crate::flow::{Call, Machine, Stats};

mod sealed {
    pub trait Sealed {}
}

/// How a client executes calls: [`AsyncRunner`] (a future per call, on reqwest) or
/// [`BlockingRunner`] (the result, on ureq). The typed methods are written once, generic
/// over the runner; `R::Ret<'_, T>` is what a method returns.
pub trait Runner: sealed::Sealed + Clone + Send + Sync + 'static {
    /// The transport this runner drives.
    type Transport: ?Sized + Send + Sync;
    /// What a call returns: `Pin<Box<dyn Future<Output = Result<T, Error>>>>` for the
    /// async runner, `Result<T, Error>` for the blocking one.
    type Ret<'a, T: Send + 'a>;
    /// A runner on `transport`.
    fn new(transport: Arc<Self::Transport>) -> Self;
    /// The default transport with these timeouts.
    fn default_transport(
        timeouts: &sova_protocol::transport::Timeouts,
    ) -> Result<Arc<Self::Transport>, Error>;
    /// Runs a call to completion.
    fn run<'a, M: Machine + 'a>(&'a self, call: Call<'a, M>) -> Self::Ret<'a, M::Value>;
}

/// Records the end of a call: counters, amount paid and the last transaction; never a
/// header, key or token.
fn report<V>(name: &'static str, result: &Result<V, Error>, stats: &Stats) {
    let Stats {
        api,
        rpc,
        payments,
        paid,
        ..
    } = *stats;
    let transaction = stats.transaction.as_deref().unwrap_or("");
    match result {
        Ok(_) if payments > 0 => tracing::info!(
            call = name,
            api,
            rpc,
            payments,
            paid,
            transaction,
            "paid call done"
        ),
        Ok(_) => tracing::debug!(call = name, api, rpc, "call done"),
        Err(e) => tracing::warn!(
            call = name,
            api,
            rpc,
            payments,
            paid,
            may_have_charged = e.may_have_charged(),
            error = %e,
            "call failed"
        ),
    }
}

/// The async runner (feature `async`): each call is a future.
#[cfg(feature = "async")]
#[derive(Clone)]
pub struct AsyncRunner {
    transport: Arc<dyn sova_protocol::transport::AsyncTransport>,
}

#[cfg(feature = "async")]
impl std::fmt::Debug for AsyncRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AsyncRunner")
    }
}

#[cfg(feature = "async")]
impl sealed::Sealed for AsyncRunner {}

#[cfg(feature = "async")]
impl Runner for AsyncRunner {
    type Transport = dyn sova_protocol::transport::AsyncTransport;
    type Ret<'a, T: Send + 'a> =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, Error>> + Send + 'a>>;

    fn new(transport: Arc<Self::Transport>) -> Self {
        AsyncRunner { transport }
    }

    fn default_transport(
        timeouts: &sova_protocol::transport::Timeouts,
    ) -> Result<Arc<Self::Transport>, Error> {
        let t = sova_transport_async::ReqwestTransport::new(timeouts)
            .map_err(|e| Error::Config(format!("could not create the HTTP client: {e}")))?;
        Ok(Arc::new(t))
    }

    fn run<'a, M: Machine + 'a>(&'a self, mut call: Call<'a, M>) -> Self::Ret<'a, M::Value> {
        use crate::flow::Action;
        use std::time::Instant;
        use tracing::Instrument;
        let span = tracing::info_span!("sova.call", call = call.name());
        Box::pin(
            async move {
                let mut action = call.start(Instant::now());
                loop {
                    action = match action {
                        Action::Send {
                            request, timeout, ..
                        } => match self.transport.send(request, timeout).await {
                            Ok(response) => call.on_response(response, Instant::now()),
                            Err(e) => call.on_failure(failure(e), Instant::now()),
                        },
                        Action::Sleep(d) => {
                            tokio::time::sleep(d).await;
                            call.on_wake(Instant::now())
                        }
                        // The ledger's own thread does the I/O: awaiting never blocks.
                        Action::Ledger { ledger, ops } => {
                            let replies = ledger.submit(ops).await;
                            call.on_ledger(replies, Instant::now())
                        }
                        Action::Done => {
                            let name = call.name();
                            let (result, stats) = call.finish();
                            report(name, &result, &stats);
                            return result;
                        }
                    };
                }
            }
            .instrument(span),
        )
    }
}

/// The blocking runner (feature `blocking`): each call returns its result. No async
/// runtime is involved, so it may be used inside one.
#[cfg(feature = "blocking")]
#[derive(Clone)]
pub struct BlockingRunner {
    transport: Arc<dyn sova_protocol::transport::BlockingTransport>,
}

#[cfg(feature = "blocking")]
impl std::fmt::Debug for BlockingRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlockingRunner")
    }
}

#[cfg(feature = "blocking")]
impl sealed::Sealed for BlockingRunner {}

#[cfg(feature = "blocking")]
impl Runner for BlockingRunner {
    type Transport = dyn sova_protocol::transport::BlockingTransport;
    type Ret<'a, T: Send + 'a> = Result<T, Error>;

    fn new(transport: Arc<Self::Transport>) -> Self {
        BlockingRunner { transport }
    }

    fn default_transport(
        timeouts: &sova_protocol::transport::Timeouts,
    ) -> Result<Arc<Self::Transport>, Error> {
        Ok(Arc::new(sova_transport_blocking::UreqTransport::new(
            timeouts,
        )))
    }

    fn run<'a, M: Machine + 'a>(&'a self, mut call: Call<'a, M>) -> Self::Ret<'a, M::Value> {
        use crate::flow::Action;
        use std::time::Instant;
        let span = tracing::info_span!("sova.call", call = call.name());
        let _entered = span.enter();
        let mut action = call.start(Instant::now());
        loop {
            action = match action {
                Action::Send {
                    request, timeout, ..
                } => match self.transport.send(request, timeout) {
                    Ok(response) => call.on_response(response, Instant::now()),
                    Err(e) => call.on_failure(failure(e), Instant::now()),
                },
                Action::Sleep(d) => {
                    std::thread::sleep(d);
                    call.on_wake(Instant::now())
                }
                Action::Ledger { ledger, ops } => {
                    let replies = ledger.apply(ops);
                    call.on_ledger(replies, Instant::now())
                }
                Action::Done => {
                    let name = call.name();
                    let (result, stats) = call.finish();
                    report(name, &result, &stats);
                    return result;
                }
            };
        }
    }
}

fn failure(e: sova_protocol::transport::TransportError) -> crate::flow::Failure {
    crate::flow::Failure {
        kind: e.kind(),
        message: e.message().to_owned(),
        source: e.into_source(),
    }
}
