//! `sova-sandbox`: runs the offline Sova Intel + SovX emulator until interrupted.
//!
//! ```text
//! sova-sandbox [--port N] [--mode sova|standard] [--seed N] [--hold-ms N] [--flash-ms N]
//!              [--job-ms N] [--api-key ak_<hex>[:credits]]... [--credits N] [--token2022]
//!              [--owner-key KEY] [--x402-v1] [--max-timeout-seconds N]
//! ```
//!
//! It prints a JSON document with the URLs, the treasury, the owner key and the API keys.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use sova_sandbox::{Mode, Sandbox};

const USAGE: &str = "usage: sova-sandbox [--port N] [--mode sova|standard] [--seed N] [--hold-ms N] \
[--flash-ms N] [--job-ms N] [--api-key ak_<hex>[:credits]]... [--credits N] [--token2022] [--owner-key KEY] \
[--x402-v1] [--max-timeout-seconds N]";

fn parse_u64(flag: &str, v: Option<String>) -> Result<u64, String> {
    v.ok_or_else(|| format!("{flag} needs a value"))?
        .parse::<u64>()
        .map_err(|_| format!("{flag} needs a non-negative integer"))
}

fn run() -> Result<(), String> {
    let mut builder = Sandbox::builder();
    let mut port = 0u16;
    let mut credits = 1000u64;
    let mut keys = 0usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            "--port" => {
                port = u16::try_from(parse_u64("--port", args.next())?)
                    .map_err(|_| "--port is at most 65535".to_owned())?
            }
            "--mode" => {
                let m: Mode = args.next().ok_or("--mode needs a value")?.parse()?;
                builder = builder.mode(m);
            }
            "--seed" => builder = builder.seed(parse_u64("--seed", args.next())?),
            "--hold-ms" => {
                builder =
                    builder.sync_hold(Duration::from_millis(parse_u64("--hold-ms", args.next())?))
            }
            "--flash-ms" => {
                builder = builder
                    .flash_analysis(Duration::from_millis(parse_u64("--flash-ms", args.next())?))
            }
            "--job-ms" => {
                builder =
                    builder.job_duration(Duration::from_millis(parse_u64("--job-ms", args.next())?))
            }
            "--credits" => credits = parse_u64("--credits", args.next())?,
            "--token2022" => builder = builder.token2022(true),
            "--x402-v1" => builder = builder.x402_v1(true),
            "--max-timeout-seconds" => {
                builder =
                    builder.max_timeout_seconds(parse_u64("--max-timeout-seconds", args.next())?)
            }
            "--owner-key" => {
                builder = builder.sovx_owner_key(args.next().ok_or("--owner-key needs a value")?)
            }
            "--api-key" => {
                let v = args.next().ok_or("--api-key needs a value")?;
                let (k, c) = match v.split_once(':') {
                    Some((k, c)) => (
                        k.to_owned(),
                        c.parse::<u64>()
                            .map_err(|_| "bad credits in --api-key".to_owned())?,
                    ),
                    None => (v, 1000),
                };
                builder = builder.api_key(k, c);
                keys += 1;
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let sandbox = builder
        .bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .start_blocking()
        .map_err(|e| e.to_string())?;
    let mut info = sandbox.info();
    if keys == 0 {
        let key = sandbox.create_api_key(credits);
        if let serde_json::Value::Object(m) = &mut info {
            m.insert("apiKey".into(), serde_json::Value::from(key));
        }
    }
    if let serde_json::Value::Object(m) = &mut info {
        m.insert(
            "startupMs".into(),
            serde_json::Value::from(sandbox.startup_time().as_millis() as u64),
        );
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&info).unwrap_or_default()
    );
    // Serve until the process is interrupted.
    loop {
        std::thread::park();
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sova-sandbox: {e}");
            ExitCode::FAILURE
        }
    }
}
