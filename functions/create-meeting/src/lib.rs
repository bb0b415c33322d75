//! `create-meeting`: creates a VideoSDK room with the server's own management token
//! (contract: `create-meeting`). Only whitelisted fields are forwarded. Also serves the client
//! apps' `POST /v2/rooms`, for the bearer of a participant token this API issued, answered in
//! VideoSDK's room shape.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use shared::caller::Caller;
use shared::client_api::{self, ClientRoute};
use shared::config::Action;
use shared::config::CallerAuth;
use shared::http::{ApiError, Fields, ok, require_method, respond, respond_as_videosdk};
use shared::ids::{WEBHOOK_EVENT_TYPES, url_host};
use shared::videosdk::rooms::{self, AutoCloseConfig, CreateRoom, Webhook};
use shared::{State, caller, policy};

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    match ClientRoute::of(&req) {
        None => respond(create_meeting(state, &req).await),
        Some(route) => respond_as_videosdk(match route {
            Ok(ClientRoute::CreateRoom) => create_room(state, &req).await,
            Ok(_) => Err(client_api::not_served()),
            Err(e) => Err(e),
        }),
    }
}

/// `POST /v2/rooms` with a participant token: the same whitelist, VideoSDK's answer shape.
async fn create_room(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, &[Method::POST])?;
    let token = client_api::authenticate(req, &state.secrets).await?;
    let mut body = parse(Fields::from_body(req)?)?;
    // A participant token's bearer is never a moderator, and anonymous when callers are.
    subscribe_operator_webhook(&mut body, false, state, req)?;
    if body.custom_room_id.is_some() {
        policy::may_name_rooms(state.config.caller_auth == CallerAuth::None, &state.config)?;
    }
    if let Some(bound) = token.room_id.as_deref()
        && body.custom_room_id.as_deref() != Some(bound)
    {
        return Err(ApiError::Forbidden(format!(
            "This token is for room {bound} only; it may create that room (customRoomId) and no other."
        )));
    }
    let _ = state.admit_as(&client_api::rate_key(req, &token, &state.config), Action::Room).await?;
    let room = rooms::create(state.videosdk()?, &state.secrets, &body).await?;
    shared::tracing::info!(
        caller = ?token.participant_id.as_deref().unwrap_or("a participant token"),
        room_id = ?room.room_id,
        jti = %token.jti,
        "created a room for a participant token"
    );
    Ok(ok(&json!({
        "roomId": room.room_id,
        "customRoomId": room.custom_room_id,
        "disabled": room.disabled,
        "createdAt": room.created_at,
    })))
}

async fn create_meeting(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, &[Method::POST])?;
    let caller = caller::identify(req, &state.config)?;
    let mut body = parse(Fields::from_body(req)?)?;
    subscribe_operator_webhook(&mut body, caller.is_moderator(), state, req)?;
    if body.custom_room_id.is_some() {
        policy::may_name_rooms(caller == Caller::Anonymous, &state.config)?;
    }
    let _ = state.admit(req, Action::Room).await?;
    let room = rooms::create(state.videosdk()?, &state.secrets, &body).await?;
    shared::tracing::info!(caller = ?caller.audit_name(), room_id = ?room.room_id, "created a room");
    Ok(ok(&json!({
        "roomId": room.room_id,
        "meetingId": room.room_id,
        "customRoomId": room.custom_room_id,
        "disabled": room.disabled,
        "createdAt": room.created_at,
    })))
}

/// Rooms created here report to the operator's webhook (`WEBHOOK_URL`). A caller's own
/// `webhook` or `autoCloseConfig` is taken only from a moderator, and only when no operator
/// webhook is configured: otherwise whoever creates a room first would hear its events.
fn subscribe_operator_webhook(
    body: &mut CreateRoom,
    moderator: bool,
    state: &State,
    req: &Request,
) -> Result<(), ApiError> {
    let operator = state.config.webhooks.url_for(caller::domain_name(req)).map_err(|e| {
        shared::tracing::error!(variable = e.variable, cause = %e, "cannot derive the webhook URL");
        ApiError::Misconfigured
    })?;
    let own = [("webhook", body.webhook.is_some()), ("autoCloseConfig", body.auto_close_config.is_some())];
    if let Some((field, _)) = own.iter().find(|(_, given)| *given) {
        if operator.is_some() {
            return Err(ApiError::Forbidden(format!(
                "{field} is set by this server: rooms report to the operator's webhook. Omit {field}."
            )));
        }
        if !moderator {
            return Err(ApiError::Forbidden(format!("Only moderators may set {field}.")));
        }
    }
    if let Some(end_point) = operator {
        body.webhook = Some(Webhook { end_point, events: Some(state.config.webhooks.events.clone()) });
    }
    Ok(())
}

fn parse(mut fields: Fields) -> Result<CreateRoom, ApiError> {
    // Older client apps send their own token and the discontinued region: accepted, never forwarded.
    fields.ignore(&["token", "region"]);
    let custom_room_id = fields.take_room_id("customRoomId")?.map(|id| id.as_str().to_owned());
    let webhook = fields.take_object("webhook")?.map(webhook).transpose()?;
    let auto_close_config = fields.take_object("autoCloseConfig")?.map(auto_close).transpose()?;
    let geo_fence = fields.take_str("geoFence")?.map(geo_fence).transpose()?;
    fields.finish()?;
    Ok(CreateRoom { custom_room_id, webhook, auto_close_config, geo_fence })
}

fn webhook(mut fields: Fields) -> Result<Webhook, ApiError> {
    let end_point = fields
        .take_str("endPoint")
        .map_err(|_| ApiError::invalid("webhook.endPoint", "webhook.endPoint must be a string."))?
        .ok_or_else(|| ApiError::invalid("webhook.endPoint", "webhook.endPoint is required."))?;
    url_host(&end_point, &["https"])
        .map_err(|e| ApiError::invalid("webhook.endPoint", format!("webhook.endPoint {e}.")))?;
    let events = match fields.take("events") {
        None => None,
        Some(Value::Array(items)) => Some(
            items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) if WEBHOOK_EVENT_TYPES.contains(&s.as_str()) => Ok(s),
                    other => Err(ApiError::invalid(
                        "webhook.events",
                        format!("webhook.events: {other} is not a VideoSDK webhook event."),
                    )),
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => return Err(ApiError::invalid("webhook.events", "webhook.events must be an array of event names.")),
    };
    nested_finish(fields, "webhook")?;
    Ok(Webhook { end_point, events })
}

fn auto_close(mut fields: Fields) -> Result<AutoCloseConfig, ApiError> {
    let kind = match fields.take_str("type").map_err(|_| type_error())?.as_deref() {
        Some(t @ ("session-ends" | "session-end-and-deactivate")) => t.to_owned(),
        Some(_) | None => return Err(type_error()),
    };
    let duration = fields.take_u64("duration").map_err(|_| {
        ApiError::invalid("autoCloseConfig.duration", "autoCloseConfig.duration must be a whole number.")
    })?;
    nested_finish(fields, "autoCloseConfig")?;
    Ok(AutoCloseConfig { kind, duration })
}

fn type_error() -> ApiError {
    ApiError::invalid(
        "autoCloseConfig.type",
        "autoCloseConfig.type is required: \"session-ends\" or \"session-end-and-deactivate\".",
    )
}

fn geo_fence(value: String) -> Result<String, ApiError> {
    let ok = (1..=16).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok { Ok(value) } else { Err(ApiError::invalid("geoFence", "geoFence must be a region code such as us002.")) }
}

fn nested_finish(fields: Fields, parent: &str) -> Result<(), ApiError> {
    fields.finish().map_err(|e| match e {
        ApiError::UnknownField(name) => ApiError::UnknownField(format!("{parent}.{name}")),
        other => other,
    })
}
