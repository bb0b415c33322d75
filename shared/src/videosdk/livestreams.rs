//! RTMP live streams: `POST /v2/livestreams/start` and `POST /v2/livestreams/end`.

use std::fmt;

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use super::{Segment, VideoSdk};
use crate::error::ApiError;
use crate::ids::RoomId;
use crate::secret::SecretStore;

/// One RTMP destination. `Debug` never shows the stream key.
#[derive(Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub url: String,
    pub stream_key: String,
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output").field("url", &self.url).field("stream_key", &"<redacted>").finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartRtmp {
    pub room_id: String,
    pub outputs: Vec<Output>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_url: Option<String>,
}

impl StartRtmp {
    /// What no message may repeat: each stream key, and each output URL's query string (where
    /// some services put a credential).
    fn secrets(&self) -> Vec<&str> {
        let queries = self.outputs.iter().filter_map(|o| o.url.split_once('?').map(|(_, q)| q));
        self.outputs.iter().map(|o| o.stream_key.as_str()).chain(queries).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndStream {
    pub room_id: String,
}

impl EndStream {
    pub fn new(room_id: &RoomId) -> Self {
        EndStream { room_id: room_id.as_str().to_owned() }
    }
}

/// Starts an RTMP stream. VideoSDK confirms with a bare string or an object; neither is needed.
pub async fn start(api: &VideoSdk, secrets: &SecretStore, body: &StartRtmp) -> Result<(), ApiError> {
    let path = [Segment::Fixed("v2/livestreams/start")];
    api.call::<Value>(secrets, Method::POST, &path, Some(body), &body.secrets()).await.map(drop)
}

pub async fn end(api: &VideoSdk, secrets: &SecretStore, room_id: &RoomId) -> Result<(), ApiError> {
    let path = [Segment::Fixed("v2/livestreams/end")];
    api.call::<Value>(secrets, Method::POST, &path, Some(&EndStream::new(room_id)), &[]).await.map(drop)
}
