//! Rooms: `POST /v2/rooms` and `GET /v2/rooms/validate/{id}`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::{Segment, VideoSdk};
use crate::error::ApiError;
use crate::ids::RoomId;
use crate::secret::SecretStore;

/// The whitelisted body of `POST /v2/rooms`. Nothing else is ever forwarded.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRoom {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_room_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Webhook>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_close_config: Option<AutoCloseConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geo_fence: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub end_point: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AutoCloseConfig {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
}

/// The room object VideoSDK answers with (only the fields this product passes on).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    #[serde(alias = "meetingId")]
    pub room_id: String,
    #[serde(default)]
    pub custom_room_id: Option<String>,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub created_at: Option<String>,
}

pub async fn create(api: &VideoSdk, secrets: &SecretStore, body: &CreateRoom) -> Result<Room, ApiError> {
    api.call(secrets, Method::POST, &[Segment::Fixed("v2/rooms")], Some(body), &[]).await
}

pub async fn validate(api: &VideoSdk, secrets: &SecretStore, id: &RoomId) -> Result<Room, ApiError> {
    let path = [Segment::Fixed("v2/rooms/validate"), Segment::Id(id.as_str())];
    api.call_remapped(secrets, Method::GET, &path, None::<&()>, &[], unknown_room).await
}

/// VideoSDK answers an unknown id with 400 (often plain text), 402 or 404.
pub(crate) fn unknown_room(status: u16, message: &str) -> Option<ApiError> {
    let message = if message.is_empty() { "no such room" } else { message };
    matches!(status, 400 | 402 | 404).then(|| ApiError::NotFound(format!("VideoSDK: {message}")))
}

/// `POST /v2/rooms/deactivate {"roomId"}`: the room starts no new sessions.
pub async fn deactivate(api: &VideoSdk, secrets: &SecretStore, id: &RoomId) -> Result<(), ApiError> {
    let body = super::livestreams::EndStream::new(id);
    let path = [Segment::Fixed("v2/rooms/deactivate")];
    api.call::<serde_json::Value>(secrets, Method::POST, &path, Some(&body), &[]).await.map(drop)
}
