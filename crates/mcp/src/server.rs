//! The MCP server: tool calls, payments under the spend policy, approvals, resources.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ElicitRequest,
    ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema, Implementation,
    InitializeResult, InputRequest, InputRequests, InputRequiredResult, JsonObject,
    ListResourcesResult, ListToolsResult, MetaObject, PaginatedRequestParams, ProtocolVersion,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ServerCapabilities, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sova::call::{CallOptions, Paid};
use sova::intel::{
    BatchHudRequest, DeepRequest, HoldersAgentRequest, HoldersRequest, SimilarityAgentRequest,
    SimilarityRequest, SortOrder, TokenPnlParams, TokenSortBy, WalletHudRequest,
    WalletProfileRequest, WalletTokensRequest,
};
use sova::protocol::Endpoint;
use sova::protocol::jobs::{FollowUp, JobHandle, PollConfig};
use sova_transport_async::AsyncTransport;
use sova_x402::{Payer, PolicyRefusal, RefusalReason, programs};

use crate::config::{Builder, Limits, MAX_WAIT};
use crate::spend::{SpendEntry, SpendLog, UncertainEntry, receipt_json, receipt_sentence};
use crate::tools::{self, Shape};
use crate::usdc;

/// The `_meta` key of a result's payment receipt (the x402 `PAYMENT-RESPONSE`, with the
/// payer's references).
pub const RECEIPT_META_KEY: &str = "x402/payment-response";

/// The key of the approval request in an MRTR `inputRequests` map.
pub const APPROVAL_INPUT_KEY: &str = "sova_payment_approval";

/// How long an approval request sent as an MRTR `input_required` result stays answerable.
const PENDING_APPROVAL_TTL: Duration = Duration::from_secs(600);

const INSTRUCTIONS: &str = "Sova Intel: on-chain intelligence on Solana wallets and tokens. \
Paid tools pay per call in Solana USDC (x402) inside this session's spend policy: a per-payment \
cap, a session budget, optional per-tool caps, and the user's approval above a threshold. \
Every result states what was paid and the budget left; budget_status and spend_report are free. \
Long jobs return a handle: continue with job_wait, which never pays again. When a result says a \
payment may have been charged, do not call the tool again: report the reference to the user.";

const HELP: &str = "# Sova Intel MCP server: how paying works

* **x402 (default):** each paid tool pays the Sova Intel price in USDC on Solana from the wallet \
the server was started with (`SOVA_KEYPAIR` or `SOLANA_PRIVATE_KEY`). 1 credit = 0.015 USDC.
* **API key:** with `SOVA_API_KEY=ak_…` calls use prepaid credits instead; no USDC moves.
* **Spend policy:** a per-payment cap (`--max-payment`, `SOVA_MAX_PAYMENT`), a session budget \
(`--budget`, `SOVA_BUDGET`), optional per-tool caps (`--tool-cap tool=USDC`, `SOVA_MCP_TOOL_CAPS`) \
and a rate limit (`SOVA_PAYMENTS_PER_MINUTE`). Nothing is signed when a rule refuses.
* **Approval:** a payment above `--approve-above` (`SOVA_MCP_APPROVE_ABOVE`, default 0.10 USDC) is \
shown to the user first through MCP elicitation; clients that cannot ask get a refusal and nothing \
is paid.
* **Receipts:** every paid result carries the x402 receipt in `_meta[\"x402/payment-response\"]` \
(transaction, amount, asset, payTo, network, payer signature); `spend_report` lists them all.
* **Jobs:** holder profiles, similarity and the deep analysis are charged once, when queued. \
`job_wait` continues a job from its handle for free, however often it is called.
* **Uncertain payments:** when a payment was sent and its outcome is unknown, the result says so \
with the payer signature. Do not call the tool again; check the transaction first.
";

/// Locks a mutex, ignoring poisoning (the data is a log; a panic elsewhere does not corrupt it).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A payment approval asked through an MRTR `input_required` result, waiting for the retry.
#[derive(Debug)]
struct PendingApproval {
    tool: String,
    arguments: Value,
    amount: u64,
    asked: Instant,
}

/// The shared state of one server (all its MCP sessions).
pub(crate) struct Inner {
    client: sova::intel::Client,
    builder: sova::intel::ClientBuilder,
    transport: Arc<dyn AsyncTransport>,
    payer: Option<Arc<Payer>>,
    api_key: bool,
    limits: Limits,
    approve_above: Option<u64>,
    tool_caps: BTreeMap<String, u64>,
    wait: Duration,
    poll_interval: Duration,
    approval_timeout: Duration,
    tools: Vec<Tool>,
    log: Mutex<SpendLog>,
    approvals: Mutex<HashMap<String, PendingApproval>>,
}

impl Inner {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        client: sova::intel::Client,
        builder: sova::intel::ClientBuilder,
        transport: Arc<dyn AsyncTransport>,
        payer: Option<Arc<Payer>>,
        api_key: bool,
        limits: Limits,
        approve_above: Option<u64>,
        tool_caps: BTreeMap<String, u64>,
        wait: Duration,
        poll_interval: Duration,
        approval_timeout: Duration,
    ) -> Inner {
        Inner {
            client,
            builder,
            transport,
            payer,
            api_key,
            limits,
            approve_above,
            tool_caps,
            wait,
            poll_interval,
            approval_timeout,
            tools: tools::all(),
            log: Mutex::default(),
            approvals: Mutex::default(),
        }
    }

    /// A client whose job waits last at most `wait` (same transport, payer and policy).
    fn waiter(&self, wait: Duration) -> Result<sova::intel::Client, sova::Error> {
        let poll = PollConfig {
            interval: self.poll_interval,
            max_wait: wait,
        };
        sova::intel::Client::with_transport(self.builder.clone().poll(poll), self.transport.clone())
    }

    fn spent(&self) -> Option<u64> {
        self.payer
            .as_ref()
            .map(|p| p.policy().spent(&programs::USDC_MAINNET))
    }

    /// The budget as JSON (the `budget_status` tool and the `sova://budget` resource).
    fn budget_json(&self) -> Value {
        let log = lock(&self.log);
        let mode = match (&self.payer, self.api_key) {
            (Some(_), true) => "api-key+x402",
            (Some(_), false) => "x402",
            (None, true) => "api-key",
            (None, false) => "none",
        };
        let caps: serde_json::Map<String, Value> = self
            .tool_caps
            .iter()
            .map(|(k, v)| (k.clone(), usdc::json(*v)))
            .collect();
        let mut doc = json!({
            "mode": mode,
            "asset": "USDC",
            "maxPayment": usdc::json(self.limits.max_payment),
            "budget": usdc::json(self.limits.budget),
            "approveAbove": self.approve_above.map(usdc::json),
            "toolCaps": caps,
            "paymentsPerMinute": {"limit": self.limits.per_minute, "lastMinute": log.last_minute()},
            "payments": log.settled.len(),
            "paid": usdc::json(log.total()),
            "uncertainPayments": log.uncertain.len(),
        });
        if let Some(p) = &self.payer {
            let spent = p.policy().spent(&programs::USDC_MAINNET);
            doc["wallet"] = json!(p.pubkey().to_string());
            doc["spent"] = usdc::json(spent);
            doc["remaining"] = usdc::json(self.limits.budget.saturating_sub(spent));
        }
        doc
    }

    fn budget_sentence(&self) -> Option<String> {
        let spent = self.spent()?;
        Some(format!(
            "Budget: {} of {} USDC spent, {} USDC left.",
            usdc::format(spent),
            usdc::format(self.limits.budget),
            usdc::format(self.limits.budget.saturating_sub(spent))
        ))
    }

    fn spend_report_json(&self) -> Value {
        let log = lock(&self.log);
        json!({
            "payments": log.settled,
            "total": usdc::json(log.total()),
            "uncertain": log.uncertain,
        })
    }

    fn wait_for(&self, seconds: Option<u32>) -> Duration {
        seconds
            .map(|s| Duration::from_secs(u64::from(s)))
            .unwrap_or(self.wait)
            .min(MAX_WAIT)
    }
}

/// The Sova Intel MCP server. Cheap to clone: clones share the client, the spend policy and
/// the session's spend log.
///
/// Serve it over stdio with [`SovaMcp::serve_stdio`] or over streamable HTTP with
/// [`SovaMcp::serve_http`]; it is an [`rmcp::ServerHandler`], so any rmcp transport works.
#[derive(Clone)]
pub struct SovaMcp {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SovaMcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SovaMcp")
            .field("limits", &self.inner.limits)
            .field("approve_above", &self.inner.approve_above)
            .field("tool_caps", &self.inner.tool_caps)
            .field("payer", &self.inner.payer.as_ref().map(|p| p.pubkey()))
            .finish_non_exhaustive()
    }
}

impl SovaMcp {
    /// A builder.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn from_inner(inner: Inner) -> SovaMcp {
        SovaMcp {
            inner: Arc::new(inner),
        }
    }

    /// The Intel client the tools call (for comparisons and direct use).
    pub fn intel(&self) -> &sova::intel::Client {
        &self.inner.client
    }

    /// The spend limits.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// The paying wallet, when x402 is configured.
    pub fn wallet(&self) -> Option<sova_x402::Pubkey> {
        self.inner.payer.as_ref().map(|p| p.pubkey())
    }

    /// Every settled payment of this server, in order.
    pub fn spend_report(&self) -> Vec<SpendEntry> {
        lock(&self.inner.log).settled.clone()
    }

    /// Every payment whose outcome is unknown.
    pub fn uncertain_payments(&self) -> Vec<UncertainEntry> {
        lock(&self.inner.log).uncertain.clone()
    }

    /// The tools, as listed to clients.
    pub fn tools(&self) -> &[Tool] {
        &self.inner.tools
    }
}

// ---- one tool call ------------------------------------------------------------------------

/// A successful tool answer: a sentence, the data, and the handles when a job is still running.
struct Reply {
    summary: String,
    data: Value,
    pending: Option<Value>,
}

impl Reply {
    fn done(summary: impl Into<String>, data: Value) -> Reply {
        Reply {
            summary: summary.into(),
            data,
            pending: None,
        }
    }
}

/// A failed tool call, as the model reads it.
struct ToolError {
    kind: &'static str,
    message: String,
    details: Value,
}

impl ToolError {
    fn new(kind: &'static str, message: impl Into<String>) -> ToolError {
        ToolError {
            kind,
            message: message.into(),
            details: Value::Null,
        }
    }

    fn with(mut self, details: Value) -> ToolError {
        self.details = details;
        self
    }
}

/// Why a tool call stopped early.
enum Stop {
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
enum Approved {
    /// Nothing yet.
    No,
    /// The user approved payments up to this amount (an MRTR retry).
    UpTo(u64),
}

/// The state of one `tools/call`.
struct Call<'a> {
    inner: &'a Inner,
    tool: &'static str,
    arguments: Value,
    ctx: &'a RequestContext<RoleServer>,
    approved: Approved,
    receipts: Vec<SpendEntry>,
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

/// How long a wallet tool waits at least for the server's analysis (the `202` fallback)
/// before giving up; the payment it signed rides on the re-call.
const WALLET_WAIT: Duration = Duration::from_secs(120);

/// One SDK call, owned (it holds its own client clone and options).
type SdkFuture<T> =
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
    fn record(
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
            self.receipts.push(e);
        }
    }

    /// Pays for `endpoint` under the policy, asking the user above the approval threshold.
    async fn pay<E>(&mut self, endpoint: &E) -> Result<E::Output, Stop>
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
    /// the approval threshold. `call` is run with a per-call cap; when the price is above
    /// it (nothing signed), the user is asked, and on approval it runs once more with the
    /// approved amount as the cap.
    async fn pay_by<T, F>(
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
        self.ask_approval(amount, name).await?;
        match call(client.clone(), capped(Some(amount))).await {
            Ok(Paid { value, receipt, .. }) => {
                self.record(name, receipt.as_ref(), true);
                Ok(value)
            }
            Err(e) => Err(self.sdk_error(name, e).into()),
        }
    }

    fn approval_message(&self, amount: u64, endpoint: &str) -> String {
        let mut m = format!(
            "Sova Intel: the tool {} ({endpoint}) costs {} USDC, above your approval threshold of {} USDC.",
            self.tool,
            usdc::format(amount),
            usdc::format(self.inner.approve_above.unwrap_or(0))
        );
        if let Some(b) = self.inner.budget_sentence() {
            m.push(' ');
            m.push_str(&b);
        }
        m.push_str(" Approve this one payment?");
        m
    }

    fn approval_request(&self, amount: u64, endpoint: &str) -> Result<ElicitRequestParams, Stop> {
        let schema = ElicitationSchema::builder()
            .required_bool_property("approve", |b| {
                b.title(format!("Pay {} USDC", usdc::format(amount)))
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
            message: self.approval_message(amount, endpoint),
            requested_schema: schema,
        })
    }

    /// Asks the user to approve `amount`. Returns when approved; otherwise stops the call.
    async fn ask_approval(&mut self, amount: u64, endpoint: &str) -> Result<(), Stop> {
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
        let params = self.approval_request(amount, endpoint)?;
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

    /// Maps an SDK error to what the model reads, recording an uncertain payment.
    fn sdk_error(&self, endpoint: &str, e: sova::Error) -> ToolError {
        use sova::Error as E;
        if e.may_have_charged() {
            let payment = e.payment().cloned();
            let reason = e.to_string();
            if let Some(p) = &payment {
                lock(&self.inner.log).record_uncertain(self.tool, endpoint, p, &reason);
            }
            let reference = payment.as_ref().map(|p| {
                json!({
                    "payerSignature": p.signature,
                    "amount": usdc::json(p.amount),
                    "asset": p.asset,
                    "payTo": p.pay_to,
                    "memo": p.memo,
                })
            });
            let what = payment
                .as_ref()
                .map(|p| {
                    format!(
                        "A payment of {} USDC (payer signature {}) was signed and sent, and its outcome is unknown: it may have been charged.",
                        usdc::format(p.amount),
                        p.signature
                    )
                })
                .unwrap_or_else(|| "A payment was sent and its outcome is unknown: it may have been charged.".into());
            return ToolError::new(
                "payment_uncertain",
                format!("{what} Do not call this tool again for the same request; tell the user and check the transaction first. Details: {reason}"),
            )
            .with(json!({"payment": reference}));
        }
        let payment = e
            .payment()
            .map(|p| json!({"payerSignature": p.signature, "amount": usdc::json(p.amount)}));
        match e {
            E::Build(b) => {
                ToolError::new("invalid_input", format!("{b}. Nothing was sent or paid."))
            }
            E::PaymentRefused(ref refusals) => {
                let why = refusals
                    .iter()
                    .find_map(|r| match &r.reason {
                        RefusalReason::Policy(p) => Some(policy_sentence(p)),
                        _ => None,
                    })
                    .unwrap_or_else(|| e.to_string());
                ToolError::new(
                    "payment_refused",
                    format!("{why} Nothing was signed or paid."),
                )
            }
            E::PaymentRequired(_) => ToolError::new(
                "payment_required",
                format!(
                    "{e}. This server has no wallet to pay with; start it with a keypair (SOVA_KEYPAIR) or an API key (SOVA_API_KEY)."
                ),
            ),
            E::Api { ref error, .. } => {
                let d = json!({"status": error.status.as_u16(), "payment": payment});
                ToolError::new("api_error", e.to_string()).with(d)
            }
            E::Rpc(_) => ToolError::new("network_error", format!("{e}. Nothing was paid.")),
            E::Payment(_) => {
                ToolError::new("payment_error", format!("{e}. Nothing was sent or paid."))
            }
            E::JobFailed { .. } => ToolError::new("job_failed", e.to_string()),
            E::ResultExpired { .. } => ToolError::new("result_expired", e.to_string()),
            E::Transport { .. } | E::CallTimeout { .. } => {
                ToolError::new("network_error", e.to_string()).with(json!({"payment": payment}))
            }
            other => ToolError::new("error", other.to_string()).with(json!({"payment": payment})),
        }
    }

    // ---- the tools ----------------------------------------------------------------------

    async fn run(&mut self) -> Result<Reply, Stop> {
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
                    page: a.page,
                    page_size: a.page_size,
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
                let page = self.pay(&ep).await?;
                let summary = format!(
                    "Token PnL of {}: page {} of {} ({} tokens).",
                    ep.address,
                    page.page,
                    page.page_count(),
                    page.total
                );
                Ok(Reply::done(summary, to_json(&page)))
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
                        let acc = self
                            .pay(&HoldersAgentRequest::new(a.mint).top_n(top_n))
                            .await?;
                        (acc.handle(), to_json(&acc))
                    }
                    Shape::Full => {
                        let acc = self.pay(&HoldersRequest::new(a.mint).top_n(top_n)).await?;
                        (acc.holder_profiles_handle(), to_json(&acc))
                    }
                };
                self.follow(handle, accepted, wait, "Holder profiles").await
            }
            "wallet_similarity" => {
                let a: tools::SimilarityArgs = self.args()?;
                let wait = self.inner.wait_for(a.wait_seconds);
                let wallets = a.wallets.iter().map(String::as_str);
                let (handle, accepted) = match a.shape {
                    Shape::Agent => {
                        let acc = self.pay(&SimilarityAgentRequest::new(wallets)).await?;
                        (acc.handle(), to_json(&acc))
                    }
                    Shape::Full => {
                        let acc = self.pay(&SimilarityRequest::new(wallets)).await?;
                        (acc.similarity_handle(), to_json(&acc))
                    }
                };
                self.follow(handle, accepted, wait, "Wallet similarity")
                    .await
            }
            "deep_token_analysis" => {
                let a: tools::DeepArgs = self.args()?;
                let wait = self.inner.wait_for(a.wait_seconds);
                let top_n = a.top_n.unwrap_or(sova::intel::DEFAULT_TOP_N);
                let acc = self.pay(&DeepRequest::new(a.mint).top_n(top_n)).await?;
                self.follow(acc.handle(), to_json(&acc), wait, "Deep token analysis")
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
                self.job_wait(handle, wait).await
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
                let v = self.inner.budget_json();
                let summary = self
                    .inner
                    .budget_sentence()
                    .unwrap_or_else(|| "No x402 wallet: calls use the API key's credits.".into());
                Ok(Reply::done(summary, v))
            }
            "spend_report" => {
                let _: tools::NoArgs = self.args()?;
                let v = self.inner.spend_report_json();
                let (n, total, unsure) = {
                    let log = lock(&self.inner.log);
                    (log.settled.len(), log.total(), log.uncertain.len())
                };
                let mut summary = format!(
                    "{n} payments this session, {} USDC in all.",
                    usdc::format(total)
                );
                if unsure > 0 {
                    summary.push_str(&format!(
                        " {unsure} payments have an unknown outcome (listed under uncertain)."
                    ));
                }
                Ok(Reply::done(summary, v))
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

    /// A wallet GET that may fall back to a job (HUD, profile).
    async fn wallet<R: WalletGet>(&mut self, ep: R, wait: Duration) -> Result<Reply, Stop> {
        // One logical request in the SDK: the GET, its free 202 fallback, the job wait and
        // the re-call with X-Prepaid-Job-Id, with one payment that rides on the re-call.
        // The server holds the payment while its analysis runs and settles it on the
        // re-call, so the wait happens inside this call (at least WALLET_WAIT): a handle
        // returned here could only be continued with a second payment.
        let client = self
            .inner
            .waiter(wait.max(WALLET_WAIT))
            .map_err(|e| self.sdk_error(ep.name(), e))?;
        let summary = ep.summary();
        let value = self
            .pay_by(ep.name(), &client, move |c, o| {
                let ep = ep.clone();
                Box::pin(async move { c.wallet_get_with(ep, &o).await })
            })
            .await?;
        Ok(Reply::done(format!("{summary}."), to_json(&value)))
    }

    /// Continues a wallet GET whose analysis was still running: the re-call with
    /// `X-Prepaid-Job-Id` is the documented charged answer (the earlier `202` was free).
    async fn recall<R: WalletGet>(&mut self, recall: R, wait: Duration) -> Result<Reply, Stop> {
        self.wallet(recall, wait).await
    }

    /// Waits for a POST job up to `wait`, then fetches its result (free), or returns the handle.
    async fn follow(
        &mut self,
        mut handle: JobHandle,
        accepted: Value,
        wait: Duration,
        what: &str,
    ) -> Result<Reply, Stop> {
        if handle.queued_at_unix.is_none() {
            handle.queued_at_unix = Some(now_unix());
        }
        let waiter = self
            .inner
            .waiter(wait)
            .map_err(|e| self.sdk_error("intel.jobs", e))?;
        match waiter.resume::<Value>(&handle).await {
            Ok(v) => {
                let data = self.with_also(&handle, v).await?;
                Ok(Reply::done(format!("{what}: completed."), data))
            }
            Err(sova::Error::JobPending { waited, .. }) => {
                Ok(pending_reply(&handle, accepted, waited, what))
            }
            Err(e) => Err(self.sdk_error("intel.jobs", e).into()),
        }
    }

    /// Adds the extra results a handle names (the deep bundle's holder profiles).
    async fn with_also(&self, handle: &JobHandle, main: Value) -> Result<Value, Stop> {
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

    async fn job_wait(&mut self, handle: JobHandle, wait: Duration) -> Result<Reply, Stop> {
        match &handle.follow_up {
            FollowUp::PrepaidRecall {
                endpoint,
                address,
                prepaid_job_id,
            } => {
                if endpoint.contains("hud") {
                    let r = WalletHudRequest::new(address.clone())
                        .prepaid_job_id(prepaid_job_id.clone());
                    self.recall(r, wait).await
                } else {
                    let r = WalletProfileRequest::new(address.clone())
                        .prepaid_job_id(prepaid_job_id.clone());
                    self.recall(r, wait).await
                }
            }
            _ => {
                let accepted = json!({"jobId": handle.job_id});
                self.follow(handle, accepted, wait, "Job").await
            }
        }
    }
}

/// A spend-policy refusal in USDC, as one sentence.
fn policy_sentence(p: &PolicyRefusal) -> String {
    match p {
        PolicyRefusal::OverCap { amount, cap, .. } => format!(
            "The price, {} USDC, is above the per-payment cap of {} USDC (set when the server starts, --max-payment).",
            usdc::format(*amount),
            usdc::format(*cap)
        ),
        PolicyRefusal::OverBudget {
            amount,
            spent,
            budget,
            remaining,
            ..
        } => format!(
            "The price, {} USDC, is above what is left of the session budget: {} USDC ({} of {} USDC spent).",
            usdc::format(*amount),
            usdc::format(*remaining),
            usdc::format(*spent),
            usdc::format(*budget)
        ),
        PolicyRefusal::RateLimited { count, limit } => format!(
            "The payment rate limit is reached: {count} payments in the last minute (limit {limit} per minute)."
        ),
        other => format!("The spend policy refused the payment: {other}."),
    }
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
        pending: Some(json!({
            "handle": h,
            "jobId": handle.job_id,
            "resumeTool": "job_wait",
        })),
    }
}

fn accepted(r: &ElicitResult) -> bool {
    r.action == ElicitationAction::Accept
        && r.content
            .as_ref()
            .and_then(|c| c.get("approve"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
}

fn declined(price: &str, action: ElicitationAction) -> ToolError {
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

// ---- results --------------------------------------------------------------------------------

impl Call<'_> {
    fn finish(self, outcome: Result<Reply, ToolError>) -> CallToolResult {
        let inner = self.inner;
        let budget = inner.budget_sentence();
        let payments: Vec<Value> = self.receipts.iter().map(receipt_json).collect();
        let mut lines: Vec<String> = Vec::new();
        let (ok, mut doc) = match outcome {
            Ok(reply) => {
                lines.push(reply.summary.clone());
                let status = if reply.pending.is_some() {
                    "pending"
                } else {
                    "completed"
                };
                (
                    true,
                    json!({
                        "ok": true,
                        "tool": self.tool,
                        "status": status,
                        "summary": reply.summary,
                        "data": reply.data,
                        "job": reply.pending,
                    }),
                )
            }
            Err(e) => {
                lines.push(format!("Error ({}): {}", e.kind, e.message));
                (
                    false,
                    json!({
                        "ok": false,
                        "tool": self.tool,
                        "status": "error",
                        "error": {"kind": e.kind, "message": e.message, "details": e.details},
                    }),
                )
            }
        };
        for r in &self.receipts {
            lines.push(receipt_sentence(r));
        }
        if (!self.receipts.is_empty() || !ok)
            && let Some(b) = &budget
        {
            lines.push(b.clone());
        }
        doc["payments"] = Value::Array(payments.clone());
        if inner.payer.is_some() {
            doc["budget"] = json!({
                "spent": inner.spent().map(usdc::json),
                "remaining": inner.spent().map(|s| usdc::json(inner.limits.budget.saturating_sub(s))),
            });
        }
        let mut text = lines.join("\n");
        if ok {
            text.push_str("\n\n");
            text.push_str(&serde_json::to_string_pretty(&doc["data"]).unwrap_or_default());
            if let Some(job) = doc.get("job").filter(|j| !j.is_null()) {
                text.push_str("\n\njob: ");
                text.push_str(&job.to_string());
            }
        }
        let mut result = if ok {
            CallToolResult::success(vec![ContentBlock::text(text)])
        } else {
            CallToolResult::error(vec![ContentBlock::text(text)])
        };
        result.structured_content = Some(doc);
        if let Some(last) = payments.last() {
            let mut meta = JsonObject::new();
            meta.insert(RECEIPT_META_KEY.to_owned(), last.clone());
            if payments.len() > 1 {
                meta.insert("sova/payments".to_owned(), Value::Array(payments));
            }
            result = result.with_meta(Some(MetaObject(meta)));
        }
        result
    }
}

// ---- the MCP handler ------------------------------------------------------------------------

fn resource_list() -> Vec<Resource> {
    vec![
        Resource::new("sova://pricing", "pricing")
            .with_title("Sova Intel pricing")
            .with_description("The live price list (credits per endpoint; 1 credit = 0.015 USDC).")
            .with_mime_type("application/json"),
        Resource::new("sova://help", "help")
            .with_title("How this server pays")
            .with_description("Auth modes, the spend policy, approvals, receipts and jobs.")
            .with_mime_type("text/markdown"),
        Resource::new("sova://budget", "budget")
            .with_title("Budget")
            .with_description("The session's spend policy, what was spent and what is left.")
            .with_mime_type("application/json"),
    ]
}

impl SovaMcp {
    /// Runs one tool call to its result (used by the handler; public for in-process use).
    async fn call(
        &self,
        request: CallToolRequestParams,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(tool) = self
            .inner
            .tools
            .iter()
            .map(|t| t.name.as_ref())
            .find(|n| *n == request.name.as_ref())
            .and_then(|n| tools_static_name(n))
        else {
            return Err(McpError::invalid_params(
                format!("no tool named {:?}", request.name),
                None,
            ));
        };
        let arguments = request
            .arguments
            .clone()
            .map(Value::Object)
            .unwrap_or(Value::Null);
        let mut call = Call {
            inner: &self.inner,
            tool,
            arguments,
            ctx,
            approved: Approved::No,
            receipts: Vec::new(),
        };
        // An MRTR retry: the client answered an approval request.
        if let Some(state) = &request.request_state {
            let pending = lock(&self.inner.approvals).remove(state);
            if let Some(p) = pending
                && p.tool == tool
                && p.arguments == call.arguments
                && p.asked.elapsed() < PENDING_APPROVAL_TTL
            {
                let answer = request
                    .input_responses
                    .as_ref()
                    .and_then(|r| r.get(APPROVAL_INPUT_KEY))
                    .and_then(|v| serde_json::from_value::<ElicitResult>(v.clone()).ok());
                let price = format!("{} USDC", usdc::format(p.amount));
                match answer {
                    Some(r) if accepted(&r) => call.approved = Approved::UpTo(p.amount),
                    Some(r) => {
                        let e = declined(&price, r.action);
                        return Ok(CallToolResponse::Complete(call.finish(Err(e))));
                    }
                    None => {
                        let e = ToolError::new(
                            "payment_declined",
                            format!(
                                "No answer to the approval request for {price}. Nothing was signed or paid."
                            ),
                        );
                        return Ok(CallToolResponse::Complete(call.finish(Err(e))));
                    }
                }
            }
        }
        match call.run().await {
            Ok(reply) => Ok(CallToolResponse::Complete(call.finish(Ok(reply)))),
            Err(Stop::Error(e)) => Ok(CallToolResponse::Complete(call.finish(Err(e)))),
            Err(Stop::Input(input)) => Ok(CallToolResponse::InputRequired(input)),
        }
    }

    async fn read(&self, uri: &str) -> Result<ReadResourceResult, McpError> {
        let (text, mime) = match uri {
            "sova://pricing" => {
                let v = self.inner.client.pricing().await.map_err(|e| {
                    McpError::internal_error(format!("could not read the pricing: {e}"), None)
                })?;
                (
                    serde_json::to_string_pretty(&v).unwrap_or_default(),
                    "application/json",
                )
            }
            "sova://help" => (HELP.to_owned(), "text/markdown"),
            "sova://budget" => (
                serde_json::to_string_pretty(&self.inner.budget_json()).unwrap_or_default(),
                "application/json",
            ),
            other => {
                return Err(McpError::resource_not_found(
                    format!(
                        "no resource {other:?} (try sova://pricing, sova://help, sova://budget)"
                    ),
                    None,
                ));
            }
        };
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(text, uri).with_mime_type(mime),
        ]))
    }
}

/// The static name of a listed tool.
fn tools_static_name(name: &str) -> Option<&'static str> {
    const ALL: &[&str] = &[
        "wallet_hud",
        "wallet_profile",
        "wallet_token_pnl",
        "batch_wallet_hud",
        "token_holder_profiles",
        "wallet_similarity",
        "deep_token_analysis",
        "job_status",
        "job_wait",
        "pricing",
        "budget_status",
        "spend_report",
    ];
    ALL.iter().copied().find(|n| *n == name)
}

impl ServerHandler for SovaMcp {
    fn get_info(&self) -> InitializeResult {
        InitializeResult::new(
            ServerCapabilities::builder()
                .enable_resources()
                .enable_tools()
                .build(),
        )
        .with_server_info(
            Implementation::new("sova-mcp", env!("CARGO_PKG_VERSION")).with_title("Sova Intel"),
        )
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.inner.tools.clone()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.inner.tools.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        self.call(request, &context).await
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(resource_list()))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        self.read(&request.uri)
            .await
            .map(ReadResourceResponse::Complete)
    }
}
