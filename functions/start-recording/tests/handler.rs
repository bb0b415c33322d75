//! `start-recording` against a fake VideoSDK: the exact upstream body, with the operator's
//! storage path and webhook and never the caller's.

use serde_json::{Value, json};
use testkit::{
    Event, FakeVideoSdk, Refusal, assert_all_refused, assert_logged, body_json, capture_logs, check_upstream_failures,
    event_file, request_json,
};
use wiremock::ResponseTemplate;

/// Anonymous callers allowed to control rooms (as `make dev` sets it).
const ANONYMOUS: &[(&str, &str)] = &[("CALLER_AUTH", "none"), ("ANONYMOUS_ROOM_CONTROL", "allow")];

fn post(body: Value) -> Event {
    Event::post("/start-recording").json(body)
}

fn moderator(event: Event) -> Event {
    event.user("mod-1", Some("[videosdk-moderators]"))
}

/// A case: name, configuration, the event, and the body VideoSDK must receive.
type Forwarded<'a> = (&'a str, Vec<(&'a str, &'a str)>, Event, Value);

#[tokio::test]
async fn starts_a_recording_with_the_operator_s_storage_path_and_webhook() {
    let cases: Vec<Forwarded> = vec![
        (
            "operator settings",
            vec![
                ("WEBHOOK_URL", "https://hooks.operator.example.com/videosdk-webhook"),
                ("RECORDING_DIR_PATH", "recordings/{roomId}/"),
            ],
            moderator(post(json!({"roomId": "abcd-efgh-ijkl", "config": {"theme": "DARK", "mode": "audio"},
                                  "transcription": {"enabled": true, "summary": {"enabled": true, "prompt": "Key points"}}}))),
            json!({"roomId": "abcd-efgh-ijkl", "config": {"theme": "DARK", "mode": "audio"},
                   "transcription": {"enabled": true, "summary": {"enabled": true, "prompt": "Key points"}},
                   "webhookUrl": "https://hooks.operator.example.com/videosdk-webhook",
                   "awsDirPath": "recordings/abcd-efgh-ijkl/"}),
        ),
        (
            "{domainName} webhook",
            vec![("WEBHOOK_URL", "https://{domainName}/videosdk-webhook")],
            moderator(post(json!({"roomId": "abcd-efgh-ijkl"}))),
            json!({"roomId": "abcd-efgh-ijkl",
                   "webhookUrl": "https://api-id.execute-api.us-east-1.amazonaws.com/videosdk-webhook"}),
        ),
        (
            "nothing configured",
            vec![],
            moderator(post(json!({"roomId": "abcd-efgh-ijkl"}))),
            json!({"roomId": "abcd-efgh-ijkl"}),
        ),
    ];
    for (name, vars, event, forwarded) in cases {
        let fake = FakeVideoSdk::start().await;
        fake.on("POST", "/v2/recordings/start", ResponseTemplate::new(200).set_body_json(json!("Recording started")))
            .await;
        let state = fake.state(&vars).await;
        let response = start_recording::handler(state, event.request()).await;
        let body = body_json(&response);
        assert_eq!(response.status(), 200, "{name}: {body}");
        assert_eq!(body, json!({"roomId": "abcd-efgh-ijkl", "status": "starting"}), "{name}");
        assert_eq!(request_json(&fake.only_request().await), forwarded, "{name}");
    }
}

#[tokio::test]
async fn the_stored_event_starts_a_recording_and_its_refusals_send_nothing() {
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/recordings/start", ResponseTemplate::new(200).set_body_json(json!({}))).await;
    let state = fake.state(&[("RECORDING_DIR_PATH", "videosdk/{roomId}")]).await;
    let response = start_recording::handler(state, event_file("start-recording.json")).await;
    assert_eq!(response.status(), 200, "{}", body_json(&response));
    let sent = request_json(&fake.only_request().await);
    assert_eq!(sent["awsDirPath"], "videosdk/abcd-efgh-ijkl");
    assert_eq!(sent["transcription"], json!({"enabled": true, "summary": {"enabled": true}}));

    for (file, status, code) in [
        ("start-recording-not-moderator.json", 403, "forbidden"),
        ("start-recording-caller-storage.json", 400, "unknown_field"),
    ] {
        let fake = FakeVideoSdk::start().await;
        let state = fake.state(&[]).await;
        let response = start_recording::handler(state, event_file(file)).await;
        assert_eq!(response.status(), status, "{file}");
        assert_eq!(body_json(&response)["error"]["code"], code, "{file}");
        assert!(fake.requests().await.is_empty(), "{file}");
    }
}

#[tokio::test]
async fn refusals_reach_nothing_upstream() {
    let room = || json!({"roomId": "abcd-efgh-ijkl"});
    let with = |extra: Value| {
        let mut body = room();
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        post(body)
    };
    let cases: Vec<Refusal> = vec![
        (
            "caller webhookUrl",
            ANONYMOUS,
            with(json!({"webhookUrl": "https://attacker.example.com/h"})),
            400,
            "unknown_field",
        ),
        ("caller awsDirPath", ANONYMOUS, with(json!({"awsDirPath": "elsewhere/"})), 400, "unknown_field"),
        ("caller dirPath", ANONYMOUS, with(json!({"dirPath": "elsewhere/"})), 400, "unknown_field"),
        ("missing roomId", ANONYMOUS, post(json!({})), 400, "invalid_field"),
        ("roomId ../x", ANONYMOUS, post(json!({"roomId": "../x"})), 400, "invalid_field"),
        ("config unknown key", ANONYMOUS, with(json!({"config": {"bitrate": 1}})), 400, "unknown_field"),
        ("transcription not an object", ANONYMOUS, with(json!({"transcription": true})), 400, "invalid_field"),
        (
            "transcription.enabled text",
            ANONYMOUS,
            with(json!({"transcription": {"enabled": "yes"}})),
            400,
            "invalid_field",
        ),
        (
            "transcription unknown key",
            ANONYMOUS,
            with(json!({"transcription": {"language": "en"}})),
            400,
            "unknown_field",
        ),
        ("malformed json", ANONYMOUS, Event::post("/start-recording").body("{"), 400, "malformed_json"),
        ("GET", ANONYMOUS, Event::get("/start-recording"), 405, "method_not_allowed"),
        ("anonymous without the opt-in", &[("CALLER_AUTH", "none")], post(room()), 403, "forbidden"),
        ("signed-in non-moderator", &[], post(room()).user("user-1", Some("[staff]")), 403, "forbidden"),
        ("no identity under jwt", &[], post(room()), 401, "unauthenticated"),
    ];
    assert_all_refused(start_recording::handler, cases).await;
}

#[tokio::test]
async fn a_room_without_a_live_session_is_422_and_an_unknown_room_404() {
    for (reply, status, code) in [
        (
            ResponseTemplate::new(400).set_body_json(json!({"message": "No active session found for this room"})),
            422,
            "upstream_rejected",
        ),
        (ResponseTemplate::new(404).set_body_json(json!({"message": "Room not found"})), 404, "not_found"),
    ] {
        let fake = FakeVideoSdk::start().await;
        fake.on("POST", "/v2/recordings/start", reply).await;
        let state = fake.state(ANONYMOUS).await;
        let response = start_recording::handler(state, post(json!({"roomId": "abcd-efgh-ijkl"})).request()).await;
        let body = body_json(&response);
        assert_eq!(response.status(), status, "{body}");
        assert_eq!(body["error"]["code"], code);
    }
}

#[tokio::test]
async fn every_upstream_failure_maps_to_the_contract() {
    check_upstream_failures(
        start_recording::handler,
        || post(json!({"roomId": "abcd-efgh-ijkl"})).user("mod-1", Some("[videosdk-moderators]")).request(),
        "POST",
        "/v2/recordings/start",
        |_| {},
    )
    .await;
}

#[tokio::test]
async fn the_log_names_who_recorded_which_room() {
    let (logs, _guard) = capture_logs();
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/recordings/start", ResponseTemplate::new(200).set_body_json(json!({}))).await;
    let state = fake.state(&[]).await;
    let response = start_recording::handler(state, moderator(post(json!({"roomId": "room-5"}))).request()).await;
    assert_eq!(response.status(), 200);
    assert_logged(&logs, "started a recording", &["caller=\"mod-1\"", "room_id=\"room-5\""]);
}

#[tokio::test]
async fn videosdk_messages_passed_on_never_carry_the_webhook_key() {
    let key = "k3y-0123456789abcdefghijklmnopqrstuvwxyz";
    let url = format!("https://hooks.operator.example.com/videosdk-webhook/{key}");
    for reply in [
        ResponseTemplate::new(422).set_body_json(json!({"message": format!("webhookUrl {url} is not reachable")})),
        ResponseTemplate::new(200).set_body_json(json!({"success": false, "error": format!("bad webhook {url}")})),
        ResponseTemplate::new(400).set_body_string(format!("invalid webhookUrl: {}", url.replace('/', "%2F"))),
    ] {
        let fake = FakeVideoSdk::start().await;
        fake.on("POST", "/v2/recordings/start", reply).await;
        // As the template deploys it: the URL (with the key in its path), not WEBHOOK_KEY.
        let mut vars = ANONYMOUS.to_vec();
        vars.push(("WEBHOOK_URL", url.as_str()));
        let state = fake.state(&vars).await;
        let (logs, guard) = capture_logs();
        let response = start_recording::handler(state, post(json!({"roomId": "abcd-efgh-ijkl"})).request()).await;
        drop(guard);
        let body = body_json(&response);
        assert!(response.status().is_client_error() || response.status() == 502, "{body}");
        assert!(!body.to_string().contains(key), "the key passed on: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("<redacted>"), "{body}");
        assert!(!logs.text().contains(key), "the key logged: {}", logs.text());
        // It did go upstream, where it belongs.
        assert_eq!(request_json(&fake.only_request().await)["webhookUrl"], url.as_str());
    }
}
