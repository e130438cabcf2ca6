//! A strict, allocation-light reader for serialized Solana transactions (legacy and v0),
//! independent of the builder, for the verifier. Never panics on any input.

use solana_hash::Hash;
use solana_pubkey::Pubkey;

/// A decoded transaction, borrowing from its bytes.
#[derive(Debug, Clone)]
pub(crate) struct ParsedTx<'a> {
    pub signatures: Vec<&'a [u8; 64]>,
    pub message: &'a [u8],
    pub versioned: bool,
    pub num_required_signatures: u8,
    pub num_readonly_signed: u8,
    pub num_readonly_unsigned: u8,
    pub keys: Vec<Pubkey>,
    pub blockhash: Hash,
    pub instructions: Vec<ParsedIx<'a>>,
    pub lookup_tables: usize,
}

/// A compiled instruction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParsedIx<'a> {
    pub program: u8,
    pub accounts: &'a [u8],
    pub data: &'a [u8],
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

/// Reads a whole transaction; trailing bytes are an error.
pub(crate) fn parse(bytes: &[u8]) -> Result<ParsedTx<'_>, String> {
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
        if usize::from(program) >= nkeys || program == 0 {
            return Err(format!(
                "instruction {i} names program index {program}, which is not a valid program account"
            ));
        }
        if let Some(bad) = accounts.iter().find(|a| usize::from(**a) >= nkeys) {
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
    let mut lookup_tables = 0;
    if versioned {
        lookup_tables = c.short_u16("the lookup table count")?;
        for _ in 0..lookup_tables {
            c.take(32, "a lookup table")?;
            let w = c.short_u16("a lookup table")?;
            c.take(w, "a lookup table")?;
            let r = c.short_u16("a lookup table")?;
            c.take(r, "a lookup table")?;
        }
    }
    if c.pos != bytes.len() {
        return Err(format!(
            "{} unexpected bytes follow the message",
            bytes.len() - c.pos
        ));
    }
    let message = &bytes[message_start..];
    // Header sanity, as the runtime's sanitize does it.
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

impl ParsedTx<'_> {
    /// The key at `index`, if any.
    pub fn key(&self, index: u8) -> Option<&Pubkey> {
        self.keys.get(usize::from(index))
    }

    /// Whether the account at `index` is a signer.
    pub fn is_signer(&self, index: u8) -> bool {
        index < self.num_required_signatures
    }

    /// Whether the account at `index` is writable (as requested by the message).
    pub fn is_writable(&self, index: u8) -> bool {
        let i = usize::from(index);
        let req = usize::from(self.num_required_signatures);
        if i < req {
            i < req - usize::from(self.num_readonly_signed)
        } else {
            i < self.keys.len() - usize::from(self.num_readonly_unsigned)
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
        }
        assert!(parse(&[]).is_err());
        assert!(parse(&[1]).is_err());
    }
}
