//! The stand-in behaves as `../shared/reference/videosdk.md` describes, as seen through the
//! product's own VideoSDK client.

use serde_json::Value;
use shared::http::ApiError;
use shared::ids::RoomId;
use shared::videosdk::hls::{self, StartHls};
use shared::videosdk::livestreams::{self, Output, StartRtmp};
use shared::videosdk::rooms::{self, CreateRoom};
use shared::{State, Uses};
use testkit::{API_KEY, SECRET, leak, state};
use videosdk_standin::Credentials;

async fn setup(secret: &str) -> (videosdk_standin::Server, &'static State) {
    let server = videosdk_standin::start(Credentials { api_key: API_KEY.into(), secret: secret.into() }, None).unwrap();
    let endpoint = server.uri();
    let state = leak(state(Uses::VideoSdkApi, &[("VIDEOSDK_API_ENDPOINT", &endpoint)]).await);
    (server, state)
}

#[tokio::test]
async fn rooms_are_created_idempotently_and_validated() {
    let (_server, state) = setup(SECRET).await;
    let api = state.videosdk().unwrap();
    let body = CreateRoom { custom_room_id: Some("standup".into()), ..CreateRoom::default() };
    let first = rooms::create(api, &state.secrets, &body).await.unwrap();
    let again = rooms::create(api, &state.secrets, &body).await.unwrap();
    assert_eq!(first.room_id, again.room_id);
    assert_eq!(first.room_id.len(), 14);
    let by_custom = rooms::validate(api, &state.secrets, &RoomId::parse("standup").unwrap()).await.unwrap();
    assert_eq!(by_custom.room_id, first.room_id);
    let unknown = rooms::validate(api, &state.secrets, &RoomId::parse("nope").unwrap()).await;
    assert!(matches!(unknown, Err(ApiError::NotFound(ref m)) if m.contains("Invalid meeting id")), "{unknown:?}");
}

#[tokio::test]
async fn live_streams_start_once_and_end() {
    let (_server, state) = setup(SECRET).await;
    let api = state.videosdk().unwrap();
    let room = rooms::create(api, &state.secrets, &CreateRoom::default()).await.unwrap();
    let id = RoomId::parse(&room.room_id).unwrap();
    let output = Output { url: "rtmp://a.rtmp.youtube.com/live2".into(), stream_key: "k".into() };
    let start = StartRtmp { room_id: room.room_id.clone(), outputs: vec![output], config: None, template_url: None };
    livestreams::start(api, &state.secrets, &start).await.unwrap();
    assert!(matches!(livestreams::start(api, &state.secrets, &start).await, Err(ApiError::Conflict(_))));
    livestreams::end(api, &state.secrets, &id).await.unwrap();
    assert!(matches!(livestreams::end(api, &state.secrets, &id).await, Err(ApiError::UpstreamRejected(_))));

    let started =
        hls::start(api, &state.secrets, &StartHls { room_id: room.room_id.clone(), config: None, template_url: None })
            .await
            .unwrap();
    assert!(started.playback_hls_url.unwrap().ends_with(".m3u8"));
    hls::end(api, &state.secrets, &id).await.unwrap();

    let unknown = RoomId::parse("zzzz-zzzz-zzzz").unwrap();
    assert!(matches!(livestreams::end(api, &state.secrets, &unknown).await, Err(ApiError::NotFound(_))));
}

#[tokio::test]
async fn tokens_signed_with_another_secret_are_refused() {
    let (server, state) = setup("another-secret").await;
    let api = state.videosdk().unwrap();
    let result = rooms::create(api, &state.secrets, &CreateRoom::default()).await;
    assert_eq!(result.unwrap_err(), ApiError::UpstreamAuth);
    let received: Value =
        reqwest::get(format!("{}/_standin/requests", server.uri())).await.unwrap().json().await.unwrap();
    assert_eq!(received.as_array().unwrap().len(), 2, "one retry after a 401");
    assert!(received[0]["authorization"].as_str().unwrap().contains("does not verify"));
}

#[tokio::test]
async fn deactivated_rooms_validate_as_disabled_and_cannot_stream() {
    let (server, state) = setup(SECRET).await;
    let api = state.videosdk().unwrap();
    let room = rooms::create(api, &state.secrets, &CreateRoom::default()).await.unwrap();
    let token = shared::claims::TokenBuilder::management()
        .ttl(std::time::Duration::from_secs(60))
        .sign(&shared::secret::Credentials::new(API_KEY.into(), SECRET.into()), std::time::SystemTime::now())
        .unwrap();
    let reply = reqwest::Client::new()
        .post(format!("{}/v2/rooms/deactivate", server.uri()))
        .header("authorization", token.expose())
        .json(&serde_json::json!({"roomId": room.room_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let id = RoomId::parse(&room.room_id).unwrap();
    assert!(rooms::validate(api, &state.secrets, &id).await.unwrap().disabled);
    let start = StartHls { room_id: room.room_id.clone(), config: None, template_url: None };
    let refused = hls::start(api, &state.secrets, &start).await.unwrap_err();
    assert!(matches!(refused, ApiError::UpstreamRejected(ref m) if m.contains("No active session")), "{refused:?}");
}

/// A participant token as `get-token` mints it; `edit` adjusts the claims.
fn participant(edit: impl FnOnce(&mut Value)) -> String {
    testkit::participant_token(edit)
}

async fn get(server: &videosdk_standin::Server, path: &str, token: &str) -> (u16, Value) {
    let reply = reqwest::Client::new()
        .get(format!("{}{path}", server.uri()))
        .header("authorization", token)
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    let text = reply.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test]
async fn rtc_tokens_are_refused_role_less_ones_call_the_rest_api() {
    let (server, state) = setup(SECRET).await;
    let api = state.videosdk().unwrap();
    let room = rooms::create(api, &state.secrets, &CreateRoom::default()).await.unwrap();
    let path = format!("/v2/rooms/validate/{}", room.room_id);

    let (status, body) = get(&server, &path, &participant(|_| {})).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("rtc"), "{body}");

    let role_less = participant(|c| {
        c.as_object_mut().unwrap().remove("roles");
    });
    let (status, body) = get(&server, &path, &role_less).await;
    assert_eq!((status, body["roomId"].as_str()), (200, Some(room.room_id.as_str())), "{body}");
}

#[tokio::test]
async fn sessions_and_active_hls_follow_the_room() {
    let (server, state) = setup(SECRET).await;
    let api = state.videosdk().unwrap();
    let room = rooms::create(api, &state.secrets, &CreateRoom::default()).await.unwrap();
    let role_less = participant(|c| {
        c.as_object_mut().unwrap().remove("roles");
    });
    let sessions = format!("/v2/sessions?roomId={}", room.room_id);
    let hls_active = format!("/v2/hls/{}/active", room.room_id);
    let (status, body) = get(&server, &sessions, &role_less).await;
    assert_eq!((status, body["data"].as_array().map(Vec::len)), (200, Some(0)), "{body}");
    let (status, _) = get(&server, &hls_active, &role_less).await;
    assert_eq!(status, 404);

    let started =
        hls::start(api, &state.secrets, &StartHls { room_id: room.room_id.clone(), config: None, template_url: None })
            .await
            .unwrap();
    let (status, body) = get(&server, &hls_active, &role_less).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["playbackHlsUrl"].as_str(), started.playback_hls_url.as_deref());
    let (status, body) = get(&server, &format!("/v2/sessions/?roomId={}", room.room_id), &role_less).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["status"], "ongoing");
    assert_eq!(body["data"][0]["id"].as_str(), started.session_id.as_deref());

    hls::end(api, &state.secrets, &RoomId::parse(&room.room_id).unwrap()).await.unwrap();
    assert_eq!(get(&server, &hls_active, &role_less).await.0, 404);
    // Paths that only look like it: answered, never a panic (the server keeps serving).
    for odd in ["/v2/hls/active", "/v2/hls//active", "/v2/hls/%FF/active"] {
        assert_eq!(get(&server, odd, &role_less).await.0, 404, "{odd}");
    }
    assert_eq!(get(&server, &sessions, &role_less).await.0, 200);
}

/// A local webhook receiver: every delivery's body and signature header, in order.
/// A participant joins `room_id` at the stand-in (`POST /_standin/join`): its session starts.
async fn join(server: &videosdk_standin::Server, room_id: &str) {
    let joined = reqwest::Client::new()
        .post(format!("{}/_standin/join", server.uri()))
        .json(&serde_json::json!({"roomId": room_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), 200);
}

fn receiver() -> (String, std::sync::mpsc::Receiver<(String, String)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/videosdk-webhook", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut length, mut signature) = (0, String::new());
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    match name.to_ascii_lowercase().as_str() {
                        "content-length" => length = value.trim().parse().unwrap(),
                        "videosdk-signature" => signature = value.trim().to_owned(),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut writer = stream;
            writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}").unwrap();
            tx.send((String::from_utf8(body).unwrap(), signature)).unwrap();
        }
    });
    (url, rx)
}

#[tokio::test]
async fn recordings_and_sessions_send_signed_webhooks_to_the_room_s_endpoint() {
    use shared::videosdk::recordings::{self, StartRecording};
    use shared::videosdk::rooms::Webhook;
    use shared::videosdk::sessions::{self, Paging};
    let (server, state) = setup(SECRET).await;
    let api = state.videosdk().unwrap();
    let (url, deliveries) = receiver();
    let body = CreateRoom {
        webhook: Some(Webhook {
            end_point: url.clone(),
            events: Some(
                ["session-started", "session-ended", "recording-started", "recording-stopped"]
                    .map(String::from)
                    .to_vec(),
            ),
        }),
        ..CreateRoom::default()
    };
    let room = rooms::create(api, &state.secrets, &body).await.unwrap();
    let id = RoomId::parse(&room.room_id).unwrap();
    let start = StartRecording {
        room_id: room.room_id.clone(),
        config: None,
        transcription: None,
        webhook_url: Some(url.clone()),
        aws_dir_path: Some(format!("rec/{}/", room.room_id)),
    };
    // No session yet: VideoSDK's refusal.
    let refused = recordings::start(api, &state.secrets, &start).await.unwrap_err();
    assert!(matches!(refused, ApiError::UpstreamRejected(ref m) if m.contains("No active session")), "{refused:?}");

    join(&server, &room.room_id).await;
    recordings::start(api, &state.secrets, &start).await.unwrap();
    assert!(matches!(recordings::start(api, &state.secrets, &start).await, Err(ApiError::Conflict(_))));
    recordings::end(api, &state.secrets, &id).await.unwrap();
    let listed = recordings::list(api, &state.secrets, &id, None, Paging::default()).await.unwrap();
    let page = recordings::page(&listed, Paging::default());
    assert_eq!(page["total"], 1, "{page}");
    assert!(page["recordings"][0]["fileUrl"].as_str().unwrap().contains(&format!("rec/{}/", room.room_id)));
    sessions::end(api, &state.secrets, &id).await.unwrap();
    assert!(matches!(sessions::end(api, &state.secrets, &id).await, Err(ApiError::UpstreamRejected(_))));

    let key = shared::signature::PublicKey::from_pem(videosdk_standin::DEV_PUBLIC_KEY).unwrap();
    let mut types = Vec::new();
    for _ in 0..4 {
        let (body, signature) = deliveries.recv_timeout(std::time::Duration::from_secs(10)).expect("a webhook");
        key.verify(body.as_bytes(), Some(&signature)).expect("signed with the development key");
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["data"]["meetingId"], room.room_id.as_str());
        types.push(value["webhookType"].as_str().unwrap().to_owned());
    }
    types.sort();
    assert_eq!(types, ["recording-started", "recording-stopped", "session-ended", "session-started"]);
    assert!(deliveries.recv_timeout(std::time::Duration::from_millis(300)).is_err(), "each event once");
    let sent: Value = reqwest::get(format!("{}/_standin/webhooks", server.uri())).await.unwrap().json().await.unwrap();
    assert_eq!(sent.as_array().unwrap().len(), 4);
    // The public key the functions fetch.
    let token = shared::claims::TokenBuilder::management()
        .ttl(std::time::Duration::from_secs(60))
        .sign(&shared::secret::Credentials::new(API_KEY.into(), SECRET.into()), std::time::SystemTime::now())
        .unwrap();
    let (status, body) = get(&server, "/v2/public/rsa-public-key", token.expose()).await;
    assert_eq!(status, 200);
    assert_eq!(body["publicKey"], videosdk_standin::DEV_PUBLIC_KEY);
}

#[tokio::test]
async fn agents_are_listed_dispatched_and_report_their_sessions_by_webhook() {
    use shared::videosdk::agents::{self, Dispatch, RoomOptions};
    use shared::videosdk::rooms::Webhook;
    use shared::videosdk::sessions;
    use shared::videosdk::transcriptions::{self, StartTranscription};
    let (server, state) = setup(SECRET).await;
    let api = state.videosdk().unwrap();
    let (url, deliveries) = receiver();
    let events = ["agent-session-started", "agent-session-stopped"].map(String::from).to_vec();
    let body =
        CreateRoom { webhook: Some(Webhook { end_point: url.clone(), events: Some(events) }), ..CreateRoom::default() };
    let room = rooms::create(api, &state.secrets, &body).await.unwrap();
    let id = RoomId::parse(&room.room_id).unwrap();

    // Versions, newest first, with the deployment details the product must drop.
    let listed = agents::versions(api, &state.secrets, videosdk_standin::DEV_AGENT).await.unwrap();
    assert_eq!(listed["versions"][0]["versionId"], videosdk_standin::DEV_AGENT_VERSIONS[0]);
    assert!(listed["versions"][0]["config"].is_object());
    let read = agents::versions_of(&listed);
    assert_eq!(read["versions"].as_array().unwrap().len(), 2);
    assert!(!read.to_string().contains("fake-standin-model-key"));
    assert!(matches!(agents::versions(api, &state.secrets, "other").await, Err(ApiError::NotFound(_))));

    // No session yet: transcription is refused.
    let start = StartTranscription {
        room_id: room.room_id.clone(),
        language: Some("en-US".into()),
        summary: None,
        webhook_url: Some(url.clone()),
    };
    assert!(matches!(transcriptions::start(api, &state.secrets, &start).await, Err(ApiError::UpstreamRejected(_))));

    let dispatch = |agent: &str, version: Option<&str>| Dispatch {
        agent_id: agent.into(),
        meeting_id: room.room_id.clone(),
        room_id: room.room_id.clone(),
        version_id: version.map(str::to_owned),
        version_tag: None,
        metadata: None,
        room_options: RoomOptions { session_timeout_seconds: 1800 },
    };
    assert!(matches!(
        agents::dispatch(api, &state.secrets, &dispatch("other", None)).await,
        Err(ApiError::NotFound(_))
    ));
    let job = agents::dispatch(api, &state.secrets, &dispatch(videosdk_standin::DEV_AGENT, Some("dev-agent-v1")))
        .await
        .unwrap();
    assert!(job.as_deref().is_some_and(|j| j.starts_with("job-")), "{job:?}");

    // The agent joined: a session runs, transcription starts and ends once.
    let id_of = transcriptions::start(api, &state.secrets, &start).await.unwrap();
    assert!(id_of.is_some());
    assert!(matches!(transcriptions::start(api, &state.secrets, &start).await, Err(ApiError::Conflict(_))));
    transcriptions::end(api, &state.secrets, &id).await.unwrap();
    assert!(matches!(transcriptions::end(api, &state.secrets, &id).await, Err(ApiError::UpstreamRejected(_))));
    sessions::end(api, &state.secrets, &id).await.unwrap();

    let key = shared::signature::PublicKey::from_pem(videosdk_standin::DEV_PUBLIC_KEY).unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (body, signature) = deliveries.recv_timeout(std::time::Duration::from_secs(10)).expect("a webhook");
        key.verify(body.as_bytes(), Some(&signature)).expect("signed with the development key");
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["data"]["meetingId"], room.room_id.as_str());
        if value["webhookType"].as_str().unwrap().starts_with("agent-session") {
            assert_eq!(value["data"]["agentId"], videosdk_standin::DEV_AGENT);
            assert_eq!(value["data"]["jobId"].as_str(), job.as_deref());
        }
        seen.push(value["webhookType"].as_str().unwrap().to_owned());
    }
    seen.sort();
    assert_eq!(
        seen,
        ["agent-session-started", "agent-session-stopped", "transcription-started", "transcription-stopped"]
    );
    // What the product sent is on record, for tests to assert on.
    let received: Value =
        reqwest::get(format!("{}/_standin/requests", server.uri())).await.unwrap().json().await.unwrap();
    let sent = received.as_array().unwrap().iter().rev().find(|r| r["path"] == "/v2/agent/dispatch").unwrap();
    assert_eq!(sent["body"]["versionId"], "dev-agent-v1");
    assert_eq!(sent["body"]["roomOptions"]["sessionTimeoutSeconds"], 1800);
}

/// A room's webhook URL is the room creator's text: CRLF in it must not smuggle headers or
/// requests, and nothing goes to a host other than this machine.
#[tokio::test]
async fn webhooks_go_only_to_loopback_urls_without_control_characters() {
    use shared::videosdk::rooms::Webhook;
    let (server, state) = setup(SECRET).await;
    let api = state.videosdk().unwrap();
    let (url, deliveries) = receiver();
    let hostile = [
        format!("{url}\r\nX-Injected: 1"),
        format!("{url} HTTP/1.1\r\nHost: a\r\n\r\nPOST /videosdk-webhook"),
        "http://evil.example/videosdk-webhook".to_owned(),
        "http://10.0.0.1/videosdk-webhook".to_owned(),
    ];
    for end_point in &hostile {
        let body = CreateRoom {
            webhook: Some(Webhook { end_point: end_point.clone(), events: None }),
            ..CreateRoom::default()
        };
        let room = rooms::create(api, &state.secrets, &body).await.unwrap();
        join(&server, &room.room_id).await;
    }
    assert!(deliveries.recv_timeout(std::time::Duration::from_secs(2)).is_err(), "nothing reached the local receiver");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let sent = loop {
        let sent: Value =
            reqwest::get(format!("{}/_standin/webhooks", server.uri())).await.unwrap().json().await.unwrap();
        if sent.as_array().unwrap().len() == hostile.len() || std::time::Instant::now() > deadline {
            break sent;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let outcomes: Vec<&str> = sent.as_array().unwrap().iter().map(|w| w["status"].as_str().unwrap()).collect();
    assert_eq!(outcomes.len(), hostile.len(), "{sent}");
    assert!(outcomes.iter().all(|o| o.starts_with("refused: ")), "{outcomes:?}");
}

/// DNS rebinding: a page whose name now resolves to 127.0.0.1 sends its own name as `Host`.
#[tokio::test]
async fn requests_to_other_host_names_are_refused() {
    use std::io::{Read, Write};
    let (server, _state) = setup(SECRET).await;
    let port = server.uri().rsplit(':').next().unwrap().to_owned();
    let send = |host: &str| {
        let mut stream = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        let request = format!("GET /_standin/requests HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer.split_whitespace().nth(1).unwrap().to_owned()
    };
    assert_eq!(send(&format!("attacker.example:{port}")), "403");
    assert_eq!(send("localhost.attacker.example"), "403");
    assert_eq!(send(&format!("127.0.0.1:{port}")), "200");
    assert_eq!(send(&format!("localhost:{port}")), "200");
}

#[tokio::test]
async fn a_rotated_key_signs_later_webhooks_and_is_the_one_served() {
    use shared::signature::PublicKey;
    use shared::videosdk::rooms::Webhook;
    let (server, state) = setup(SECRET).await;
    let api = state.videosdk().unwrap();
    let (url, deliveries) = receiver();
    let token = shared::claims::TokenBuilder::management()
        .ttl(std::time::Duration::from_secs(60))
        .sign(&shared::secret::Credentials::new(API_KEY.into(), SECRET.into()), std::time::SystemTime::now())
        .unwrap();
    let client = reqwest::Client::new();
    let mut keys = Vec::new();
    for rotate in [false, true] {
        if rotate {
            let rotated: Value = client
                .post(format!("{}/_standin/rotate-key", server.uri()))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let (_, served) = get(&server, "/v2/public/rsa-public-key", token.expose()).await;
            assert_eq!(served["publicKey"], rotated["publicKey"], "the key route serves the new key");
        }
        let (status, served) = get(&server, "/v2/public/rsa-public-key", token.expose()).await;
        assert_eq!(status, 200);
        keys.push(PublicKey::from_pem(served["publicKey"].as_str().unwrap()).unwrap());
        let body =
            CreateRoom { webhook: Some(Webhook { end_point: url.clone(), events: None }), ..CreateRoom::default() };
        let room = rooms::create(api, &state.secrets, &body).await.unwrap();
        join(&server, &room.room_id).await;
        let (body, signature) = deliveries.recv_timeout(std::time::Duration::from_secs(10)).expect("a webhook");
        let [.., current] = keys.as_slice() else { unreachable!() };
        current.verify(body.as_bytes(), Some(&signature)).expect("signed with the key served now");
        if let [before, _] = keys.as_slice() {
            assert!(before.verify(body.as_bytes(), Some(&signature)).is_err(), "not with the old key");
        }
    }
}
