//! Sessions: `GET /v2/sessions/?roomId=…`, the meetings held in a room (newest first).

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Segment, VideoSdk};
use crate::error::ApiError;
use crate::ids::RoomId;
use crate::secret::SecretStore;

/// One session, with the fields client apps read. Participants are left out: a participant
/// token does not entitle its holder to the names and ids of everyone who was in the room.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub room_id: Option<String>,
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

/// A page of sessions as VideoSDK answers it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionPage {
    #[serde(default)]
    pub page_info: Option<Value>,
    #[serde(default)]
    pub data: Vec<Session>,
}

/// Paging as VideoSDK takes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Paging {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

pub async fn list(
    api: &VideoSdk,
    secrets: &SecretStore,
    room: &RoomId,
    paging: Paging,
) -> Result<SessionPage, ApiError> {
    let page = paging.page.map(|p| p.to_string());
    let per_page = paging.per_page.map(|p| p.to_string());
    let mut path = vec![Segment::Fixed("v2/sessions/"), Segment::Query("roomId", room.as_str())];
    if let Some(page) = &page {
        path.push(Segment::Query("page", page));
    }
    if let Some(per_page) = &per_page {
        path.push(Segment::Query("perPage", per_page));
    }
    api.call_remapped(secrets, Method::GET, &path, None::<&()>, &[], super::rooms::unknown_room).await
}

/// `POST /v2/sessions/end {"roomId"}`: ends the room's live session; everyone is disconnected.
pub async fn end(api: &VideoSdk, secrets: &SecretStore, room: &RoomId) -> Result<(), ApiError> {
    let body = super::livestreams::EndStream::new(room);
    api.call::<Value>(secrets, Method::POST, &[Segment::Fixed("v2/sessions/end")], Some(&body), &[]).await.map(drop)
}
