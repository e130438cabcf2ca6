//! `sova intel …`: every Sova Intel endpoint on the blocking client.

use serde::Serialize;
use serde_json::{Value, json};
use sova::call::{Paid, Receipt};
use sova::intel::{
    DeepRequest, Fetched, HoldersAgentRequest, HoldersRequest, SimilarityAgentRequest,
    SimilarityRequest, SortOrder, TokenPnlParams, TokenSortBy,
};
use sova::protocol::jobs::{FollowUp, JobHandle};

use crate::cli::{HoldersArgs, IntelCmd, Order, TokenSort, WaitArgs, WalletsJobArgs};
use crate::ctx::Ctx;
use crate::err::{CliError, Service, from_sdk};
use crate::out::{self, Done};

fn sdk(e: sova::Error) -> CliError {
    from_sdk(e, Service::Intel)
}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A paid answer: `{"data": …, "receipt": …}` and its human rendering.
fn paid(data: Value, receipt: Option<&Receipt>, human: String) -> Done {
    Done::new(
        json!({"data": data, "receipt": out::receipt_json(receipt)}),
        human,
    )
    .notes(out::receipt_human(receipt))
}

/// Runs `sova intel …`.
pub(crate) fn run(ctx: &Ctx, cmd: IntelCmd) -> Result<Done, CliError> {
    let done = match cmd {
        IntelCmd::Hud { address, max_wait } => {
            let r = ctx.intel_paid(max_wait)?.wallet_hud(&address);
            ctx.progress.finish();
            let r = r.map_err(sdk)?;
            let v = to_json(&r.value);
            paid(v.clone(), r.receipt.as_ref(), hud_human(&v))
        }
        IntelCmd::Profile { address, max_wait } => {
            let r = ctx.intel_paid(max_wait)?.wallet_profile(&address);
            ctx.progress.finish();
            let r = r.map_err(sdk)?;
            let v = to_json(&r.value);
            paid(v.clone(), r.receipt.as_ref(), profile_human(&v))
        }
        IntelCmd::Tokens {
            address,
            page,
            page_size,
            sort_by,
            order,
        } => {
            let p = TokenPnlParams {
                page,
                page_size,
                sort_by: sort_by.map(|s| match s {
                    TokenSort::NetSolProfitLoss => TokenSortBy::NetSolProfitLoss,
                    TokenSort::RealizedPnlSol => TokenSortBy::RealizedPnlSol,
                    TokenSort::Roi => TokenSortBy::Roi,
                    TokenSort::TotalSolSpent => TokenSortBy::TotalSolSpent,
                }),
                sort_order: order.map(|o| match o {
                    Order::Asc => SortOrder::Asc,
                    Order::Desc => SortOrder::Desc,
                }),
            };
            let r = ctx
                .intel_paid(None)?
                .wallet_tokens(&address, p)
                .map_err(sdk)?;
            let rows: Vec<Vec<String>> = r
                .data
                .iter()
                .map(|t| {
                    vec![
                        t.token_address.clone(),
                        format!("{:.4}", t.realized_pnl_sol),
                        format!("{:.4}", t.unrealized_pnl_sol),
                        format!("{:.2}", t.roi),
                        format!("{:.4}", t.total_sol_spent),
                        format!("{:.0}", t.win_rate * 100.0),
                    ]
                })
                .collect();
            let human = format!(
                "{}page {} of {} ({} tokens)\n",
                out::table(
                    &[
                        "token",
                        "realized sol",
                        "unrealized sol",
                        "roi",
                        "spent sol",
                        "win %"
                    ],
                    &rows
                ),
                r.page,
                r.page_count(),
                r.total
            );
            paid(to_json(&r.value), r.receipt.as_ref(), human)
        }
        IntelCmd::BatchHud { wallets } => {
            let refs: Vec<&str> = wallets.iter().map(String::as_str).collect();
            let r = ctx.intel_paid(None)?.batch_hud(&refs).map_err(sdk)?;
            let v = to_json(&r.value);
            paid(v.clone(), r.receipt.as_ref(), batch_human(&v))
        }
        IntelCmd::Holders(a) => holders(ctx, a, Kind::Holders)?,
        IntelCmd::HoldersAgent(a) => holders(ctx, a, Kind::HoldersAgent)?,
        IntelCmd::Deep(a) => holders(ctx, a, Kind::Deep)?,
        IntelCmd::Similarity(a) => similarity(ctx, a, false)?,
        IntelCmd::SimilarityAgent(a) => similarity(ctx, a, true)?,
        IntelCmd::Job { job_id } => {
            let s = ctx.intel(None)?.job_status(&job_id).map_err(sdk)?;
            let v = to_json(&s);
            Done::new(json!({"data": v}), out::render(&v))
        }
        IntelCmd::Result { key } => {
            let v: Value = ctx.intel(None)?.result_by_key(&key).map_err(sdk)?;
            Done::new(json!({"data": v}), out::render(&v))
        }
        IntelCmd::Pricing => {
            let v = ctx.intel(None)?.pricing().map_err(sdk)?;
            Done::new(json!({"data": v}), out::render(&v))
        }
        IntelCmd::Resume { handle, max_wait } => resume(ctx, &handle, max_wait)?,
    };
    Ok(done)
}

/// The HUD as a short key/value block.
pub(crate) fn hud_human(v: &Value) -> String {
    let s = |k: &str| out::scalar(v.get(k).unwrap_or(&Value::Null));
    let pct = |k: &str| {
        v.get(k)
            .and_then(Value::as_f64)
            .map(|f| format!("{:.1}%", f * 100.0))
            .unwrap_or_else(|| "-".into())
    };
    let mut rows = vec![
        ("wallet", s("walletAddress")),
        ("behaviour", s("behaviorCode")),
        ("win rate", pct("winRate")),
        ("trimmed mean pnl", format!("{} SOL", s("trimmedMeanPnl"))),
        ("trades / day", s("avgTradesPerDay")),
        ("holdings", format!("{} SOL", s("currentHoldingsSol"))),
        ("data quality", s("dataQualityTier")),
        ("bot", s("isBot")),
        ("whale", s("isWhale")),
        ("calculated at", s("calculatedAt")),
    ];
    rows.retain(|(_, v)| v != "-" && v != "- SOL");
    out::kv(&rows)
}

/// The profile: the wallet, then its summary, HUD, behaviour and PnL blocks.
pub(crate) fn profile_human(v: &Value) -> String {
    let mut s = out::kv(&[(
        "wallet",
        out::scalar(v.get("walletAddress").unwrap_or(&Value::Null)),
    )]);
    let Value::Object(m) = v else {
        return out::render(v);
    };
    let order = ["summary", "kol", "hud", "behavior", "pnl"];
    let mut keys: Vec<&String> = m
        .keys()
        .filter(|k| !["status", "walletAddress"].contains(&k.as_str()))
        .collect();
    keys.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(order.len()));
    for k in keys {
        let x = &m[k.as_str()];
        if x.is_null() {
            continue;
        }
        let body = if k == "hud" {
            hud_human(x)
        } else {
            out::render(x)
        };
        if x.is_object() || x.is_array() {
            s.push_str(&format!("{k}:\n{}", out::indent_block(&body, 2)));
        } else {
            s.push_str(&out::kv(&[(k.as_str(), out::scalar(x))]));
        }
    }
    s
}

fn batch_human(v: &Value) -> String {
    let mut rows = Vec::new();
    if let Some(Value::Object(huds)) = v.get("huds") {
        for (wallet, h) in huds {
            let g = |k: &str| out::scalar(h.get(k).unwrap_or(&Value::Null));
            rows.push(vec![
                wallet.clone(),
                g("behaviorCode"),
                h.get("winRate")
                    .and_then(Value::as_f64)
                    .map(|f| format!("{:.1}", f * 100.0))
                    .unwrap_or_else(|| "-".into()),
                g("trimmedMeanPnl"),
                g("dataQualityTier"),
                g("isBot"),
                g("isWhale"),
            ]);
        }
    }
    let mut s = out::table(
        &[
            "wallet", "code", "win %", "pnl sol", "quality", "bot", "whale",
        ],
        &rows,
    );
    for (k, label) in [
        ("queued", "queued (call again later)"),
        ("skipped", "skipped"),
        ("notFound", "not found"),
    ] {
        if let Some(Value::Array(a)) = v.get(k)
            && !a.is_empty()
        {
            let names: Vec<String> = a
                .iter()
                .map(|x| match x {
                    Value::Object(o) => out::scalar(o.get("walletAddress").unwrap_or(&Value::Null)),
                    other => out::scalar(other),
                })
                .collect();
            s.push_str(&format!("{label}: {}\n", names.join(", ")));
        }
    }
    s
}

#[derive(Clone, Copy)]
enum Kind {
    Holders,
    HoldersAgent,
    Deep,
}

fn wants_wait(w: &WaitArgs) -> bool {
    !w.no_wait
}

fn queued_done(data: Value, handles: Vec<(&str, String)>, receipt: Option<&Receipt>) -> Done {
    let main = handles.last().map(|(_, h)| h.clone()).unwrap_or_default();
    let mut rows: Vec<(String, String)> = Vec::new();
    if let Some(id) = data.get("jobId").and_then(Value::as_str) {
        rows.push(("job".into(), id.to_owned()));
    }
    for (name, h) in &handles {
        rows.push((format!("handle ({name})"), h.clone()));
    }
    let human = format!(
        "{}\ncontinue with: sova intel resume {main}\n",
        out::kv(&rows)
    );
    let hmap: serde_json::Map<String, Value> = handles
        .iter()
        .map(|(k, h)| ((*k).to_owned(), Value::from(h.clone())))
        .collect();
    Done::new(
        json!({"data": data, "handle": main, "handles": hmap, "receipt": out::receipt_json(receipt)}),
        human,
    )
    .notes(out::receipt_human(receipt))
}

/// Queues one holder-profiles job without waiting: its `202` and its (stamped) handle.
fn queue_holders<Q>(c: &sova::blocking::intel::Client, request: &Q) -> Result<Done, CliError>
where
    Q: sova::flow::intel::QueueJob + Clone,
    Q::Output: Serialize + Send + 'static,
{
    let r = c
        .queue_with(request, &sova::CallOptions::default())
        .map_err(sdk)?;
    Ok(queued_done(
        to_json(&r.accepted),
        vec![("holders", r.handle.encode())],
        r.receipt.as_ref(),
    ))
}

fn holders(ctx: &Ctx, a: HoldersArgs, kind: Kind) -> Result<Done, CliError> {
    let c = ctx.intel_paid(a.wait.max_wait)?;
    if !wants_wait(&a.wait) {
        // queue_with: the handles carry the time the job was accepted (for the result TTL).
        let opts = sova::CallOptions::default();
        return Ok(match kind {
            Kind::Holders => queue_holders(&c, &HoldersRequest::new(a.mint).top_n(a.top))?,
            Kind::HoldersAgent => {
                queue_holders(&c, &HoldersAgentRequest::new(a.mint).top_n(a.top))?
            }
            Kind::Deep => {
                let r = c
                    .queue_with(&DeepRequest::new(a.mint).top_n(a.top), &opts)
                    .map_err(sdk)?;
                let h1 = r
                    .accepted
                    .holder_profiles_handle()
                    .queued_at(r.handle.queued_at_unix)
                    .encode();
                let h2 = r.handle.encode();
                queued_done(
                    to_json(&r.accepted),
                    vec![("holders", h1), ("similarity", h2)],
                    r.receipt.as_ref(),
                )
            }
        });
    }
    let result = match kind {
        Kind::Holders => c
            .holders_wait(&a.mint, a.top)
            .map(|p| (to_json(&p.value), p.receipt)),
        Kind::HoldersAgent => c
            .holders_agent_wait(&a.mint, a.top)
            .map(|p| (to_json(&p.value), p.receipt)),
        Kind::Deep => c.deep_wait(&a.mint, a.top).map(|p| {
            (
                json!({"holderProfiles": to_json(&p.value.0), "similarity": to_json(&p.value.1)}),
                p.receipt,
            )
        }),
    };
    ctx.progress.finish();
    let (v, receipt) = result.map_err(sdk)?;
    let human = match kind {
        Kind::Deep => format!(
            "holder profiles:\n{}\nsimilarity:\n{}",
            out::indent_block(&holders_human(&v["holderProfiles"]), 2),
            out::indent_block(&out::render(&v["similarity"]), 2)
        ),
        _ => holders_human(&v),
    };
    Ok(paid(v, receipt.as_ref(), human))
}

/// Holder profiles as a table, then the metadata.
pub(crate) fn holders_human(v: &Value) -> String {
    let profiles = v
        .get("profiles")
        .or_else(|| v.get("holders"))
        .and_then(Value::as_array);
    let Some(profiles) = profiles else {
        return out::render(v);
    };
    let rows: Vec<Vec<String>> = profiles
        .iter()
        .map(|p| {
            let g = |k: &str| out::scalar(p.get(k).unwrap_or(&Value::Null));
            vec![
                g("rank"),
                g("walletAddress"),
                g("supplyPercent"),
                g("behaviorType"),
                g("dataQualityTier"),
                g("medianHoldTimeHours"),
            ]
        })
        .collect();
    let mut s = out::table(
        &[
            "rank",
            "wallet",
            "supply %",
            "behaviour",
            "quality",
            "median hold h",
        ],
        &rows,
    );
    let mut rest = v.clone();
    if let Value::Object(m) = &mut rest {
        m.remove("profiles");
        m.remove("holders");
    }
    s.push_str(&out::render(&rest));
    s
}

fn similarity(ctx: &Ctx, a: WalletsJobArgs, agent: bool) -> Result<Done, CliError> {
    let c = ctx.intel_paid(a.wait.max_wait)?;
    let refs: Vec<&str> = a.wallets.iter().map(String::as_str).collect();
    if !wants_wait(&a.wait) {
        let opts = sova::CallOptions::default();
        return Ok(if agent {
            let r = c
                .queue_with(&SimilarityAgentRequest::new(refs), &opts)
                .map_err(sdk)?;
            let h = r.handle.encode();
            queued_done(
                to_json(&r.accepted),
                vec![("similarity", h)],
                r.receipt.as_ref(),
            )
        } else {
            let r = c
                .queue_with(&SimilarityRequest::new(refs), &opts)
                .map_err(sdk)?;
            let h = r.handle.encode();
            queued_done(
                to_json(&r.accepted),
                vec![("similarity", h)],
                r.receipt.as_ref(),
            )
        });
    }
    let result = if agent {
        c.similarity_agent_wait(&refs)
            .map(|p| (to_json(&p.value), p.receipt))
    } else {
        c.similarity_wait(&refs)
            .map(|p| (to_json(&p.value), p.receipt))
    };
    ctx.progress.finish();
    let (v, receipt) = result.map_err(sdk)?;
    let human = similarity_human(&v);
    Ok(paid(v, receipt.as_ref(), human))
}

/// Similarity: the pairs as a table, then the rest.
pub(crate) fn similarity_human(v: &Value) -> String {
    let pairs = v
        .get("pairwiseSimilarities")
        .or_else(|| v.get("pairs"))
        .and_then(Value::as_array);
    let Some(pairs) = pairs else {
        return out::render(v);
    };
    let rows: Vec<Vec<String>> = pairs
        .iter()
        .map(|p| {
            let g = |k: &str| out::scalar(p.get(k).unwrap_or(&Value::Null));
            let shared = p
                .get("sharedTokens")
                .and_then(Value::as_array)
                .map(|a| a.len().to_string())
                .unwrap_or_else(|| g("sharedTokenCount"));
            vec![
                g("walletA"),
                g("walletB"),
                g("binaryScore"),
                g("capitalScore"),
                shared,
            ]
        })
        .collect();
    let mut s = out::table(
        &["wallet a", "wallet b", "binary", "capital", "shared"],
        &rows,
    );
    if let Some(avg) = v
        .get("globalMetrics")
        .and_then(|g| g.get("averageSimilarity"))
    {
        s.push_str(&format!("average similarity  {}\n", out::scalar(avg)));
    }
    s
}

fn resume(
    ctx: &Ctx,
    handle: &str,
    max_wait: Option<std::time::Duration>,
) -> Result<Done, CliError> {
    let h = JobHandle::decode(handle).map_err(|e| {
        CliError::usage(e.to_string()).hint("pass the handle printed by --no-wait (job1.…)")
    })?;
    let done = match &h.follow_up {
        FollowUp::PrepaidRecall {
            endpoint,
            address,
            prepaid_job_id,
        } => {
            // The re-call is where a wallet GET is charged: it may pay.
            let c = ctx.intel_paid(max_wait)?;
            let waited = c.wait_job(&h);
            ctx.progress.finish();
            waited.map_err(sdk)?;
            let (v, receipt) = if endpoint.contains("hud") {
                let ep = sova::intel::WalletHudRequest::new(address.clone())
                    .prepaid_job_id(prepaid_job_id.clone());
                fetched(c.send_paid(&ep).map_err(sdk)?, &h)?
            } else {
                let ep = sova::intel::WalletProfileRequest::new(address.clone())
                    .prepaid_job_id(prepaid_job_id.clone());
                fetched(c.send_paid(&ep).map_err(sdk)?, &h)?
            };
            let human = if endpoint.contains("hud") {
                hud_human(&v)
            } else {
                out::render(&v)
            };
            paid(v, receipt.as_ref(), human)
        }
        _ => {
            // Reading a stored result is free: this client never pays.
            let c = ctx.intel(max_wait)?;
            let r: Result<Value, _> = c.resume(&h);
            ctx.progress.finish();
            let v = r.map_err(sdk)?;
            let mut also = serde_json::Map::new();
            for key in &h.also {
                let x: Value = c.result_by_key(key).map_err(sdk)?;
                also.insert(key.clone(), x);
            }
            let human = if v.get("profiles").is_some() {
                holders_human(&v)
            } else if v.get("pairwiseSimilarities").is_some() || v.get("pairs").is_some() {
                similarity_human(&v)
            } else {
                out::render(&v)
            };
            let mut doc = json!({"data": v, "receipt": null});
            if !also.is_empty() {
                doc["also"] = Value::Object(also);
            }
            Done::new(doc, human)
        }
    };
    Ok(done)
}

fn fetched<T: Serialize>(
    p: Paid<Fetched<T>>,
    h: &JobHandle,
) -> Result<(Value, Option<Receipt>), CliError> {
    match p.value {
        Fetched::Ready(v) => Ok((to_json(&v), p.receipt)),
        Fetched::Queued(_) => Err(CliError::new(
            crate::err::code::JOB_PENDING,
            "job_pending",
            "the wallet is still being analysed",
        )
        .hint(format!(
            "continue later with: sova intel resume {}",
            h.encode()
        ))),
    }
}
