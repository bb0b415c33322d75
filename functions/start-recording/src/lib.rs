//! `start-recording`: starts a recording of a room (contract: "start-recording"). Moderators
//! only; the storage path (`RECORDING_DIR_PATH`) and the status webhook (`WEBHOOK_URL`) are the
//! operator's, never the caller's.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use shared::config::Action;
use shared::control;
use shared::http::{ApiError, Fields, ok, respond};
use shared::livestream;
use shared::videosdk::recordings::{self, StartRecording};
use shared::{State, caller};

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    respond(start_recording(state, &req).await)
}

async fn start_recording(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let control::Opened { caller, room, rest: mut fields } = control::open(req, &state.config, Method::POST)?;
    let config = livestream::take_config(&mut fields)?;
    let transcription = fields.take_object("transcription")?.map(transcription).transpose()?;
    // webhookUrl, awsDirPath and dirPath are the operator's: left over, they are unknown fields.
    fields.finish()?;

    let webhook_url = state.config.webhooks.url_for(caller::domain_name(req)).map_err(|e| {
        shared::tracing::error!(variable = e.variable, cause = %e, "cannot derive the webhook URL");
        ApiError::Misconfigured
    })?;
    let aws_dir_path = state.config.recording_dir_path.as_ref().map(|p| p.replace("{roomId}", room.as_str()));
    let body = StartRecording { room_id: room.as_str().to_owned(), config, transcription, webhook_url, aws_dir_path };
    let api = state.videosdk()?;
    state
        .spend(&shared::caller::rate_key(req), Action::Recording, recordings::start(api, &state.secrets, &body))
        .await?;
    shared::tracing::info!(caller = ?caller.audit_name(), room_id = ?room.as_str(), "started a recording");
    Ok(ok(&json!({"roomId": room.as_str(), "status": "starting"})))
}

/// `transcription`: `{"enabled": bool, "summary": {"enabled": bool, "prompt": "…"}}`.
fn transcription(mut fields: Fields) -> Result<Value, ApiError> {
    let enabled = match fields.take("enabled") {
        None => None,
        Some(Value::Bool(b)) => Some(b),
        Some(_) => {
            return Err(ApiError::invalid("transcription.enabled", "transcription.enabled must be true or false."));
        }
    };
    let summary = fields
        .take_object("summary")
        .map_err(|_| ApiError::invalid("transcription.summary", "transcription.summary must be a JSON object."))?
        .map(|summary| control::summary(summary, "transcription.summary"))
        .transpose()?;
    control::finish_nested(fields, "transcription")?;
    let mut out = serde_json::Map::new();
    if let Some(e) = enabled {
        out.insert("enabled".into(), json!(e));
    }
    if let Some(s) = summary {
        out.insert("summary".into(), s);
    }
    Ok(Value::Object(out))
}
