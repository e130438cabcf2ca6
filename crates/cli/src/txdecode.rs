//! Reads a serialized Solana transaction (legacy or v0) into readable JSON: signatures,
//! accounts and every instruction decoded for the programs x402 payments use (Compute
//! Budget, SPL Token and Token-2022, Associated Token Account, Memo, System).

use serde_json::{Value, json};
use sova_x402::Pubkey;
use sova_x402::programs::{self, CU_LIMIT_DISC, CU_PRICE_DISC, TRANSFER_CHECKED_DISC};
use sova_x402::wire::{self, ParsedIx};

use crate::amount;

/// Decodes the wire bytes of a transaction with `sova_x402`'s reader, leniently (indexes into
/// lookup tables or past the keys are shown, not refused; `sova x402 verify` judges).
pub(crate) fn decode(bytes: &[u8]) -> Result<Value, String> {
    let tx = wire::read(bytes).map_err(|e| e.to_string())?;
    let keys = &tx.keys;
    let name = |i: u8| -> String {
        keys.get(usize::from(i))
            .map(ToString::to_string)
            .unwrap_or_else(|| format!("lookup#{i}"))
    };
    let required = usize::from(tx.num_required_signatures);
    let ro_signed = usize::from(tx.num_readonly_signed);
    let ro_unsigned = usize::from(tx.num_readonly_unsigned);
    let writable = |i: usize| {
        if i < required {
            i < required - ro_signed.min(required)
        } else {
            i < keys.len() - ro_unsigned.min(keys.len())
        }
    };
    let accounts: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| json!({"pubkey": k.to_string(), "signer": i < required, "writable": writable(i)}))
        .collect();
    let signatures: Vec<Value> = tx
        .signatures
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let empty = s.iter().all(|b| *b == 0);
            json!({
                "signer": keys.get(i).map(ToString::to_string),
                "signature": if empty { Value::Null } else { Value::from(bs58::encode(s.as_slice()).into_string()) },
            })
        })
        .collect();
    let instructions: Vec<Value> = tx
        .instructions
        .iter()
        .map(|ix| instruction(ix, keys, &name))
        .collect();
    let mut doc = json!({
        "version": if tx.versioned { "v0" } else { "legacy" },
        "size": bytes.len(),
        "feePayer": keys.first().map(ToString::to_string),
        "recentBlockhash": tx.blockhash.to_string(),
        "signatures": signatures,
        "accounts": accounts,
        "instructions": instructions,
    });
    if !tx.lookup_tables.is_empty() {
        let lookups: Vec<Value> = tx
            .lookup_tables
            .iter()
            .map(|t| json!({"table": t.account.to_string(), "writable": t.writable, "readonly": t.readonly}))
            .collect();
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

fn instruction(ix: &ParsedIx<'_>, keys: &[Pubkey], name: &dyn Fn(u8) -> String) -> Value {
    let program = keys.get(usize::from(ix.program)).copied();
    let acct = |n: usize| ix.accounts.get(n).map(|i| name(*i));
    let raw = || {
        json!({
            "programId": program.map(|p| p.to_string()),
            "accounts": ix.accounts.iter().map(|i| name(*i)).collect::<Vec<_>>(),
            "data": bs58::encode(ix.data).into_string(),
        })
    };
    let Some(p) = program else { return raw() };
    let d = ix.data;
    let mut v = if p == programs::COMPUTE_BUDGET_PROGRAM_ID {
        match d.first() {
            Some(&CU_LIMIT_DISC) => u32_at(d, 1).map(|u| {
                json!({"program": "ComputeBudget", "instruction": "SetComputeUnitLimit", "units": u})
            }),
            Some(&CU_PRICE_DISC) => u64_at(d, 1).map(|u| {
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
            Some(&TRANSFER_CHECKED_DISC) => u64_at(d, 1).zip(d.get(9)).map(|(amount, dec)| {
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
pub(crate) fn summary(tx: &Value) -> String {
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
    fn shows_lookup_tables_and_looked_up_accounts() {
        let mut b = vec![1u8];
        b.extend_from_slice(&[0u8; 64]);
        b.extend_from_slice(&[0x80, 1, 0, 1, 2]);
        b.extend_from_slice(Pubkey::new_from_array([1; 32]).as_ref());
        b.extend_from_slice(programs::MEMO_PROGRAM_ID.as_ref());
        b.extend_from_slice(&[3u8; 32]);
        b.extend_from_slice(&[1, 1, 1, 2, 2, b'h', b'i']);
        b.push(1);
        b.extend_from_slice(&[4u8; 32]);
        b.extend_from_slice(&[1, 7, 0]);
        let tx = decode(&b).unwrap();
        assert_eq!(tx["version"], "v0");
        assert_eq!(tx["signatures"][0]["signature"], Value::Null);
        assert_eq!(tx["instructions"][0]["memo"], "hi");
        assert_eq!(tx["instructions"][0]["signers"][0], "lookup#2");
        let lookup = &tx["addressTableLookups"][0];
        assert_eq!(lookup["table"], Pubkey::new_from_array([4; 32]).to_string());
        assert_eq!(lookup["writable"], json!([7]));
        assert_eq!(lookup["readonly"], json!([]));
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
