//! The Sova Intel logical requests that take more than one exchange: the wallet GETs with
//! their free `202` fallback, queued jobs followed to their results, the pricing fallback,
//! and batch-HUD completion.

use serde::de::DeserializeOwned;
use sova_protocol::Endpoint;
use sova_protocol::http::StatusCode;
use sova_protocol::intel::{
    BatchHudRequest, BatchHudResponse, Fetched, PricingRequest, WalletHudRequest,
    WalletProfileRequest, WalletQueued,
};
use sova_protocol::jobs::{FollowUp, JobHandle};

use super::{Boxed, Ctx, Exchange, JobWait, Machine, MachineExt, ResultFetch, ready};
use crate::call::Paid;
use crate::error::Error;

/// The wallet GETs that may answer with the free `202` fallback.
pub trait WalletFallback: Endpoint<Output = Fetched<Self::Data>> + Clone + Send + 'static {
    /// What a `200` carries.
    type Data: Send + 'static;
    /// The job to poll after a `202`.
    fn follow_up(&self, queued: &WalletQueued) -> JobHandle;
    /// The re-call with `X-Prepaid-Job-Id`.
    fn recall(&self, queued: &WalletQueued) -> Self;
}

impl WalletFallback for WalletHudRequest {
    type Data = sova_protocol::intel::WalletHud;
    fn follow_up(&self, queued: &WalletQueued) -> JobHandle {
        WalletHudRequest::follow_up(self, queued)
    }
    fn recall(&self, queued: &WalletQueued) -> Self {
        WalletHudRequest::recall(self, queued)
    }
}

impl WalletFallback for WalletProfileRequest {
    type Data = sova_protocol::intel::WalletProfileResponse;
    fn follow_up(&self, queued: &WalletQueued) -> JobHandle {
        WalletProfileRequest::follow_up(self, queued)
    }
    fn recall(&self, queued: &WalletQueued) -> Self {
        WalletProfileRequest::recall(self, queued)
    }
}

/// The call's value with every receipt settled so far (the last one as `receipt`).
pub fn paid_from<V>(cx: &mut Ctx<'_>, value: V) -> Paid<V> {
    let mut receipts = cx.money.take_receipts();
    let receipt = receipts.pop();
    Paid {
        value,
        receipt,
        earlier_receipts: receipts,
    }
}

/// One endpoint, its value with the call's receipts.
pub fn single<E>(endpoint: E) -> impl Machine<Value = Paid<E::Output>>
where
    E: Endpoint + Send + 'static,
    E::Output: Send + 'static,
{
    Exchange::new(endpoint)
}

/// Runs `first`; when its job failed ([`Error::JobFailed`]), runs the machine `again` builds
/// once more — "On failed: retry once, then report the error" (reference §5.10) — unless the
/// client turned that off. A retry that signs a new payment (`paid`: a POST job queued
/// again) runs only when the client allowed it ([`Ctx::requeue_paid_jobs`]). If the retry
/// fails too, the first failure is reported, with its (first) charged payment, and the
/// retry's error inside it (with the retry's own payment).
fn retry_once<V: Send + 'static>(
    first: impl Machine<Value = V> + 'static,
    paid: bool,
    again: impl FnOnce() -> Boxed<V> + Send + 'static,
) -> impl Machine<Value = V> {
    first.then(move |cx, r| -> Result<Boxed<V>, Error> {
        match r {
            Err(Error::JobFailed {
                job_id,
                reason,
                payment,
                retry: None,
            }) if cx.retry_failed_jobs && (!paid || cx.requeue_paid_jobs) => {
                let payment = payment.or_else(|| cx.money.first_charged().map(Box::new));
                tracing::info!(job_id = %job_id, "the job failed; retrying once as documented");
                Ok(Box::new(again().then(
                    move |cx, r2| -> Result<Boxed<V>, Error> {
                        Ok(ready(match r2 {
                            Ok(v) => Ok(v),
                            Err(e2) => {
                                let e2 = match (e2.payment().is_none(), cx.money.later_charged()) {
                                    (true, Some(p)) => e2.with_payment(p),
                                    _ => e2,
                                };
                                Err(Error::JobFailed {
                                    job_id,
                                    reason,
                                    payment,
                                    retry: Some(Box::new(e2)),
                                })
                            }
                        }))
                    },
                )))
            }
            other => Ok(ready(other)),
        }
    })
}

/// A wallet GET: a `200`, or a free `202` whose job is polled before the re-call with
/// `X-Prepaid-Job-Id`. The `202` costs nothing and the re-call is charged (documented). A
/// payment attached to the first request stays live across the wait and is sent again on
/// the re-call, whose answer settles it: one payment for the logical request. (Sova does not
/// document how an x402 payment reaches the re-call; this is the SDK's reading.)
///
/// A failed analysis job is retried once by sending the same GET again (with the same live
/// payment: nothing was charged for the free `202`, so the retry costs nothing more).
pub fn wallet_get<E: WalletFallback>(endpoint: E) -> impl Machine<Value = Paid<E::Data>> {
    let again = endpoint.clone();
    retry_once(wallet_get_once(endpoint), false, move || {
        Box::new(wallet_get_once(again))
    })
}

fn wallet_get_once<E: WalletFallback>(endpoint: E) -> impl Machine<Value = Paid<E::Data>> {
    let again = endpoint.clone();
    Exchange::new(endpoint).and_then(move |cx, first| -> Result<Boxed<Paid<E::Data>>, Error> {
        match first.value {
            Fetched::Ready(value) => Ok(ready(Ok(paid_from(cx, value)))),
            Fetched::Queued(q) => {
                let handle = again.follow_up(&q).from_origin(cx.base.origin());
                let recall = again.recall(&q);
                let pending = handle.encode();
                Ok(Box::new(JobWait::new(handle).and_then(move |_, ()| {
                    Ok(Exchange::new(recall).and_then(
                        move |cx, second| -> Result<Boxed<Paid<E::Data>>, Error> {
                            match second.value {
                                Fetched::Ready(value) => Ok(ready(Ok(paid_from(cx, value)))),
                                // The re-call answered 202 again: the job's wait is the
                                // call's so far (not zero).
                                Fetched::Queued(_) => Err(Error::JobPending {
                                    waited: cx.now.saturating_duration_since(cx.started),
                                    handle: pending,
                                    payment: None,
                                }),
                            }
                        },
                    ))
                })))
            }
        }
    })
}

/// Waits for a job, then reads its result as `T` (free).
pub fn resume<T>(handle: JobHandle) -> Boxed<T>
where
    T: DeserializeOwned + Send + 'static,
{
    if matches!(handle.follow_up, FollowUp::PrepaidRecall { .. }) {
        return Box::new(resume_paid::<T>(handle).map(|p| p.value));
    }
    // The call's receipts stay with the call (a queued job's flow reports them).
    let fetch = ResultFetch::<T>::after_job(&handle);
    Box::new(JobWait::new(handle).and_then(move |_, ()| fetch))
}

/// Resumes any job handle, with the receipt of a payment settled on the way.
///
/// * A POST job's handle (`FetchResult`, `PollResultKey`): wait, then read the result (free:
///   the job was paid when it was queued).
/// * A wallet GET's `202` fallback (`PrepaidRecall`): wait, then make the re-call with
///   `X-Prepaid-Job-Id`, carrying **the payment the handle records** (sent again as it is,
///   never a new one). A new payment is signed only when the handle's payment is proven
///   uncharged. A handle that records no payment, or a server that asks to be paid again
///   while the handle's payment is charged or uncertain, ends in [`Error::ResumeRefused`]
///   saying why.
pub fn resume_paid<T>(handle: JobHandle) -> Boxed<Paid<T>>
where
    T: DeserializeOwned + Send + 'static,
{
    let FollowUp::PrepaidRecall {
        endpoint,
        address,
        prepaid_job_id,
    } = handle.follow_up.clone()
    else {
        let fetch = ResultFetch::<T>::after_job(&handle);
        return Box::new(
            JobWait::new(handle)
                .and_then(move |_, ()| fetch)
                .and_then(|cx, value| Ok(ready(Ok(paid_from(cx, value))))),
        );
    };
    let payment = handle
        .payment
        .as_ref()
        .map(crate::error::PaymentRef::from_handle);
    let again = handle.clone();
    Box::new(JobWait::new(handle).and_then(move |_, ()| {
        Ok(if endpoint.contains("hud") {
            recall::<_, T>(
                WalletHudRequest::new(address).prepaid_job_id(prepaid_job_id),
                payment,
                again,
            )
        } else {
            recall::<_, T>(
                WalletProfileRequest::new(address).prepaid_job_id(prepaid_job_id),
                payment,
                again,
            )
        })
    }))
}

/// The resumed re-call of a wallet GET, its data read as `T`.
fn recall<E, T>(
    endpoint: E,
    payment: Option<crate::error::PaymentRef>,
    handle: JobHandle,
) -> Boxed<Paid<T>>
where
    E: WalletFallback,
    E::Data: serde::Serialize,
    T: DeserializeOwned + Send + 'static,
{
    Box::new(Exchange::resuming(endpoint, payment).and_then(
        move |cx, r| -> Result<Boxed<Paid<T>>, Error> {
            match r.value {
                Fetched::Ready(v) => {
                    let value = serde_json::to_value(&v)
                        .and_then(serde_json::from_value::<T>)
                        .map_err(|e| {
                            Error::internal(format!(
                                "the resumed result is not the type asked for: {e}"
                            ))
                        })?;
                    Ok(ready(Ok(paid_from(cx, value))))
                }
                Fetched::Queued(_) => Err(Error::JobPending {
                    waited: std::time::Duration::ZERO,
                    payment: handle
                        .payment
                        .as_ref()
                        .map(|p| Box::new(crate::error::PaymentRef::from_handle(p))),
                    handle: handle.encode(),
                }),
            }
        },
    ))
}

/// The POST job endpoints: a charged `202` and the handle that follows it.
pub trait QueueJob: Endpoint + Send + 'static
where
    Self::Output: Send + 'static,
{
    /// The handle of the accepted job (its time is stamped by the flow).
    fn handle(accepted: &Self::Output) -> JobHandle;
}

impl QueueJob for sova_protocol::intel::HoldersRequest {
    fn handle(a: &sova_protocol::intel::JobAccepted) -> JobHandle {
        a.holder_profiles_handle()
    }
}

impl QueueJob for sova_protocol::intel::HoldersAgentRequest {
    fn handle(a: &sova_protocol::intel::HolderProfilesAgentJobAccepted) -> JobHandle {
        a.handle()
    }
}

impl QueueJob for sova_protocol::intel::SimilarityRequest {
    fn handle(a: &sova_protocol::intel::JobAccepted) -> JobHandle {
        a.similarity_handle()
    }
}

impl QueueJob for sova_protocol::intel::SimilarityAgentRequest {
    fn handle(a: &sova_protocol::intel::SimilarityAgentJobAccepted) -> JobHandle {
        a.handle()
    }
}

impl QueueJob for sova_protocol::intel::DeepRequest {
    /// The whole bundle ([`DeepJobAccepted::handle`](sova_protocol::intel::DeepJobAccepted::handle)).
    fn handle(a: &sova_protocol::intel::DeepJobAccepted) -> JobHandle {
        a.handle()
    }
}

/// A queued POST job: the server's `202` and the handle to resume it with, stamped with the
/// time the SDK received the `202` (`queued_at_unix`), so a resume after the 15-minute
/// result TTL says the result expired.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Queued<A> {
    /// The server's `202`.
    pub accepted: A,
    /// The handle, with `queued_at_unix` set when the runner has a wall clock.
    pub handle: JobHandle,
}

/// Stamps a handle with the time of the answer being handled.
fn stamped(cx: &Ctx<'_>, handle: JobHandle) -> JobHandle {
    handle
        .queued_at(cx.unix_now())
        .from_origin(cx.base.origin())
}

/// A charged POST job, queued: its `202` with a stamped handle.
pub fn queue<Q: QueueJob>(endpoint: Q) -> impl Machine<Value = Paid<Queued<Q::Output>>>
where
    Q::Output: Send + 'static,
{
    Exchange::new(endpoint).and_then(|cx, accepted| {
        let mut handle = stamped(cx, Q::handle(&accepted.value));
        if handle.payment.is_none() {
            // The job's charged payment rides on its handle.
            handle.payment = accepted
                .receipt
                .as_ref()
                .map(|r| crate::error::PaymentRef::charged(r).to_handle_payment());
        }
        Ok(ready(Ok(accepted.map(|a| Queued {
            accepted: a,
            handle,
        }))))
    })
}

/// A charged POST job (its `202` is the paid answer), followed to its result.
///
/// A failed job is queued again once, as documented, only when the client allows a second
/// charge ([`Ctx::requeue_paid_jobs`]): a **new, charged** job (the spend policy and the
/// per-call cap decide about its payment like any other; both receipts come back, the first
/// in `earlier_receipts`). Otherwise the failure is reported with the charged payment.
pub fn queue_and_wait<Q, T>(
    endpoint: Q,
    handle: fn(&Q::Output) -> JobHandle,
) -> impl Machine<Value = Paid<T>>
where
    Q: Endpoint + Clone + Send + 'static,
    Q::Output: Send + 'static,
    T: DeserializeOwned + Send + 'static,
{
    let again = endpoint.clone();
    retry_once(queue_and_wait_once(endpoint, handle), true, move || {
        Box::new(queue_and_wait_once(again, handle))
    })
}

fn queue_and_wait_once<Q, T>(
    endpoint: Q,
    handle: fn(&Q::Output) -> JobHandle,
) -> impl Machine<Value = Paid<T>>
where
    Q: Endpoint + Send + 'static,
    Q::Output: Send + 'static,
    T: DeserializeOwned + Send + 'static,
{
    Exchange::new(endpoint).and_then(move |cx, accepted| {
        let h = stamped(cx, handle(&accepted.value));
        Ok(resume::<T>(h).and_then(|cx, value| Ok(ready(Ok(paid_from(cx, value))))))
    })
}

/// The deep bundle: one charged POST, then both halves. A failed holder job is queued again
/// only when the client allows a second charge (`requeue_paid_jobs`; see
/// [`queue_and_wait`]).
pub fn deep_wait(
    endpoint: sova_protocol::intel::DeepRequest,
) -> impl Machine<
    Value = Paid<(
        sova_protocol::intel::HolderProfilesResult,
        sova_protocol::intel::SimilarityResult,
    )>,
> {
    let again = endpoint.clone();
    retry_once(deep_wait_once(endpoint), true, move || {
        Box::new(deep_wait_once(again))
    })
}

fn deep_wait_once(
    endpoint: sova_protocol::intel::DeepRequest,
) -> impl Machine<
    Value = Paid<(
        sova_protocol::intel::HolderProfilesResult,
        sova_protocol::intel::SimilarityResult,
    )>,
> {
    Exchange::new(endpoint).and_then(|cx, accepted| {
        let holders = stamped(cx, accepted.value.holder_profiles_handle());
        let similarity = stamped(cx, accepted.value.handle());
        Ok(
            resume::<sova_protocol::intel::HolderProfilesResult>(holders).and_then(move |_, h| {
                Ok(resume::<sova_protocol::intel::SimilarityResult>(similarity)
                    .and_then(move |cx, s| Ok(ready(Ok(paid_from(cx, (h, s)))))))
            }),
        )
    })
}

/// Live pricing: `/intel/pricing`, falling back to `/pricing` on 404 (both free).
pub fn pricing() -> impl Machine<Value = serde_json::Value> {
    let first = PricingRequest::new();
    let fallback = first.fallback();
    Exchange::new(first).then(move |_, r| -> Result<Boxed<serde_json::Value>, Error> {
        match (r, fallback) {
            (Err(e), Some(second)) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(Box::new(
                Exchange::new(second).and_then(|_, p| Ok(ready(Ok(p.value)))),
            )),
            (r, _) => Ok(ready(r.map(|p| p.value))),
        }
    })
}

/// Batch HUD, following queued wallets: their analysis jobs are polled until they finish.
///
/// With `second_charge` false (the default of the client), that is all: one payment for the
/// logical request; the answer keeps the queued wallets in `queued` (their analyses are
/// complete, so a new `batch_hud` for them answers with data, as a new, charged call the
/// caller makes). With `second_charge` true (asked for explicitly), batch-hud is called once
/// more for them — a second 5-credit charge by the reference's reading of "5 credits per
/// call", paid only after the first was settled — and the answers are merged.
pub fn batch_hud_complete(
    wallets: Vec<String>,
    second_charge: bool,
) -> impl Machine<Value = Paid<BatchHudResponse>> {
    Exchange::new(BatchHudRequest::new(wallets.iter().map(String::as_str))).and_then(
        move |cx, mut first| -> Result<Boxed<Paid<BatchHudResponse>>, Error> {
            if first.value.queued.is_empty() {
                return Ok(ready(Ok(paid_from(cx, first.value))));
            }
            let handles: Vec<JobHandle> = first
                .value
                .queued
                .iter()
                .map(|entry| JobHandle {
                    job_id: Some(entry.job_id.clone()),
                    follow_up: FollowUp::FetchResult {
                        result_key: String::new(),
                    },
                    also: Vec::new(),
                    queued_at_unix: None,
                    origin: None,
                    payment: None,
                })
                .collect();
            if !second_charge {
                let merged = first.value;
                return Ok(Box::new(
                    wait_all(handles).and_then(move |cx, ()| Ok(ready(Ok(paid_from(cx, merged))))),
                ));
            }
            let queued = std::mem::take(&mut first.value.queued);
            let again: Vec<String> = queued.iter().map(|q| q.wallet_address.clone()).collect();
            let merged = first.value;
            Ok(Box::new(wait_all(handles).and_then(move |_, ()| {
                Ok(
                    Exchange::new(BatchHudRequest::new(again.iter().map(String::as_str))).and_then(
                        move |cx, second| {
                            let mut merged = merged;
                            merged.huds.extend(second.value.huds);
                            merged.queued = second.value.queued;
                            merged.skipped.extend(second.value.skipped);
                            merged.not_found.extend(second.value.not_found);
                            Ok(ready(Ok(paid_from(cx, merged))))
                        },
                    ),
                )
            })))
        },
    )
}

fn wait_all(mut handles: Vec<JobHandle>) -> Boxed<()> {
    if handles.is_empty() {
        return ready(Ok(()));
    }
    let first = handles.remove(0);
    Box::new(JobWait::new(first).and_then(move |_, ()| Ok(wait_all(handles))))
}
