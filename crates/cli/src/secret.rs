//! Secrets on the command line (API keys, owner keys, user tokens, RPC URLs that may embed a
//! provider key): held in a newtype whose `Debug` prints `[redacted]`, so no debug print of
//! the options ever shows one. Their environment values are hidden from `--help` too.

use std::fmt;

/// A secret string. Read it with [`Secret::expose`] where it is sent, nowhere else.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    /// The secret itself.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::from("ak_0123".to_owned());
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some([redacted])");
        assert_eq!(s.expose(), "ak_0123");
    }
}

#[cfg(test)]
mod options_tests {
    use clap::Parser as _;

    use crate::cli::Cli;

    #[test]
    fn the_options_debug_print_no_secret() {
        let cli = Cli::try_parse_from([
            "sova",
            "--api-key",
            "ak_MARK_API",
            "--results-api-key",
            "ak_MARK_RESULTS",
            "--owner-key",
            "MARK_OWNER",
            "--user-token",
            "MARK_TOKEN",
            "--rpc",
            "https://rpc.example/?api-key=MARK_RPC",
            "intel",
            "pricing",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{cli:?} {:?}", cli.global);
        assert!(!shown.contains("MARK"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
}
