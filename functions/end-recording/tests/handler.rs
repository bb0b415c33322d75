//! `end-recording` against a fake VideoSDK.

use serde_json::{Value, json};
use testkit::{
    Event, FakeVideoSdk, Refusal, assert_all_refused, body_json, check_upstream_failures, event_file, request_json,
};
use wiremock::ResponseTemplate;

const ANONYMOUS: &[(&str, &str)] = &[("CALLER_AUTH", "none"), ("ANONYMOUS_ROOM_CONTROL", "allow")];

fn post(body: Value) -> Event {
    Event::post("/end-recording").json(body)
}

#[tokio::test]
async fn stops_the_room_s_recording() {
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/recordings/end", ResponseTemplate::new(200).set_body_json(json!("Recording stopped"))).await;
    let state = fake.state(&[]).await;
    let response = end_recording::handler(state, event_file("end-recording.json")).await;
    let body = body_json(&response);
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!(body, json!({"roomId": "abcd-efgh-ijkl", "status": "stopping"}));
    assert_eq!(request_json(&fake.only_request().await), json!({"roomId": "abcd-efgh-ijkl"}));
}

#[tokio::test]
async fn refusals_reach_nothing_upstream() {
    let room = json!({"roomId": "abcd-efgh-ijkl"});
    let cases: Vec<Refusal> = vec![
        ("missing roomId", ANONYMOUS, post(json!({})), 400, "invalid_field"),
        ("unknown field", ANONYMOUS, post(json!({"roomId": "r", "awsDirPath": "x"})), 400, "unknown_field"),
        ("GET", ANONYMOUS, Event::get("/end-recording"), 405, "method_not_allowed"),
        ("anonymous without the opt-in", &[("CALLER_AUTH", "none")], post(room.clone()), 403, "forbidden"),
        ("signed-in non-moderator", &[], post(room.clone()).user("user-1", Some("[staff]")), 403, "forbidden"),
        ("no identity under jwt", &[], post(room), 401, "unauthenticated"),
    ];
    assert_all_refused(end_recording::handler, cases).await;
    let fake = FakeVideoSdk::start().await;
    let state = fake.state(&[]).await;
    let response = end_recording::handler(state, event_file("end-recording-not-moderator.json")).await;
    assert_eq!(response.status(), 403);
    assert!(fake.requests().await.is_empty());
}

#[tokio::test]
async fn every_upstream_failure_maps_to_the_contract() {
    check_upstream_failures(
        end_recording::handler,
        || post(json!({"roomId": "abcd-efgh-ijkl"})).request(),
        "POST",
        "/v2/recordings/end",
        |_| {},
    )
    .await;
}
