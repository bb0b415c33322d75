//! `end-meeting`: with `deactivate: true` first stops the room from starting new sessions, then
//! ends its live session for everyone (contract: "end-meeting"); no live session is `ended: false`,
//! not an error. A failed step does not stop the other: a failure answers with the first
//! failure's status and code and `details` `{"deactivated", "ended"}`. Moderators only.

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
    // Deactivate first: a room whose tokens leaked is locked even when no meeting runs, and
    // nobody can rejoin between the end and the lock. A failed deactivate does not stop the end.
    let deactivation = match deactivate {
        true => Some(rooms::deactivate(api, &state.secrets, &room).await),
        false => None,
    };
    // VideoSDK refuses to end a session when none is live (400/422): nothing to end, not an error.
    let ending = match sessions::end(api, &state.secrets, &room).await {
        Ok(()) => Ok(true),
        Err(ApiError::UpstreamRejected(_)) => Ok(false),
        Err(e) => Err(e),
    };
    let deactivated = matches!(deactivation, Some(Ok(())));
    let ended = matches!(ending, Ok(true));
    shared::tracing::info!(
        caller = ?caller.audit_name(),
        room_id = ?room.as_str(),
        ended,
        deactivated,
        "ended a meeting"
    );
    let steps = json!({"deactivated": deactivated, "ended": ended});
    // The first failure answers, with what did happen in `details`.
    match (deactivation, ending) {
        (Some(Err(first)), _) | (_, Err(first)) => Err(ApiError::WithDetails(Box::new(first), steps)),
        _ => Ok(ok(&json!({"roomId": room.as_str(), "ended": ended, "deactivated": deactivated}))),
    }
}
