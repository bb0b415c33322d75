//! `validate-meeting`: tells whether a VideoSDK room (or custom room id) exists
//! (contract: `validate-meeting`). An unknown room is 404 `{"valid": false, "error": …}`.
//!
//! Also serves the client apps' read-only room calls, for the bearer of a participant token this
//! API issued, in VideoSDK's answer shapes: `GET /v2/rooms/validate/{roomId}` (also `POST`, as the
//! iOS agent starter app sends it, with its token in the body, ignored), `GET /v2/sessions?roomId=…`
//! and `GET /v2/hls/{roomId}/active`.

use lambda_http::http::Method;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;

use shared::client_api::{self, ClientRoute};
use shared::control;
use shared::http::{self, ApiError, Fields, ok, require_method, respond, respond_as_videosdk};
use shared::ids::RoomId;
use shared::videosdk::sessions::{self, Paging};
use shared::videosdk::{hls, rooms};
use shared::{State, caller};

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    match ClientRoute::of(&req) {
        None => legacy(state, &req).await,
        Some(route) => respond_as_videosdk(match route {
            Ok(route) => client_call(state, &req, route).await,
            Err(e) => Err(e),
        }),
    }
}

/// A client app's call with its participant token.
async fn client_call(state: &State, req: &Request, route: ClientRoute) -> Result<Response<Body>, ApiError> {
    let methods: &[Method] = match route {
        ClientRoute::ValidateRoom(_) => &[Method::GET, Method::POST],
        _ => &[Method::GET],
    };
    require_method(req, methods)?;
    let token = client_api::authenticate(req, &state.secrets).await?;
    let api = state.videosdk()?;
    match route {
        ClientRoute::ValidateRoom(id) => {
            let room = client_api::room_id(&id)?;
            client_api::require_room(&token, &room)?;
            no_query(req)?;
            if req.method() == Method::POST {
                // The iOS agent starter app posts its own token in the body: ignored, never forwarded.
                let mut body = Fields::from_body(req)?;
                body.ignore(&["token"]);
                body.finish()?;
            }
            let found = rooms::validate(api, &state.secrets, &room).await?;
            Ok(ok(&json!({
                "roomId": found.room_id,
                // The iOS agent starter app reads the room's older name.
                "meetingId": found.room_id,
                "customRoomId": found.custom_room_id,
                "disabled": found.disabled,
                "createdAt": found.created_at,
            })))
        }
        ClientRoute::Sessions => {
            let mut query = Fields::from_query(req)?;
            let room = query
                .take_room_id("roomId")?
                .ok_or_else(|| ApiError::invalid("roomId", "roomId is required: GET /v2/sessions?roomId={roomId}."))?;
            let paging = Paging {
                page: control::take_bounded(&mut query, "page", 1_000_000)?,
                per_page: control::take_bounded(&mut query, "perPage", 100)?,
            };
            query.finish()?;
            client_api::require_room(&token, &room)?;
            let found = sessions::list(api, &state.secrets, &room, paging).await?;
            let mut answer = json!({"data": found.data});
            if let Some(info) = found.page_info.filter(|v| v.is_object()) {
                answer["pageInfo"] = info;
            }
            Ok(ok(&answer))
        }
        ClientRoute::HlsActive(id) => {
            let room = client_api::room_id(&id)?;
            client_api::require_room(&token, &room)?;
            no_query(req)?;
            let active = hls::active(api, &state.secrets, &room).await?;
            Ok(ok(&json!({"code": 200, "data": active})))
        }
        ClientRoute::CreateRoom | ClientRoute::DispatchAgent | ClientRoute::AgentVersions(_) => {
            Err(client_api::not_served())
        }
    }
}

fn no_query(req: &Request) -> Result<(), ApiError> {
    Fields::from_query(req)?.finish()
}

/// The API's own `/validate-meeting/{meetingId}`.
async fn legacy(state: &State, req: &Request) -> Response<Body> {
    match validate_meeting(state, req).await {
        Ok(response) => response,
        Err(error @ ApiError::NotFound(_)) => {
            let envelope = error.envelope();
            error.response_with(json!({"valid": false, "error": envelope["error"]}))
        }
        Err(error) => respond(Err(error)),
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
/// `meetingId` or `roomId`. Every id given is validated, and all of them must be the same room.
fn meeting_id(req: &Request) -> Result<RoomId, ApiError> {
    let mut body = Fields::from_body(req)?;
    // Older client apps send their own token in the body: accepted, never forwarded.
    body.ignore(&["token", "region"]);
    let from_body = body.take_aliased(["meetingId", "roomId"], http::room_id)?;
    body.finish()?;

    let from_path = req
        .path_parameters_ref()
        .and_then(|p| p.first("meetingId"))
        .map(str::to_owned)
        .or_else(|| last_segment(req.uri().path()))
        .map(|id| RoomId::parse(&id).map_err(|e| ApiError::invalid("meetingId", format!("meetingId {e}."))))
        .transpose()?;
    match (from_path, from_body) {
        (Some(path), Some(body)) if path != body => Err(ApiError::invalid(
            "meetingId",
            format!("The path names room {} and the body room {}; give one.", path.as_str(), body.as_str()),
        )),
        (Some(id), _) | (None, Some(id)) => Ok(id),
        (None, None) => {
            Err(ApiError::invalid("meetingId", "Give the meeting id in the path: /validate-meeting/{meetingId}."))
        }
    }
}

/// The percent-decoded last path segment, unless it is the route's own name.
fn last_segment(path: &str) -> Option<String> {
    let segment = path.trim_end_matches('/').rsplit('/').next()?;
    if segment.is_empty() || segment == "validate-meeting" {
        return None;
    }
    Some(percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned())
}
