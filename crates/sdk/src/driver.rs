//! The two drivers: short loops that execute a [`CallMachine`]'s actions with a transport.
//! All semantics live in the machine; these only do I/O and sleep.
//!
//! Each call runs in a `sova.call` span (endpoint); its end is one event with the attempts,
//! RPC calls, payments signed, amount paid and the receipt's transaction. No header, key or
//! token is ever recorded.

use std::time::Instant;

use sova_protocol::Endpoint;

use crate::call::{Action, CallMachine, Paid};
use crate::error::Error;

/// Drives a call with an async transport.
#[cfg(feature = "async")]
pub(crate) async fn run_async<E: Endpoint>(
    mut machine: CallMachine<'_, E>,
    transport: &dyn sova_transport_async::AsyncTransport,
) -> Result<Paid<E::Output>, Error> {
    use tracing::Instrument;
    let span = tracing::info_span!("sova.call", endpoint = machine.name());
    async move {
        let mut action = machine.start(Instant::now());
        loop {
            action = match action {
                Action::Send { request, timeout } => match transport.send(request, timeout).await {
                    Ok(response) => machine.on_response(response, Instant::now()),
                    Err(e) => {
                        let (kind, message) = (e.kind(), e.message().to_owned());
                        machine.on_transport_error(kind, message, e.into_source(), Instant::now())
                    }
                },
                Action::Sleep(d) => {
                    tracing::debug!(delay_ms = d.as_millis() as u64, "backing off");
                    tokio::time::sleep(d).await;
                    machine.on_wake(Instant::now())
                }
                Action::Done => return finish(machine),
            };
        }
    }
    .instrument(span)
    .await
}

/// Drives a call with a blocking transport.
#[cfg(feature = "blocking")]
pub(crate) fn run_blocking<E: Endpoint>(
    mut machine: CallMachine<'_, E>,
    transport: &dyn sova_transport_blocking::BlockingTransport,
) -> Result<Paid<E::Output>, Error> {
    let span = tracing::info_span!("sova.call", endpoint = machine.name());
    let _entered = span.enter();
    let mut action = machine.start(Instant::now());
    loop {
        action = match action {
            Action::Send { request, timeout } => match transport.send(request, timeout) {
                Ok(response) => machine.on_response(response, Instant::now()),
                Err(e) => {
                    let (kind, message) = (e.kind(), e.message().to_owned());
                    machine.on_transport_error(kind, message, e.into_source(), Instant::now())
                }
            },
            Action::Sleep(d) => {
                tracing::debug!(delay_ms = d.as_millis() as u64, "backing off");
                std::thread::sleep(d);
                machine.on_wake(Instant::now())
            }
            Action::Done => return finish(machine),
        };
    }
}

/// Records the end of a call and takes its result.
#[cfg(any(feature = "async", feature = "blocking"))]
fn finish<E: Endpoint>(machine: CallMachine<'_, E>) -> Result<Paid<E::Output>, Error> {
    let (attempts, rpc, payments) = (
        machine.attempts(),
        machine.rpc_requests(),
        machine.payments_signed(),
    );
    let result = machine.into_result();
    match &result {
        Ok(paid) => match &paid.receipt {
            Some(r) => tracing::info!(
                attempts,
                rpc,
                payments,
                amount = r.amount,
                asset = %r.asset,
                transaction = r.transaction.as_deref().unwrap_or(""),
                "paid call done"
            ),
            None => tracing::debug!(attempts, rpc, "call done"),
        },
        Err(e) => {
            tracing::warn!(attempts, rpc, payments, may_have_charged = e.may_have_charged(), error = %e, "call failed")
        }
    }
    result
}
