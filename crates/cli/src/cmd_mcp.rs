//! `sova mcp`: the Sova Intel MCP server for AI agents (the `sova-mcp` crate), configured from
//! the global options; with `--sandbox` it runs against an embedded sandbox with a funded
//! throwaway wallet, offline.

use sova_mcp::{Listen, SovaMcp};

use crate::cli::{Global, McpArgs};
use crate::ctx::{Ctx, DEFAULT_MAX_PAYMENT};
use crate::err::CliError;
use crate::out::Done;

/// Builds the server from the options. The budget (`--budget AMOUNT[/WINDOW]`, default 10
/// USDC per rolling day) is counted in the payment ledger of `--ledger` / `SOVA_LEDGER`
/// (default: the SQLite file in the user's data directory; with `--sandbox`, memory), so it
/// survives restarts and every `sova mcp` and `sova` command on the machine shares it.
pub(crate) fn server(ctx: &Ctx, a: &McpArgs) -> Result<SovaMcp, CliError> {
    let mut b = SovaMcp::builder()
        .ledger(ctx.ledger()?)
        .base_url(ctx.intel_base())
        .rpc_url(ctx.rpc_url())
        .max_payment(ctx.g.max_payment.unwrap_or(DEFAULT_MAX_PAYMENT))
        .budget_over(ctx.budget())
        .poll_interval(ctx.poll(None).interval)
        .timeouts(ctx.timeouts());
    if let Some(k) = &ctx.g.api_key {
        b = b.api_key(k.expose());
    }
    // Job results need a key (with --sandbox, one the sandbox issued); never charged.
    if let Some(k) = &ctx.g.results_api_key {
        b = b.results_api_key(k.expose());
    }
    // As the other commands: with an API key and no keypair named, no wallet is needed.
    let explicit = ctx.g.keypair.is_some() || ctx.sandbox.is_some();
    if ctx.g.api_key.is_none() || ctx.g.keypair.is_some() {
        match ctx.keypair() {
            Ok(k) => b = b.signer(k),
            Err(e) if explicit => return Err(e),
            Err(_) => {}
        }
    }
    if let Some(t) = a.approve_above {
        b = b.approve_above(t.0);
    }
    for (tool, cap) in &a.tool_caps {
        b = b.tool_cap(tool.clone(), *cap);
    }
    if let Some(n) = a.payments_per_minute {
        b = b.payments_per_minute(n);
    }
    if let Some(w) = a.wait {
        b = b.wait(w);
    }
    b.build()
        .map_err(|e| CliError::failure(format!("could not start the MCP server: {e}")))
}

/// Runs `sova mcp` until the client disconnects (stdio) or Ctrl-C (HTTP).
pub(crate) fn run(g: Global, a: &McpArgs) -> Result<Done, CliError> {
    let quiet = g.quiet;
    let ctx = Ctx::new(g)?;
    let server = server(&ctx, a)?;
    if !quiet {
        if let Some(w) = server.wallet() {
            eprintln!("sova mcp: paying from {w}");
        }
        if ctx.sandbox.is_some() {
            eprintln!(
                "sova mcp: the wallet is funded with sandbox USDC; nothing leaves this machine"
            );
        }
    }
    let listen = match a.http {
        Some(addr) => Listen::Http(addr),
        None => Listen::Stdio,
    };
    server
        .run(listen, |url, token| {
            // The token is printed even with --quiet: without it nobody can connect.
            if !quiet {
                eprintln!("sova mcp: serving MCP at {url} (Ctrl-C stops)");
            }
            match token {
                Some(t) => eprintln!(
                    "sova mcp: clients must send Authorization: Bearer {} (set {} to choose the token)",
                    t.expose(),
                    sova_mcp::TOKEN_ENV
                ),
                None if !quiet => eprintln!(
                    "sova mcp: clients must send Authorization: Bearer <the token in {}>",
                    sova_mcp::TOKEN_ENV
                ),
                None => {}
            }
        })
        .map_err(|e| {
            CliError::failure(e.to_string())
                .hint("pick another --http address, or drop --http for stdio")
        })?;
    drop(ctx);
    Ok(Done::new(serde_json::Value::Null, ""))
}
