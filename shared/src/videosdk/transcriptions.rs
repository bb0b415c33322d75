//! Realtime transcription: `POST /ai/v1/realtime-transcriptions/start` and `/end`. Where the
//! status goes (`webhookUrl`) is the operator's setting, filled in by the caller of [`start`];
//! the model is VideoSDK's default.

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use super::livestreams::EndStream;
use super::{Segment, VideoSdk};
use crate::error::ApiError;
use crate::ids::RoomId;
use crate::secret::SecretStore;

/// The whitelisted body of the start call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartTranscription {
    pub room_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
}

/// Starts the transcription; its id (`id`, or `data.id`) when VideoSDK answers one.
pub async fn start(
    api: &VideoSdk,
    secrets: &SecretStore,
    body: &StartTranscription,
) -> Result<Option<String>, ApiError> {
    let path = [Segment::Fixed("ai/v1/realtime-transcriptions/start")];
    let answer: Value = api.call(secrets, Method::POST, &path, Some(body), &[]).await?;
    Ok(super::short_text(answer.get("id").or_else(|| answer.pointer("/data/id"))))
}

pub async fn end(api: &VideoSdk, secrets: &SecretStore, room: &RoomId) -> Result<(), ApiError> {
    let path = [Segment::Fixed("ai/v1/realtime-transcriptions/end")];
    api.call::<Value>(secrets, Method::POST, &path, Some(&EndStream::new(room)), &[]).await.map(drop)
}
