//! AI agents: `POST /v2/agent/dispatch` and `GET /ai/v1/agents/{agentId}/versions`. Which agent,
//! which version and how long its session may run are decided by the caller of [`dispatch`]
//! (the operator's `AGENTS` and `AGENT_SESSION_MAX_SECONDS`); a client never names `sipOptions`
//! (a phone call), `roomOptions` or `wait`, because [`Dispatch`] has no such fields.

use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{Segment, VideoSdk, short_text as text};
use crate::error::ApiError;
use crate::secret::SecretStore;

/// The whole body of `POST /v2/agent/dispatch`: nothing else can be sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dispatch {
    pub agent_id: String,
    pub meeting_id: String,
    /// The same room as `meetingId` (VideoSDK's server SDKs send both).
    pub room_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    pub room_options: RoomOptions,
}

/// The operator's bounds on the agent's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomOptions {
    pub session_timeout_seconds: u64,
}

/// Dispatches the agent; the job id VideoSDK answered with (`data.jobId`), if any.
pub async fn dispatch(api: &VideoSdk, secrets: &SecretStore, body: &Dispatch) -> Result<Option<String>, ApiError> {
    let path = [Segment::Fixed("v2/agent/dispatch")];
    let answer: Value = api.call(secrets, Method::POST, &path, Some(body), &[]).await?;
    Ok(text(answer.pointer("/data/jobId").or_else(|| answer.get("jobId"))))
}

/// The agent's versions as VideoSDK lists them (newest first), read with [`versions_of`].
pub async fn versions(api: &VideoSdk, secrets: &SecretStore, agent_id: &str) -> Result<Value, ApiError> {
    let path = [Segment::Fixed("ai/v1/agents"), Segment::Id(agent_id), Segment::Fixed("versions")];
    api.call(secrets, Method::GET, &path, None::<&()>, &[]).await
}

/// `{"versions": [{"versionId", "versionTag", "createdAt"}]}` from VideoSDK's answer, in its
/// order: only those three fields (the upstream objects may hold the agent's configuration),
/// `null` where one is missing or not a string, and entries without a `versionId` left out.
/// A `versions` (or `data`) that is not a list reads as no versions.
pub fn versions_of(answer: &Value) -> Value {
    let items = ["versions", "data"].iter().find_map(|name| answer.get(*name).and_then(Value::as_array));
    let versions: Vec<Value> = items
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|item| {
            let id = text(item.get("versionId"))?;
            Some(json!({
                "versionId": id,
                "versionTag": text(item.get("versionTag")),
                "createdAt": text(item.get("createdAt")),
            }))
        })
        .collect();
    json!({"versions": versions})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_keep_three_fields_in_upstream_order() {
        let answer = json!({"versions": [
            {"versionId": "v3", "versionTag": "prod", "createdAt": "2026-06-01T00:00:00Z",
             "config": {"llm": {"apiKey": "sk-upstream"}}, "env": {"SECRET": "x"}},
            {"versionId": "v2"},
            {"versionTag": "no-id"},
            "odd",
            {"versionId": 7, "versionTag": "number id"},
            {"versionId": "v1", "versionTag": 5, "createdAt": null},
        ]});
        assert_eq!(
            versions_of(&answer),
            json!({"versions": [
                {"versionId": "v3", "versionTag": "prod", "createdAt": "2026-06-01T00:00:00Z"},
                {"versionId": "v2", "versionTag": null, "createdAt": null},
                {"versionId": "v1", "versionTag": null, "createdAt": null},
            ]})
        );
    }

    #[test]
    fn odd_shapes_read_as_no_versions() {
        for answer in [json!(null), json!("text"), json!([]), json!({"versions": {"versionId": "v"}}), json!({})] {
            assert_eq!(versions_of(&answer), json!({"versions": []}), "{answer}");
        }
        assert_eq!(versions_of(&json!({"data": [{"versionId": "d1"}]}))["versions"][0]["versionId"], "d1");
    }

    #[test]
    fn the_dispatch_body_is_exactly_its_fields() {
        let body = Dispatch {
            agent_id: "tutor".into(),
            meeting_id: "abcd-efgh-ijkl".into(),
            room_id: "abcd-efgh-ijkl".into(),
            version_id: Some("v3".into()),
            version_tag: None,
            metadata: None,
            room_options: RoomOptions { session_timeout_seconds: 1800 },
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"agentId": "tutor", "meetingId": "abcd-efgh-ijkl", "roomId": "abcd-efgh-ijkl", "versionId": "v3",
                   "roomOptions": {"sessionTimeoutSeconds": 1800}})
        );
    }
}
