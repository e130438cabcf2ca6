//! `sova payments list | show | reconcile | report`: the payment ledger from the shell.
//! Amounts are USDC (the asset the command line pays) with base units in parentheses.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sova_x402::ledger::{Charge, Entry, Query, Status};

use crate::amount::{USDC_DECIMALS, fmt_units, usdc};
use crate::cli::{PaymentFilter, PaymentsCmd};
use crate::ctx::Ctx;
use crate::err::{CliError, Service, code, from_sdk};
use crate::out::{self, Done};
use crate::when;

/// Runs a `sova payments` command.
pub(crate) fn run(ctx: &Ctx, cmd: PaymentsCmd) -> Result<Done, CliError> {
    match cmd {
        PaymentsCmd::List { filter, limit } => list(ctx, &filter, limit),
        PaymentsCmd::Show { id } => show(ctx, &id),
        PaymentsCmd::Reconcile => reconcile(ctx),
        PaymentsCmd::Report { filter, csv } => report(ctx, &filter, csv),
    }
}

fn query(f: &PaymentFilter, limit: Option<u32>) -> Query {
    Query {
        since_ms: f.since,
        until_ms: f.until,
        statuses: f.status.clone(),
        payer: f.payer.clone(),
        limit,
    }
}

fn entries(ctx: &Ctx, q: Query) -> Result<Vec<Entry>, CliError> {
    ctx.ledger()?
        .list(q)
        .map_err(|e| CliError::failure(e.to_string()).hint("check --ledger (SOVA_LEDGER)"))
}

/// `charged`, `may_have_charged` or `not_charged`, as errors name them.
fn charge_str(s: Status) -> &'static str {
    match s.charge() {
        Charge::Charged => "charged",
        Charge::NotCharged => "not_charged",
        _ => "may_have_charged",
    }
}

/// `0.015000 (15000)`.
fn amount_cell(units: u64) -> String {
    format!("{} ({units})", fmt_units(units, USDC_DECIMALS))
}

/// One entry as `--json`: the journal's fields, plus the amount in USDC and its charge state.
fn entry_json(e: &Entry) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or_else(|_| json!({"id": e.id}));
    v["amountUsdc"] = fmt_units(e.amount, USDC_DECIMALS).into();
    v["charge"] = charge_str(e.status).into();
    v["created"] = when::iso(e.created_ms).into();
    v["updated"] = when::iso(e.updated_ms).into();
    v
}

fn list(ctx: &Ctx, f: &PaymentFilter, limit: u32) -> Result<Done, CliError> {
    let ledger = ctx.ledger()?;
    let rows = entries(ctx, query(f, Some(limit)))?;
    let doc = json!({
        "ledger": ledger.describe(),
        "payments": rows.iter().map(entry_json).collect::<Vec<_>>(),
    });
    if rows.is_empty() {
        return Ok(Done::new(
            doc,
            format!("no payments in the ledger {}\n", ledger.describe()),
        ));
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|e| {
            vec![
                e.id.clone(),
                when::short(e.created_ms),
                e.status.to_string(),
                amount_cell(e.amount),
                e.endpoint.clone().unwrap_or_else(|| "-".into()),
                e.signature.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let human = out::table(
        &[
            "id",
            "time (utc)",
            "status",
            "usdc (base units)",
            "endpoint",
            "signature",
        ],
        &table,
    );
    let notes = format!(
        "{} payment(s) from {}; details: sova payments show <id>\n",
        rows.len(),
        ledger.describe()
    );
    Ok(Done::new(doc, human).notes(notes))
}

fn show(ctx: &Ctx, id: &str) -> Result<Done, CliError> {
    let ledger = ctx.ledger()?;
    let found = match ledger
        .get(id)
        .map_err(|e| CliError::failure(e.to_string()))?
    {
        Some(e) => Some(e),
        // A signature or transaction id names it too.
        None => entries(ctx, Query::default())?.into_iter().find(|e| {
            e.signature.as_deref() == Some(id) || e.transaction_id.as_deref() == Some(id)
        }),
    };
    let Some(e) = found else {
        return Err(CliError::new(
            code::FAILURE,
            "not_found",
            format!("no payment {id} in the ledger {}", ledger.describe()),
        )
        .hint("list the payments with `sova payments list`"));
    };
    let dash = |o: Option<String>| o.unwrap_or_else(|| "-".into());
    let r = e.record.as_ref();
    let mut rows: Vec<(&str, String)> = vec![
        ("id", e.id.clone()),
        ("request", e.request_id.clone()),
        (
            "status",
            format!("{} ({})", e.status, charge_str(e.status).replace('_', " ")),
        ),
        (
            "amount",
            format!("{} ({} base units)", usdc(e.amount), e.amount),
        ),
        ("asset", e.asset.clone()),
        ("payer", e.payer.clone()),
        ("scope", dash(e.scope.clone())),
        ("pay to", e.pay_to.clone()),
        ("host", dash(e.host.clone())),
        ("endpoint", dash(e.endpoint.clone())),
        ("created", when::iso(e.created_ms)),
        ("updated", when::iso(e.updated_ms)),
        ("signature", dash(e.signature.clone())),
        ("transaction", dash(e.transaction_id.clone())),
    ];
    if let Some(r) = r {
        rows.push(("blockhash", r.blockhash.clone()));
        rows.push((
            "last valid height",
            dash(r.last_valid_block_height.map(|h| h.to_string())),
        ));
        rows.push((
            "blockhash slot",
            dash(r.blockhash_slot.map(|h| h.to_string())),
        ));
        rows.push(("source account", r.source.clone()));
        rows.push(("memo", dash(r.memo.clone())));
    }
    rows.push(("detail", dash(e.detail.clone())));
    let mut human = out::kv(&rows);
    if e.status.needs_reconciliation() {
        human.push_str("open: resolve it with `sova payments reconcile`\n");
    }
    Ok(Done::new(entry_json(&e), human))
}

fn reconcile(ctx: &Ctx) -> Result<Done, CliError> {
    let client = ctx.reconciler()?;
    let r = client
        .reconcile_pending()
        .map_err(|e| from_sdk(e, Service::Intel))?;
    let pending: Vec<_> = r.pending().collect();
    let doc = json!({
        "checked": r.checked.iter().map(|c| json!({
            "id": c.id,
            "amount": c.amount,
            "amountUsdc": fmt_units(c.amount, USDC_DECIMALS),
            "asset": c.asset,
            "signature": c.signature,
            "before": c.before,
            "after": c.after,
        })).collect::<Vec<_>>(),
        "reclaimed": r.reclaimed,
        "releasedAmount": r.released_amount(),
        "pending": pending.len(),
    });
    let mut human = crate::ledger::resolved_lines(&r);
    for p in &pending {
        human.push_str(&format!(
            "payment {} of {} is still {}: its blockhash may still be valid (signature {}); run `sova payments reconcile` again in a minute or two\n",
            p.id,
            usdc(p.amount),
            p.after,
            p.signature.as_deref().unwrap_or("-")
        ));
    }
    if human.is_empty() {
        human.push_str("nothing to reconcile: no payment of this wallet is open\n");
    }
    let code = if pending.is_empty() {
        code::OK
    } else {
        code::MAY_HAVE_CHARGED
    };
    Ok(Done::new(doc, human).code(code))
}

/// Totals of one group.
#[derive(Default)]
struct Tally {
    count: u64,
    amount: u64,
    charged: u64,
    may_have: u64,
    not_charged: u64,
}

impl Tally {
    fn add(&mut self, e: &Entry) {
        self.count += 1;
        self.amount += e.amount;
        match e.status.charge() {
            Charge::Charged => self.charged += e.amount,
            Charge::NotCharged => self.not_charged += e.amount,
            _ => self.may_have += e.amount,
        }
    }

    fn json(&self) -> Value {
        json!({
            "count": self.count,
            "amount": self.amount,
            "charged": self.charged,
            "mayHaveCharged": self.may_have,
            "notCharged": self.not_charged,
        })
    }
}

fn report(ctx: &Ctx, f: &PaymentFilter, csv: bool) -> Result<Done, CliError> {
    if csv && ctx.g.json {
        return Err(CliError::usage(
            "--csv and --json are two outputs: pick one",
        ));
    }
    let rows = entries(ctx, query(f, None))?;
    if csv {
        return Ok(Done::new(Value::Null, to_csv(&rows)));
    }
    let mut total = Tally::default();
    let mut by_status: BTreeMap<&'static str, Tally> = BTreeMap::new();
    let mut by_day: BTreeMap<String, Tally> = BTreeMap::new();
    for e in &rows {
        total.add(e);
        by_status.entry(e.status.as_str()).or_default().add(e);
        by_day.entry(when::day(e.created_ms)).or_default().add(e);
    }
    let range = |v: Option<u64>| v.map(when::iso);
    let doc = json!({
        "ledger": ctx.ledger()?.describe(),
        "since": range(f.since),
        "until": range(f.until),
        "total": total.json(),
        "byStatus": by_status.iter().map(|(s, t)| {
            let mut v = t.json();
            v["status"] = (*s).into();
            v
        }).collect::<Vec<_>>(),
        "byDay": by_day.iter().map(|(d, t)| {
            let mut v = t.json();
            v["day"] = d.clone().into();
            v
        }).collect::<Vec<_>>(),
    });
    let u = |x: u64| fmt_units(x, USDC_DECIMALS);
    let status_rows: Vec<Vec<String>> = by_status
        .iter()
        .map(|(s, t)| vec![(*s).to_owned(), t.count.to_string(), u(t.amount)])
        .collect();
    let day_rows: Vec<Vec<String>> = by_day
        .iter()
        .map(|(d, t)| {
            vec![
                d.clone(),
                t.count.to_string(),
                u(t.charged),
                u(t.may_have),
                u(t.not_charged),
            ]
        })
        .collect();
    let mut human = out::heading("payments by status");
    human.push_str(&out::table(&["status", "count", "usdc"], &status_rows));
    human.push('\n');
    human.push_str(&out::heading("payments by day (utc)"));
    human.push_str(&out::table(
        &["day", "count", "charged", "may have", "not charged"],
        &day_rows,
    ));
    human.push_str(&format!(
        "\ntotal: {} payment(s); charged {}, may have been charged {}, not charged {}\n",
        total.count,
        usdc(total.charged),
        usdc(total.may_have),
        usdc(total.not_charged)
    ));
    Ok(Done::new(doc, human))
}

/// The CSV export: a header, then one row per payment (RFC 4180 quoting).
fn to_csv(rows: &[Entry]) -> String {
    let mut s = String::from(
        "id,request_id,created,updated,status,charge,amount,amount_usdc,asset,payer,scope,pay_to,host,endpoint,signature,transaction_id,detail\n",
    );
    for e in rows {
        let cells = [
            e.id.clone(),
            e.request_id.clone(),
            when::iso(e.created_ms),
            when::iso(e.updated_ms),
            e.status.to_string(),
            charge_str(e.status).to_owned(),
            e.amount.to_string(),
            fmt_units(e.amount, USDC_DECIMALS),
            e.asset.clone(),
            e.payer.clone(),
            e.scope.clone().unwrap_or_default(),
            e.pay_to.clone(),
            e.host.clone().unwrap_or_default(),
            e.endpoint.clone().unwrap_or_default(),
            e.signature.clone().unwrap_or_default(),
            e.transaction_id.clone().unwrap_or_default(),
            e.detail.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        s.push_str(&line.join(","));
        s.push('\n');
    }
    s
}

/// One CSV field, quoted when it holds a comma, a quote or a line break. A field that a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a leading `'`.
fn csv_cell(c: &str) -> String {
    let c = if c.starts_with(['=', '+', '-', '@']) {
        format!("'{c}")
    } else {
        c.to_owned()
    };
    if c.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", c.replace('"', "\"\""))
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=cmd()"), "'=cmd()");
    }
}
