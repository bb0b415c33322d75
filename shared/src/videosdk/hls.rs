//! HLS live streams: `POST /v2/hls/start` and `POST /v2/hls/end`.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::livestreams::EndStream;
use super::{Segment, VideoSdk};
use crate::http::ApiError;
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

pub async fn start(api: &VideoSdk, secrets: &SecretStore, body: &StartHls) -> Result<HlsStarted, ApiError> {
    api.call(secrets, Method::POST, &[Segment::Fixed("v2/hls/start")], Some(body), &[]).await
}

pub async fn end(api: &VideoSdk, secrets: &SecretStore, room_id: &RoomId) -> Result<(), ApiError> {
    let path = [Segment::Fixed("v2/hls/end")];
    api.call::<Value>(secrets, Method::POST, &path, Some(&EndStream::new(room_id)), &[]).await.map(drop)
}
