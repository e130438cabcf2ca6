//! What the MCP server adds to a paid call: the same x402-paid `wallet_hud` against the
//! embedded sandbox (loopback), made directly with the SDK and through the server over an
//! in-process pipe, streamable HTTP and stdio (the `sova-mcp` binary as a child process).
//!
//! `cargo bench -p sova-mcp`; criterion's medians are in
//! `target/criterion/mcp_overhead/*/new/estimates.json`. The overhead of the server is the
//! difference between a transport's median and `direct_sdk`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use sova_mcp::SovaMcp;
use sova_sandbox::Sandbox;
use sova_x402::Keypair;

const WALLET: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
/// Enough sandbox USDC for every iteration (0.015 USDC each).
const FUNDS: u64 = 100_000_000_000;

fn funded(sb: &Sandbox, seed: u8) -> Keypair {
    let kp = Keypair::from_seed([seed; 32]);
    sb.fund_wallet(&kp.pubkey(), 10_000_000_000, FUNDS);
    kp
}

fn server(sb: &Sandbox, seed: u8) -> SovaMcp {
    SovaMcp::builder()
        .base_url(sb.intel_base_url())
        .rpc_url(sb.rpc_url())
        .keypair(funded(sb, seed))
        .max_payment(1_000_000)
        .budget(FUNDS)
        .approve_above(None)
        .build()
        .unwrap()
}

fn hud_params() -> CallToolRequestParams {
    let args = serde_json::json!({"address": WALLET});
    let serde_json::Value::Object(m) = args else {
        unreachable!()
    };
    CallToolRequestParams::new("wallet_hud").with_arguments(m)
}

async fn call(client: &RunningService<RoleClient, ()>) {
    let r = client.call_tool(hud_params()).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{:?}", r.content);
}

fn bench(c: &mut Criterion) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sb = rt.block_on(async {
        Sandbox::builder()
            .sync_hold(Duration::from_millis(300))
            .flash_analysis(Duration::from_millis(1))
            .start()
            .await
            .unwrap()
    });
    let mut g = c.benchmark_group("mcp_overhead");
    g.sample_size(60).measurement_time(Duration::from_secs(8));

    // The SDK alone.
    let direct = server(&sb, 1);
    let client = direct.intel().clone();
    rt.block_on(client.wallet_hud(WALLET)).unwrap();
    g.bench_function("direct_sdk", |b| {
        b.iter(|| rt.block_on(client.wallet_hud(WALLET)).unwrap())
    });

    // The server over an in-process pipe: the MCP layer without a transport.
    let pipe = rt.block_on(async {
        let (a, b) = tokio::io::duplex(1 << 20);
        let s = server(&sb, 2);
        tokio::spawn(async move {
            let running = s.serve(a).await.unwrap();
            let _ = running.waiting().await;
        });
        ().serve(b).await.unwrap()
    });
    rt.block_on(call(&pipe));
    g.bench_function("mcp_in_process", |b| b.iter(|| rt.block_on(call(&pipe))));

    // Streamable HTTP on loopback.
    let (http, _stop) = rt.block_on(async {
        let listener = sova_mcp::bind_http("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let url = format!(
            "http://{}{}",
            listener.local_addr().unwrap(),
            sova_mcp::HTTP_PATH
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let s = server(&sb, 3);
        let token = sova_mcp::BearerToken::generate().unwrap();
        let config =
            rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(
                url,
            )
            .auth_header(token.expose().to_owned());
        tokio::spawn(async move {
            s.serve_http(listener, token, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        let client = ().serve(StreamableHttpClientTransport::from_config(config)).await.unwrap();
        (client, tx)
    });
    rt.block_on(call(&http));
    g.bench_function("mcp_http", |b| b.iter(|| rt.block_on(call(&http))));

    // stdio: the sova-mcp binary as a child process, as MCP clients run it.
    let stdio = rt.block_on(async {
        let kp = funded(&sb, 4);
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sova-mcp"));
        cmd.env_clear()
            .env("SOVA_BASE_URL", sb.intel_base_url())
            .env("SOLANA_RPC_URL", sb.rpc_url())
            .env(
                "SOLANA_PRIVATE_KEY",
                bs58::encode(kp.as_solana().to_bytes()).into_string(),
            )
            .env("SOVA_BUDGET", "100000")
            .env("SOVA_MCP_APPROVE_ABOVE", "off");
        let (t, _) = TokioChildProcess::builder(cmd)
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        ().serve(t).await.unwrap()
    });
    rt.block_on(call(&stdio));
    g.bench_function("mcp_stdio", |b| b.iter(|| rt.block_on(call(&stdio))));
    g.finish();

    rt.block_on(async {
        let _ = pipe.cancel().await;
        let _ = http.cancel().await;
        let _ = stdio.cancel().await;
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
