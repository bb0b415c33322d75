//! HLS live streams: `POST /v2/hls/start` and `POST /v2/hls/end`.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::livestreams::EndStream;
use super::{Segment, VideoSdk};
use crate::error::ApiError;
use crate::ids::RoomId;
use crate::secret::SecretStore;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartHls {
    pub room_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_url: Option<String>,
}

/// What VideoSDK answers when HLS starts (the deprecated `downstreamUrl` is dropped).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HlsStarted {
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub playback_hls_url: Option<String>,
    #[serde(default)]
    pub livestream_url: Option<String>,
}

/// The HLS stream a room is running now, as `GET /v2/hls/{roomId}/active` describes it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveHls {
    #[serde(default)]
    pub room_id: Option<String>,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub playback_hls_url: Option<String>,
    #[serde(default)]
    pub livestream_url: Option<String>,
}

#[derive(Deserialize)]
struct ActiveAnswer {
    #[serde(default)]
    data: Option<ActiveHls>,
}

/// The room's running HLS stream; 404 when there is none (VideoSDK answers that with 400, 404
/// or a 200 without a playback URL).
pub async fn active(api: &VideoSdk, secrets: &SecretStore, room_id: &RoomId) -> Result<ActiveHls, ApiError> {
    let path = [Segment::Fixed("v2/hls"), Segment::Id(room_id.as_str()), Segment::Fixed("active")];
    let answer: ActiveAnswer = api.call_remapped(secrets, Method::GET, &path, None::<&()>, &[], no_hls).await?;
    answer
        .data
        .filter(|d| d.playback_hls_url.as_deref().is_some_and(|u| !u.is_empty()))
        .ok_or_else(|| ApiError::NotFound("No HLS stream is running in this room.".into()))
}

fn no_hls(status: u16, message: &str) -> Option<ApiError> {
    let message = if message.is_empty() { "no HLS stream is running in this room" } else { message };
    matches!(status, 400 | 402 | 404).then(|| ApiError::NotFound(format!("VideoSDK: {message}")))
}

pub async fn start(api: &VideoSdk, secrets: &SecretStore, body: &StartHls) -> Result<HlsStarted, ApiError> {
    api.call(secrets, Method::POST, &[Segment::Fixed("v2/hls/start")], Some(body), &[]).await
}

pub async fn end(api: &VideoSdk, secrets: &SecretStore, room_id: &RoomId) -> Result<(), ApiError> {
    let path = [Segment::Fixed("v2/hls/end")];
    api.call::<Value>(secrets, Method::POST, &path, Some(&EndStream::new(room_id)), &[]).await.map(drop)
}
