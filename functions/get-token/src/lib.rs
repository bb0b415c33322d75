//! `get-token`: mints a VideoSDK participant token for the caller (contract: `get-token`).
//! Input comes from the query string (GET) or a JSON body (POST); every field is optional.

use std::time::{Duration, SystemTime};

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use shared::claims::{Permission, Permissions, TokenBuilder, rfc3339_utc};
use shared::config::{Action, MIN_TTL_SECONDS};
use shared::http::{ApiError, Fields, ok, require_method, respond};
use shared::ids::{ParticipantId, RoomId};
use shared::{State, caller, policy};

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    respond(get_token(state, &req).await)
}

async fn get_token(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, &[Method::GET, Method::POST])?;
    let caller = caller::identify(req, &state.config)?;
    let input = TokenRequest::parse(Fields::from_request(req)?, policy::token_ttls(&caller, &state.config))?;
    let permissions = policy::token_permissions(&caller, input.permissions, &state.config)?;
    let participant = policy::token_participant(&caller, input.participant_id)?;
    let _ = state.admit(req, Action::Token).await?;

    let credentials = state.secrets.current().await?;
    let room_id = input.room_id.as_ref().map_or("any", RoomId::as_str).to_owned();
    let token = TokenBuilder::participant(state.config.tokens.participant_role, permissions)
        .room(input.room_id)
        .participant_id(participant)
        .ttl(input.ttl)
        .sign(&credentials, SystemTime::now())
        .map_err(|_| ApiError::Internal)?;
    shared::tracing::info!(
        caller = ?caller.audit_name(),
        room_id = ?room_id,
        jti = %token.jti,
        expires_in = token.expires_in(),
        "issued a participant token"
    );

    Ok(ok(&json!({
        "token": token.expose(),
        "expiresIn": token.expires_in(),
        "expiresAt": rfc3339_utc(token.exp),
    })))
}

/// The validated input of one `get-token` call.
#[derive(Debug)]
struct TokenRequest {
    room_id: Option<RoomId>,
    participant_id: Option<ParticipantId>,
    permissions: Option<Permissions>,
    ttl: Duration,
}

impl TokenRequest {
    fn parse(mut fields: Fields, ttls: policy::Ttls) -> Result<TokenRequest, ApiError> {
        let room_id = fields
            .take_str("roomId")?
            .map(|v| RoomId::parse(&v).map_err(|e| ApiError::invalid("roomId", format!("roomId {e}."))))
            .transpose()?;

        let participant_id = fields.take_aliased(["participantId", "peerId"], |name, value| match value {
            Value::String(id) => ParticipantId::parse(&id).map_err(|e| ApiError::invalid(name, format!("{name} {e}."))),
            _ => Err(ApiError::invalid(name, format!("\"{name}\" must be a string."))),
        })?;

        let permissions = fields.take("permissions").map(parse_permissions).transpose()?;

        let max = ttls.max.as_secs();
        let ttl = match fields.take_u64("ttl")? {
            None => ttls.default,
            Some(s) if (MIN_TTL_SECONDS..=max).contains(&s) => Duration::from_secs(s),
            Some(_) => {
                return Err(ApiError::invalid(
                    "ttl",
                    format!("ttl must be between {MIN_TTL_SECONDS} and {max} seconds{}.", ttls.who),
                ));
            }
        };

        fields.finish()?;
        Ok(TokenRequest { room_id, participant_id, permissions, ttl })
    }
}

/// A JSON array of names, or a string holding a comma-separated list or a JSON array.
fn parse_permissions(value: Value) -> Result<Permissions, ApiError> {
    let wrong_type =
        || ApiError::invalid("permissions", "permissions must be an array of names or a comma-separated string.");
    let names: Vec<String> = match value {
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(wrong_type()),
            })
            .collect::<Result<_, _>>()?,
        Value::String(s) if s.trim_start().starts_with('[') => serde_json::from_str(&s).map_err(|_| wrong_type())?,
        Value::String(s) => s.split(',').map(|p| p.trim().to_owned()).collect(),
        _ => return Err(wrong_type()),
    };
    let list = names
        .iter()
        .map(|name| {
            Permission::parse(name.trim()).ok_or_else(|| {
                ApiError::invalid(
                    "permissions",
                    format!("Unknown permission {name:?}; use allow_join, ask_join or allow_mod."),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Permissions::new(list).map_err(|e| ApiError::invalid("permissions", format!("permissions: {e}.")))
}
