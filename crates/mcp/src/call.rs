//! One `tools/call`: paying under the policy, asking for approval, mapping errors, and the
//! result the model reads (text, structured content, `_meta` receipt).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rmcp::RoleServer;
use rmcp::model::{
    ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
    InputRequest, InputRequests, InputRequiredResult, ProtocolVersion,
};
use rmcp::service::RequestContext;
use serde_json::{Value, json};
use sova::call::{CallOptions, Paid};
use sova::protocol::Endpoint;
use sova::{PaymentRef, PaymentState};
use sova_x402::{PolicyRefusal, RefusalReason};

use crate::describe::describe;
use crate::server::{APPROVAL_INPUT_KEY, Inner, PENDING_APPROVAL_TTL, PendingApproval, lock};
use crate::spend::SpendEntry;
use crate::usdc;

// ---- one tool call ------------------------------------------------------------------------

/// A successful tool answer: a sentence, the data, and the handles when a job is still running.
pub(crate) struct Reply {
    pub(crate) summary: String,
    pub(crate) data: Value,
    pub(crate) pending: Option<Value>,
    /// Which rows of each list `data` holds (when narrowed by offset/limit).
    pub(crate) view: Option<Value>,
    /// How to get more, in one sentence (paging, narrowing).
    pub(crate) more: Option<String>,
    /// The summary already lists what matters: no key figures of the data in the text.
    pub(crate) quiet: bool,
}

impl Reply {
    pub(crate) fn done(summary: impl Into<String>, data: Value) -> Reply {
        Reply {
            summary: summary.into(),
            data,
            pending: None,
            view: None,
            more: None,
            quiet: false,
        }
    }
}

/// A failed tool call, as the model reads it.
#[derive(Debug, Clone)]
pub(crate) struct ToolError {
    pub(crate) kind: &'static str,
    pub(crate) message: String,
    pub(crate) details: Value,
    /// The payment the failed call carried: its state outranks the error.
    pub(crate) payment: Option<PaymentNote>,
}

/// The payment a failed call carried, as the CLI reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PaymentNote {
    /// `charged`, `may_have_charged` or `not_charged`.
    pub(crate) state: &'static str,
    pub(crate) amount: u64,
    pub(crate) signature: String,
}

impl PaymentNote {
    pub(crate) fn of(p: &PaymentRef, uncertain: bool) -> PaymentNote {
        let state = match (uncertain, p.state) {
            (true, _) => "may_have_charged",
            (false, PaymentState::Charged) => "charged",
            (false, PaymentState::NotCharged) => "not_charged",
            (false, _) => "may_have_charged",
        };
        PaymentNote {
            state,
            amount: p.amount,
            signature: p.signature.clone(),
        }
    }
}

impl ToolError {
    pub(crate) fn new(kind: &'static str, message: impl Into<String>) -> ToolError {
        ToolError {
            kind,
            message: message.into(),
            details: Value::Null,
            payment: None,
        }
    }

    pub(crate) fn with(mut self, details: Value) -> ToolError {
        self.details = details;
        self
    }

    pub(crate) fn paid(mut self, note: PaymentNote) -> ToolError {
        self.payment = Some(note);
        self
    }
}

/// Why a tool call stopped early.
pub(crate) enum Stop {
    /// An error result (`isError: true`).
    Error(ToolError),
    /// The client must ask the user first (protocol 2026-07-28 and later).
    Input(InputRequiredResult),
}

impl From<ToolError> for Stop {
    fn from(e: ToolError) -> Self {
        Stop::Error(e)
    }
}

/// What the tool was told about approval on this round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Approved {
    /// Nothing yet.
    No,
    /// The user approved payments up to this amount (an MRTR retry).
    UpTo(u64),
}

/// The state of one `tools/call`.
pub(crate) struct Call<'a> {
    pub(crate) inner: &'a Inner,
    pub(crate) tool: &'static str,
    pub(crate) arguments: Value,
    pub(crate) ctx: &'a RequestContext<RoleServer>,
    pub(crate) approved: Approved,
    pub(crate) receipts: Vec<SpendEntry>,
}

/// The price the SDK refused because it is above `cap`, the per-call cap this call passed
/// (the approval threshold or a per-tool cap). The SDK refuses before anything is signed.
/// With several payment options, the cheapest one refused that way.
fn over_cap(e: &sova::Error, cap: Option<u64>) -> Option<u64> {
    let cap = cap?;
    let sova::Error::PaymentRefused(refusals) = e else {
        return None;
    };
    refusals
        .iter()
        .filter_map(|r| match &r.reason {
            RefusalReason::Policy(PolicyRefusal::OverCap { amount, cap: c, .. }) if *c == cap => {
                Some(*amount)
            }
            _ => None,
        })
        .min()
}

/// One SDK call, owned (it holds its own client clone and options).
pub(crate) type SdkFuture<T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Paid<T>, sova::Error>> + Send>>;

/// Call options with a per-call payment cap.
fn capped(cap: Option<u64>) -> CallOptions {
    let options = CallOptions::default();
    match cap {
        Some(c) => options.max_payment(c),
        None => options,
    }
}

fn min_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

impl Call<'_> {
    pub(crate) fn record(
        &mut self,
        endpoint: &str,
        paid_receipt: Option<&sova::call::Receipt>,
        approved: bool,
    ) {
        if let Some(r) = paid_receipt {
            let payer = self
                .inner
                .payer
                .as_ref()
                .map(|p| p.pubkey().to_string())
                .unwrap_or_default();
            let e = lock(&self.inner.log).record(self.tool, endpoint, &payer, r, approved);
            tracing::info!(
                tool = self.tool,
                endpoint,
                amount = e.amount,
                transaction = e.transaction.as_deref().unwrap_or(&e.payer_signature),
                user_approved = approved,
                "paid"
            );
            self.receipts.push(e);
        }
    }

    /// Queues a POST job under the policy (like [`Call::pay`]): its `202` and the handle the
    /// SDK stamped with the time the job was accepted.
    pub(crate) async fn queue<Q>(
        &mut self,
        endpoint: &Q,
    ) -> Result<sova::intel::Queued<Q::Output>, Stop>
    where
        Q: sova::intel::QueueJob + Clone + Sync,
        Q::Output: Send + 'static,
    {
        let client = self.inner.client.clone();
        let ep = endpoint.clone();
        self.pay_by(endpoint.name(), &client, move |c, o| {
            let ep = ep.clone();
            Box::pin(async move { c.queue_with(&ep, &o).await })
        })
        .await
    }

    /// Pays for `endpoint` under the policy, asking the user above the approval threshold.
    pub(crate) async fn pay<E>(&mut self, endpoint: &E) -> Result<E::Output, Stop>
    where
        E: Endpoint + Clone + Send + Sync + 'static,
        E::Output: Send + 'static,
    {
        let client = self.inner.client.clone();
        let ep = endpoint.clone();
        self.pay_by(endpoint.name(), &client, move |c, o| {
            let ep = ep.clone();
            Box::pin(async move { c.send_with(&ep, &o).await })
        })
        .await
    }

    /// Runs one SDK call (a whole logical request: for the wallet GETs, the `202` fallback,
    /// the job wait and the re-call, paid once) under the policy, asking the user above
    /// the approval threshold. `call` runs with a per-call cap; when the price is above it
    /// (nothing signed), the user is asked, and on approval it runs once more with the
    /// approved amount as the cap.
    pub(crate) async fn pay_by<T, F>(
        &mut self,
        name: &'static str,
        client: &sova::intel::Client,
        call: F,
    ) -> Result<T, Stop>
    where
        F: Fn(sova::intel::Client, CallOptions) -> SdkFuture<T>,
    {
        let tool_cap = self.inner.tool_caps.get(self.tool).copied();
        let first_cap = match self.approved {
            Approved::UpTo(amount) => Some(amount),
            Approved::No => min_opt(self.inner.approve_above, tool_cap),
        };
        let err = match call(client.clone(), capped(first_cap)).await {
            Ok(Paid { value, receipt, .. }) => {
                let approved = matches!(self.approved, Approved::UpTo(_));
                self.record(name, receipt.as_ref(), approved);
                return Ok(value);
            }
            Err(e) => e,
        };
        let Some(amount) = over_cap(&err, first_cap) else {
            return Err(self.sdk_error(name, err).into());
        };
        let price = format!("{} USDC ({amount} base units)", usdc::format(amount));
        if let Approved::UpTo(ok) = self.approved {
            return Err(ToolError::new(
                "payment_refused",
                format!(
                    "The price is now {price}, above the {} USDC the user approved. Nothing was paid.",
                    usdc::format(ok)
                ),
            )
            .into());
        }
        if amount > self.inner.limits.max_payment {
            return Err(ToolError::new(
                "payment_refused",
                format!(
                    "The price, {price}, is above the per-payment cap of {} USDC. Nothing was signed or paid. The cap is set when the server starts (--max-payment).",
                    usdc::format(self.inner.limits.max_payment)
                ),
            )
            .into());
        }
        if let Some(cap) = tool_cap
            && amount > cap
        {
            return Err(ToolError::new(
                "payment_refused",
                format!(
                    "The price, {price}, is above the cap of {} USDC set for {}. Nothing was signed or paid.",
                    usdc::format(cap),
                    self.tool
                ),
            )
            .into());
        }
        match self.inner.approve_above {
            Some(t) if amount > t => {}
            _ => return Err(self.sdk_error(name, err).into()),
        }
        self.ask_approval(amount).await?;
        match call(client.clone(), capped(Some(amount))).await {
            Ok(Paid { value, receipt, .. }) => {
                self.record(name, receipt.as_ref(), true);
                Ok(value)
            }
            Err(e) => Err(self.sdk_error(name, e).into()),
        }
    }

    /// The prompt the user reads: the tool by its title and the amount in plain USDC.
    async fn approval_message(&self, amount: u64) -> String {
        let title = self
            .inner
            .tools
            .iter()
            .find(|t| t.name == self.tool)
            .and_then(|t| t.title.clone())
            .unwrap_or_else(|| self.tool.to_owned());
        let mut m = format!(
            "Pay {} USDC for {title} ({})? It is above your approval threshold of {} USDC.",
            usdc::plain(amount),
            self.tool,
            usdc::plain(self.inner.approve_above.unwrap_or(0))
        );
        if let Some(spent) = self.inner.spent().await {
            m.push_str(&format!(
                " Spent so far: {} of {} USDC.",
                usdc::plain(spent),
                usdc::plain(self.inner.limits.budget)
            ));
        }
        m
    }

    async fn approval_request(&self, amount: u64) -> Result<ElicitRequestParams, Stop> {
        let schema = ElicitationSchema::builder()
            .required_bool_property("approve", |b| {
                b.title(format!("Pay {} USDC", usdc::plain(amount)))
                    .description("Approve this one payment")
                    .with_default(false)
            })
            .build()
            .map_err(|e| {
                ToolError::new(
                    "internal",
                    format!("could not build the approval form: {e}"),
                )
            })?;
        Ok(ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: self.approval_message(amount).await,
            requested_schema: schema,
        })
    }

    /// Asks the user to approve `amount`. Returns when approved; otherwise stops the call.
    async fn ask_approval(&mut self, amount: u64) -> Result<(), Stop> {
        let price = format!("{} USDC", usdc::format(amount));
        let can_ask = self
            .ctx
            .client_capabilities()
            .is_some_and(|c| c.elicitation.is_some());
        if !can_ask {
            return Err(ToolError::new(
                "approval_required",
                format!(
                    "This call costs {price}, above the approval threshold of {} USDC, and this MCP client cannot ask the user (it did not declare the elicitation capability). Nothing was signed or paid. The user can raise the threshold when starting the server (--approve-above).",
                    usdc::format(self.inner.approve_above.unwrap_or(0))
                ),
            )
            .with(json!({"amount": usdc::json(amount)}))
            .into());
        }
        let params = self.approval_request(amount).await?;
        let stateless = self
            .ctx
            .protocol_version()
            .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
        if stateless {
            // Protocol 2026-07-28 forbids server-to-client requests: ask through an
            // `input_required` result; the client answers on the retry.
            let id = approval_id();
            {
                let mut pending = lock(&self.inner.approvals);
                pending.retain(|_, p| p.asked.elapsed() < PENDING_APPROVAL_TTL);
                pending.insert(
                    id.clone(),
                    PendingApproval {
                        tool: self.tool.to_owned(),
                        arguments: self.arguments.clone(),
                        amount,
                        asked: Instant::now(),
                    },
                );
            }
            let mut requests = InputRequests::new();
            requests.insert(
                APPROVAL_INPUT_KEY.to_owned(),
                InputRequest::Elicitation(ElicitRequest::new(params)),
            );
            return Err(Stop::Input(InputRequiredResult::new(
                Some(requests),
                Some(id),
            )));
        }
        let answer = self
            .ctx
            .peer
            .create_elicitation_with_timeout(params, Some(self.inner.approval_timeout))
            .await;
        match answer {
            Ok(r) if accepted(&r) => Ok(()),
            Ok(r) => Err(declined(&price, r.action).into()),
            Err(e) => Err(ToolError::new(
                "approval_failed",
                format!("Could not get the user's approval for {price}: {e}. Nothing was signed or paid."),
            )
            .into()),
        }
    }

    /// Maps an SDK error to what the model reads. The payment attached to the failed call, if
    /// any, is accounted for: a charged one is listed with the session's payments, one that
    /// may have been charged is reported as uncertain, with its reference.
    pub(crate) fn sdk_error(&mut self, endpoint: &str, e: sova::Error) -> ToolError {
        let attached = e.payment().cloned();
        let uncertain = e.may_have_charged()
            && attached
                .as_ref()
                .is_none_or(|p| p.state != PaymentState::Charged);
        let reason = e.to_string();
        let mut err = describe(e);
        let Some(p) = attached else {
            if uncertain {
                return ToolError::new(
                    "payment_uncertain",
                    format!(
                        "A payment was sent and its outcome is unknown: it may have been charged. Do not call this tool again for the same request; tell the user and check first. Details: {reason}"
                    ),
                );
            }
            return err;
        };
        let note = PaymentNote::of(&p, uncertain);
        let reference = json!({
            "state": note.state,
            "payerSignature": p.signature,
            "amount": usdc::json(p.amount),
            "asset": p.asset,
            "payTo": p.pay_to,
            "memo": p.memo,
        });
        if uncertain {
            lock(&self.inner.log).record_uncertain(self.tool, endpoint, &p, &reason);
            return ToolError::new(
                "payment_uncertain",
                format!(
                    "A payment of {} USDC (payer signature {}) was signed and sent, and its outcome is unknown: it may have been charged. Do not call this tool again for the same request; tell the user and check the transaction first. Details: {reason}",
                    usdc::format(p.amount),
                    p.signature
                ),
            )
            .with(json!({"payment": reference, "cause": err.kind}))
            .paid(note);
        }
        if p.state == PaymentState::Charged {
            self.record_charged(endpoint, &p);
            err.message.push_str(&format!(
                " This call's payment of {} USDC was charged (payer signature {}); do not call this tool again for the same request.",
                usdc::format(p.amount),
                p.signature
            ));
        }
        err.payment = Some(note);
        if err.details.is_null() {
            err.details = json!({"payment": reference});
        } else if let Some(d) = err.details.as_object_mut() {
            d.insert("payment".into(), reference);
        }
        err
    }

    /// Lists a payment the SDK reports as charged with a failed call (no receipt came back).
    fn record_charged(&mut self, endpoint: &str, p: &PaymentRef) {
        let (payer, network) = self
            .inner
            .payer
            .as_ref()
            .map(|x| (x.pubkey().to_string(), x.network().to_owned()))
            .unwrap_or_default();
        let approved = matches!(self.approved, Approved::UpTo(_));
        let e = lock(&self.inner.log)
            .record_charged(self.tool, endpoint, &payer, &network, p, approved);
        tracing::info!(
            tool = self.tool,
            endpoint,
            amount = e.amount,
            payer_signature = e.payer_signature,
            "charged by a call that failed"
        );
        self.receipts.push(e);
    }
}

pub(crate) fn accepted(r: &ElicitResult) -> bool {
    r.action == ElicitationAction::Accept
        && r.content
            .as_ref()
            .and_then(|c| c.get("approve"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
}

pub(crate) fn declined(price: &str, action: ElicitationAction) -> ToolError {
    let how = match action {
        ElicitationAction::Cancel => "dismissed",
        _ => "declined",
    };
    ToolError::new(
        "payment_declined",
        format!("The user {how} the payment of {price}. Nothing was signed or paid."),
    )
}

/// A fresh, unguessable id for a pending approval.
fn approval_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // Fall back to time and a counter: still unique in this process.
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(1);
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        b[..8].copy_from_slice(&t.to_le_bytes());
        b[8..].copy_from_slice(&N.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("approval-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sova_x402::Refusal;

    fn refused(amount: u64, cap: u64) -> sova::Error {
        sova::Error::PaymentRefused(vec![Refusal {
            index: 0,
            reason: PolicyRefusal::OverCap {
                asset: "USDC".into(),
                amount,
                cap,
            }
            .into(),
        }])
    }

    #[test]
    fn only_a_refusal_at_our_cap_asks_for_approval() {
        assert_eq!(
            over_cap(&refused(300_000, 100_000), Some(100_000)),
            Some(300_000)
        );
        // The policy's own cap (1 USDC), not the approval threshold: no question.
        assert_eq!(
            over_cap(&refused(3_000_000, 1_000_000), Some(100_000)),
            None
        );
        assert_eq!(over_cap(&refused(300_000, 100_000), None), None);
        assert_eq!(over_cap(&sova::Error::Config("x".into()), Some(1)), None);
        assert_eq!(min_opt(Some(5), Some(3)), Some(3));
        assert_eq!(min_opt(None, Some(3)), Some(3));
        assert_eq!(min_opt(Some(5), None), Some(5));
        assert_eq!(capped(Some(7)).max_payment, Some(7));
        assert_eq!(capped(None).max_payment, None);
    }
}
