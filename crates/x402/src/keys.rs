//! Signing keys: the [`Signer`] trait and an in-memory [`Keypair`] with loaders.
//!
//! Loaders never echo key material: errors name the source (file path, variable name) and
//! what is wrong with its shape, not its content. The text and byte buffers that held the
//! secret while loading (file contents, environment values, decoded bytes) are zeroized
//! when dropped, on every path. `Debug` shows the public key only.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use solana_pubkey::Pubkey;
use solana_signature::Signature;
use zeroize::Zeroizing;

/// Why a signer could not sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignerError {
    /// The signer refused or failed (a remote or hardware signer's own message).
    #[error("the signer could not sign the payment: {0}")]
    Failed(String),
    /// The signer is not available (disconnected device, unreachable service).
    #[error("the signer is not available: {0}")]
    Unavailable(String),
}

/// Something that holds a Solana key and signs message bytes with it: an in-memory
/// [`Keypair`], or a remote or hardware signer.
///
/// `sign_message` receives the exact serialized message (for v0 messages including the
/// `0x80` prefix) and must return the Ed25519 signature over those bytes.
pub trait Signer: Send + Sync {
    /// The public key (the token authority of every payment).
    fn pubkey(&self) -> Pubkey;

    /// Signs `message`.
    fn sign_message(&self, message: &[u8]) -> Result<Signature, SignerError>;

    /// Whether signatures come from an in-process Ed25519 implementation with a key whose
    /// public half was checked on load, so that re-verifying them before sending is
    /// redundant. Remote and hardware signers keep the default `false`, and their
    /// signatures are always verified before a payment leaves the process.
    fn is_trusted_local(&self) -> bool {
        false
    }
}

impl<T: Signer + ?Sized> Signer for Arc<T> {
    fn pubkey(&self) -> Pubkey {
        (**self).pubkey()
    }
    fn sign_message(&self, message: &[u8]) -> Result<Signature, SignerError> {
        (**self).sign_message(message)
    }
    fn is_trusted_local(&self) -> bool {
        (**self).is_trusted_local()
    }
}

impl<T: Signer + ?Sized> Signer for &T {
    fn pubkey(&self) -> Pubkey {
        (**self).pubkey()
    }
    fn sign_message(&self, message: &[u8]) -> Result<Signature, SignerError> {
        (**self).sign_message(message)
    }
    fn is_trusted_local(&self) -> bool {
        (**self).is_trusted_local()
    }
}

impl Signer for solana_keypair::Keypair {
    fn pubkey(&self) -> Pubkey {
        solana_signer::Signer::pubkey(self)
    }
    fn sign_message(&self, message: &[u8]) -> Result<Signature, SignerError> {
        Ok(solana_signer::Signer::sign_message(self, message))
    }
    fn is_trusted_local(&self) -> bool {
        true
    }
}

/// Why a key could not be loaded. Never contains key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The keypair file could not be read.
    #[error("cannot read the keypair file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The key text does not have the expected shape.
    #[error("{origin} is not a Solana keypair: {problem}")]
    Malformed {
        /// Where the key came from (a file path or an environment variable name).
        origin: String,
        /// What is wrong with its shape (never its content).
        problem: String,
    },
    /// The public half stored with the key does not match its secret half.
    #[error("{origin} holds a keypair whose public half does not match its secret half")]
    Mismatch {
        /// Where the key came from.
        origin: String,
    },
    /// An environment variable is unset.
    #[error("the environment variable {0} is not set")]
    MissingEnv(String),
    /// The home directory is unknown, so the default keypair path cannot be formed.
    #[error("cannot locate the default keypair: neither HOME nor USERPROFILE is set")]
    NoHome,
}

/// An Ed25519 keypair held in memory. `Debug` and `Display` show the public key only.
pub struct Keypair(solana_keypair::Keypair);

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({}, secret: [redacted])", self.pubkey())
    }
}

impl Signer for Keypair {
    fn pubkey(&self) -> Pubkey {
        solana_signer::Signer::pubkey(&self.0)
    }
    fn sign_message(&self, message: &[u8]) -> Result<Signature, SignerError> {
        Ok(solana_signer::Signer::sign_message(&self.0, message))
    }
    fn is_trusted_local(&self) -> bool {
        true
    }
}

impl Keypair {
    /// A new random keypair from the operating system's generator.
    pub fn generate() -> Keypair {
        Keypair(solana_keypair::Keypair::new())
    }

    /// The keypair whose 32-byte Ed25519 secret (seed) is `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Keypair {
        Keypair(solana_keypair::Keypair::new_from_array(seed))
    }

    /// A keypair from its 64 bytes (secret, then public), checking that they agree.
    pub fn from_bytes(bytes: &[u8]) -> Result<Keypair, KeyError> {
        Self::from_bytes_at(bytes, "the key bytes")
    }

    fn from_bytes_at(bytes: &[u8], origin: &str) -> Result<Keypair, KeyError> {
        match bytes.len() {
            64 => solana_keypair::Keypair::try_from(bytes)
                .map(Keypair)
                .map_err(|_| KeyError::Mismatch {
                    origin: origin.into(),
                }),
            32 => {
                let mut seed = Zeroizing::new([0u8; 32]);
                seed.copy_from_slice(bytes);
                Ok(Keypair::from_seed(*seed))
            }
            n => Err(KeyError::Malformed {
                origin: origin.into(),
                problem: format!("it holds {n} bytes; a keypair has 64 (or a 32-byte secret)"),
            }),
        }
    }

    /// A keypair from a Solana CLI keypair file: a JSON array of 64 numbers.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Keypair, KeyError> {
        let path = path.as_ref();
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|source| KeyError::Io {
                    path: path.to_owned(),
                    source,
                })?,
            );
        Self::from_json_at(&text, &format!("the keypair file {}", path.display()))
    }

    /// The Solana CLI's default keypair: `~/.config/solana/id.json`.
    pub fn from_default_file() -> Result<Keypair, KeyError> {
        Self::from_file(default_keypair_path()?)
    }

    /// A keypair from the JSON array form (`[12,34,…]`, 64 numbers).
    pub fn from_json(text: &str) -> Result<Keypair, KeyError> {
        Self::from_json_at(text, "the keypair JSON")
    }

    fn from_json_at(text: &str, origin: &str) -> Result<Keypair, KeyError> {
        let malformed = |problem: String| KeyError::Malformed {
            origin: origin.into(),
            problem,
        };
        // Read straight into a zeroized buffer: no intermediate `Value`s hold the numbers.
        let mut de = serde_json::Deserializer::from_str(text.trim());
        let read = de
            .deserialize_seq(KeyArray {
                bytes: Zeroizing::new([0; 64]),
                len: 0,
                first_bad: None,
            })
            .and_then(|array| de.end().map(|()| array));
        let array = match read {
            Ok(a) => a,
            Err(e) if e.is_data() => {
                return Err(malformed(
                    "it is JSON but not an array of 64 numbers".into(),
                ));
            }
            Err(e) => {
                return Err(malformed(format!(
                    "it is not a JSON array of 64 numbers (syntax error at line {}, column {})",
                    e.line(),
                    e.column()
                )));
            }
        };
        if array.len != 64 {
            return Err(malformed(format!(
                "the array has {} elements; it must have 64",
                array.len
            )));
        }
        if let Some(i) = array.first_bad {
            return Err(malformed(format!(
                "element {i} is not a number from 0 to 255"
            )));
        }
        Self::from_bytes_at(&array.bytes[..], origin)
    }

    /// A keypair from base58 text (64 bytes, as wallets export them, or a 32-byte secret).
    pub fn from_base58(text: &str) -> Result<Keypair, KeyError> {
        Self::from_base58_at(text, "the base58 key")
    }

    fn from_base58_at(text: &str, origin: &str) -> Result<Keypair, KeyError> {
        let bytes = Zeroizing::new(bs58::decode(text.trim()).into_vec().map_err(|_| {
            KeyError::Malformed {
                origin: origin.into(),
                problem: "it is not valid base58".into(),
            }
        })?);
        Self::from_bytes_at(&bytes, origin)
    }

    /// A keypair from an environment variable holding either the JSON array form or base58.
    pub fn from_env(var: &str) -> Result<Keypair, KeyError> {
        let value =
            Zeroizing::new(std::env::var(var).map_err(|_| KeyError::MissingEnv(var.to_owned()))?);
        let origin = format!("the environment variable {var}");
        if value.trim_start().starts_with('[') {
            Self::from_json_at(&value, &origin)
        } else {
            Self::from_base58_at(&value, &origin)
        }
    }

    /// The public key.
    pub fn pubkey(&self) -> Pubkey {
        Signer::pubkey(self)
    }

    /// The underlying `solana-keypair` value (for use with other Solana crates).
    pub fn as_solana(&self) -> &solana_keypair::Keypair {
        &self.0
    }
}

impl From<solana_keypair::Keypair> for Keypair {
    fn from(k: solana_keypair::Keypair) -> Self {
        Keypair(k)
    }
}

/// A JSON array read as keypair bytes: the first 64 elements that are numbers from 0 to 255
/// land in a zeroized buffer; the length and the first element that is not such a number
/// are recorded so that errors come in the same order as a whole-document check.
struct KeyArray {
    bytes: Zeroizing<[u8; 64]>,
    len: usize,
    first_bad: Option<usize>,
}

/// One array element: a byte, or anything else (consumed and forgotten).
struct Element(Option<u8>);

impl<'de> de::Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Element;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Element, E> {
                Ok(Element(u8::try_from(n).ok()))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Element, E> {
                Ok(Element(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Element, E> {
                Ok(Element(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Element, E> {
                Ok(Element(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Element, E> {
                Ok(Element(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Element, E> {
                Ok(Element(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Element(None))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Element, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Element(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Visitor<'de> for KeyArray {
    type Value = KeyArray;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of 64 numbers")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<KeyArray, A::Error> {
        while let Some(Element(b)) = seq.next_element::<Element>()? {
            match (b, self.bytes.get_mut(self.len)) {
                (Some(b), Some(slot)) => *slot = b,
                (None, _) => {
                    self.first_bad.get_or_insert(self.len);
                }
                (Some(_), None) => {}
            }
            self.len += 1;
        }
        Ok(self)
    }
}

/// `~/.config/solana/id.json` (from `HOME`, or `USERPROFILE` on Windows).
pub fn default_keypair_path() -> Result<PathBuf, KeyError> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var_os("USERPROFILE").filter(|h| !h.is_empty()))
        .ok_or(KeyError::NoHome)?;
    Ok(PathBuf::from(home)
        .join(".config")
        .join("solana")
        .join("id.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_of(k: &Keypair) -> String {
        let b = k.as_solana().to_bytes();
        format!(
            "[{}]",
            b.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
        )
    }

    #[test]
    fn loaders_round_trip() {
        let k = Keypair::from_seed([7; 32]);
        let j = json_of(&k);
        assert_eq!(Keypair::from_json(&j).unwrap().pubkey(), k.pubkey());
        let b58 = k.as_solana().to_base58_string();
        assert_eq!(Keypair::from_base58(&b58).unwrap().pubkey(), k.pubkey());
        assert_eq!(
            Keypair::from_base58(&bs58::encode([7u8; 32]).into_string())
                .unwrap()
                .pubkey(),
            k.pubkey()
        );
        let dir = std::env::temp_dir().join(format!("sova-x402-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("id.json");
        std::fs::write(&p, &j).unwrap();
        assert_eq!(Keypair::from_file(&p).unwrap().pubkey(), k.pubkey());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn json_shape_errors_in_order() {
        let k = Keypair::from_seed([5; 32]);
        let j = json_of(&k);
        let msg = |t: &str| Keypair::from_json(t).unwrap_err().to_string();
        assert!(msg(r#"{"a":1}"#).contains("JSON but not an array"));
        assert!(msg("7").contains("JSON but not an array"));
        assert!(msg(&format!("{j} x")).contains("syntax error at line 1"));
        assert!(msg(&j.replacen('[', "[1,", 1)).contains("65 elements"));
        // The length is judged before the elements, as for a whole-document check.
        assert!(msg("[300, 1]").contains("2 elements"));
        for bad in ["300", "-1", "1.5", "\"7\"", "null", "[1]", "{}", "true"] {
            let t = j.replacen('[', &format!("[{bad},"), 1);
            let t = t.replacen(&format!(",{}]", k.as_solana().to_bytes()[63]), "]", 1);
            assert!(
                msg(&t).contains("element 0 is not a number from 0 to 255"),
                "{bad}: {}",
                msg(&t)
            );
        }
        assert_eq!(
            Keypair::from_json(&format!("  \n{j}\n")).unwrap().pubkey(),
            k.pubkey()
        );
    }

    #[test]
    fn errors_never_echo_secrets() {
        let k = Keypair::from_seed([9; 32]);
        let j = json_of(&k);
        let secret_b58 = k.as_solana().to_base58_string();
        // Truncated array.
        let short = j.rsplit_once(',').unwrap().0.to_owned() + "]";
        let e = Keypair::from_json(&short).unwrap_err().to_string();
        assert!(e.contains("63 elements"), "{e}");
        // Mismatched public half.
        let mut bytes = k.as_solana().to_bytes();
        bytes[40] ^= 1;
        let bad = format!(
            "[{}]",
            bytes
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        let e = Keypair::from_json(&bad).unwrap_err().to_string();
        assert!(e.contains("does not match"), "{e}");
        // An element out of range, a syntax error, bad base58.
        let e = Keypair::from_json(&j.replacen('[', "[300,", 1).replacen(",", "", 0))
            .unwrap_err()
            .to_string();
        assert!(!e.contains(&j[1..20]), "{e}");
        let e = Keypair::from_json("[1,2,").unwrap_err().to_string();
        assert!(e.contains("syntax error"), "{e}");
        let e = Keypair::from_base58(&(secret_b58.clone() + "0"))
            .unwrap_err()
            .to_string();
        assert!(!e.contains(&secret_b58[..10]), "{e}");
        let e = Keypair::from_file("/nonexistent/sova/id.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/sova/id.json"), "{e}");
        // Environment variables: a missing one, and one that holds no key (never echoed).
        let e = Keypair::from_env("SOVA_X402_TEST_SURELY_UNSET")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "the environment variable SOVA_X402_TEST_SURELY_UNSET is not set"
        );
        if let Ok(path) = std::env::var("PATH")
            && !path.is_empty()
        {
            let e = Keypair::from_env("PATH").unwrap_err().to_string();
            assert!(
                e.starts_with("the environment variable PATH is not a Solana keypair"),
                "{e}"
            );
            assert!(!e.contains(&path), "{e}");
        }
        // Debug shows the public key only.
        let d = format!("{k:?}");
        assert!(
            d.contains(&k.pubkey().to_string()) && d.contains("redacted"),
            "{d}"
        );
        assert!(!d.contains(&secret_b58[..10]));
    }
}
