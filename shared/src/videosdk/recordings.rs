//! Recordings: `POST /v2/recordings/start`, `POST /v2/recordings/end` and
//! `GET /v2/recordings`. Where a file is stored and where its status is sent are the operator's
//! settings, filled in by the caller of [`start`], never taken from a client.

use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};

use super::livestreams::EndStream;
use super::sessions::Paging;
use super::{Segment, VideoSdk};
use crate::error::ApiError;
use crate::ids::RoomId;
use crate::secret::SecretStore;

/// The whitelisted body of `POST /v2/recordings/start`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartRecording {
    pub room_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcription: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_dir_path: Option<String>,
}

pub async fn start(api: &VideoSdk, secrets: &SecretStore, body: &StartRecording) -> Result<(), ApiError> {
    let path = [Segment::Fixed("v2/recordings/start")];
    api.call::<Value>(secrets, Method::POST, &path, Some(body), &[]).await.map(drop)
}

pub async fn end(api: &VideoSdk, secrets: &SecretStore, room_id: &RoomId) -> Result<(), ApiError> {
    let path = [Segment::Fixed("v2/recordings/end")];
    api.call::<Value>(secrets, Method::POST, &path, Some(&EndStream::new(room_id)), &[]).await.map(drop)
}

/// One page of a room's recordings, as VideoSDK answered it (read with [`page`]).
pub async fn list(
    api: &VideoSdk,
    secrets: &SecretStore,
    room: &RoomId,
    session: Option<&str>,
    paging: Paging,
) -> Result<Value, ApiError> {
    let page = paging.page.map(|p| p.to_string());
    let per_page = paging.per_page.map(|p| p.to_string());
    let mut path = vec![Segment::Fixed("v2/recordings"), Segment::Query("roomId", room.as_str())];
    if let Some(session) = session {
        path.push(Segment::Query("sessionId", session));
    }
    if let Some(page) = &page {
        path.push(Segment::Query("page", page));
    }
    if let Some(per_page) = &per_page {
        path.push(Segment::Query("perPage", per_page));
    }
    api.call_remapped(secrets, Method::GET, &path, None::<&()>, &[], super::rooms::unknown_room).await
}

/// The contract's page of recordings from VideoSDK's answer, read defensively: `data[]` with
/// `file.fileUrl`, `file.size` and `file.meta.duration` or the same names at the top level, and
/// `pageInfo`. Anything missing or of the wrong type is `null`.
pub fn page(answer: &Value, asked: Paging) -> Value {
    let items = answer.get("data").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let recordings: Vec<Value> = items.iter().filter(|i| i.is_object()).map(recording).collect();
    let info = answer.get("pageInfo");
    let number = |name: &str| info.and_then(|i| i.get(name)).and_then(Value::as_u64);
    json!({
        "recordings": recordings,
        "page": number("currentPage").or(asked.page).unwrap_or(1),
        "perPage": number("perPage").or(asked.per_page),
        "total": number("total"),
    })
}

fn recording(item: &Value) -> Value {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let number = |v: Option<&Value>| v.filter(|n| n.is_number()).cloned();
    let file = item.get("file");
    let nested = |name: &str| file.and_then(|f| f.get(name)).or_else(|| item.get(name));
    let duration = file
        .and_then(|f| f.get("meta"))
        .and_then(|m| m.get("duration"))
        .or_else(|| item.get("meta").and_then(|m| m.get("duration")))
        .or_else(|| item.get("duration"));
    json!({
        "id": text(item.get("id")),
        "roomId": text(item.get("roomId")),
        "sessionId": text(item.get("sessionId")),
        "fileUrl": text(nested("fileUrl")),
        "size": number(nested("size")),
        "duration": number(duration),
        "createdAt": text(item.get("createdAt")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_are_read_from_either_field_placement() {
        let answer = json!({
            "pageInfo": {"currentPage": 2, "perPage": 10, "lastPage": 3, "total": 21},
            "data": [
                {"id": "r1", "roomId": "abcd-efgh-ijkl", "sessionId": "s1", "createdAt": "2026-01-01T00:00:00Z",
                 "file": {"fileUrl": "https://cdn.example.com/r1.mp4", "size": 1024, "meta": {"duration": 61.5}}},
                {"id": "r2", "roomId": "abcd-efgh-ijkl", "sessionId": "s2", "fileUrl": "https://cdn.example.com/r2.mp4",
                 "size": 2048, "duration": 30},
                {"id": 7, "file": "not an object", "size": "big"},
                "not a recording",
            ]
        });
        let page = page(&answer, Paging::default());
        assert_eq!(page["page"], 2);
        assert_eq!(page["perPage"], 10);
        assert_eq!(page["total"], 21);
        let list = page["recordings"].as_array().unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[0]["fileUrl"], "https://cdn.example.com/r1.mp4");
        assert_eq!(list[0]["size"], 1024);
        assert_eq!(list[0]["duration"], 61.5);
        assert_eq!(list[1]["fileUrl"], "https://cdn.example.com/r2.mp4");
        assert_eq!(list[1]["duration"], 30);
        assert_eq!(
            list[2],
            json!({"id": null, "roomId": null, "sessionId": null, "fileUrl": null, "size": null,
                   "duration": null, "createdAt": null})
        );
    }

    #[test]
    fn an_answer_of_another_shape_is_an_empty_page() {
        for answer in [json!(null), json!("ok"), json!({"data": {"id": 1}}), json!({"pageInfo": "x"})] {
            let page = page(&answer, Paging { page: Some(3), per_page: Some(5) });
            assert_eq!(page, json!({"recordings": [], "page": 3, "perPage": 5, "total": null}), "{answer}");
        }
    }
}
