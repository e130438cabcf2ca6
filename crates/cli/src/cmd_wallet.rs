//! `sova wallet new|address|balance|fund`. The secret key is written to a file and never
//! printed.

use std::io::Write as _;
use std::path::Path;

use serde_json::{Value, json};
use sova_x402::{Keypair, Pubkey, associated_token_address, programs};

use crate::amount::{self, SOL_DECIMALS, parse_units};
use crate::cli::WalletCmd;
use crate::ctx::Ctx;
use crate::err::CliError;
use crate::http;
use crate::out::{self, Done};

/// Runs `sova wallet …`.
pub fn run(ctx: &Ctx, cmd: WalletCmd) -> Result<Done, CliError> {
    match cmd {
        WalletCmd::New { out, force } => {
            let path = match out {
                Some(p) => p,
                None => ctx.keypair_path()?,
            };
            let k = Keypair::generate();
            write_keypair(&path, &k, force)?;
            let address = k.pubkey().to_string();
            Ok(Done::new(
                json!({"address": address, "path": path.display().to_string()}),
                out::kv(&[
                    ("address", address.clone()),
                    ("keypair", path.display().to_string()),
                ]),
            )
            .notes(format!(
                "\nfund it with USDC (and a little SOL in Sova mode) before paying; in a sandbox: sova wallet fund --keypair {}\n",
                path.display()
            )))
        }
        WalletCmd::Address => {
            let k = ctx.keypair()?;
            let address = k.pubkey().to_string();
            Ok(Done::new(
                json!({"address": address}),
                format!("{address}\n"),
            ))
        }
        WalletCmd::Balance { address } => {
            let wallet = wallet(ctx, address.as_deref())?;
            let rpc = ctx.rpc_url();
            let lamports = http::rpc(&rpc, "getBalance", json!([wallet.to_string()]))?
                .get("value")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let ata = associated_token_address(
                &wallet,
                &programs::USDC_MAINNET,
                &programs::TOKEN_PROGRAM_ID,
            );
            let usdc = match http::rpc(&rpc, "getTokenAccountBalance", json!([ata.to_string()])) {
                Ok(v) => v
                    .get("value")
                    .and_then(|v| v.get("amount"))
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(0),
                // No token account yet: nothing held.
                Err(e) if e.kind == "rpc" => 0,
                Err(e) => return Err(e),
            };
            Ok(Done::new(
                json!({"address": wallet.to_string(), "lamports": lamports, "sol": amount::fmt_units(lamports, SOL_DECIMALS),
                       "usdc": usdc, "usdcUi": amount::fmt_units(usdc, amount::USDC_DECIMALS), "usdcAccount": ata.to_string()}),
                out::kv(&[
                    ("address", wallet.to_string()),
                    ("SOL", amount::sol(lamports)),
                    ("USDC", amount::usdc(usdc)),
                ]),
            ))
        }
        WalletCmd::Fund { sol, usdc, address } => {
            let wallet = wallet(ctx, address.as_deref())?;
            let lamports = parse_units(&sol, SOL_DECIMALS).map_err(CliError::usage)?;
            let url = format!("{}/__sandbox/faucet", ctx.sandbox_origin()?);
            let (status, v) = http::post_json(
                &url,
                &json!({"wallet": wallet.to_string(), "sol": lamports, "usdc": usdc}),
            )?;
            if status == 404 {
                return Err(CliError::usage("this server has no sandbox faucet")
                    .hint("the faucet exists only in the sandbox: start one with `sova sandbox`"));
            }
            if !(200..300).contains(&status) {
                let msg = v
                    .get("message")
                    .or_else(|| v.get("error"))
                    .map(out::scalar)
                    .unwrap_or_else(|| format!("HTTP {status}"));
                return Err(CliError::new(
                    crate::err::code::API,
                    "api",
                    format!("the faucet refused: {msg}"),
                ));
            }
            let lam = v.get("lamports").and_then(Value::as_u64).unwrap_or(0);
            let held = v.get("usdc").and_then(Value::as_u64).unwrap_or(0);
            Ok(Done::new(
                json!({"address": wallet.to_string(), "lamports": lam, "usdc": held, "signatures": v.get("signatures")}),
                out::kv(&[
                    ("address", wallet.to_string()),
                    ("SOL", amount::sol(lam)),
                    ("USDC", amount::usdc(held)),
                ]),
            ))
        }
    }
}

fn wallet(ctx: &Ctx, address: Option<&str>) -> Result<Pubkey, CliError> {
    match address {
        Some(a) => a
            .parse()
            .map_err(|_| CliError::usage(format!("{a:?} is not a base58 public key"))),
        None => Ok(ctx.keypair()?.pubkey()),
    }
}

/// Writes a Solana CLI keypair file (JSON array of 64 numbers), owner-only on Unix.
pub fn write_keypair(path: &Path, k: &Keypair, force: bool) -> Result<(), CliError> {
    if path.exists() && !force {
        return Err(CliError::failure(format!(
            "{} already exists; it was left untouched",
            path.display()
        ))
        .hint("pass --force to overwrite it, or --out <file> to write elsewhere"));
    }
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::failure(format!("could not create {}: {e}", dir.display())))?;
    }
    let mut bytes = k.as_solana().to_bytes();
    let text = format!(
        "[{}]",
        bytes
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    bytes.fill(0);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| CliError::failure(format!("could not write {}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .map_err(|e| CliError::failure(format!("could not write {}: {e}", path.display())))?;
    Ok(())
}
