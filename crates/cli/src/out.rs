//! Output: one JSON document with `--json`, else aligned tables and key/value blocks.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};
use sova::call::Receipt;

use crate::amount;

/// What a finished command prints: its JSON document and its human text, and its exit code.
#[derive(Debug, Clone)]
pub(crate) struct Done {
    /// The `--json` document.
    pub json: Value,
    /// The human text (stdout).
    pub human: String,
    /// Lines left out with `--quiet` (receipts, notes), printed after `human`.
    pub notes: String,
    /// The exit code (0 unless a check failed).
    pub code: i32,
}

impl Done {
    /// A result with both renderings.
    pub(crate) fn new(json: Value, human: impl Into<String>) -> Self {
        Done {
            json,
            human: human.into(),
            notes: String::new(),
            code: 0,
        }
    }

    /// Adds notes (not printed with `--quiet`).
    pub(crate) fn notes(mut self, notes: impl Into<String>) -> Self {
        self.notes.push_str(&notes.into());
        self
    }

    /// Sets the exit code.
    pub(crate) fn code(mut self, code: i32) -> Self {
        self.code = code;
        self
    }
}

/// A heading line.
pub(crate) fn heading(title: &str) -> String {
    format!("== {title} ==\n")
}

/// An aligned key/value block.
pub(crate) fn kv<K: AsRef<str>, V: AsRef<str>>(rows: &[(K, V)]) -> String {
    let w = rows
        .iter()
        .map(|(k, _)| k.as_ref().len())
        .max()
        .unwrap_or(0);
    let mut s = String::new();
    for (k, v) in rows {
        let _ = writeln!(s, "{:w$}  {}", k.as_ref(), v.as_ref(), w = w);
    }
    s
}

/// An aligned table with a header row (numbers are right-aligned).
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    table_indented(headers, rows, 0)
}

fn table_indented(headers: &[&str], rows: &[Vec<String>], indent: usize) -> String {
    let n = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n) {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let numeric: Vec<bool> = (0..n)
        .map(|i| {
            !rows.is_empty()
                && rows.iter().all(|r| {
                    r.get(i).is_some_and(|c| {
                        c == "-" || (!c.is_empty() && c.parse::<f64>().is_ok() && !c.contains('e'))
                    })
                })
        })
        .collect();
    let pad = " ".repeat(indent);
    let mut s = String::new();
    let line = |cells: &[String], s: &mut String| {
        let mut l = pad.clone();
        for (i, w) in widths.iter().enumerate() {
            let c = cells.get(i).map(String::as_str).unwrap_or("");
            let len = c.chars().count();
            let fill = " ".repeat(w.saturating_sub(len));
            if i > 0 {
                l.push_str("  ");
            }
            if numeric[i] {
                l.push_str(&fill);
                l.push_str(c);
            } else {
                l.push_str(c);
                if i + 1 < n {
                    l.push_str(&fill);
                }
            }
        }
        s.push_str(l.trim_end());
        s.push('\n');
    };
    let h: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
    line(&h, &mut s);
    for r in rows {
        line(r, &mut s);
    }
    s
}

/// A scalar as text (`-` for null).
pub(crate) fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => {
                let s = format!("{f:.4}");
                let s = s.trim_end_matches('0').trim_end_matches('.');
                if s.is_empty() || s == "-" {
                    "0".into()
                } else {
                    s.to_owned()
                }
            }
            _ => n.to_string(),
        },
        Value::Array(a) => format!("[{} items]", a.len()),
        Value::Object(_) => "{…}".into(),
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

fn clip(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        s
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Renders any JSON value for people: objects as key/value blocks, lists of objects as
/// tables, nested values indented. Nulls and empty lists are left out.
pub(crate) fn render(v: &Value) -> String {
    let mut s = String::new();
    render_into(&mut s, v, 0);
    s
}

fn render_into(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) => render_object(out, m, indent),
        Value::Array(a) if a.iter().all(Value::is_object) && !a.is_empty() => {
            out.push_str(&object_table(a, indent));
        }
        Value::Array(a) => {
            for x in a {
                if is_scalar(x) {
                    let _ = writeln!(out, "{pad}{}", scalar(x));
                } else {
                    render_into(out, x, indent);
                }
            }
        }
        other => {
            let _ = writeln!(out, "{pad}{}", scalar(other));
        }
    }
}

fn render_object(out: &mut String, m: &Map<String, Value>, indent: usize) {
    let pad = " ".repeat(indent);
    let shown: Vec<(&String, &Value)> = m
        .iter()
        .filter(|(_, v)| match v {
            Value::Null => false,
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            _ => true,
        })
        .collect();
    let w = shown
        .iter()
        .filter(|(_, v)| inline(v))
        .map(|(k, _)| k.len())
        .max()
        .unwrap_or(0);
    for (k, v) in shown {
        if inline(v) {
            let text = match v {
                Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join(", "),
                other => scalar(other),
            };
            let _ = writeln!(out, "{pad}{k:w$}  {text}");
        } else {
            let _ = writeln!(out, "{pad}{k}:");
            render_into(out, v, indent + 2);
        }
    }
}

fn inline(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().all(is_scalar) && a.len() <= 8,
        Value::Object(_) => false,
        _ => true,
    }
}

fn object_table(rows: &[Value], indent: usize) -> String {
    let mut cols: Vec<String> = Vec::new();
    for r in rows {
        if let Value::Object(m) = r {
            for (k, v) in m {
                if is_scalar(v) && !cols.contains(k) && cols.len() < 8 {
                    cols.push(k.clone());
                }
            }
        }
    }
    if cols.is_empty() {
        let mut s = String::new();
        for r in rows {
            render_into(&mut s, r, indent);
        }
        return s;
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            cols.iter()
                .map(|c| clip(scalar(r.get(c).unwrap_or(&Value::Null)), 48))
                .collect()
        })
        .collect();
    let names: Vec<String> = cols.iter().map(|c| words(c)).collect();
    let headers: Vec<&str> = names.iter().map(String::as_str).collect();
    table_indented(&headers, &cells, indent)
}

/// `sharedTokenCount` and `shared_token_count` → `shared token count`.
pub(crate) fn words(key: &str) -> String {
    let mut s = String::with_capacity(key.len() + 4);
    let mut prev_lower = false;
    for ch in key.chars() {
        if ch == '_' || ch == '-' {
            s.push(' ');
            prev_lower = false;
        } else if ch.is_ascii_uppercase() && prev_lower {
            s.push(' ');
            s.push(ch.to_ascii_lowercase());
            prev_lower = false;
        } else {
            s.push(ch.to_ascii_lowercase());
            prev_lower = ch.is_ascii_lowercase() || ch.is_ascii_digit();
        }
    }
    s
}

/// A receipt as JSON (`null` when the call was not paid with x402).
pub(crate) fn receipt_json(r: Option<&Receipt>) -> Value {
    match r {
        None => Value::Null,
        Some(r) => json!({
            "transaction": r.transaction,
            "amount": r.amount,
            "amountUsdc": amount::fmt_units(r.amount, amount::USDC_DECIMALS),
            "asset": r.asset,
            "payTo": r.pay_to,
            "network": r.network,
            "payerSignature": r.payer_signature,
            "memo": r.memo,
        }),
    }
}

/// A receipt for people.
pub(crate) fn receipt_human(r: Option<&Receipt>) -> String {
    match r {
        None => String::new(),
        Some(r) => {
            let mut rows = vec![
                (
                    "paid",
                    format!("{} to {}", amount::usdc(r.amount), r.pay_to),
                ),
                (
                    "transaction",
                    r.transaction
                        .clone()
                        .unwrap_or_else(|| r.payer_signature.clone()),
                ),
            ];
            if let Some(m) = &r.memo {
                rows.push(("memo", m.clone()));
            }
            format!("\nreceipt:\n{}", indent_block(&kv(&rows), 2))
        }
    }
}

/// Indents every line of a block.
pub(crate) fn indent_block(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    s.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}\n")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align() {
        let t = table(
            &["name", "n"],
            &[
                vec!["a".into(), "1".into()],
                vec!["long name".into(), "100".into()],
            ],
        );
        assert_eq!(t, "NAME         N\na            1\nlong name  100\n");
    }

    #[test]
    fn renders_nested_values() {
        let v = json!({"a": 1, "bb": "x", "none": null, "list": [{"k": 1}, {"k": 22}], "o": {"z": true}});
        let s = render(&v);
        assert!(s.contains("a   1\n"), "{s}");
        assert!(s.contains("bb  x\n"), "{s}");
        assert!(!s.contains("none"), "{s}");
        assert!(s.contains("list:\n   K\n   1\n  22\n"), "{s}");
        assert!(s.contains("o:\n  z  true\n"), "{s}");
        assert_eq!(words("sharedTokenCount"), "shared token count");
        assert_eq!(words("wallet_id"), "wallet id");
    }
}
