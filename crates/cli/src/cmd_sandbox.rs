//! `sova sandbox`: the offline emulator in the foreground.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use sova_sandbox::{Mode, Sandbox};

use crate::cli::{ModeArg, SandboxArgs};
use crate::err::CliError;
use crate::out;

/// The sandbox mode for a command-line mode.
pub(crate) fn mode(m: ModeArg) -> Mode {
    match m {
        ModeArg::Sova => Mode::Sova,
        ModeArg::Standard => Mode::Standard,
    }
}

/// Starts the sandbox, prints where it listens and how to use it, and serves until
/// interrupted (Ctrl-C).
pub(crate) fn run(a: &SandboxArgs, json_out: bool) -> Result<(), CliError> {
    let mut b = Sandbox::builder()
        .bind(SocketAddr::from(([127, 0, 0, 1], a.port)))
        .mode(mode(a.mode))
        .seed(a.seed);
    if let Some(ms) = a.hold_ms {
        b = b.sync_hold(Duration::from_millis(ms));
    }
    if let Some(ms) = a.flash_ms {
        b = b.flash_analysis(Duration::from_millis(ms));
    }
    if let Some(ms) = a.job_ms {
        b = b.job_duration(Duration::from_millis(ms));
    }
    let sb = b.start_blocking().map_err(|e| {
        CliError::failure(e.to_string())
            .hint("is the port taken? pick another with --port N (0 picks a free one)")
    })?;
    let api_key = sb.create_api_key(a.credits);
    let info = sb.info();
    let doc = json!({
        "baseUrl": sb.base_url(),
        "intelBaseUrl": sb.intel_base_url(),
        "sovxBaseUrl": sb.sovx_base_url(),
        "rpcUrl": sb.rpc_url(),
        "adminUrl": sb.admin_url(),
        "mode": sb.mode().as_str(),
        "treasury": sb.treasury().to_string(),
        "usdcMint": sb.usdc_mint().to_string(),
        "facilitator": info.get("facilitator"),
        "apiKey": api_key,
        "apiKeyCredits": a.credits,
        "sovxOwnerKey": sb.sovx_owner_key(),
    });
    let mut stdout = std::io::stdout().lock();
    if json_out {
        let _ = writeln!(stdout, "{doc}");
    } else {
        let intel = sb.intel_base_url();
        let lines = [
            "Use it from another shell (sandbox keys are throwaway test values):".to_owned(),
            format!("  export SOVA_BASE_URL={intel}"),
            format!("  export SOLANA_RPC_URL={}", sb.rpc_url()),
            format!("  export SOVX_BASE_URL={}", sb.sovx_base_url()),
            format!("  export SOVX_OWNER_KEY={}", sb.sovx_owner_key()),
            "  export SOVA_KEYPAIR=./sandbox-wallet.json".to_owned(),
            "  sova wallet new && sova wallet fund".to_owned(),
            "  sova intel hud 9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM".to_owned(),
            String::new(),
            "Press Ctrl-C to stop.".to_owned(),
        ];
        let text = format!(
            "{}{}\n{}\n",
            out::heading("sova sandbox"),
            out::kv(&[
                ("mode", sb.mode().as_str().to_owned()),
                ("intel", intel.clone()),
                ("sovx", sb.sovx_base_url()),
                ("solana rpc", sb.rpc_url()),
                ("admin", sb.admin_url()),
                ("treasury", sb.treasury().to_string()),
                ("api key", format!("{api_key} ({} credits)", a.credits)),
            ]),
            lines.join("\n"),
        );
        let _ = stdout.write_all(text.as_bytes());
    }
    let _ = stdout.flush();
    drop(stdout);
    loop {
        std::thread::park();
    }
}
