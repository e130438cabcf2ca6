//! `sova wallet new|address|balance|fund`. The secret key is written to a file and never
//! printed.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use serde_json::{Value, json};
use sova_x402::{Keypair, Pubkey, associated_token_address, programs};
use zeroize::Zeroizing;

use crate::amount::{self, SOL_DECIMALS, parse_units};
use crate::cli::WalletCmd;
use crate::ctx::Ctx;
use crate::err::CliError;
use crate::http;
use crate::out::{self, Done};

/// Runs `sova wallet …`.
pub(crate) fn run(ctx: &Ctx, cmd: WalletCmd) -> Result<Done, CliError> {
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
            let ata = usdc_account(&wallet);
            let usdc = usdc_balance(&rpc, &wallet)?;
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

/// The wallet's USDC token account (associated token account of the USDC mint).
fn usdc_account(wallet: &Pubkey) -> Pubkey {
    associated_token_address(wallet, &programs::USDC_MAINNET, &programs::TOKEN_PROGRAM_ID)
}

/// The wallet's USDC, in base units, read from the RPC (0 when it has no token account).
pub(crate) fn usdc_balance(rpc: &str, wallet: &Pubkey) -> Result<u64, CliError> {
    let ata = usdc_account(wallet);
    match http::rpc(rpc, "getTokenAccountBalance", json!([ata.to_string()])) {
        Ok(v) => Ok(v
            .get("value")
            .and_then(|v| v.get("amount"))
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)),
        // No token account yet: nothing held.
        Err(e) if e.kind == "rpc" => Ok(0),
        Err(e) => Err(e),
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

/// Writes a Solana CLI keypair file (JSON array of 64 numbers), owner-only (0600) on Unix.
///
/// The file is created with `create_new` (`O_CREAT | O_EXCL`): an existing file or symlink at
/// `path` is refused in the same system call that would create it, so there is no window
/// between a check and the open, and a symlink is never followed. With `force` the key is
/// written to a new file beside `path` the same way and renamed over it: the rename replaces
/// whatever was at `path` (a symlink itself, not its target). The text buffer holding the
/// secret is zeroized afterwards.
pub(crate) fn write_keypair(path: &Path, k: &Keypair, force: bool) -> Result<(), CliError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::failure(format!("could not create {}: {e}", dir.display())))?;
    }
    let bytes = Zeroizing::new(k.as_solana().to_bytes());
    // "[" + 64 numbers of at most 3 digits + 63 commas + "]": no reallocation, no stray copy.
    let mut text = Zeroizing::new(String::with_capacity(2 + 64 * 3 + 63));
    text.push('[');
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        // Writing to a String cannot fail.
        let _ = write!(text, "{b}");
    }
    text.push(']');
    let failed = |p: &Path, e: std::io::Error| {
        CliError::failure(format!("could not write {}: {e}", p.display()))
    };
    if !force {
        return match create_secret_file(path, text.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(CliError::failure(
                format!("{} already exists; it was left untouched", path.display()),
            )
            .hint("pass --force to overwrite it, or --out <file> to write elsewhere")),
            r => r.map_err(|e| failed(path, e)),
        };
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "keypair".to_owned());
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp_name = format!(".{name}.{}.{nonce}.tmp", std::process::id());
    let tmp = dir.map_or_else(|| Path::new(&tmp_name).to_path_buf(), |d| d.join(&tmp_name));
    create_secret_file(&tmp, text.as_bytes()).map_err(|e| failed(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        failed(path, e)
    })
}

/// Creates `path` (never an existing file, never through a symlink), owner-only on Unix, and
/// writes `contents` to disk.
fn create_secret_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sova-cli-wallet-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn force_overwrites_with_owner_only_permissions() {
        let dir = scratch("force");
        let path = dir.join("id.json");
        std::fs::write(&path, "not a key").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let k = Keypair::from_seed([3; 32]);
        let e = write_keypair(&path, &k, false).unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a key");

        write_keypair(&path, &k, true).unwrap();
        assert_eq!(Keypair::from_file(&path).unwrap().pubkey(), k.pubkey());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        // A new file, in a directory that does not exist yet.
        let fresh = dir.join("sub").join("new.json");
        write_keypair(&fresh, &k, false).unwrap();
        assert_eq!(Keypair::from_file(&fresh).unwrap().pubkey(), k.pubkey());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn never_writes_through_a_symlink() {
        let dir = scratch("symlink");
        let k = Keypair::from_seed([4; 32]);
        // A dangling link: its target must not be created.
        let target = dir.join("elsewhere.json");
        let link = dir.join("id.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = write_keypair(&link, &k, false).unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
        assert!(!target.exists(), "the link was followed");
        // A link to an existing file: the file is left as it was.
        std::fs::write(&target, "precious").unwrap();
        write_keypair(&link, &k, false).unwrap_err();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        // --force replaces the link itself, never its target.
        write_keypair(&link, &k, true).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        assert!(
            !std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(Keypair::from_file(&link).unwrap().pubkey(), k.pubkey());
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 2, "{left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
