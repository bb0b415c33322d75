//! `validate-meeting`: tells whether a VideoSDK room (or custom room id) exists
//! (contract: `validate-meeting`). An unknown room is 404 `{"valid": false, "error": …}`.

use lambda_http::http::Method;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;

use shared::http::{ApiError, Fields, ok, require_method};
use shared::ids::RoomId;
use shared::videosdk::rooms;
use shared::{State, caller};

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    match validate_meeting(state, &req).await {
        Ok(response) => response,
        Err(error @ ApiError::NotFound(_)) => {
            let envelope = error.envelope();
            error.response_with(json!({"valid": false, "error": envelope["error"]}))
        }
        Err(error) => shared::http::respond(Err(error)),
    }
}

async fn validate_meeting(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, &[Method::GET, Method::POST])?;
    caller::identify(req, &state.config)?;
    let id = meeting_id(req)?;
    let room = rooms::validate(state.videosdk()?, &state.secrets, &id).await?;
    Ok(ok(&json!({
        "valid": true,
        "roomId": room.room_id,
        "meetingId": room.room_id,
        "disabled": room.disabled,
    })))
}

/// The id from the `meetingId` path parameter, else the last path segment, else the body's
/// `meetingId` or `roomId`.
fn meeting_id(req: &Request) -> Result<RoomId, ApiError> {
    let mut body =
        if req.method() == Method::POST { Fields::from_body(req)? } else { Fields::from_map(Default::default()) };
    // Older client apps send their own token in the body: accepted, never forwarded.
    body.ignore(&["token", "region"]);
    let from_body = match (body.take_str("meetingId")?, body.take_str("roomId")?) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::invalid("meetingId", "Give meetingId or roomId, not both."));
        }
        (a, b) => a.or(b),
    };
    body.finish()?;

    let from_path = req
        .path_parameters_ref()
        .and_then(|p| p.first("meetingId"))
        .map(str::to_owned)
        .or_else(|| last_segment(req.uri().path()));
    let id = from_path.or(from_body).ok_or_else(|| {
        ApiError::invalid("meetingId", "Give the meeting id in the path: /validate-meeting/{meetingId}.")
    })?;
    RoomId::parse(&id).map_err(|e| ApiError::invalid("meetingId", format!("meetingId {e}.")))
}

/// The percent-decoded last path segment, unless it is the route's own name.
fn last_segment(path: &str) -> Option<String> {
    let segment = path.trim_end_matches('/').rsplit('/').next()?;
    if segment.is_empty() || segment == "validate-meeting" {
        return None;
    }
    Some(percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned())
}
