//! Reads a serialized Solana transaction (legacy or v0) into readable JSON: signatures,
//! accounts and every instruction decoded for the programs x402 payments use (Compute
//! Budget, SPL Token and Token-2022, Associated Token Account, Memo, System).

use serde_json::{Value, json};
use sova_x402::{Pubkey, programs};

use crate::amount;

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or_else(|| format!("the transaction ends early (at byte {})", self.at))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    /// Solana's compact-u16 (shortvec).
    fn len(&mut self) -> Result<usize, String> {
        let mut v: usize = 0;
        for i in 0..3 {
            let b = self.u8()?;
            v |= usize::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("a length prefix is malformed".into())
    }
    fn key(&mut self) -> Result<Pubkey, String> {
        let s = self.take(32)?;
        let mut a = [0u8; 32];
        a.copy_from_slice(s);
        Ok(Pubkey::new_from_array(a))
    }
}

struct Ix {
    program: u8,
    accounts: Vec<u8>,
    data: Vec<u8>,
}

/// Decodes the wire bytes of a transaction.
pub fn decode(bytes: &[u8]) -> Result<Value, String> {
    let mut c = Cursor { b: bytes, at: 0 };
    let nsig = c.len()?;
    let mut sigs = Vec::with_capacity(nsig);
    for _ in 0..nsig {
        sigs.push(c.take(64)?.to_vec());
    }
    let first = *bytes.get(c.at).ok_or("the message is missing")?;
    let version = if first & 0x80 != 0 {
        c.u8()?;
        Some(first & 0x7f)
    } else {
        None
    };
    let required = usize::from(c.u8()?);
    let ro_signed = usize::from(c.u8()?);
    let ro_unsigned = usize::from(c.u8()?);
    let nkeys = c.len()?;
    let mut keys = Vec::with_capacity(nkeys);
    for _ in 0..nkeys {
        keys.push(c.key()?);
    }
    let blockhash = c.key()?;
    let nix = c.len()?;
    let mut ixs = Vec::with_capacity(nix);
    for _ in 0..nix {
        let program = c.u8()?;
        let na = c.len()?;
        let accounts = c.take(na)?.to_vec();
        let nd = c.len()?;
        let data = c.take(nd)?.to_vec();
        ixs.push(Ix {
            program,
            accounts,
            data,
        });
    }
    let mut lookups = Vec::new();
    if version.is_some() {
        let n = c.len()?;
        for _ in 0..n {
            let table = c.key()?;
            let nw = c.len()?;
            let w = c.take(nw)?.to_vec();
            let nr = c.len()?;
            let r = c.take(nr)?.to_vec();
            lookups.push(json!({"table": table.to_string(), "writable": w, "readonly": r}));
        }
    }
    if c.at != bytes.len() {
        return Err(format!("{} bytes follow the message", bytes.len() - c.at));
    }
    let name = |i: u8| -> String {
        keys.get(usize::from(i))
            .map(ToString::to_string)
            .unwrap_or_else(|| format!("lookup#{i}"))
    };
    let writable = |i: usize| {
        if i < required {
            i < required - ro_signed.min(required)
        } else {
            i < nkeys - ro_unsigned.min(nkeys)
        }
    };
    let accounts: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| json!({"pubkey": k.to_string(), "signer": i < required, "writable": writable(i)}))
        .collect();
    let signatures: Vec<Value> = sigs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let empty = s.iter().all(|b| *b == 0);
            json!({
                "signer": keys.get(i).map(ToString::to_string),
                "signature": if empty { Value::Null } else { Value::from(bs58::encode(s).into_string()) },
            })
        })
        .collect();
    let instructions: Vec<Value> = ixs.iter().map(|ix| instruction(ix, &keys, &name)).collect();
    let mut doc = json!({
        "version": version.map(|v| format!("v{v}")).unwrap_or_else(|| "legacy".into()),
        "size": bytes.len(),
        "feePayer": keys.first().map(ToString::to_string),
        "recentBlockhash": blockhash.to_string(),
        "signatures": signatures,
        "accounts": accounts,
        "instructions": instructions,
    });
    if !lookups.is_empty() {
        doc["addressTableLookups"] = Value::Array(lookups);
    }
    Ok(doc)
}

fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    d.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(d: &[u8], at: usize) -> Option<u64> {
    d.get(at..at + 8).map(|s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

fn instruction(ix: &Ix, keys: &[Pubkey], name: &dyn Fn(u8) -> String) -> Value {
    let program = keys.get(usize::from(ix.program)).copied();
    let acct = |n: usize| ix.accounts.get(n).map(|i| name(*i));
    let raw = || {
        json!({
            "programId": program.map(|p| p.to_string()),
            "accounts": ix.accounts.iter().map(|i| name(*i)).collect::<Vec<_>>(),
            "data": bs58::encode(&ix.data).into_string(),
        })
    };
    let Some(p) = program else { return raw() };
    let d = &ix.data;
    let mut v = if p == programs::COMPUTE_BUDGET_PROGRAM_ID {
        match d.first() {
            Some(2) => u32_at(d, 1).map(|u| {
                json!({"program": "ComputeBudget", "instruction": "SetComputeUnitLimit", "units": u})
            }),
            Some(3) => u64_at(d, 1).map(|u| {
                json!({"program": "ComputeBudget", "instruction": "SetComputeUnitPrice", "microLamports": u})
            }),
            Some(1) => u32_at(d, 1).map(|u| {
                json!({"program": "ComputeBudget", "instruction": "RequestHeapFrame", "bytes": u})
            }),
            Some(4) => u32_at(d, 1).map(|u| {
                json!({"program": "ComputeBudget", "instruction": "SetLoadedAccountsDataSizeLimit", "bytes": u})
            }),
            _ => None,
        }
    } else if p == programs::TOKEN_PROGRAM_ID || p == programs::TOKEN_2022_PROGRAM_ID {
        let prog = if p == programs::TOKEN_PROGRAM_ID {
            "Token"
        } else {
            "Token-2022"
        };
        match d.first() {
            Some(12) => u64_at(d, 1).zip(d.get(9)).map(|(amount, dec)| {
                json!({
                    "program": prog,
                    "instruction": "TransferChecked",
                    "source": acct(0),
                    "mint": acct(1),
                    "destination": acct(2),
                    "authority": acct(3),
                    "amount": amount.to_string(),
                    "decimals": dec,
                    "uiAmount": amount::fmt_units(amount, u32::from(*dec)),
                })
            }),
            Some(3) => u64_at(d, 1).map(|amount| {
                json!({
                    "program": prog,
                    "instruction": "Transfer",
                    "source": acct(0),
                    "destination": acct(1),
                    "authority": acct(2),
                    "amount": amount.to_string(),
                })
            }),
            _ => None,
        }
    } else if p == programs::ASSOCIATED_TOKEN_PROGRAM_ID {
        let which = match d.first() {
            None | Some(0) => Some("Create"),
            Some(1) => Some("CreateIdempotent"),
            _ => None,
        };
        which.map(|w| {
            json!({
                "program": "AssociatedTokenAccount",
                "instruction": w,
                "funder": acct(0),
                "account": acct(1),
                "owner": acct(2),
                "mint": acct(3),
            })
        })
    } else if p == programs::MEMO_PROGRAM_ID {
        Some(match std::str::from_utf8(d) {
            Ok(text) => json!({"program": "Memo", "memo": text, "signers": ix.accounts.iter().map(|i| name(*i)).collect::<Vec<_>>()}),
            Err(_) => json!({"program": "Memo", "memoBytes": bs58::encode(d).into_string()}),
        })
    } else if p == programs::SYSTEM_PROGRAM_ID {
        match u32_at(d, 0) {
            Some(2) => u64_at(d, 4).map(|l| {
                json!({"program": "System", "instruction": "Transfer", "from": acct(0), "to": acct(1), "lamports": l})
            }),
            _ => None,
        }
    } else {
        None
    }
    .unwrap_or_else(raw);
    if v.get("programId").is_none() {
        v["programId"] = Value::from(p.to_string());
    }
    v
}

/// One line per instruction, for people.
pub fn summary(tx: &Value) -> String {
    let mut s = String::new();
    if let Some(ixs) = tx.get("instructions").and_then(Value::as_array) {
        for (i, ix) in ixs.iter().enumerate() {
            let g = |k: &str| ix.get(k).and_then(Value::as_str).unwrap_or("");
            let line = match (g("program"), g("instruction")) {
                ("ComputeBudget", "SetComputeUnitLimit") => {
                    format!("compute unit limit {}", ix["units"])
                }
                ("ComputeBudget", "SetComputeUnitPrice") => {
                    format!("compute unit price {} micro-lamports", ix["microLamports"])
                }
                (p @ ("Token" | "Token-2022"), "TransferChecked") => format!(
                    "{p} TransferChecked {} (mint {}) from {} to {}, authority {}",
                    g("uiAmount"),
                    g("mint"),
                    g("source"),
                    g("destination"),
                    g("authority")
                ),
                ("Memo", _) => format!("memo {:?}", g("memo")),
                ("AssociatedTokenAccount", w) => {
                    format!("{w} token account {} for {}", g("account"), g("owner"))
                }
                ("System", "Transfer") => format!("SOL transfer {} lamports", ix["lamports"]),
                (p, w) if !p.is_empty() => format!("{p} {w}"),
                _ => format!("program {}", g("programId")),
            };
            s.push_str(&format!("  {}. {line}\n", i + 1));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A legacy transfer-checked transaction, laid out by hand.
    fn sample() -> Vec<u8> {
        let keys = [
            Pubkey::new_from_array([1; 32]),
            Pubkey::new_from_array([2; 32]),
            Pubkey::new_from_array([3; 32]),
            programs::USDC_MAINNET,
            programs::TOKEN_PROGRAM_ID,
        ];
        let mut b = vec![1u8];
        b.extend_from_slice(&[9u8; 64]);
        b.extend_from_slice(&[1, 0, 2, keys.len() as u8]);
        for k in &keys {
            b.extend_from_slice(k.as_ref());
        }
        b.extend_from_slice(&[7u8; 32]);
        b.push(1);
        b.extend_from_slice(&[4, 4, 1, 3, 2, 0, 10, 12]);
        b.extend_from_slice(&15_000u64.to_le_bytes());
        b.push(6);
        b
    }

    #[test]
    fn decodes_a_transfer() {
        let tx = decode(&sample()).unwrap();
        assert_eq!(tx["version"], "legacy");
        let ix = &tx["instructions"][0];
        assert_eq!(ix["instruction"], "TransferChecked");
        assert_eq!(ix["amount"], "15000");
        assert_eq!(ix["uiAmount"], "0.015000");
        assert_eq!(ix["mint"], programs::USDC_MAINNET.to_string());
        assert_eq!(tx["accounts"][0]["signer"], true);
        assert_eq!(tx["accounts"][0]["writable"], true);
        assert_eq!(tx["accounts"][2]["writable"], true);
        assert_eq!(tx["accounts"][3]["writable"], false);
        assert_eq!(ix["source"], Pubkey::new_from_array([2; 32]).to_string());
        assert_eq!(ix["authority"], tx["feePayer"]);
        assert!(summary(&tx).contains("TransferChecked 0.015000"));
    }

    #[test]
    fn truncated_or_garbled_input_is_an_error_not_a_panic() {
        let good = sample();
        for n in 0..good.len() {
            assert!(decode(&good[..n]).is_err(), "prefix of {n} bytes");
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let _ = decode(&bytes);
        }
    }
}
