//! Helpers: an embedded sandbox, a funded wallet, the server over HTTP on loopback, and an
//! rmcp client whose user approves or declines payments.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, Implementation,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::{ClientHandler, ErrorData, RoleClient};
use serde_json::{Value, json};
use sova_mcp::{Builder, SovaMcp};
use sova_sandbox::Sandbox;
use sova_x402::Keypair;

pub(crate) const WALLET: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
pub(crate) const WALLET2: &str = "GThUX1Atko4tqhN2NaiTazWSeFWMuiUvfFnyJyUghFMJ";
pub(crate) const WALLET3: &str = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU";
pub(crate) const MINT: &str = "So11111111111111111111111111111111111111112";

/// 1 credit in USDC base units.
pub(crate) const CREDIT: u64 = 15_000;

/// A sandbox with short holds and jobs. `cold`: wallet analyses outlast the synchronous hold,
/// so wallet GETs answer 202 and a job.
pub(crate) async fn sandbox(cold: bool) -> Sandbox {
    let (hold, flash) = if cold {
        (Duration::from_millis(20), Duration::from_millis(400))
    } else {
        (Duration::from_millis(300), Duration::from_millis(20))
    };
    Sandbox::builder()
        .sync_hold(hold)
        .flash_analysis(flash)
        .job_duration(Duration::from_millis(300))
        .start()
        .await
        .unwrap()
}

/// A keypair funded with 1 SOL and 100 USDC on the sandbox.
pub(crate) fn funded(sb: &Sandbox, seed: u8) -> Keypair {
    let kp = Keypair::from_seed([seed; 32]);
    sb.fund_wallet(&kp.pubkey(), 1_000_000_000, 100_000_000);
    kp
}

/// A server paying from a funded wallet, with fast polls; `f` sets the rest.
pub(crate) fn server(sb: &Sandbox, seed: u8, f: impl FnOnce(Builder) -> Builder) -> SovaMcp {
    let b = SovaMcp::builder()
        .base_url(sb.intel_base_url())
        .rpc_url(sb.rpc_url())
        .keypair(funded(sb, seed))
        // Results are read with a key (the sandbox, like the docs, requires one); paid
        // calls still pay with x402.
        .results_api_key(sb.create_api_key(0))
        .poll_interval(Duration::from_millis(50))
        .wait(Duration::from_secs(10));
    f(b).build().unwrap()
}

/// Where a test server listens: its MCP URL and the bearer token it requires.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    pub url: String,
    pub token: String,
}

/// An rmcp HTTP transport to `http` carrying its bearer token.
pub(crate) fn transport(
    http: &Http,
) -> rmcp::transport::StreamableHttpClientTransport<reqwest::Client> {
    rmcp::transport::StreamableHttpClientTransport::from_config(
        rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(
            http.url.clone(),
        )
        .auth_header(http.token.clone()),
    )
}

/// Serves `server` over streamable HTTP on a free loopback port, behind a fresh bearer token;
/// returns the MCP URL with the token and a guard that stops it when dropped.
pub(crate) async fn serve_http(server: SovaMcp) -> (Http, tokio::sync::oneshot::Sender<()>) {
    // rmcp's HTTP client builds a default reqwest client, which needs a crypto provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = sova_mcp::bind_http("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = format!(
        "http://{}{}",
        listener.local_addr().unwrap(),
        sova_mcp::HTTP_PATH
    );
    let token = sova_mcp::BearerToken::generate().unwrap();
    let http = Http {
        url,
        token: token.expose().to_owned(),
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        server
            .serve_http(listener, token, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    (http, tx)
}

/// What the test user answers to an approval request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Approve.
    Accept,
    /// Decline.
    Decline,
}

/// An MCP client; `answer: None` does not declare the elicitation capability.
#[derive(Clone)]
pub(crate) struct User {
    pub answer: Arc<Mutex<Option<Answer>>>,
    pub asked: Arc<Mutex<Vec<String>>>,
    /// Progress notifications received: (token, progress, message).
    pub progress: Arc<Mutex<Vec<(String, f64, String)>>>,
    can_ask: bool,
}

impl User {
    pub(crate) fn approving() -> User {
        User::new(Some(Answer::Accept))
    }

    pub(crate) fn declining() -> User {
        User::new(Some(Answer::Decline))
    }

    /// A client without the elicitation capability.
    pub(crate) fn without_elicitation() -> User {
        User::new(None)
    }

    fn new(answer: Option<Answer>) -> User {
        User {
            answer: Arc::new(Mutex::new(answer)),
            asked: Arc::default(),
            progress: Arc::default(),
            can_ask: answer.is_some(),
        }
    }

    pub(crate) fn set(&self, a: Answer) {
        *self.answer.lock().unwrap() = Some(a);
    }

    pub(crate) fn questions(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

impl ClientHandler for User {
    fn get_info(&self) -> ClientConfig {
        let caps = if self.can_ask {
            ClientCapabilities::builder().enable_elicitation().build()
        } else {
            ClientCapabilities::default()
        };
        ClientConfig::new(caps, Implementation::new("sova-mcp-tests", "0"))
    }

    async fn on_progress(
        &self,
        params: rmcp::model::ProgressNotificationParam,
        _context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        let token = match params.progress_token.0 {
            rmcp::model::NumberOrString::String(s) => s.to_string(),
            rmcp::model::NumberOrString::Number(n) => n.to_string(),
        };
        self.progress.lock().unwrap().push((
            token,
            params.progress,
            params.message.unwrap_or_default(),
        ));
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let message = match request {
            ElicitRequestParams::FormElicitationParams { message, .. } => message,
            other => format!("{other:?}"),
        };
        self.asked.lock().unwrap().push(message);
        let answer = *self.answer.lock().unwrap();
        Ok(match answer {
            Some(Answer::Accept) => {
                ElicitResult::new(ElicitationAction::Accept).with_content(json!({"approve": true}))
            }
            _ => ElicitResult::new(ElicitationAction::Decline),
        })
    }
}

pub(crate) type Client = RunningService<RoleClient, User>;

/// Calls a tool.
pub(crate) async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let mut p = CallToolRequestParams::new(tool.to_owned());
    if let Value::Object(m) = args {
        p = p.with_arguments(m);
    }
    client
        .call_tool(p)
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

/// Calls a tool with a progress token in `_meta`.
pub(crate) async fn call_with_progress(
    client: &Client,
    tool: &str,
    args: Value,
    token: &str,
) -> CallToolResult {
    let mut p = CallToolRequestParams::new(tool.to_owned());
    if let Value::Object(m) = args {
        p = p.with_arguments(m);
    }
    let mut meta = rmcp::model::RequestMetaObject::default();
    meta.set_progress_token(rmcp::model::ProgressToken(
        rmcp::model::NumberOrString::String(token.to_owned().into()),
    ));
    p.meta = Some(meta);
    client
        .call_tool(p)
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

/// The structured result.
pub(crate) fn doc(r: &CallToolResult) -> &Value {
    r.structured_content.as_ref().expect("structured content")
}

/// The text the model reads.
pub(crate) fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts a successful result and returns its document.
#[track_caller]
pub(crate) fn ok(r: &CallToolResult) -> &Value {
    assert_ne!(r.is_error, Some(true), "expected success: {}", text(r));
    doc(r)
}

/// Asserts an error result of `kind` and returns its document.
#[track_caller]
pub(crate) fn err<'a>(r: &'a CallToolResult, kind: &str) -> &'a Value {
    assert_eq!(r.is_error, Some(true), "expected an error: {}", text(r));
    let d = doc(r);
    assert_eq!(d["error"]["kind"], kind, "{}", text(r));
    d
}

/// The receipt in the result's `_meta`.
pub(crate) fn receipt(r: &CallToolResult) -> Option<&Value> {
    r.meta
        .as_ref()
        .and_then(|m| m.0.get(sova_mcp::RECEIPT_META_KEY))
}

/// Settled payments on the sandbox ledger: signature → amount.
pub(crate) fn ledger(sb: &Sandbox) -> BTreeMap<String, u64> {
    sb.payments()
        .into_iter()
        .map(|p| (p.signature, p.amount))
        .collect()
}

/// Asserts that the `spend_report` document lists exactly the ledger's payments.
#[track_caller]
pub(crate) fn assert_report_matches_ledger(sb: &Sandbox, report: &Value) {
    let from_report: BTreeMap<String, u64> = report["data"]["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .map(|p| {
            (
                p["transaction"]
                    .as_str()
                    .or(p["payerSignature"].as_str())
                    .expect("transaction")
                    .to_owned(),
                p["amount"]["baseUnits"].as_u64().expect("amount"),
            )
        })
        .collect();
    assert_eq!(
        from_report.len(),
        report["data"]["payments"].as_array().unwrap().len(),
        "no transaction twice in the report"
    );
    assert_eq!(
        from_report,
        ledger(sb),
        "spend_report equals the sandbox ledger"
    );
}
