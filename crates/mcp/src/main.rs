//! `sova-mcp`: the Sova Intel MCP server on its own, configured from the environment (see
//! [`sova_mcp::Builder::from_env`]). `sova mcp` in the `sova` command line offers the same
//! server with flags and an embedded sandbox.
//!
//! ```text
//! sova-mcp                          # stdio
//! sova-mcp --http 127.0.0.1:8787    # streamable HTTP at http://127.0.0.1:8787/mcp, behind a
//!                                   # bearer token (SOVA_MCP_TOKEN, or one printed at start)
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;

use sova_mcp::Listen;

fn usage() -> ExitCode {
    eprintln!(
        "usage: sova-mcp [--http 127.0.0.1:PORT]   (configuration from SOVA_* environment variables)"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let listen = match args.as_slice() {
        [] => Listen::Stdio,
        [flag, addr] if flag == "--http" => match addr.parse::<SocketAddr>() {
            Ok(a) => Listen::Http(a),
            Err(_) => {
                eprintln!("error: {addr:?} is not an address like 127.0.0.1:8787");
                return usage();
            }
        },
        _ => return usage(),
    };
    let result = sova_mcp::Builder::from_env()
        .and_then(|b| b.build())
        .and_then(|server| {
            server.run(listen, |url, token| {
                eprintln!("sova-mcp: serving MCP at {url}");
                match token {
                    Some(t) => eprintln!(
                        "sova-mcp: clients must send Authorization: Bearer {} (set {} to choose the token)",
                        t.expose(),
                        sova_mcp::TOKEN_ENV
                    ),
                    None => eprintln!(
                        "sova-mcp: clients must send Authorization: Bearer <the token in {}>",
                        sova_mcp::TOKEN_ENV
                    ),
                }
            })
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
