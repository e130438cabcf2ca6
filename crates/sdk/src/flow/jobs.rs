//! Job follow-ups: polling `/jobs/{id}` until the job settles, and reading a stored result.
//! Both are free; neither ever pays.

use std::time::{Duration, Instant};

use sova_protocol::http::{Response, StatusCode};
use sova_protocol::intel::{JobStatusRequest, ResultByKeyRequest};
use sova_protocol::jobs::{FollowUp, JobHandle, PollDecision, Poller, ResultDecision};

use super::{Ctx, Exchange, Failure, Machine, Step};
use crate::error::Error;
use crate::intel::Progress;

enum WaitPhase {
    Asking(Box<Exchange<JobStatusRequest>>),
    Sleeping,
    Over,
}

/// Polls a job until it completes (progress reported to the callback), fails, or the
/// wait budget runs out (then the error carries the handle to resume with).
pub struct JobWait {
    handle: JobHandle,
    started: Option<Instant>,
    phase: WaitPhase,
}

impl JobWait {
    /// Waits for `handle`'s job (a handle without a job id is ready at once).
    pub fn new(handle: JobHandle) -> Self {
        JobWait {
            handle,
            started: None,
            phase: WaitPhase::Over,
        }
    }

    fn ask(&mut self, cx: &mut Ctx<'_>, job_id: String, now: Instant) -> Step<Result<(), Error>> {
        let mut ex = Box::new(Exchange::new(JobStatusRequest::new(job_id)));
        let step = ex.start(cx, now);
        self.phase = WaitPhase::Asking(ex);
        self.after(cx, step, now)
    }

    fn after(
        &mut self,
        cx: &mut Ctx<'_>,
        step: Step<Result<crate::call::Paid<sova_protocol::intel::JobStatus>, Error>>,
        now: Instant,
    ) -> Step<Result<(), Error>> {
        let status = match step.io() {
            Ok(io) => return io,
            Err(Err(e)) => {
                // A job the server no longer knows, queued longer ago than the result TTL:
                // its result is gone too.
                let gone = e.status() == Some(StatusCode::NOT_FOUND)
                    && cx.unix_now().is_some_and(|t| self.handle.past_ttl(t));
                if gone && let Some(key) = result_key(&self.handle) {
                    return self.over(Err(Error::ResultExpired { key, payment: None }));
                }
                return self.over(Err(e));
            }
            Err(Ok(paid)) => paid.value,
        };
        let Some(job_id) = self.handle.job_id.clone() else {
            return self.over(Ok(()));
        };
        let waited = now.saturating_duration_since(self.started.unwrap_or(now));
        if let Some(cb) = &cx.progress {
            cb(&Progress {
                job_id: job_id.clone(),
                status: status.status.to_string(),
                percent: status.percent(),
                waited,
            });
        }
        match Poller::new(cx.poll).on_status(&status.state(), waited) {
            PollDecision::Proceed => self.over(Ok(())),
            PollDecision::PollAgain(d) => self.sleep(cx, d, now),
            PollDecision::Failed(reason) => self.over(Err(Error::JobFailed {
                job_id,
                reason: reason.or_else(|| status.error_message().map(str::to_owned)),
                payment: None,
                retry: None,
            })),
            _ => self.give_up(waited),
        }
    }

    fn sleep(&mut self, cx: &Ctx<'_>, d: Duration, now: Instant) -> Step<Result<(), Error>> {
        if d >= cx.left(now) {
            let waited = now.saturating_duration_since(self.started.unwrap_or(now));
            return self.give_up(waited);
        }
        self.phase = WaitPhase::Sleeping;
        Step::Sleep(d)
    }

    fn give_up(&mut self, waited: Duration) -> Step<Result<(), Error>> {
        self.over(Err(Error::JobPending {
            waited,
            handle: self.handle.encode(),
            payment: None,
        }))
    }

    fn over(&mut self, r: Result<(), Error>) -> Step<Result<(), Error>> {
        self.phase = WaitPhase::Over;
        Step::Done(r)
    }
}

impl Machine for JobWait {
    type Value = ();

    fn start(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Step<Result<(), Error>> {
        self.started = Some(now);
        if let Some(origin) = &self.handle.origin
            && origin != cx.base.origin()
        {
            // The job exists only on the server that accepted it.
            let loopback = origin.contains("://127.")
                || origin.contains("://localhost")
                || origin.contains("://[::1]");
            let why = if loopback {
                " (a local server, e.g. an embedded sandbox, whose jobs are gone with it)"
            } else {
                ""
            };
            return self.over(Err(Error::ResumeRefused {
                reason: format!(
                    "this handle's job was accepted by {origin}{why}, not by {}: it cannot be resumed here; nothing was sent or paid",
                    cx.base.origin()
                ),
                payment: self
                    .handle
                    .payment
                    .as_ref()
                    .map(|p| Box::new(crate::error::PaymentRef::from_handle(p))),
            }));
        }
        match self.handle.job_id.clone() {
            Some(id) => self.ask(cx, id, now),
            None => self.over(Ok(())),
        }
    }

    fn on_response(
        &mut self,
        cx: &mut Ctx<'_>,
        response: Response<Vec<u8>>,
        now: Instant,
    ) -> Step<Result<(), Error>> {
        match &mut self.phase {
            WaitPhase::Asking(ex) => {
                let step = ex.on_response(cx, response, now);
                self.after(cx, step, now)
            }
            _ => self.over(Err(Error::internal("unexpected answer while waiting"))),
        }
    }

    fn on_failure(
        &mut self,
        cx: &mut Ctx<'_>,
        failure: Failure,
        now: Instant,
    ) -> Step<Result<(), Error>> {
        match &mut self.phase {
            WaitPhase::Asking(ex) => {
                let step = ex.on_failure(cx, failure, now);
                self.after(cx, step, now)
            }
            _ => self.over(Err(Error::internal("unexpected failure while waiting"))),
        }
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Step<Result<(), Error>> {
        match &mut self.phase {
            WaitPhase::Asking(ex) => {
                let step = ex.on_wake(cx, now);
                self.after(cx, step, now)
            }
            WaitPhase::Sleeping => match self.handle.job_id.clone() {
                Some(id) => self.ask(cx, id, now),
                None => self.over(Ok(())),
            },
            WaitPhase::Over => self.over(Err(Error::internal("woken after the end"))),
        }
    }
}

/// The result key a handle leads to (`None` for a GET-fallback handle).
fn result_key(handle: &JobHandle) -> Option<String> {
    match &handle.follow_up {
        FollowUp::FetchResult { result_key } | FollowUp::PollResultKey { result_key } => {
            Some(result_key.clone())
        }
        _ => None,
    }
}

/// A result read's error, in the SDK's terms: the authorizer's refusal (no API key) or the
/// server's `401`/`402` become [`Error::ResultAuthRequired`] naming the key, the job and the
/// handle to resume with. A `402` here is never paid: the job was paid when it was queued.
pub(crate) fn result_error(e: Error, key: &str, handle: Option<&JobHandle>) -> Error {
    let job_id = handle.and_then(|h| h.job_id.clone());
    let encoded = handle.map(JobHandle::encode);
    match e {
        Error::ResultAuthRequired {
            refused, payment, ..
        } => Error::ResultAuthRequired {
            key: key.to_owned(),
            job_id,
            handle: encoded,
            refused,
            payment,
        },
        other => match other.status() {
            Some(s) if s == StatusCode::UNAUTHORIZED || s == StatusCode::PAYMENT_REQUIRED => {
                let payment = other.payment().cloned().map(Box::new);
                Error::ResultAuthRequired {
                    key: key.to_owned(),
                    job_id,
                    handle: encoded,
                    refused: other.api().cloned().map(Box::new),
                    payment,
                }
            }
            _ => other,
        },
    }
}

enum FetchPhase<T> {
    Asking(Box<Exchange<ResultByKeyRequest<T>>>),
    Sleeping,
    Over,
}

/// Reads a stored result by key; for keys that appear late (`PollResultKey`), polls while
/// the server answers 404 (free).
pub struct ResultFetch<T> {
    key: String,
    keep_polling: bool,
    started: Option<Instant>,
    handle: Option<JobHandle>,
    phase: FetchPhase<T>,
}

impl<T: serde::de::DeserializeOwned + Send> ResultFetch<T> {
    /// Reads `key` once (a 404 means the result is gone).
    pub fn once(key: String) -> Self {
        ResultFetch {
            key,
            keep_polling: false,
            started: None,
            handle: None,
            phase: FetchPhase::Over,
        }
    }

    /// The fetch that follows `handle`'s job, or an error for a GET-fallback handle.
    pub fn after_job(handle: &JobHandle) -> Result<Self, Error> {
        let (key, keep_polling) = match &handle.follow_up {
            FollowUp::FetchResult { result_key } => (result_key.clone(), false),
            FollowUp::PollResultKey { result_key } => (result_key.clone(), true),
            _ => {
                return Err(Error::internal(
                    "this handle is a GET fallback: call the wallet method again",
                ));
            }
        };
        Ok(ResultFetch {
            key,
            keep_polling,
            started: None,
            handle: Some(handle.clone()),
            phase: FetchPhase::Over,
        })
    }

    fn ask(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Step<Result<T, Error>> {
        let mut ex = Box::new(Exchange::new(ResultByKeyRequest::<T>::new(
            self.key.clone(),
        )));
        let step = ex.start(cx, now);
        self.phase = FetchPhase::Asking(ex);
        self.after(cx, step, now)
    }

    fn after(
        &mut self,
        cx: &mut Ctx<'_>,
        step: Step<Result<crate::call::Paid<T>, Error>>,
        now: Instant,
    ) -> Step<Result<T, Error>> {
        let result = match step.io() {
            Ok(io) => return io,
            Err(r) => r,
        };
        let waited = now.saturating_duration_since(self.started.unwrap_or(now));
        // Since the job was queued, when the handle says (the TTL runs from there at the
        // earliest), else since this fetch started.
        let since_queued = self
            .handle
            .as_ref()
            .zip(cx.unix_now())
            .and_then(|(h, t)| h.age(t))
            .map_or(waited, |age| age.max(waited));
        let result = result.map_err(|e| result_error(e, &self.key, self.handle.as_ref()));
        match result {
            Ok(paid) => self.over(Ok(paid.value)),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) && self.keep_polling => {
                match Poller::new(cx.poll).on_result_missing(since_queued) {
                    ResultDecision::PollAgain(d) if d < cx.left(now) => {
                        self.phase = FetchPhase::Sleeping;
                        Step::Sleep(d)
                    }
                    ResultDecision::Expired => self.over(Err(Error::ResultExpired {
                        key: self.key.clone(),
                        payment: None,
                    })),
                    _ => {
                        let handle = self
                            .handle
                            .as_ref()
                            .map(JobHandle::encode)
                            .unwrap_or_default();
                        self.over(Err(Error::JobPending {
                            waited,
                            handle,
                            payment: None,
                        }))
                    }
                }
            }
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {
                self.over(Err(Error::ResultExpired {
                    key: self.key.clone(),
                    payment: None,
                }))
            }
            Err(e) => self.over(Err(e)),
        }
    }

    fn over(&mut self, r: Result<T, Error>) -> Step<Result<T, Error>> {
        self.phase = FetchPhase::Over;
        Step::Done(r)
    }
}

impl<T: serde::de::DeserializeOwned + Send> Machine for ResultFetch<T> {
    type Value = T;

    fn start(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Step<Result<T, Error>> {
        self.started = Some(now);
        self.ask(cx, now)
    }

    fn on_response(
        &mut self,
        cx: &mut Ctx<'_>,
        response: Response<Vec<u8>>,
        now: Instant,
    ) -> Step<Result<T, Error>> {
        match &mut self.phase {
            FetchPhase::Asking(ex) => {
                let step = ex.on_response(cx, response, now);
                self.after(cx, step, now)
            }
            _ => self.over(Err(Error::internal("unexpected answer while fetching"))),
        }
    }

    fn on_failure(
        &mut self,
        cx: &mut Ctx<'_>,
        failure: Failure,
        now: Instant,
    ) -> Step<Result<T, Error>> {
        match &mut self.phase {
            FetchPhase::Asking(ex) => {
                let step = ex.on_failure(cx, failure, now);
                self.after(cx, step, now)
            }
            _ => self.over(Err(Error::internal("unexpected failure while fetching"))),
        }
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Step<Result<T, Error>> {
        match &mut self.phase {
            FetchPhase::Asking(ex) => {
                let step = ex.on_wake(cx, now);
                self.after(cx, step, now)
            }
            FetchPhase::Sleeping => self.ask(cx, now),
            FetchPhase::Over => self.over(Err(Error::internal("woken after the end"))),
        }
    }
}
