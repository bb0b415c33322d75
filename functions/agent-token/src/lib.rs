//! `agent-token`: mints a token for a server running a VideoSDK AI agent (contract:
//! "agent-token"). The route is authorized with `AWS_IAM`: the caller is the IAM principal API
//! Gateway verified, in every `CALLER_AUTH` mode. The token has no role (an agent may create
//! the room it joins), so it is for servers only, never for browsers or apps.

use std::time::{Duration, SystemTime};

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use shared::State;
use shared::caller;
use shared::claims::{Permission, Permissions, TokenBuilder, rfc3339_utc};
use shared::config::{Action, CallerAuth, Config, MIN_TTL_SECONDS, OptIn};
use shared::http::{ApiError, Fields, ok, require_method, respond};

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    respond(agent_token(state, &req).await)
}

async fn agent_token(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, &[Method::POST])?;
    let principal = principal(req, &state.config)?;
    let mut fields = Fields::from_body(req)?;
    let room = fields.take_room_id("roomId")?;
    let permissions = fields.take("permissions").map(permissions).transpose()?.unwrap_or(Permission::AllowJoin);
    let max = state.config.tokens.agent_max_ttl.as_secs();
    let ttl = match fields.take_u64("ttl")? {
        None => max,
        Some(s) if (MIN_TTL_SECONDS..=max).contains(&s) => s,
        Some(_) => {
            return Err(ApiError::invalid("ttl", format!("ttl must be between {MIN_TTL_SECONDS} and {max} seconds.")));
        }
    };
    fields.finish()?;
    let _ = state.admit(req, Action::Token).await?;

    let credentials = state.secrets.current().await?;
    let room_id = room.as_ref().map_or("any", |r| r.as_str()).to_owned();
    let token = TokenBuilder::agent(Permissions::new([permissions]).map_err(|_| ApiError::Internal)?)
        .room(room)
        .ttl(Duration::from_secs(ttl))
        .sign(&credentials, SystemTime::now())
        .map_err(|_| ApiError::Internal)?;
    shared::tracing::info!(
        caller = ?principal,
        room_id = ?room_id,
        jti = %token.jti,
        expires_in = token.expires_in(),
        "issued an agent token"
    );
    Ok(ok(&json!({
        "token": token.expose(),
        "expiresIn": token.expires_in(),
        "expiresAt": rfc3339_utc(token.exp),
    })))
}

/// The IAM principal; without one, 401 under `CALLER_AUTH=jwt` and 403 under `none` unless
/// `ANONYMOUS_AGENT_TOKENS=allow` (local use).
fn principal(req: &Request, config: &Config) -> Result<String, ApiError> {
    if let Some(principal) = caller::iam_principal(req) {
        return Ok(principal);
    }
    match config.caller_auth {
        CallerAuth::Jwt => Err(ApiError::Unauthenticated(
            "Agent tokens are for AWS IAM principals: sign the request with SigV4 (execute-api) as a role the \
             operator granted execute-api:Invoke on POST /agent-token."
                .into(),
        )),
        CallerAuth::None if config.anonymous.allows(OptIn::AgentTokens) => Ok("anonymous".into()),
        CallerAuth::None => Err(ApiError::Forbidden(
            "Agent tokens are for AWS IAM principals only; this request carries no IAM identity.".into(),
        )),
    }
}

/// `permissions`: `allow_join` or `ask_join`, as a string or a one-element array.
fn permissions(value: Value) -> Result<Permission, ApiError> {
    let name = match &value {
        Value::String(s) => Some(s.as_str()),
        Value::Array(items) if items.len() == 1 => items[0].as_str(),
        _ => None,
    };
    match name.map(str::trim) {
        Some("allow_join") => Ok(Permission::AllowJoin),
        Some("ask_join") => Ok(Permission::AskJoin),
        _ => Err(ApiError::invalid(
            "permissions",
            "permissions must be \"allow_join\" (the default) or \"ask_join\"; agents are never moderators.",
        )),
    }
}
