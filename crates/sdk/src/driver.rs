//! The two drivers: short loops that execute a [`CallMachine`]'s actions with a transport.
//! All semantics live in the machine; these only do I/O and sleep.

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
                tokio::time::sleep(d).await;
                machine.on_wake(Instant::now())
            }
            Action::Done => return machine.into_result(),
        };
    }
}

/// Drives a call with a blocking transport.
#[cfg(feature = "blocking")]
pub(crate) fn run_blocking<E: Endpoint>(
    mut machine: CallMachine<'_, E>,
    transport: &dyn sova_transport_blocking::BlockingTransport,
) -> Result<Paid<E::Output>, Error> {
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
                std::thread::sleep(d);
                machine.on_wake(Instant::now())
            }
            Action::Done => return machine.into_result(),
        };
    }
}
