//! `end-meeting`: ends a room's session for everyone and, with `deactivate: true`, stops the
//! room from starting new ones (contract: "end-meeting"). Moderators only.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use shared::State;
use shared::control;
use shared::http::{ApiError, ok, respond};
use shared::videosdk::{rooms, sessions};

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    respond(end_meeting(state, &req).await)
}

async fn end_meeting(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let control::Opened { caller, room, rest: mut fields } = control::open(req, &state.config, Method::POST)?;
    let deactivate = match fields.take("deactivate") {
        None => false,
        Some(Value::Bool(b)) => b,
        Some(_) => return Err(ApiError::invalid("deactivate", "deactivate must be true or false.")),
    };
    fields.finish()?;

    let api = state.videosdk()?;
    sessions::end(api, &state.secrets, &room).await?;
    if deactivate {
        rooms::deactivate(api, &state.secrets, &room).await?;
    }
    shared::tracing::info!(
        caller = ?caller.audit_name(),
        room_id = ?room.as_str(),
        deactivated = deactivate,
        "ended a meeting"
    );
    Ok(ok(&json!({"roomId": room.as_str(), "ended": true, "deactivated": deactivate})))
}
