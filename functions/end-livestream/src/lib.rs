//! `end-livestream`: ends a room's RTMP or HLS live stream (contract: `end-livestream`).
//! Moderators only under `CALLER_AUTH=jwt`.

use lambda_http::{Body, Request, Response};
use serde_json::json;

use shared::State;
use shared::http::{ApiError, ok, respond};
use shared::livestream::{self, StreamType};
use shared::videosdk::{hls, livestreams};

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    respond(end_livestream(state, &req).await)
}

async fn end_livestream(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let livestream::Opened { caller, kind, room, rest } = livestream::open(req, &state.config, false)?;
    rest.finish()?;

    let api = state.videosdk()?;
    match kind {
        StreamType::Rtmp => livestreams::end(api, &state.secrets, &room).await?,
        StreamType::Hls => hls::end(api, &state.secrets, &room).await?,
    }
    shared::tracing::info!(
        caller = ?caller.audit_name(),
        room_id = ?room.as_str(),
        kind = kind.as_str(),
        "ended a live stream"
    );
    Ok(ok(&json!({"roomId": room.as_str(), "type": kind.as_str(), "status": "ended"})))
}
