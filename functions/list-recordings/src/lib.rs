//! `list-recordings`: `GET /recordings?roomId=…`, a room's recordings (contract:
//! "list-recordings"). Moderators only. VideoSDK's answer is read defensively: a field it
//! leaves out is `null`, never a 5xx.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

use shared::control;
use shared::http::{ApiError, ok, respond};
use shared::ids::RoomId;
use shared::videosdk::recordings;
use shared::videosdk::sessions::Paging;
use shared::{State, http};

/// Largest page VideoSDK is asked for.
pub const MAX_PER_PAGE: u64 = 100;

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    respond(list_recordings(state, &req).await)
}

async fn list_recordings(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let control::Opened { caller, room, rest: mut query } = control::open(req, &state.config, Method::GET)?;
    // Session ids have the same alphabet as room ids.
    let session = query.take("sessionId").map(|v| http::room_id("sessionId", v)).transpose()?;
    let paging = Paging {
        page: control::take_bounded(&mut query, "page", 1_000_000)?,
        per_page: control::take_bounded(&mut query, "perPage", MAX_PER_PAGE)?,
    };
    query.finish()?;
    let answer =
        recordings::list(state.videosdk()?, &state.secrets, &room, session.as_ref().map(RoomId::as_str), paging)
            .await?;
    let page = recordings::page(&answer, paging);
    shared::tracing::info!(
        caller = ?caller.audit_name(),
        room_id = ?room.as_str(),
        count = page["recordings"].as_array().map_or(0, Vec::len),
        "listed recordings"
    );
    Ok(ok(&page))
}
