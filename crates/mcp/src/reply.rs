//! The result the model reads: a concise text (at most [`TEXT_LIMIT`] characters, no JSON
//! dump) with the key figures and how to get more, the full data in `structuredContent` (the
//! envelope of [`crate::tools::output_schema`]), the receipt in `_meta`. On an error that
//! carries a payment, the payment's state comes first.

use rmcp::model::{CallToolResult, ContentBlock, JsonObject, MetaObject};
use serde_json::{Map, Value, json};

use crate::call::{Call, PaymentNote, Reply, ToolError};
use crate::server::RECEIPT_META_KEY;
use crate::spend::{receipt_json, receipt_sentence};
use crate::usdc;

/// The most characters of text a result carries.
pub(crate) const TEXT_LIMIT: usize = 4_000;
/// Characters given to the key figures of the data.
const FIGURES_LIMIT: usize = 2_400;
/// Rows of a list shown in the text.
const ROWS_IN_TEXT: usize = 5;
/// Characters of one row in the text.
const ROW_LIMIT: usize = 240;

/// Keeps `limit` rows from `offset` of every list in `data` longer than that (lists nested up
/// to three levels deep); returns the view: `{offset, limit, lists: {path: total}}`, or
/// `None` when nothing was cut.
pub(crate) fn narrow(data: &mut Value, offset: usize, limit: usize) -> Option<Value> {
    let mut lists = Map::new();
    cut(data, "", offset, limit, 0, &mut lists);
    if lists.is_empty() && offset == 0 {
        return None;
    }
    Some(json!({"offset": offset, "limit": limit, "lists": lists}))
}

fn cut(
    v: &mut Value,
    path: &str,
    offset: usize,
    limit: usize,
    depth: usize,
    lists: &mut Map<String, Value>,
) {
    if depth > 3 {
        return;
    }
    match v {
        Value::Array(a) if a.len() > limit || (offset > 0 && !a.is_empty()) => {
            let total = a.len();
            let kept: Vec<Value> = a.drain(..).skip(offset).take(limit).collect();
            *a = kept;
            lists.insert(
                if path.is_empty() { "." } else { path }.to_owned(),
                json!(total),
            );
        }
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                cut(x, &p, offset, limit, depth + 1, lists);
            }
        }
        _ => {}
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// One row of a list: its scalar fields, `key=value`, clipped.
fn row(v: &Value) -> String {
    match v {
        Value::Object(m) => clip(
            &m.iter()
                .filter_map(|(k, x)| scalar(x).map(|s| format!("{k}={}", clip(&s, 60))))
                .collect::<Vec<_>>()
                .join(", "),
            ROW_LIMIT,
        ),
        other => clip(
            &scalar(other).unwrap_or_else(|| other.to_string()),
            ROW_LIMIT,
        ),
    }
}

/// The key figures of `data` as short lines: scalars by name, lists by size with their
/// first rows, nested objects one level down.
pub(crate) fn figures(data: &Value) -> String {
    let mut lines = Vec::new();
    walk(data, "", 0, &mut lines);
    let mut out = String::new();
    for l in lines {
        if out.chars().count() + l.chars().count() + 1 > FIGURES_LIMIT {
            out.push_str("… (more in structuredContent)");
            break;
        }
        out.push_str(&l);
        out.push('\n');
    }
    out.trim_end().to_owned()
}

fn walk(v: &Value, path: &str, depth: usize, lines: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            let flat: Vec<String> = m
                .iter()
                .filter_map(|(k, x)| scalar(x).map(|s| format!("{k}: {}", clip(&s, 80))))
                .collect();
            if !flat.is_empty() {
                let head = if path.is_empty() {
                    String::new()
                } else {
                    format!("{path} — ")
                };
                lines.push(clip(&format!("{head}{}", flat.join("; ")), 600));
            }
            if depth < 2 {
                for (k, x) in m {
                    if x.is_object() || x.is_array() {
                        let p = if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        };
                        walk(x, &p, depth + 1, lines);
                    }
                }
            }
        }
        Value::Array(a) => {
            let name = if path.is_empty() { "rows" } else { path };
            lines.push(format!("{name}: {} rows", a.len()));
            for (i, x) in a.iter().take(ROWS_IN_TEXT).enumerate() {
                lines.push(format!("  {}. {}", i + 1, row(x)));
            }
            if a.len() > ROWS_IN_TEXT {
                lines.push(format!(
                    "  … {} more rows in structuredContent",
                    a.len() - ROWS_IN_TEXT
                ));
            }
        }
        _ => {}
    }
}

/// The first line of an error that carries a payment: its state, amount and signature.
fn payment_line(p: &PaymentNote) -> String {
    let what = match p.state {
        "charged" => "PAYMENT CHARGED",
        "may_have_charged" => "PAYMENT MAY HAVE BEEN CHARGED",
        _ => "Payment not charged",
    };
    format!(
        "{what}: {} USDC ({} base units), payer signature {}.",
        usdc::format(p.amount),
        p.amount,
        p.signature
    )
}

impl Call<'_> {
    /// The result of the call: text, structured content, receipt.
    pub(crate) async fn finish(self, outcome: Result<Reply, ToolError>) -> CallToolResult {
        let inner = self.inner;
        // One read of the ledger: the budget held now, by every server sharing it.
        let spent = inner.spent().await;
        let budget = spent.map(|s| {
            format!(
                "Budget: {} of {} USDC spent {}, {} USDC left.",
                usdc::format(s),
                usdc::format(inner.limits.budget),
                crate::journal::window_phrase(inner.limits.window),
                usdc::format(inner.limits.budget.saturating_sub(s))
            )
        });
        let payments: Vec<Value> = self.receipts.iter().map(receipt_json).collect();
        let mut lines: Vec<String> = Vec::new();
        let mut tail: Vec<String> = Vec::new();
        let (ok, mut doc) = match outcome {
            Ok(reply) => {
                lines.push(reply.summary.clone());
                let status = if reply.pending.is_some() {
                    "pending"
                } else {
                    "completed"
                };
                let fig = figures(&reply.data);
                if !fig.is_empty() && reply.pending.is_none() && !reply.quiet {
                    lines.push(fig);
                }
                if let Some(more) = &reply.more {
                    tail.push(more.clone());
                }
                let mut d = json!({
                    "ok": true,
                    "tool": self.tool,
                    "status": status,
                    "summary": reply.summary,
                    "data": reply.data,
                });
                if let Some(job) = reply.pending {
                    d["job"] = job;
                }
                if let Some(view) = reply.view {
                    d["view"] = view;
                }
                (true, d)
            }
            Err(e) => {
                let mut d = json!({
                    "ok": false,
                    "tool": self.tool,
                    "status": "error",
                    "error": {"kind": e.kind, "message": e.message, "details": e.details},
                });
                // The payment's state outranks the error.
                if let Some(p) = &e.payment {
                    lines.push(payment_line(p));
                    d["payment"] = json!({
                        "state": p.state,
                        "amount": usdc::json(p.amount),
                        "signature": p.signature,
                    });
                }
                lines.push(format!("Error ({}): {}", e.kind, e.message));
                (false, d)
            }
        };
        for r in &self.receipts {
            tail.push(receipt_sentence(r));
        }
        if (!self.receipts.is_empty() || !ok)
            && let Some(b) = &budget
        {
            tail.push(b.clone());
        }
        doc["payments"] = Value::Array(payments.clone());
        if let Some(spent) = spent {
            doc["budget"] = json!({
                "spent": usdc::json(spent),
                "remaining": usdc::json(inner.limits.budget.saturating_sub(spent)),
            });
        }
        let text = fit(&lines, &tail);
        let mut result = if ok {
            CallToolResult::success(vec![ContentBlock::text(text)])
        } else {
            CallToolResult::error(vec![ContentBlock::text(text)])
        };
        result.structured_content = Some(doc);
        if let Some(last) = payments.last() {
            let mut meta = JsonObject::new();
            meta.insert(RECEIPT_META_KEY.to_owned(), last.clone());
            if payments.len() > 1 {
                meta.insert("sova/payments".to_owned(), Value::Array(payments));
            }
            result = result.with_meta(Some(MetaObject(meta)));
        }
        result
    }
}

/// Joins `lines` then `tail` (receipts, budget, how to get more: never cut) within
/// [`TEXT_LIMIT`] characters, cutting `lines` when needed.
fn fit(lines: &[String], tail: &[String]) -> String {
    let tail = tail.join("\n");
    let room = TEXT_LIMIT.saturating_sub(tail.chars().count() + 2);
    let mut head = lines.join("\n");
    if head.chars().count() > room {
        head = clip(&head, room.saturating_sub(40));
        head.push_str(" (cut: see structuredContent)");
    }
    if tail.is_empty() {
        head
    } else {
        format!("{head}\n{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowing_keeps_a_window_of_every_long_list() {
        let mut d = json!({"a": (0..30).collect::<Vec<_>>(), "b": {"c": [1, 2]}, "n": 1});
        let view = narrow(&mut d, 5, 10).unwrap();
        assert_eq!(d["a"], json!((5..15).collect::<Vec<_>>()));
        assert_eq!(view["lists"]["a"], 30);
        assert_eq!(
            d["b"]["c"],
            json!([]),
            "an offset past a short list empties it"
        );
        assert!(narrow(&mut json!({"a": [1]}), 0, 10).is_none());
    }

    #[test]
    fn the_text_fits_and_keeps_its_tail() {
        let big: Vec<String> = (0..2_000).map(|i| format!("line {i}")).collect();
        let t = fit(&big, &["Paid 0.015000 USDC.".into()]);
        assert!(t.chars().count() <= TEXT_LIMIT);
        assert!(t.ends_with("Paid 0.015000 USDC."));
        let f = figures(&json!({"rows": (0..100).map(|i| json!({"i": i})).collect::<Vec<_>>()}));
        assert!(
            f.contains("rows: 100 rows") && f.contains("95 more rows"),
            "{f}"
        );
    }
}
