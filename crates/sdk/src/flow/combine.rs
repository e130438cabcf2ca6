//! Combinators: a machine followed by another chosen from its value, and a ready value.

use std::time::Instant;

use sova_protocol::http::Response;

use sova_x402::ledger::{LedgerError, Reply};

use super::{Ctx, Failure, Machine, Step};
use crate::error::Error;

/// A boxed machine, for phases whose next machine depends on a value.
pub type Boxed<V> = Box<dyn Machine<Value = V>>;

impl<M: Machine + ?Sized> Machine for Box<M> {
    type Value = M::Value;
    fn start(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Step<Result<M::Value, Error>> {
        (**self).start(cx, now)
    }
    fn on_response(
        &mut self,
        cx: &mut Ctx<'_>,
        response: Response<Vec<u8>>,
        now: Instant,
    ) -> Step<Result<M::Value, Error>> {
        (**self).on_response(cx, response, now)
    }
    fn on_failure(
        &mut self,
        cx: &mut Ctx<'_>,
        failure: Failure,
        now: Instant,
    ) -> Step<Result<M::Value, Error>> {
        (**self).on_failure(cx, failure, now)
    }
    fn on_wake(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Step<Result<M::Value, Error>> {
        (**self).on_wake(cx, now)
    }
    fn on_ledger(
        &mut self,
        cx: &mut Ctx<'_>,
        replies: Result<Vec<Reply>, LedgerError>,
        now: Instant,
    ) -> Step<Result<M::Value, Error>> {
        (**self).on_ledger(cx, replies, now)
    }
}

/// A value, at once.
pub struct Ready<V>(Option<Result<V, Error>>);

/// A machine that finishes at once with `value`.
pub fn ready<V: Send + 'static>(value: Result<V, Error>) -> Boxed<V> {
    Box::new(Ready(Some(value)))
}

impl<V: Send> Machine for Ready<V> {
    type Value = V;
    fn start(&mut self, _: &mut Ctx<'_>, _: Instant) -> Step<Result<V, Error>> {
        Step::Done(
            self.0
                .take()
                .unwrap_or_else(|| Err(Error::internal("a ready value was taken twice"))),
        )
    }
    fn on_response(
        &mut self,
        cx: &mut Ctx<'_>,
        _: Response<Vec<u8>>,
        now: Instant,
    ) -> Step<Result<V, Error>> {
        self.start(cx, now)
    }
    fn on_failure(&mut self, cx: &mut Ctx<'_>, _: Failure, now: Instant) -> Step<Result<V, Error>> {
        self.start(cx, now)
    }
    fn on_wake(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Step<Result<V, Error>> {
        self.start(cx, now)
    }
}

/// `first`, then the machine that `next` builds from its result (the call's context at
/// hand, e.g. to take receipts).
pub struct Then<A: Machine, B, F> {
    first: A,
    next: Option<F>,
    second: Option<B>,
}

/// Extension methods for composing machines.
pub trait MachineExt: Machine + Sized {
    /// Runs `self`, then the machine `next` builds from its result.
    fn then<B, F>(self, next: F) -> Then<Self, B, F>
    where
        B: Machine,
        F: FnOnce(&mut Ctx<'_>, Result<Self::Value, Error>) -> Result<B, Error> + Send,
    {
        Then {
            first: self,
            next: Some(next),
            second: None,
        }
    }

    /// Runs `self`, then the machine `next` builds from its value. An error ends the chain.
    #[allow(clippy::type_complexity)]
    fn and_then<B, F>(
        self,
        next: F,
    ) -> Then<
        Self,
        B,
        impl FnOnce(&mut Ctx<'_>, Result<Self::Value, Error>) -> Result<B, Error> + Send,
    >
    where
        B: Machine,
        F: FnOnce(&mut Ctx<'_>, Self::Value) -> Result<B, Error> + Send,
    {
        self.then(move |cx: &mut Ctx<'_>, r: Result<Self::Value, Error>| {
            r.and_then(|v| next(cx, v))
        })
    }

    /// Maps the machine's value.
    fn map<U, F>(self, f: F) -> impl Machine<Value = U>
    where
        U: Send + 'static,
        F: FnOnce(Self::Value) -> U + Send,
    {
        self.and_then(move |_, v| Ok(ready(Ok(f(v)))))
    }
}

impl<M: Machine> MachineExt for M {}

impl<A, B, F> Then<A, B, F>
where
    A: Machine,
    B: Machine,
    F: FnOnce(&mut Ctx<'_>, Result<A::Value, Error>) -> Result<B, Error> + Send,
{
    fn advance(
        &mut self,
        cx: &mut Ctx<'_>,
        step: Step<Result<A::Value, Error>>,
        now: Instant,
    ) -> Step<Result<B::Value, Error>> {
        let result = match step.io() {
            Ok(io) => return io,
            Err(r) => r,
        };
        let Some(next) = self.next.take() else {
            return Step::Done(Err(Error::internal("a chain advanced twice")));
        };
        match next(cx, result) {
            Ok(mut second) => {
                let step = second.start(cx, now);
                self.second = Some(second);
                step
            }
            Err(e) => Step::Done(Err(e)),
        }
    }
}

impl<A, B, F> Machine for Then<A, B, F>
where
    A: Machine,
    B: Machine,
    F: FnOnce(&mut Ctx<'_>, Result<A::Value, Error>) -> Result<B, Error> + Send,
{
    type Value = B::Value;

    fn start(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Step<Result<B::Value, Error>> {
        let step = self.first.start(cx, now);
        self.advance(cx, step, now)
    }

    fn on_response(
        &mut self,
        cx: &mut Ctx<'_>,
        response: Response<Vec<u8>>,
        now: Instant,
    ) -> Step<Result<B::Value, Error>> {
        if let Some(second) = &mut self.second {
            return second.on_response(cx, response, now);
        }
        let step = self.first.on_response(cx, response, now);
        self.advance(cx, step, now)
    }

    fn on_failure(
        &mut self,
        cx: &mut Ctx<'_>,
        failure: Failure,
        now: Instant,
    ) -> Step<Result<B::Value, Error>> {
        if let Some(second) = &mut self.second {
            return second.on_failure(cx, failure, now);
        }
        let step = self.first.on_failure(cx, failure, now);
        self.advance(cx, step, now)
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Step<Result<B::Value, Error>> {
        if let Some(second) = &mut self.second {
            return second.on_wake(cx, now);
        }
        let step = self.first.on_wake(cx, now);
        self.advance(cx, step, now)
    }

    fn on_ledger(
        &mut self,
        cx: &mut Ctx<'_>,
        replies: Result<Vec<Reply>, LedgerError>,
        now: Instant,
    ) -> Step<Result<B::Value, Error>> {
        if let Some(second) = &mut self.second {
            return second.on_ledger(cx, replies, now);
        }
        let step = self.first.on_ledger(cx, replies, now);
        self.advance(cx, step, now)
    }
}
