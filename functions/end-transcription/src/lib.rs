//! `end-transcription`: stops a room's realtime transcription (contract: "end-transcription").
//! Moderators only.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use shared::State;
use shared::control;
use shared::http::{ApiError, ok, respond};
use shared::videosdk::transcriptions;

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    respond(end_transcription(state, &req).await)
}

async fn end_transcription(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let control::Opened { caller, room, rest } = control::open(req, &state.config, Method::POST)?;
    rest.finish()?;
    transcriptions::end(state.videosdk()?, &state.secrets, &room).await?;
    shared::tracing::info!(caller = ?caller.audit_name(), room_id = ?room.as_str(), "stopped a transcription");
    Ok(ok(&json!({"roomId": room.as_str(), "status": "stopping"})))
}
