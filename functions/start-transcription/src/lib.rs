//! `start-transcription`: starts realtime transcription of a room (contract:
//! "start-transcription"). Moderators only; callers choose the language and the summary prompt,
//! never where the status goes (`WEBHOOK_URL`, the operator's) nor the model.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use shared::config::Action;
use shared::control;
use shared::http::{ApiError, ok, respond};
use shared::videosdk::transcriptions::{self, StartTranscription};
use shared::{State, caller};

/// Longest `language` tag.
pub const MAX_LANGUAGE_CHARS: usize = 35;

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    respond(start_transcription(state, &req).await)
}

async fn start_transcription(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let control::Opened { caller, room, rest: mut fields } = control::open(req, &state.config, Method::POST)?;
    let language = fields.take_str("language")?.map(language).transpose()?;
    let summary = fields
        .take_object("summary")
        .map_err(|_| ApiError::invalid("summary", "summary must be a JSON object."))?
        .map(|summary| control::summary(summary, "summary"))
        .transpose()?;
    // webhookUrl and modelId are the operator's: left over, they are unknown fields.
    fields.finish()?;

    let webhook_url = state.config.webhooks.url_for(caller::domain_name(req)).map_err(|e| {
        shared::tracing::error!(variable = e.variable, cause = %e, "cannot derive the webhook URL");
        ApiError::Misconfigured
    })?;
    let body = StartTranscription { room_id: room.as_str().to_owned(), language, summary, webhook_url };
    let api = state.videosdk()?;
    let start = transcriptions::start(api, &state.secrets, &body);
    let id = state.spend(&shared::caller::rate_key(req), Action::Transcription, start).await?;
    shared::tracing::info!(caller = ?caller.audit_name(), room_id = ?room.as_str(), "started a transcription");
    Ok(ok(&json!({"roomId": room.as_str(), "status": "starting", "transcriptionId": id})))
}

/// A BCP-47 language tag such as `en-US`: letters first, then `-`-separated parts of 1–8
/// letters or digits, at most [`MAX_LANGUAGE_CHARS`] characters.
fn language(tag: String) -> Result<String, ApiError> {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    let ok = tag.len() <= MAX_LANGUAGE_CHARS
        && (2..=8).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if ok {
        Ok(tag)
    } else {
        Err(ApiError::invalid(
            "language",
            format!("language must be a BCP-47 tag such as en-US (at most {MAX_LANGUAGE_CHARS} characters)."),
        ))
    }
}
