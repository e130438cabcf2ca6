//! A strict, allocation-light reader for serialized Solana transactions (legacy and v0),
//! independent of the builder. The verifier reads payments with it and the `sova` command
//! line decodes transactions for people with it. Never panics on any input.
//!
//! [`parse`] reads the wire layout and then checks what the runtime's sanitize step checks
//! (header counts against the keys, valid program and account indexes, no duplicate keys);
//! [`read`] reads the layout only, so that a malformed transaction can still be shown.
//!
//! ```
//! use sova_x402::wire;
//!
//! // One signature slot, a legacy header, two keys, a blockhash and no instructions.
//! let mut bytes = vec![1u8];
//! bytes.extend_from_slice(&[0; 64]);
//! bytes.extend_from_slice(&[1, 0, 1, 2]);
//! bytes.extend_from_slice(&[7; 32]);
//! bytes.extend_from_slice(&[8; 32]);
//! bytes.extend_from_slice(&[9; 32]);
//! bytes.push(0);
//! let tx = wire::parse(&bytes)?;
//! assert!(!tx.versioned);
//! assert_eq!(tx.keys.len(), 2);
//! assert!(tx.is_signer(0) && tx.is_writable(0) && !tx.is_writable(1));
//! assert!(wire::parse(&bytes[..100]).is_err());
//! # Ok::<(), wire::WireError>(())
//! ```

use std::fmt;

use solana_hash::Hash;
use solana_pubkey::Pubkey;

/// Why bytes are not a transaction [`parse`] or [`read`] accepts; `Display` says where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

impl From<String> for WireError {
    fn from(message: String) -> Self {
        WireError(message)
    }
}

impl From<&str> for WireError {
    fn from(message: &str) -> Self {
        WireError(message.to_owned())
    }
}

/// A decoded transaction, borrowing from its bytes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ParsedTx<'a> {
    /// The signature slots, in account order (an all-zero slot is unsigned).
    pub signatures: Vec<&'a [u8; 64]>,
    /// The serialized message: the bytes every signature signs.
    pub message: &'a [u8],
    /// `true` for a v0 message, `false` for a legacy one.
    pub versioned: bool,
    /// Header: how many leading account keys must sign.
    pub num_required_signatures: u8,
    /// Header: how many of the signing keys are read-only.
    pub num_readonly_signed: u8,
    /// Header: how many of the non-signing keys are read-only.
    pub num_readonly_unsigned: u8,
    /// The static account keys; index 0 is the fee payer.
    pub keys: Vec<Pubkey>,
    /// The recent blockhash.
    pub blockhash: Hash,
    /// The compiled instructions, in order.
    pub instructions: Vec<ParsedIx<'a>>,
    /// The address lookup tables a v0 message loads (always empty for legacy).
    pub lookup_tables: Vec<LookupTable<'a>>,
}

/// A compiled instruction.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ParsedIx<'a> {
    /// Index of the program's key.
    pub program: u8,
    /// Indexes of the instruction's accounts, in order.
    pub accounts: &'a [u8],
    /// The instruction data.
    pub data: &'a [u8],
}

/// An address lookup table a v0 message loads accounts from.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct LookupTable<'a> {
    /// The lookup table account.
    pub account: Pubkey,
    /// Indexes into the table of the accounts loaded writable.
    pub writable: &'a [u8],
    /// Indexes into the table of the accounts loaded read-only.
    pub readonly: &'a [u8],
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(format!(
                "the transaction ends inside {what} (byte {})",
                self.pos
            )),
        }
    }

    fn byte(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<&'a [u8; N], String> {
        self.take(N, what)?
            .try_into()
            .map_err(|_| format!("the transaction ends inside {what}"))
    }

    /// Solana's compact-u16 ("short vec" length), rejecting non-canonical encodings.
    fn short_u16(&mut self, what: &str) -> Result<usize, String> {
        let mut value: usize = 0;
        for i in 0..3 {
            let b = self.byte(what)?;
            value |= usize::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if i > 0 && b == 0 {
                    return Err(format!("{what} uses a non-canonical length encoding"));
                }
                if i == 2 && b > 0x03 {
                    return Err(format!("{what} length overflows 16 bits"));
                }
                return Ok(value);
            }
        }
        Err(format!("{what} length overflows 16 bits"))
    }
}

/// Reads a whole transaction and checks it as the runtime's sanitize step does: the header
/// counts fit the keys, every program and account index names a static key (programs never
/// the fee payer), no key appears twice. Trailing bytes, non-canonical lengths, more than 64
/// signatures and message versions other than legacy and v0 are errors.
pub fn parse(bytes: &[u8]) -> Result<ParsedTx<'_>, WireError> {
    decode(bytes, true).map_err(WireError)
}

/// Reads a whole transaction's layout without the sanitize checks of [`parse`]: indexes may
/// point past the static keys (into lookup tables, or nowhere) and the header is taken as
/// written. For showing a transaction; never for deciding whether to accept one.
pub fn read(bytes: &[u8]) -> Result<ParsedTx<'_>, WireError> {
    decode(bytes, false).map_err(WireError)
}

fn decode(bytes: &[u8], strict: bool) -> Result<ParsedTx<'_>, String> {
    let mut c = Cursor { bytes, pos: 0 };
    let nsig = c.short_u16("the signature count")?;
    if nsig > 64 {
        return Err(format!("the transaction claims {nsig} signatures"));
    }
    let mut signatures = Vec::with_capacity(nsig);
    for _ in 0..nsig {
        signatures.push(c.array::<64>("a signature")?);
    }
    let message_start = c.pos;
    let first = c.byte("the message header")?;
    let (versioned, num_required_signatures) = if first & 0x80 != 0 {
        let version = first & 0x7f;
        if version != 0 {
            return Err(format!(
                "message version {version} is not supported (only legacy and v0)"
            ));
        }
        (true, c.byte("the message header")?)
    } else {
        (false, first)
    };
    let num_readonly_signed = c.byte("the message header")?;
    let num_readonly_unsigned = c.byte("the message header")?;
    let nkeys = c.short_u16("the account key count")?;
    let mut keys = Vec::with_capacity(nkeys);
    for _ in 0..nkeys {
        keys.push(Pubkey::new_from_array(*c.array::<32>("an account key")?));
    }
    let blockhash = Hash::new_from_array(*c.array::<32>("the blockhash")?);
    let nix = c.short_u16("the instruction count")?;
    let mut instructions = Vec::with_capacity(nix.min(64));
    for i in 0..nix {
        let program = c.byte("an instruction")?;
        let nacc = c.short_u16("an instruction's account list")?;
        let accounts = c.take(nacc, "an instruction's account list")?;
        let ndata = c.short_u16("an instruction's data")?;
        let data = c.take(ndata, "an instruction's data")?;
        if strict && (usize::from(program) >= nkeys || program == 0) {
            return Err(format!(
                "instruction {i} names program index {program}, which is not a valid program account"
            ));
        }
        if let Some(bad) = accounts
            .iter()
            .find(|a| strict && usize::from(**a) >= nkeys)
        {
            return Err(format!(
                "instruction {i} names account index {bad}, beyond the {nkeys} account keys"
            ));
        }
        instructions.push(ParsedIx {
            program,
            accounts,
            data,
        });
    }
    let mut lookup_tables = Vec::new();
    if versioned {
        let n = c.short_u16("the lookup table count")?;
        lookup_tables.reserve(n.min(64));
        for _ in 0..n {
            let account = Pubkey::new_from_array(*c.array::<32>("a lookup table")?);
            let w = c.short_u16("a lookup table")?;
            let writable = c.take(w, "a lookup table")?;
            let r = c.short_u16("a lookup table")?;
            let readonly = c.take(r, "a lookup table")?;
            lookup_tables.push(LookupTable {
                account,
                writable,
                readonly,
            });
        }
    }
    if c.pos != bytes.len() {
        return Err(format!(
            "{} unexpected bytes follow the message",
            bytes.len() - c.pos
        ));
    }
    let message = &bytes[message_start..];
    if strict {
        sanitize(
            &keys,
            num_required_signatures,
            num_readonly_signed,
            num_readonly_unsigned,
        )?;
    }
    Ok(ParsedTx {
        signatures,
        message,
        versioned,
        num_required_signatures,
        num_readonly_signed,
        num_readonly_unsigned,
        keys,
        blockhash,
        instructions,
        lookup_tables,
    })
}

/// Header sanity and unique keys, as the runtime's sanitize does it.
fn sanitize(
    keys: &[Pubkey],
    num_required_signatures: u8,
    num_readonly_signed: u8,
    num_readonly_unsigned: u8,
) -> Result<(), String> {
    let nkeys = keys.len();
    let req = usize::from(num_required_signatures);
    if req == 0 || req > nkeys {
        return Err(format!(
            "the header requires {req} signatures with {nkeys} account keys"
        ));
    }
    if num_readonly_signed >= num_required_signatures {
        return Err("the header makes the fee payer read-only".into());
    }
    if usize::from(num_readonly_unsigned) > nkeys - req {
        return Err("the header marks more read-only unsigned accounts than there are".into());
    }
    if keys.len() <= 16 {
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].contains(k) {
                return Err(format!("account key {k} appears twice"));
            }
        }
    } else {
        let mut seen = std::collections::HashSet::with_capacity(keys.len());
        if let Some(k) = keys.iter().find(|k| !seen.insert(**k)) {
            return Err(format!("account key {k} appears twice"));
        }
    }
    Ok(())
}

impl ParsedTx<'_> {
    /// The key at `index`, if any.
    pub fn key(&self, index: u8) -> Option<&Pubkey> {
        self.keys.get(usize::from(index))
    }

    /// Whether the account at `index` is a signer.
    pub fn is_signer(&self, index: u8) -> bool {
        index < self.num_required_signatures
    }

    /// Whether the account at `index` is writable (as requested by the message; indexes past
    /// the static keys are not).
    pub fn is_writable(&self, index: u8) -> bool {
        let i = usize::from(index);
        let req = usize::from(self.num_required_signatures);
        if i < req {
            i < req.saturating_sub(usize::from(self.num_readonly_signed))
        } else {
            i < self
                .keys
                .len()
                .saturating_sub(usize::from(self.num_readonly_unsigned))
        }
    }

    /// The program of an instruction.
    pub fn program_of(&self, ix: &ParsedIx<'_>) -> Option<&Pubkey> {
        self.key(ix.program)
    }

    /// The key of an instruction's `n`-th account.
    pub fn account_of(&self, ix: &ParsedIx<'_>, n: usize) -> Option<&Pubkey> {
        ix.accounts.get(n).and_then(|i| self.key(*i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_vec() {
        let mut c = Cursor {
            bytes: &[0x80, 0x01],
            pos: 0,
        };
        assert_eq!(c.short_u16("x").unwrap(), 128);
        let mut c = Cursor {
            bytes: &[0x80, 0x00],
            pos: 0,
        };
        assert!(c.short_u16("x").is_err());
        let mut c = Cursor {
            bytes: &[0xff, 0xff, 0x03],
            pos: 0,
        };
        assert_eq!(c.short_u16("x").unwrap(), 0xffff);
        let mut c = Cursor {
            bytes: &[0xff, 0xff, 0x04],
            pos: 0,
        };
        assert!(c.short_u16("x").is_err());
        let mut c = Cursor {
            bytes: &[0xff],
            pos: 0,
        };
        assert!(c.short_u16("x").is_err());
    }

    #[test]
    fn garbage_never_panics() {
        for len in 0..300usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            let _ = parse(&bytes);
            if let Ok(tx) = read(&bytes) {
                for i in 0..=u8::MAX {
                    let _ = (tx.is_signer(i), tx.is_writable(i), tx.key(i));
                }
            }
        }
        assert!(parse(&[]).is_err());
        assert!(parse(&[1]).is_err());
        assert!(read(&[]).is_err());
    }

    /// A v0 message with one lookup table and an instruction naming a looked-up account.
    fn v0_with_lookup() -> Vec<u8> {
        let mut b = vec![1u8];
        b.extend_from_slice(&[5u8; 64]);
        b.extend_from_slice(&[0x80, 1, 0, 1, 2]);
        b.extend_from_slice(&[1u8; 32]);
        b.extend_from_slice(&[2u8; 32]);
        b.extend_from_slice(&[3u8; 32]);
        b.extend_from_slice(&[1, 1, 2, 0, 2, 1, 0xaa]);
        b.push(1);
        b.extend_from_slice(&[4u8; 32]);
        b.extend_from_slice(&[1, 7, 2, 8, 9]);
        b
    }

    #[test]
    fn read_keeps_lookup_tables_and_parse_refuses_what_sanitize_refuses() {
        let bytes = v0_with_lookup();
        let err = parse(&bytes).unwrap_err().to_string();
        assert!(err.contains("account index 2"), "{err}");
        let tx = read(&bytes).unwrap();
        assert!(tx.versioned);
        assert_eq!(tx.lookup_tables.len(), 1);
        let t = tx.lookup_tables[0];
        assert_eq!(t.account, Pubkey::new_from_array([4; 32]));
        assert_eq!((t.writable, t.readonly), (&[7u8][..], &[8u8, 9][..]));
        let ix = tx.instructions[0];
        assert_eq!(tx.account_of(&ix, 1), None);
        assert_eq!(tx.program_of(&ix), Some(&Pubkey::new_from_array([2; 32])));
        // Without the looked-up account the same message passes the sanitize checks.
        let mut ok = bytes.clone();
        let at = 1 + 64 + 5 + 96 + 4;
        ok[at] = 0;
        let tx = parse(&ok).unwrap();
        assert_eq!(tx.lookup_tables.len(), 1);
    }
}
