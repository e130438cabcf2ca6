//! SX Users: create, list, read, update, activate, deactivate and delete users; user tokens.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::clock::iso8601;
use crate::respond::Ctx;
use crate::state::{Shared, lock};

use super::query::{Caller, Req, apply_filters, is_uuid, list_query};
use super::reply::{R, done};
use super::store::{SovxStore, User};

fn user_json(u: &User) -> Value {
    let mut m = Map::new();
    m.insert("user_id".into(), Value::from(u.id.clone()));
    for (k, v) in &u.fields {
        if k != "user_id" {
            m.insert(k.clone(), v.clone());
        }
    }
    m.insert("status".into(), Value::from(u.status));
    m.insert("created_at".into(), Value::from(iso8601(u.created_ms)));
    m.insert("updated_at".into(), Value::from(iso8601(u.updated_ms)));
    Value::Object(m)
}

fn validate_user_fields(req: &Req, b: &Map<String, Value>, partial: bool) -> Result<(), Response> {
    let str_field = |k: &str, max: usize| -> Result<Option<String>, Response> {
        match b.get(k) {
            None if partial => Ok(None),
            None | Some(Value::Null) => Err(req.bad(format!("{k} is required"))),
            Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= max => {
                Ok(Some(s.clone()))
            }
            Some(_) => Err(req.bad(format!(
                "{k} must be a non-empty string of at most {max} characters"
            ))),
        }
    };
    let enum_field = |k: &str, allowed: &[&str]| -> Result<(), Response> {
        match str_field(k, 32)? {
            Some(v) if !allowed.contains(&v.as_str()) => {
                Err(req.bad(format!("{k} must be one of {}", allowed.join(", "))))
            }
            _ => Ok(()),
        }
    };
    enum_field("account_type", &["individual", "business"])?;
    enum_field("account_role", &["third"])?;
    enum_field("account_purpose", &["trading", "investing"])?;
    str_field("first_name", 100)?;
    str_field("last_name", 100)?;
    if let Some(e) = str_field("email", 255)? {
        let ok = e
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'));
        if !ok {
            return Err(req.bad("email must be a valid email address"));
        }
    }
    if let Some(c) = str_field("phone_country_code", 2)?
        && (c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(req.bad("phone_country_code must be an ISO 3166-1 alpha-2 code"));
    }
    if let Some(p) = str_field("phone_number", 20)? {
        let digits = p.bytes().filter(u8::is_ascii_digit).count();
        if digits < 6
            || !p
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'+' || b == b' ' || b == b'-')
        {
            return Err(req.bad("phone_number must be a valid mobile number"));
        }
    }
    match b.get("individual") {
        None if partial => {}
        Some(Value::Object(_)) => {}
        _ => {
            return Err(
                req.bad("individual must be an object with the account holder's KYC details")
            );
        }
    }
    if let Some(u) = b.get("user_id")
        && !u.as_str().is_some_and(is_uuid)
    {
        return Err(req.bad("user_id must be a UUID"));
    }
    Ok(())
}

fn conflict(
    store: &SovxStore,
    b: &Map<String, Value>,
    except: Option<&str>,
) -> Option<(&'static str, &'static str)> {
    for u in store.users.values() {
        if u.deleted || Some(u.id.as_str()) == except {
            continue;
        }
        let same = |k: &str, ci: bool| match (
            b.get(k).and_then(Value::as_str),
            u.fields.get(k).and_then(Value::as_str),
        ) {
            (Some(a), Some(c)) => {
                if ci {
                    a.eq_ignore_ascii_case(c)
                } else {
                    a == c
                }
            }
            _ => false,
        };
        if same("email", true) {
            return Some((
                "EMAIL_ALREADY_EXISTS",
                "A user with this email already exists",
            ));
        }
        if same("phone_number", false) && same("phone_country_code", true) {
            return Some((
                "PHONE_ALREADY_EXISTS",
                "A user with this phone number already exists",
            ));
        }
    }
    None
}

pub(super) async fn create_user(State(state): State<Shared>, ctx: Ctx, body: Bytes) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let b = req.body(&body)?;
        validate_user_fields(&req, &b, false)?;
        let id = match b.get("user_id").and_then(Value::as_str) {
            Some(id) => id.to_ascii_lowercase(),
            None => store.rng.uuid(),
        };
        if store.users.contains_key(&id) {
            return Err(req.reply.err(
                StatusCode::CONFLICT,
                "USER_ALREADY_EXISTS",
                "A user with this user_id already exists",
            ));
        }
        if let Some((code, msg)) = conflict(&store, &b, None) {
            return Err(req.reply.err(StatusCode::CONFLICT, code, msg));
        }
        let now = req.reply.now;
        let u = User {
            id: id.clone(),
            fields: b,
            status: "PENDING",
            deleted: false,
            created_ms: now,
            updated_ms: now,
        };
        let out = user_json(&u);
        store.users.insert(id, u);
        Ok(req.reply.ok(StatusCode::CREATED, out))
    })())
}

pub(super) async fn list_users(State(state): State<Shared>, ctx: Ctx) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let q = list_query(&req.uri).map_err(|e| req.bad(e))?;
        let mut items: Vec<Value> = store
            .users
            .values()
            .filter(|u| !u.deleted)
            .map(user_json)
            .collect();
        apply_filters(&mut items, &q);
        Ok(req.reply.list(items, &q))
    })())
}

/// The caller acting on `id`'s own account (owner key or that user's token), which must be a
/// live, active user; `action` completes "The user must be active to …".
pub(super) fn acting_active_user<'a>(
    req: &Req,
    store: &'a SovxStore,
    c: &Caller,
    id: &str,
    action: &str,
) -> Result<&'a User, Response> {
    req.self_or_owner(c, id)?;
    let u = live_user(req, store, id)?;
    if u.status != "ACTIVE" {
        return Err(req.reply.err(
            StatusCode::BAD_REQUEST,
            "USER_NOT_ACTIVE",
            format!("The user must be active to {action}"),
        ));
    }
    Ok(u)
}

pub(super) fn live_user<'a>(
    req: &Req,
    store: &'a SovxStore,
    id: &str,
) -> Result<&'a User, Response> {
    store
        .users
        .get(id)
        .filter(|u| !u.deleted)
        .ok_or_else(|| req.not_found("USER_NOT_FOUND", "User"))
}

pub(super) async fn get_user(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let u = live_user(&req, &store, &user_id)?;
        Ok(req.reply.ok(StatusCode::OK, user_json(u)))
    })())
}

pub(super) async fn update_user(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        live_user(&req, &store, &user_id)?;
        let b = req.body(&body)?;
        if b.contains_key("user_id") {
            return Err(req.bad("user_id cannot be changed"));
        }
        if b.is_empty() {
            return Err(req.bad("Provide at least one field to update"));
        }
        validate_user_fields(&req, &b, true)?;
        if let Some((code, msg)) = conflict(&store, &b, Some(&user_id)) {
            return Err(req.reply.err(StatusCode::CONFLICT, code, msg));
        }
        let now = req.reply.now;
        let u = store
            .users
            .get_mut(&user_id)
            .ok_or_else(|| req.not_found("USER_NOT_FOUND", "User"))?;
        for (k, v) in b {
            u.fields.insert(k, v);
        }
        u.updated_ms = now;
        Ok(req.reply.ok(StatusCode::OK, user_json(u)))
    })())
}

fn set_status(state: &Shared, req: &Req, user_id: &str, status: Option<&'static str>) -> R {
    let mut store = lock(&state.sovx);
    let c = req.caller(&store)?;
    req.owner_only(&c)?;
    live_user(req, &store, user_id)?;
    let now = req.reply.now;
    let u = store
        .users
        .get_mut(user_id)
        .ok_or_else(|| req.not_found("USER_NOT_FOUND", "User"))?;
    match status {
        Some(s) => u.status = s,
        None => {
            u.deleted = true;
            u.status = "DELETED";
        }
    }
    u.updated_ms = now;
    let out = user_json(u);
    if status.is_none() {
        store.tokens.retain(|_, (uid, _)| uid != user_id);
        store.current_token.remove(user_id);
    }
    Ok(req.reply.ok(StatusCode::OK, out))
}

pub(super) async fn activate_user(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done(set_status(&state, &req, &user_id, Some("ACTIVE")))
}

pub(super) async fn deactivate_user(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done(set_status(&state, &req, &user_id, Some("INACTIVE")))
}

pub(super) async fn delete_user(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done(set_status(&state, &req, &user_id, None))
}

fn issue_token(store: &mut SovxStore, user_id: &str, now: i64, ttl_ms: i64) -> Value {
    if let Some(old) = store.current_token.remove(user_id) {
        store.tokens.remove(&old);
    }
    let token = store.rng.hex(32);
    let expires = now.saturating_add(ttl_ms);
    store
        .tokens
        .insert(token.clone(), (user_id.to_owned(), expires));
    store
        .current_token
        .insert(user_id.to_owned(), token.clone());
    json!({"token": token, "user_id": user_id, "expires": iso8601(expires)})
}

fn token_ttl(state: &Shared) -> i64 {
    i64::try_from(state.config.user_token_ttl.as_millis()).unwrap_or(i64::MAX / 4)
}

pub(super) async fn user_token(
    State(state): State<Shared>,
    Path(user_id): Path<String>,
    ctx: Ctx,
) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        live_user(&req, &store, &user_id)?;
        let t = issue_token(&mut store, &user_id, req.reply.now, token_ttl(&state));
        Ok(req.reply.ok(StatusCode::OK, t))
    })())
}

pub(super) async fn bulk_tokens(State(state): State<Shared>, ctx: Ctx, body: Bytes) -> Response {
    let req = Req::new(&state, ctx);
    done((|| {
        let mut store = lock(&state.sovx);
        let c = req.caller(&store)?;
        req.owner_only(&c)?;
        let b = req.body(&body)?;
        let ids: Vec<String> = match b.get("user_ids") {
            Some(Value::Array(a)) if !a.is_empty() && a.len() <= 100 => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| req.bad("user_ids must be an array of user ids"))?,
            _ => return Err(req.bad("user_ids must be a non-empty array of at most 100 user ids")),
        };
        for id in &ids {
            live_user(&req, &store, id)?;
        }
        let out: Vec<Value> = ids
            .iter()
            .map(|id| issue_token(&mut store, id, req.reply.now, token_ttl(&state)))
            .collect();
        Ok(req.reply.ok(StatusCode::OK, Value::Array(out)))
    })())
}
