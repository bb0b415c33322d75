//! `end-transcription` against a fake VideoSDK: moderators only, `{"roomId"}` upstream.

use serde_json::json;
use testkit::{
    Event, FakeVideoSdk, Refusal, assert_all_refused, body_json, check_upstream_failures, event_file, request_json,
};
use wiremock::ResponseTemplate;

const ANONYMOUS: &[(&str, &str)] = &[("CALLER_AUTH", "none"), ("ANONYMOUS_ROOM_CONTROL", "allow")];
const PATH: &str = "/ai/v1/realtime-transcriptions/end";

#[tokio::test]
async fn stops_the_room_s_transcription() {
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", PATH, ResponseTemplate::new(200).set_body_json(json!("Transcription stopped"))).await;
    let state = fake.state(&[]).await;
    let response = end_transcription::handler(state, event_file("end-transcription.json")).await;
    let body = body_json(&response);
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!(body, json!({"roomId": "abcd-efgh-ijkl", "status": "stopping"}));
    assert_eq!(request_json(&fake.only_request().await), json!({"roomId": "abcd-efgh-ijkl"}));
}

#[tokio::test]
async fn refusals_reach_nothing_upstream() {
    let post = |body| Event::post("/end-transcription").json(body);
    let cases: Vec<Refusal> = vec![
        (
            "extra field",
            ANONYMOUS,
            post(json!({"roomId": "abcd-efgh-ijkl", "webhookUrl": "https://x"})),
            400,
            "unknown_field",
        ),
        ("missing roomId", ANONYMOUS, post(json!({})), 400, "invalid_field"),
        ("GET", ANONYMOUS, Event::get("/end-transcription"), 405, "method_not_allowed"),
        ("anonymous without the opt-in", &[("CALLER_AUTH", "none")], post(json!({"roomId": "r"})), 403, "forbidden"),
        ("signed-in non-moderator", &[], post(json!({"roomId": "r"})).user("u", Some("[staff]")), 403, "forbidden"),
        ("no identity under jwt", &[], post(json!({"roomId": "r"})), 401, "unauthenticated"),
    ];
    assert_all_refused(end_transcription::handler, cases).await;
}

#[tokio::test]
async fn no_running_transcription_is_422() {
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", PATH, ResponseTemplate::new(400).set_body_json(json!({"error": "Transcription is not running"})))
        .await;
    let state = fake.state(ANONYMOUS).await;
    let response =
        end_transcription::handler(state, Event::post("/end-transcription").json(json!({"roomId": "r-1"})).request())
            .await;
    assert_eq!(response.status(), 422, "{}", body_json(&response));
}

#[tokio::test]
async fn every_upstream_failure_maps_to_the_contract() {
    check_upstream_failures(
        end_transcription::handler,
        || Event::post("/end-transcription").json(json!({"roomId": "abcd-efgh-ijkl"})).request(),
        "POST",
        PATH,
        |_| {},
    )
    .await;
}
