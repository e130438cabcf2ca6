//! The tools, on top of [`Call`]: every Intel endpoint, job waits and the free tools.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sova::intel::{
    BatchHudRequest, DeepRequest, HoldersAgentRequest, HoldersRequest, SimilarityAgentRequest,
    SimilarityRequest, SortOrder, TokenPnlParams, TokenSortBy, WalletHudRequest,
    WalletProfileRequest, WalletTokensRequest,
};
use sova::protocol::jobs::{FollowUp, JobHandle};

use crate::call::{Call, Reply, Stop, ToolError};
use crate::progress::Reporter;
use crate::reply::narrow;
use crate::server::{lock, to_json};
use crate::tools::{self, Shape};

impl Call<'_> {
    // ---- the tools ----------------------------------------------------------------------

    pub(crate) async fn run(&mut self) -> Result<Reply, Stop> {
        match self.tool {
            "wallet_hud" => {
                let a: tools::WalletArgs = self.args()?;
                let wait = self.inner.wait_for(a.wait_seconds);
                self.wallet(WalletHudRequest::new(a.address), wait).await
            }
            "wallet_profile" => {
                let a: tools::WalletArgs = self.args()?;
                let wait = self.inner.wait_for(a.wait_seconds);
                self.wallet(WalletProfileRequest::new(a.address), wait)
                    .await
            }
            "wallet_token_pnl" => {
                let a: tools::TokenPnlArgs = self.args()?;
                let mut ep = WalletTokensRequest::new(a.address);
                ep.params = TokenPnlParams {
                    page: Some(a.page.unwrap_or(1)),
                    page_size: Some(a.page_size.unwrap_or(tools::DEFAULT_PAGE_SIZE)),
                    sort_by: a.sort_by.map(|s| match s {
                        tools::SortBy::NetSolProfitLoss => TokenSortBy::NetSolProfitLoss,
                        tools::SortBy::RealizedPnlSol => TokenSortBy::RealizedPnlSol,
                        tools::SortBy::Roi => TokenSortBy::Roi,
                        tools::SortBy::TotalSolSpent => TokenSortBy::TotalSolSpent,
                    }),
                    sort_order: a.sort_order.map(|o| match o {
                        tools::Order::Asc => SortOrder::Asc,
                        tools::Order::Desc => SortOrder::Desc,
                    }),
                };
                let (n, size) = (
                    ep.params.page.unwrap_or(1),
                    ep.params.page_size.unwrap_or(1),
                );
                let known = lock(&self.inner.pnl_totals).get(&ep.address).copied();
                if let Some(total) = known {
                    let last = total.div_ceil(u64::from(size.max(1))).max(1);
                    if u64::from(n) > last {
                        return Err(ToolError::new(
                            "invalid_input",
                            format!(
                                "Page {n} is past the last page: {} has {total} tokens, {last} pages of {size}. Nothing was sent or paid.",
                                ep.address
                            ),
                        )
                        .into());
                    }
                }
                let page = self.pay(&ep).await?;
                lock(&self.inner.pnl_totals).insert(ep.address.clone(), page.total);
                let summary = format!(
                    "Token PnL of {}: page {} of {} ({} tokens).",
                    ep.address,
                    page.page,
                    page.page_count(),
                    page.total
                );
                let mut reply = Reply::done(summary, to_json(&page));
                if page.has_next_page() {
                    reply.more = Some(format!(
                        "More: wallet_token_pnl with page {} (pages 1 to {}; 0.045 USDC each).",
                        page.page.saturating_add(1),
                        page.page_count()
                    ));
                }
                Ok(reply)
            }
            "batch_wallet_hud" => {
                let a: tools::BatchArgs = self.args()?;
                let batch = self
                    .pay(&BatchHudRequest::new(a.wallets.iter().map(String::as_str)))
                    .await?;
                let mut summary = format!("HUD of {} wallets.", batch.huds.len());
                if !batch.queued.is_empty() {
                    summary.push_str(&format!(
                        " {} wallets are queued for analysis (their job ids are listed; job_status is free).",
                        batch.queued.len()
                    ));
                }
                if !batch.skipped.is_empty() || !batch.not_found.is_empty() {
                    summary.push_str(&format!(
                        " {} skipped, {} not found.",
                        batch.skipped.len(),
                        batch.not_found.len()
                    ));
                }
                Ok(Reply::done(summary, to_json(&batch)))
            }
            "token_holder_profiles" => {
                let a: tools::HoldersArgs = self.args()?;
                let wait = self.inner.wait_for(a.wait_seconds);
                let top_n = a.top_n.unwrap_or(sova::intel::DEFAULT_TOP_N);
                let (handle, accepted) = match a.shape {
                    Shape::Agent => {
                        let q = self
                            .queue(&HoldersAgentRequest::new(a.mint).top_n(top_n))
                            .await?;
                        (q.handle, to_json(&q.accepted))
                    }
                    Shape::Full => {
                        let q = self
                            .queue(&HoldersRequest::new(a.mint).top_n(top_n))
                            .await?;
                        (q.handle, to_json(&q.accepted))
                    }
                };
                let window = window(a.offset, a.limit);
                self.follow(handle, accepted, wait, "Holder profiles", window)
                    .await
            }
            "wallet_similarity" => {
                let a: tools::SimilarityArgs = self.args()?;
                let wait = self.inner.wait_for(a.wait_seconds);
                let wallets = a.wallets.iter().map(String::as_str);
                let (handle, accepted) = match a.shape {
                    Shape::Agent => {
                        let q = self.queue(&SimilarityAgentRequest::new(wallets)).await?;
                        (q.handle, to_json(&q.accepted))
                    }
                    Shape::Full => {
                        let q = self.queue(&SimilarityRequest::new(wallets)).await?;
                        (q.handle, to_json(&q.accepted))
                    }
                };
                let window = window(a.offset, a.limit);
                self.follow(handle, accepted, wait, "Wallet similarity", window)
                    .await
            }
            "deep_token_analysis" => {
                let a: tools::DeepArgs = self.args()?;
                let wait = self.inner.wait_for(a.wait_seconds);
                let top_n = a.top_n.unwrap_or(sova::intel::DEFAULT_TOP_N);
                let q = self.queue(&DeepRequest::new(a.mint).top_n(top_n)).await?;
                let window = window(a.offset, a.limit);
                let what = "Deep token analysis";
                self.follow(q.handle, to_json(&q.accepted), wait, what, window)
                    .await
            }
            "job_status" => {
                let a: tools::JobStatusArgs = self.args()?;
                let s = self
                    .inner
                    .client
                    .job_status(&a.job_id)
                    .await
                    .map_err(|e| self.sdk_error("intel.job_status", e))?;
                let summary = format!("Job {}: {}.", a.job_id, s.status);
                Ok(Reply::done(summary, to_json(&s)))
            }
            "job_wait" => {
                let a: tools::JobWaitArgs = self.args()?;
                let wait = self.inner.wait_for(a.wait_seconds);
                let handle = JobHandle::decode(&a.handle).map_err(|e| {
                    ToolError::new(
                        "invalid_input",
                        format!("{e}: pass the handle (job1.…) of a queued result. Nothing was sent or paid."),
                    )
                })?;
                self.job_wait(handle, wait, window(a.offset, a.limit)).await
            }
            "pricing" => {
                let _: tools::NoArgs = self.args()?;
                let v = self
                    .inner
                    .client
                    .pricing()
                    .await
                    .map_err(|e| self.sdk_error("intel.pricing", e))?;
                Ok(Reply::done(
                    "Sova Intel pricing (1 credit = 0.015 USDC).",
                    v,
                ))
            }
            "budget_status" => {
                let _: tools::NoArgs = self.args()?;
                let v = self.inner.budget_json().await;
                let summary = self
                    .inner
                    .budget_sentence(&v)
                    .unwrap_or_else(|| "No x402 wallet: calls use the API key's credits.".into());
                Ok(Reply::done(summary, v))
            }
            "spend_report" => {
                let _: tools::NoArgs = self.args()?;
                let (summary, v) = crate::journal::spend_report(self.inner)
                    .await
                    .map_err(ledger_error)?;
                Ok(Reply::done(summary, v))
            }
            "payments" => {
                let a: tools::PaymentsArgs = self.args()?;
                crate::journal::payments(self.inner, a).await
            }
            other => Err(ToolError::new("unknown_tool", format!("no tool named {other}")).into()),
        }
    }

    fn args<T: DeserializeOwned>(&self) -> Result<T, ToolError> {
        let v = match &self.arguments {
            Value::Null => Value::Object(Default::default()),
            v => v.clone(),
        };
        serde_json::from_value(v).map_err(|e| {
            ToolError::new(
                "invalid_input",
                format!(
                    "invalid arguments for {}: {e}. Nothing was sent or paid.",
                    self.tool
                ),
            )
        })
    }

    /// A wallet GET that may fall back to a job (HUD, profile): one logical request in the
    /// SDK (the GET, its free `202`, the job wait and the re-call with `X-Prepaid-Job-Id`),
    /// with one payment that rides on the re-call. When the server's analysis outlasts
    /// `wait` (default 45 s, under the 60 s at which common clients give up), the tool
    /// returns a handle that carries the held payment; `job_wait` continues it with that same
    /// payment, never a new one.
    async fn wallet<R: WalletGet>(&mut self, ep: R, wait: Duration) -> Result<Reply, Stop> {
        let progress = Reporter::for_request(self.ctx, self.tool);
        let client = self
            .inner
            .waiter(wait, progress)
            .map_err(|e| self.sdk_error(ep.name(), e))?;
        let summary = ep.summary();
        let what = summary.clone();
        let outcome = self
            .pay_by(ep.name(), &client, move |c, o| {
                let ep = ep.clone();
                Box::pin(async move {
                    match c.wallet_get_with(ep, &o).await {
                        Ok(p) => Ok(p.map(|v| WalletOutcome::Done(to_json(&v)))),
                        // The analysis is still running: the handle carries the payment.
                        Err(sova::Error::JobPending { handle, waited, .. }) => {
                            Ok(sova::Paid::free(WalletOutcome::Pending { handle, waited }))
                        }
                        Err(e) => Err(e),
                    }
                })
            })
            .await?;
        match outcome {
            WalletOutcome::Done(value) => Ok(Reply::done(format!("{summary}."), value)),
            WalletOutcome::Pending { handle, waited } => {
                let h = JobHandle::decode(&handle).map_err(|e| {
                    Stop::from(ToolError::new(
                        "internal",
                        format!("the SDK returned an unreadable handle: {e}"),
                    ))
                })?;
                let accepted = json!({"status": "analysing", "payment": "held for the answer"});
                Ok(pending_reply(&h, accepted, waited, &what))
            }
        }
    }

    /// Waits for a POST job up to `wait`, then fetches its result (free), or returns the handle.
    async fn follow(
        &mut self,
        handle: JobHandle,
        accepted: Value,
        wait: Duration,
        what: &str,
        (offset, limit): (usize, usize),
    ) -> Result<Reply, Stop> {
        // The SDK stamped the handle with the time the job was accepted (queue_with).
        let progress = Reporter::for_request(self.ctx, what);
        let waiter = self
            .inner
            .waiter(wait, progress)
            .map_err(|e| self.sdk_error("intel.jobs", e))?;
        match waiter.resume::<Value>(&handle).await {
            Ok(v) => {
                let mut data = self.with_also(&handle, v).await?;
                let view = narrow(&mut data, offset, limit);
                let mut reply = Reply::done(format!("{what}: completed."), data);
                if let Some(v) = &view {
                    let longest = v["lists"]
                        .as_object()
                        .and_then(|l| l.values().filter_map(Value::as_u64).max())
                        .unwrap_or(0);
                    let shown_to = (offset + limit).min(longest as usize);
                    reply.more = Some(format!(
                        "Showing rows {} to {shown_to} of each list (longest: {longest}). More rows of this result, free: job_wait with handle {} and offset {}, limit up to 100.",
                        offset + 1,
                        handle.encode(),
                        offset + limit
                    ));
                }
                reply.view = view;
                Ok(reply)
            }
            Err(sova::Error::JobPending { waited, .. }) => {
                Ok(pending_reply(&handle, accepted, waited, what))
            }
            Err(e) => Err(self.sdk_error("intel.jobs", e).into()),
        }
    }

    /// Adds the extra results a handle names (the deep bundle's holder profiles).
    async fn with_also(&mut self, handle: &JobHandle, main: Value) -> Result<Value, Stop> {
        if handle.also.is_empty() {
            return Ok(main);
        }
        let mut doc = serde_json::Map::new();
        for key in &handle.also {
            let v: Value = self
                .inner
                .client
                .result_by_key(key)
                .await
                .map_err(|e| self.sdk_error("intel.job_result", e))?;
            doc.insert(result_name(key).to_owned(), v);
        }
        let main_name = match &handle.follow_up {
            FollowUp::FetchResult { result_key } | FollowUp::PollResultKey { result_key } => {
                result_name(result_key)
            }
            _ => "result",
        };
        doc.insert(main_name.to_owned(), main);
        Ok(Value::Object(doc))
    }

    async fn job_wait(
        &mut self,
        handle: JobHandle,
        wait: Duration,
        window: (usize, usize),
    ) -> Result<Reply, Stop> {
        match &handle.follow_up {
            // The re-call of a wallet GET is the charged answer: it goes out with the payment
            // the handle carries (held since the first call), never a new one. A handle
            // without a payment that may still be charged cannot be continued for free.
            FollowUp::PrepaidRecall {
                endpoint, address, ..
            } if !handle.payment.as_ref().is_some_and(|p| {
                p.state != sova::PaymentState::NotCharged && p.header_value.is_some()
            }) =>
            {
                Err(ToolError::new(
                    "handle_not_resumable",
                    format!(
                        "This handle continues {endpoint} of {address}, whose answer is charged when it is fetched, and it carries no payment that job_wait could send again; job_wait never pays. Nothing was sent or paid. If that first call reported a payment, it may have been charged: check it before calling {endpoint} again."
                    ),
                )
                .into())
            }
            FollowUp::PrepaidRecall { endpoint, .. } => {
                let name: &'static str = if endpoint.contains("profile") {
                    "intel.wallet_profile"
                } else {
                    "intel.wallet_hud"
                };
                let progress = Reporter::for_request(self.ctx, "job_wait");
                let waiter = self
                    .inner
                    .waiter(wait, progress)
                    .map_err(|e| self.sdk_error(name, e))?;
                match waiter.resume_paid::<Value>(&handle).await {
                    Ok(paid) => {
                        // The held payment settled now: its receipt is this call's.
                        self.record(name, paid.receipt.as_ref(), true);
                        Ok(Reply::done(format!("{endpoint}: completed."), paid.value))
                    }
                    Err(sova::Error::JobPending { handle, waited, .. }) => {
                        match JobHandle::decode(&handle) {
                            Ok(h) => Ok(pending_reply(
                                &h,
                                json!({"status": "analysing"}),
                                waited,
                                "Job",
                            )),
                            Err(e) => Err(ToolError::new(
                                "internal",
                                format!("the SDK returned an unreadable handle: {e}"),
                            )
                            .into()),
                        }
                    }
                    Err(e) => Err(self.sdk_error(name, e).into()),
                }
            }
            _ => {
                let accepted = json!({"jobId": handle.job_id});
                self.follow(handle, accepted, wait, "Job", window).await
            }
        }
    }
}

/// A ledger that could not be read: nothing was paid by the free tool that read it.
pub(crate) fn ledger_error(e: sova_x402::ledger::LedgerError) -> Stop {
    ToolError::new(
        "ledger_unavailable",
        format!(
            "{e}. Nothing was sent or paid; no payment is made while the ledger cannot be read."
        ),
    )
    .into()
}

/// The rows of each list to keep: `(offset, limit)`, defaults applied.
fn window(offset: Option<u32>, limit: Option<u32>) -> (usize, usize) {
    (
        offset.unwrap_or(0) as usize,
        limit.unwrap_or(tools::DEFAULT_LIMIT) as usize,
    )
}

/// A readable name for a result key (`holder-profiles:result:…` → `holderProfiles`).
fn result_name(key: &str) -> &'static str {
    if key.starts_with("holder-profiles") {
        "holderProfiles"
    } else if key.starts_with("similarity") {
        "similarity"
    } else {
        "result"
    }
}

fn pending_reply(handle: &JobHandle, accepted: Value, waited: Duration, what: &str) -> Reply {
    let h = handle.encode();
    Reply {
        summary: format!(
            "{what}: the job is still running after {:.0} s. Continue it with job_wait and handle {h}; waiting and fetching are free and never queue or pay again.",
            waited.as_secs_f64()
        ),
        data: accepted,
        view: None,
        more: None,
        quiet: false,
        pending: Some(json!({
            "handle": h,
            "jobId": handle.job_id,
            "resumeTool": "job_wait",
        })),
    }
}

/// What a wallet tool's call ended with: the data, or a handle while the server's analysis
/// runs (the payment held for its answer rides on the handle).
enum WalletOutcome {
    Done(Value),
    Pending { handle: String, waited: Duration },
}

/// The two wallet GETs that may fall back to a job.
trait WalletGet: sova::flow::intel::WalletFallback<Data = <Self as WalletGet>::Data> + Sync {
    type Data: Serialize + Send + 'static;
    fn summary(&self) -> String;
}

impl WalletGet for WalletHudRequest {
    type Data = sova::intel::WalletHud;
    fn summary(&self) -> String {
        format!("HUD of wallet {}", self.address)
    }
}

impl WalletGet for WalletProfileRequest {
    type Data = sova::intel::WalletProfileResponse;
    fn summary(&self) -> String {
        format!("Profile of wallet {}", self.address)
    }
}
