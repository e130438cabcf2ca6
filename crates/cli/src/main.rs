//! `sova`: the command line of the Sova Rust SDK.
//!
//! ```text
//! sova demo                                    # the offline tour
//! sova intel hud <wallet> --keypair id.json     # pay per call with x402
//! sova sx users create --first-name …          # SovX onboarding
//! sova x402 decode <header value>              # read any x402 header
//! sova payments list                           # the payment ledger
//! sova sandbox                                 # the offline emulator
//! sova mcp --sandbox                           # the MCP server for AI agents, offline
//! ```
//!
//! Output is human by default (tables, key/value blocks, USDC with six decimals, a receipt
//! after every paid call) and one JSON document on stdout with `--json`. Errors are one line
//! on stderr with a hint (with `--json`, a JSON document `{"error": …}` on stdout too).
//!
//! Exit codes: 0 success; 1 other failure; 2 usage; 3 no payment made (policy, unsupported
//! network or asset, no USDC); 4 API or protocol error; 5 network error; 6 a payment was or
//! may have been charged and the call did not complete (it outranks every other code); 7 job
//! still running, no x402 payment in doubt.

mod amount;
mod cli;
mod cmd_intel;
#[cfg(feature = "mcp")]
mod cmd_mcp;
mod cmd_payments;
mod cmd_sandbox;
mod cmd_sx;
mod cmd_wallet;
mod cmd_x402;
mod ctx;
mod demo;
mod demo_ledger;
mod demo_sx;
mod err;
mod http;
mod ledger;
mod out;
mod payment;
mod secret;
mod txdecode;
mod when;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;
use clap::error::ErrorKind;

use crate::cli::{Cli, Command};
use crate::err::{CliError, code};
use crate::out::Done;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let status = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => code::OK,
                _ => code::USAGE,
            };
            let _ = e.print();
            return exit(status);
        }
    };
    init_logs(cli.global.verbose);
    let json = cli.global.json;
    let quiet = cli.global.quiet;
    match run(cli) {
        Ok(done) => {
            print_done(&done, json, quiet);
            exit(done.code)
        }
        Err(e) => {
            print_error(&e, json, quiet);
            exit(e.code)
        }
    }
}

/// Logs on stderr: `RUST_LOG` when set, else errors only, and Sova's own events with `-v`
/// (info: payment events) or `-vv` (debug). Libraries emit; only the binary subscribes.
fn init_logs(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(match verbose {
            // The command line reports failures itself: the SDK's warnings would repeat them.
            0 => "error",
            1 => "error,sova=info",
            2 => "error,sova=debug",
            _ => "error,sova=trace",
        })
    });
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .try_init();
}

fn exit(c: i32) -> ExitCode {
    ExitCode::from(u8::try_from(c).unwrap_or(1))
}

fn run(cli: Cli) -> Result<Done, CliError> {
    match cli.command {
        Command::Sandbox(a) => {
            if cli.global.sandbox {
                return Err(
                    CliError::usage("`sova sandbox` runs a sandbox already").hint("drop --sandbox")
                );
            }
            cmd_sandbox::run(&a, cli.global.json).map(|()| Done::new(serde_json::Value::Null, ""))
        }
        Command::Demo(a) => demo::run(&cli.global, &a),
        Command::X402(c) => {
            let ctx = ctx::Ctx::new(cli.global)?;
            cmd_x402::run(&ctx, c)
        }
        Command::Intel(c) => {
            let ctx = ctx::Ctx::new(cli.global)?;
            let r = cmd_intel::run(&ctx, c);
            ctx.progress.finish();
            r
        }
        Command::Sx(c) => {
            let ctx = ctx::Ctx::new(cli.global)?;
            cmd_sx::run(&ctx, c)
        }
        Command::Wallet(c) => {
            let ctx = ctx::Ctx::new(cli.global)?;
            cmd_wallet::run(&ctx, c)
        }
        Command::Payments(c) => {
            let ctx = ctx::Ctx::new(cli.global)?;
            cmd_payments::run(&ctx, c)
        }
        #[cfg(feature = "mcp")]
        Command::Mcp(a) => cmd_mcp::run(cli.global, &a),
    }
}

fn print_done(done: &Done, json: bool, quiet: bool) {
    let mut o = std::io::stdout().lock();
    if json {
        let _ = writeln!(o, "{}", done.json);
    } else {
        let _ = o.write_all(done.human.as_bytes());
        if !done.human.is_empty() && !done.human.ends_with('\n') {
            let _ = o.write_all(b"\n");
        }
        if !quiet && !done.notes.is_empty() {
            let _ = o.write_all(done.notes.as_bytes());
        }
    }
    let _ = o.flush();
}

fn print_error(e: &CliError, json: bool, quiet: bool) {
    if json {
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "{}", e.to_json());
        let _ = o.flush();
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {}", e.message);
    // The payment comes first and is never left out, --quiet or not.
    let _ = err.write_all(e.payment_lines().as_bytes());
    if !quiet && let Some(h) = &e.hint {
        let _ = writeln!(err, "hint: {h}");
    }
}
