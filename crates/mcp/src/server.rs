//! The MCP server: tool calls, payments under the spend policy, approvals, resources.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ElicitResult, Implementation, InitializeResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ServerCapabilities, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde::Serialize;
use serde_json::{Value, json};
use sova::protocol::jobs::PollConfig;
use sova_transport_async::AsyncTransport;
use sova_x402::Payer;
use sova_x402::ledger::Ledger;

use crate::call::{Approved, Call, Stop, ToolError, accepted, declined};
use crate::config::{Builder, Limits, MAX_WAIT};
use crate::spend::{SpendEntry, SpendLog, UncertainEntry};
use crate::tools;
use crate::usdc;

/// The `_meta` key of a result's payment receipt (the x402 `PAYMENT-RESPONSE`, with the
/// payer's references).
pub const RECEIPT_META_KEY: &str = "x402/payment-response";

/// The key of the approval request in an MRTR `inputRequests` map.
pub const APPROVAL_INPUT_KEY: &str = "sova_payment_approval";

/// How long an approval request sent as an MRTR `input_required` result stays answerable.
pub(crate) const PENDING_APPROVAL_TTL: Duration = Duration::from_secs(600);

const INSTRUCTIONS: &str = "Sova Intel: on-chain intelligence on Solana wallets and tokens. \
Paid tools pay per call in Solana USDC (x402) inside the spend policy: a per-payment \
cap, a budget over a rolling window kept in the payment ledger (shared with every server on it), optional per-tool caps, and the user's approval above a threshold. \
Every result states what was paid and the budget left; budget_status and spend_report are free. \
Long jobs return a handle: continue with job_wait, which never pays again. When a result says a \
payment may have been charged, do not call the tool again: report the reference to the user.";

const HELP: &str = "# Sova Intel MCP server: how paying works

* **x402 (default):** each paid tool pays the Sova Intel price in USDC on Solana from the wallet \
the server was started with (`SOVA_KEYPAIR` or `SOLANA_PRIVATE_KEY`). 1 credit = 0.015 USDC.
* **API key:** with `SOVA_API_KEY=ak_…` calls use prepaid credits instead; no USDC moves.
* **Job results:** Sova requires authentication to read a finished job's result, and documents \
no way in for an x402-only caller. With x402, also set `SOVA_RESULTS_API_KEY=ak_…` (a key used \
only to read results, never charged); without any key the job tools stop before the read and \
return the handle, and the job is not paid again.
* **Spend policy:** a per-payment cap (`--max-payment`, `SOVA_MAX_PAYMENT`), a budget over a \
rolling window (`--budget`, `SOVA_BUDGET`: `AMOUNT[/WINDOW]`, default 10 USDC a day) counted in the \
payment ledger (`SOVA_LEDGER`; default a SQLite file in the user's data directory), so it survives \
restarts and every server on the machine shares it, optional per-tool caps (`--tool-cap tool=USDC`, `SOVA_MCP_TOOL_CAPS`) \
and a rate limit (`SOVA_PAYMENTS_PER_MINUTE`). Nothing is signed when a rule refuses.
* **Approval:** a payment above `--approve-above` (`SOVA_MCP_APPROVE_ABOVE`, default 0.10 USDC) is \
shown to the user first through MCP elicitation; clients that cannot ask get a refusal and nothing \
is paid.
* **Receipts:** every paid result carries the x402 receipt in `_meta[\"x402/payment-response\"]` \
(transaction, amount, asset, payTo, network, payer signature); `spend_report` lists them all.
* **Jobs:** holder profiles, similarity and the deep analysis are charged once, when queued. \
`job_wait` continues a job from its handle for free, however often it is called.
* **Payments:** `payments` lists the journal of payments (free); payments whose outcome is unknown \
are reconciled with our own Solana RPC at start, every 30 s, and on demand (`payments` with \
`reconcile: true`).
* **Uncertain payments:** when a payment was sent and its outcome is unknown, the result says so \
with the payer signature. Do not call the tool again; check the transaction first.
";

/// Locks a mutex, ignoring poisoning (the data is a log; a panic elsewhere does not corrupt it).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A payment approval asked through an MRTR `input_required` result, waiting for the retry.
#[derive(Debug)]
pub(crate) struct PendingApproval {
    pub(crate) tool: String,
    pub(crate) arguments: Value,
    pub(crate) amount: u64,
    pub(crate) asked: Instant,
}

/// The shared state of one server (all its MCP sessions).
pub(crate) struct Inner {
    pub(crate) client: sova::intel::Client,
    pub(crate) builder: sova::intel::ClientBuilder,
    pub(crate) transport: Arc<dyn AsyncTransport>,
    pub(crate) payer: Option<Arc<Payer>>,
    pub(crate) api_key: bool,
    pub(crate) limits: Limits,
    pub(crate) approve_above: Option<u64>,
    pub(crate) tool_caps: BTreeMap<String, u64>,
    pub(crate) wait: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) approval_timeout: Duration,
    pub(crate) tools: Vec<Tool>,
    pub(crate) log: Mutex<SpendLog>,
    pub(crate) approvals: Mutex<HashMap<String, PendingApproval>>,
    /// Rows of per-token PnL per wallet, as the last page read said: a page past the end is
    /// refused before paying.
    pub(crate) pnl_totals: Mutex<HashMap<String, u64>>,
    /// The payment ledger: the budget and the journal, shared with every server on it.
    pub(crate) ledger: Ledger,
    /// How often the background reconciliation runs.
    pub(crate) reconcile_every: Duration,
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
        ledger: Ledger,
        reconcile_every: Duration,
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
            tools: tools::all_with_wait(wait.as_secs()),
            log: Mutex::default(),
            approvals: Mutex::default(),
            pnl_totals: Mutex::default(),
            ledger,
            reconcile_every,
        }
    }

    /// A client whose job waits last at most `wait` (same transport, payer and policy),
    /// telling `progress` about every job status read.
    pub(crate) fn waiter(
        &self,
        wait: Duration,
        progress: Option<crate::progress::Reporter>,
    ) -> Result<sova::intel::Client, sova::Error> {
        let poll = PollConfig {
            interval: self.poll_interval,
            max_wait: wait,
        };
        let mut b = self.builder.clone().poll(poll);
        if let Some(r) = progress {
            b = b.on_progress(move |p| r.report(p));
        }
        sova::intel::Client::with_transport(b, self.transport.clone())
    }

    /// Base units the wallet holds in the budget's window, from the ledger (`None` without a
    /// wallet or when the ledger cannot be read).
    pub(crate) async fn spent(&self) -> Option<u64> {
        let p = self.payer.as_ref()?;
        crate::journal::held(&self.ledger, &p.pubkey().to_string(), self.limits.window)
            .await
            .ok()
    }

    /// The budget as JSON (the `budget_status` tool and the `sova://budget` resource), read
    /// from the ledger: every server on it shares the budget.
    pub(crate) async fn budget_json(&self) -> Value {
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
            "window": self.limits.window.as_str(),
            "approveAbove": self.approve_above.map(usdc::json),
            "toolCaps": caps,
            "ledger": self.ledger.describe(),
            "ledgerDurable": self.ledger.is_durable(),
        });
        if let Some(p) = &self.payer {
            doc["wallet"] = json!(p.pubkey().to_string());
        }
        match crate::journal::spent(self).await {
            None => {}
            Some(Ok(s)) => {
                doc["spent"] = usdc::json(s.held);
                doc["remaining"] = usdc::json(self.limits.budget.saturating_sub(s.held));
                doc["payments"] = json!(s.charged.0);
                doc["paid"] = usdc::json(s.charged.1);
                doc["uncertainPayments"] = json!(s.unsure.0);
                doc["uncertainAmount"] = usdc::json(s.unsure.1);
                doc["paymentsPerMinute"] =
                    json!({"limit": self.limits.per_minute, "lastMinute": s.last_minute});
            }
            Some(Err(e)) => doc["ledgerError"] = json!(e.to_string()),
        }
        doc
    }

    /// The sentence of `budget_status`, from its document.
    pub(crate) fn budget_sentence(&self, doc: &Value) -> Option<String> {
        self.payer.as_ref()?;
        let Some(spent) = doc["spent"]["baseUnits"].as_u64() else {
            return Some(format!(
                "The payment ledger could not be read ({}); no payment is made until it can.",
                doc["ledgerError"].as_str().unwrap_or("unknown error")
            ));
        };
        let mut s = format!(
            "Budget: {} of {} USDC spent {}, {} USDC left (shared by every server on the ledger).",
            usdc::format(spent),
            usdc::format(self.limits.budget),
            crate::journal::window_phrase(self.limits.window),
            usdc::format(self.limits.budget.saturating_sub(spent))
        );
        if let Some(n) = doc["uncertainPayments"].as_u64().filter(|n| *n > 0) {
            s.push_str(&format!(
                " {n} payments may have been charged and count until reconciled."
            ));
        }
        Some(s)
    }

    pub(crate) fn wait_for(&self, seconds: Option<u32>) -> Duration {
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

    /// The payment ledger: the budget and the journal this server shares with every server
    /// and process on it.
    pub fn ledger(&self) -> &Ledger {
        &self.inner.ledger
    }

    /// Starts reconciling payments whose outcome is unknown: once now, then every
    /// [`Builder::reconcile_every`](crate::Builder::reconcile_every) (30 s by default),
    /// until the guard is dropped. [`SovaMcp::serve_stdio`] and [`SovaMcp::serve_http`] run
    /// one while they serve. Needs a Tokio runtime.
    pub fn start_reconciler(&self) -> crate::journal::Reconciler {
        crate::journal::start(Arc::clone(&self.inner))
    }

    /// Every settled payment this server made in this session, in order (the ledger holds
    /// every server's: see the `spend_report` and `payments` tools).
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
            .with_description(
                "The spend policy, what was spent and what is left (from the payment ledger).",
            )
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
        let Some(tool) = tools::ALL
            .iter()
            .copied()
            .find(|n| *n == request.name.as_ref())
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
        // Every argument is checked against the schema the tool advertises, before anything
        // is sent or paid.
        let schema = self
            .inner
            .tools
            .iter()
            .find(|t| t.name == tool)
            .map(|t| t.input_schema.clone());
        let checked = match (&schema, &arguments) {
            (Some(s), Value::Null) => crate::schema::validate(s, &json!({})),
            (Some(s), args) => crate::schema::validate(s, args),
            (None, _) => Ok(()),
        };
        let mut call = Call {
            inner: &self.inner,
            tool,
            arguments,
            ctx,
            approved: Approved::No,
            receipts: Vec::new(),
        };
        if let Err(why) = checked {
            let e = ToolError::new(
                "invalid_input",
                format!("Invalid arguments for {tool}: {why}. Nothing was sent or paid."),
            );
            return Ok(CallToolResponse::Complete(call.finish(Err(e)).await));
        }
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
                        return Ok(CallToolResponse::Complete(call.finish(Err(e)).await));
                    }
                    None => {
                        let e = ToolError::new(
                            "payment_declined",
                            format!(
                                "No answer to the approval request for {price}. Nothing was signed or paid."
                            ),
                        );
                        return Ok(CallToolResponse::Complete(call.finish(Err(e)).await));
                    }
                }
            }
        }
        match call.run().await {
            Ok(reply) => Ok(CallToolResponse::Complete(call.finish(Ok(reply)).await)),
            Err(Stop::Error(e)) => Ok(CallToolResponse::Complete(call.finish(Err(e)).await)),
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
                serde_json::to_string_pretty(&self.inner.budget_json().await).unwrap_or_default(),
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
