//! `create-livestream`: starts an RTMP or HLS live stream of a room (contract:
//! `create-livestream`). Moderators only under `CALLER_AUTH=jwt`; stream keys are never logged
//! or echoed.

use lambda_http::{Body, Request, Response};
use serde_json::json;

use shared::State;
use shared::config::Action;
use shared::http::{ApiError, ok, respond};
use shared::ids::url_host;
use shared::livestream::{self, StreamType};
use shared::videosdk::hls::{self, StartHls};
use shared::videosdk::livestreams::{self, StartRtmp};

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    respond(create_livestream(state, &req).await)
}

async fn create_livestream(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let livestream::Opened { caller, kind, room, rest: mut fields } = livestream::open(req, &state.config, true)?;
    let outputs = livestream::take_outputs(&mut fields, &state.config)?;
    let config = livestream::take_config(&mut fields)?;
    let template_url = livestream::take_template_url(&mut fields)?;
    fields.finish()?;
    // Counted against the caller's limit and the stream budget just before the start itself.
    let caller_key = shared::caller::rate_key(req);

    let api = state.videosdk()?;
    let room_id = room.as_str().to_owned();
    let mut answer = json!({"roomId": room_id, "type": kind.as_str(), "status": "started"});
    match kind {
        StreamType::Rtmp => {
            let outputs = outputs.ok_or_else(|| {
                ApiError::invalid("outputs", "outputs is required for an rtmp stream: 1 to 5 {\"url\", \"streamKey\"}.")
            })?;
            let hosts = outputs.iter().filter_map(|o| url_host(&o.url, &["rtmp", "rtmps"]).ok()).collect::<Vec<_>>();
            let start = StartRtmp { room_id, outputs, config, template_url };
            state.spend(&caller_key, Action::Stream, livestreams::start(api, &state.secrets, &start)).await?;
            shared::tracing::info!(
                caller = ?caller.audit_name(),
                room_id = ?room.as_str(),
                hosts = ?hosts.join(","),
                "started an RTMP live stream"
            );
        }
        StreamType::Hls => {
            if outputs.is_some() {
                return Err(ApiError::invalid("outputs", "outputs applies to rtmp streams only; omit it for hls."));
            }
            let start = StartHls { room_id, config, template_url };
            let started = state.spend(&caller_key, Action::Stream, hls::start(api, &state.secrets, &start)).await?;
            answer["playbackHlsUrl"] = json!(started.playback_hls_url);
            answer["livestreamUrl"] = json!(started.livestream_url);
            answer["sessionId"] = json!(started.session_id);
            shared::tracing::info!(
                caller = ?caller.audit_name(),
                room_id = ?room.as_str(),
                session_id = ?started.session_id,
                "started an HLS live stream"
            );
        }
    }
    Ok(ok(&answer))
}
