//! `start-transcription` against a fake VideoSDK: the exact upstream body, with the operator's
//! webhook and never the caller's, moderators only.

use serde_json::{Value, json};
use testkit::{
    Event, FakeVideoSdk, Refusal, assert_all_refused, assert_logged, body_json, capture_logs, check_upstream_failures,
    event_file, request_json,
};
use wiremock::ResponseTemplate;

/// Anonymous callers allowed to control rooms (as `make dev` sets it).
const ANONYMOUS: &[(&str, &str)] = &[("CALLER_AUTH", "none"), ("ANONYMOUS_ROOM_CONTROL", "allow")];
const PATH: &str = "/ai/v1/realtime-transcriptions/start";

fn post(body: Value) -> Event {
    Event::post("/start-transcription").json(body)
}

fn moderator(event: Event) -> Event {
    event.user("mod-1", Some("[videosdk-moderators]"))
}

fn started() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"id": "tr-1", "status": "starting", "roomId": "abcd-efgh-ijkl"}))
}

/// A case: name, configuration, the event, and the body VideoSDK must receive.
type Forwarded<'a> = (&'a str, Vec<(&'a str, &'a str)>, Event, Value);

#[tokio::test]
async fn starts_with_the_caller_s_language_and_prompt_and_the_operator_s_webhook() {
    let cases: Vec<Forwarded> = vec![
        (
            "operator webhook, language and summary",
            vec![("WEBHOOK_URL", "https://hooks.operator.example.com/videosdk-webhook")],
            moderator(post(json!({"roomId": "abcd-efgh-ijkl", "language": "en-US",
                                  "summary": {"enabled": true, "prompt": "Action items"}}))),
            json!({"roomId": "abcd-efgh-ijkl", "language": "en-US", "summary": {"enabled": true, "prompt": "Action items"},
                   "webhookUrl": "https://hooks.operator.example.com/videosdk-webhook"}),
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
        fake.on("POST", PATH, started()).await;
        let state = fake.state(&vars).await;
        let response = start_transcription::handler(state, event.request()).await;
        let body = body_json(&response);
        assert_eq!(response.status(), 200, "{name}: {body}");
        assert_eq!(
            body,
            json!({"roomId": "abcd-efgh-ijkl", "status": "starting", "transcriptionId": "tr-1"}),
            "{name}"
        );
        assert_eq!(request_json(&fake.only_request().await), forwarded, "{name}");
    }
    // An answer without an id: transcriptionId null, never a 5xx.
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", PATH, ResponseTemplate::new(200).set_body_json(json!("Transcription started"))).await;
    let state = fake.state(ANONYMOUS).await;
    let response = start_transcription::handler(state, post(json!({"roomId": "abcd-efgh-ijkl"})).request()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response)["transcriptionId"], Value::Null);
}

#[tokio::test]
async fn refusals_reach_nothing_upstream() {
    let room = || json!({"roomId": "abcd-efgh-ijkl"});
    let with = |extra: Value| {
        let mut body = room();
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        post(body)
    };
    let long_prompt = "p".repeat(2001);
    let cases: Vec<Refusal> = vec![
        (
            "caller webhookUrl",
            ANONYMOUS,
            with(json!({"webhookUrl": "https://attacker.example.com/h"})),
            400,
            "unknown_field",
        ),
        ("caller modelId", ANONYMOUS, with(json!({"modelId": "expensive-model"})), 400, "unknown_field"),
        ("language not BCP-47", ANONYMOUS, with(json!({"language": "english please"})), 400, "invalid_field"),
        (
            "language too long",
            ANONYMOUS,
            with(json!({"language": format!("en-{}", "a1234567-".repeat(4))})),
            400,
            "invalid_field",
        ),
        ("language a number", ANONYMOUS, with(json!({"language": 1})), 400, "invalid_field"),
        (
            "prompt over 2000 characters",
            ANONYMOUS,
            with(json!({"summary": {"prompt": long_prompt}})),
            400,
            "invalid_field",
        ),
        ("summary not an object", ANONYMOUS, with(json!({"summary": "yes"})), 400, "invalid_field"),
        ("summary.enabled text", ANONYMOUS, with(json!({"summary": {"enabled": "yes"}})), 400, "invalid_field"),
        ("summary unknown key", ANONYMOUS, with(json!({"summary": {"model": "x"}})), 400, "unknown_field"),
        ("missing roomId", ANONYMOUS, post(json!({})), 400, "invalid_field"),
        ("GET", ANONYMOUS, Event::get("/start-transcription"), 405, "method_not_allowed"),
        ("anonymous without the opt-in", &[("CALLER_AUTH", "none")], post(room()), 403, "forbidden"),
        ("signed-in non-moderator", &[], post(room()).user("user-1", Some("[staff]")), 403, "forbidden"),
        ("no identity under jwt", &[], post(room()), 401, "unauthenticated"),
    ];
    assert_all_refused(start_transcription::handler, cases).await;
}

#[tokio::test]
async fn a_room_without_a_live_session_is_422() {
    let fake = FakeVideoSdk::start().await;
    fake.on(
        "POST",
        PATH,
        ResponseTemplate::new(400).set_body_json(json!({"message": "No active session found for this room"})),
    )
    .await;
    let state = fake.state(ANONYMOUS).await;
    let response = start_transcription::handler(state, post(json!({"roomId": "abcd-efgh-ijkl"})).request()).await;
    let body = body_json(&response);
    assert_eq!(
        (response.status().as_u16(), body["error"]["code"].as_str()),
        (422, Some("upstream_rejected")),
        "{body}"
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("No active session"));
}

#[tokio::test]
async fn every_upstream_failure_maps_to_the_contract() {
    check_upstream_failures(
        start_transcription::handler,
        || moderator(post(json!({"roomId": "abcd-efgh-ijkl"}))).request(),
        "POST",
        PATH,
        |_| {},
    )
    .await;
}

#[tokio::test]
async fn the_stored_events_answer_as_the_contract_says() {
    for (file, status, code) in [
        ("start-transcription.json", 200, None),
        ("start-transcription-caller-webhook.json", 400, Some("unknown_field")),
        ("start-transcription-not-moderator.json", 403, Some("forbidden")),
    ] {
        let fake = FakeVideoSdk::start().await;
        fake.on("POST", PATH, started()).await;
        let state = fake.state(&[]).await;
        let response = start_transcription::handler(state, event_file(file)).await;
        let body = body_json(&response);
        assert_eq!(response.status(), status, "{file}: {body}");
        match code {
            Some(code) => {
                assert_eq!(body["error"]["code"], code, "{file}");
                assert!(fake.requests().await.is_empty(), "{file}");
            }
            None => assert_eq!(request_json(&fake.only_request().await)["language"], "en-US"),
        }
    }
}

#[tokio::test]
async fn the_log_names_who_transcribed_which_room() {
    let (logs, _guard) = capture_logs();
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", PATH, started()).await;
    let state = fake.state(&[]).await;
    let response = start_transcription::handler(state, moderator(post(json!({"roomId": "room-5"}))).request()).await;
    assert_eq!(response.status(), 200);
    assert_logged(&logs, "started a transcription", &["caller=\"mod-1\"", "room_id=\"room-5\""]);
}
