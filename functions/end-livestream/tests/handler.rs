//! `end-livestream` against a fake VideoSDK.

use serde_json::{Value, json};
use testkit::{
    Event, FakeVideoSdk, assert_refused_before_upstream, body_json, check_upstream_failures, event_file, request_json,
};
use wiremock::ResponseTemplate;

/// Anonymous callers, with the operator's opt-in for live streams.
const NONE: &[(&str, &str)] = testkit::ANONYMOUS_OPTED_IN;

fn post(body: Value) -> Event {
    Event::post("/end-livestream").json(body)
}

#[tokio::test]
async fn ends_rtmp_and_hls_streams() {
    for (kind, path, body) in [
        ("rtmp", "/v2/livestreams/end", json!({"roomId": "abcd-efgh-ijkl"})),
        ("rtmp", "/v2/livestreams/end", json!({"roomId": "abcd-efgh-ijkl", "type": "rtmp", "token": "client"})),
        ("hls", "/v2/hls/end", json!({"roomId": "abcd-efgh-ijkl", "type": "hls"})),
    ] {
        let fake = FakeVideoSdk::start().await;
        fake.on("POST", path, ResponseTemplate::new(200).set_body_json(json!("Livestream stopped successfully"))).await;
        let state = fake.state(NONE).await;
        let response = end_livestream::handler(state, post(body).request()).await;
        let answer = body_json(&response);
        assert_eq!(response.status(), 200, "{answer}");
        assert_eq!(answer, json!({"roomId": "abcd-efgh-ijkl", "type": kind, "status": "ended"}));
        let upstream = fake.only_request().await;
        assert_eq!(upstream.url.path(), path);
        assert_eq!(request_json(&upstream), json!({"roomId": "abcd-efgh-ijkl"}));
    }
}

#[tokio::test]
async fn only_moderators_end_streams_under_jwt() {
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/livestreams/end", ResponseTemplate::new(200).set_body_json(json!({}))).await;
    fake.on("POST", "/v2/hls/end", ResponseTemplate::new(200).set_body_json(json!({}))).await;
    let state = fake.state(&[]).await;
    for file in ["end-livestream.json", "end-livestream-hls.json"] {
        let response = end_livestream::handler(state, event_file(file)).await;
        assert_eq!(response.status(), 200, "{file}");
    }
    assert_eq!(fake.requests().await.len(), 2);

    let fake = FakeVideoSdk::start().await;
    let state = fake.state(&[]).await;
    let not_moderator = post(json!({"roomId": "r"})).user("user-1", Some("[staff]"));
    let response = end_livestream::handler(state, not_moderator.request()).await;
    assert_eq!(response.status(), 403);
    let response = end_livestream::handler(state, event_file("end-livestream-not-moderator.json")).await;
    assert_eq!(response.status(), 403);
    let response = end_livestream::handler(state, event_file("end-livestream-missing-identity.json")).await;
    assert_eq!(response.status(), 401);
    let response = end_livestream::handler(state, post(json!({"roomId": "r"})).request()).await;
    assert_eq!(response.status(), 401);
    assert!(fake.requests().await.is_empty());
}

#[tokio::test]
async fn anonymous_callers_cannot_end_streams_without_the_operator_s_opt_in_and_host_list() {
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("CALLER_AUTH=none alone", &[("CALLER_AUTH", "none")]),
        ("opt-in without hosts", &[("CALLER_AUTH", "none"), ("ANONYMOUS_LIVESTREAMS", "allow")]),
    ];
    for (name, vars) in cases {
        for kind in ["rtmp", "hls"] {
            let event = Event::post("/end-livestream").json(json!({"roomId": "abcd-efgh-ijkl", "type": kind}));
            assert_refused_before_upstream(end_livestream::handler, vars, name, &event, 403, "forbidden").await;
        }
    }
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_reaches_videosdk() {
    let cases: Vec<(&str, Event, u16, &str)> = vec![
        ("malformed json", Event::post("/end-livestream").body("nope"), 400, "malformed_json"),
        ("missing roomId", post(json!({})), 400, "invalid_field"),
        ("roomId ../x", post(json!({"roomId": "../x"})), 400, "invalid_field"),
        ("roomId a b", post(json!({"roomId": "a b"})), 400, "invalid_field"),
        ("roomId 129 chars", post(json!({"roomId": "a".repeat(129)})), 400, "invalid_field"),
        ("roomId a list", post(json!({"roomId": ["a"]})), 400, "invalid_field"),
        ("type dash", post(json!({"roomId": "r", "type": "dash"})), 400, "invalid_field"),
        ("unknown field", post(json!({"roomId": "r", "outputs": []})), 400, "unknown_field"),
        ("GET", Event::get("/end-livestream"), 405, "method_not_allowed"),
    ];
    for (name, event, status, code) in cases {
        assert_refused_before_upstream(end_livestream::handler, NONE, name, &event, status, code).await;
    }
}

#[tokio::test]
async fn every_upstream_failure_maps_to_the_contract_for_rtmp() {
    check_upstream_failures(
        end_livestream::handler,
        || post(json!({"roomId": "abcd-efgh-ijkl"})).request(),
        "POST",
        "/v2/livestreams/end",
        |_| {},
    )
    .await;
}

#[tokio::test]
async fn every_upstream_failure_maps_to_the_contract_for_hls() {
    check_upstream_failures(
        end_livestream::handler,
        || post(json!({"roomId": "abcd-efgh-ijkl", "type": "hls"})).request(),
        "POST",
        "/v2/hls/end",
        |_| {},
    )
    .await;
}

#[tokio::test]
async fn the_log_names_who_ended_which_stream() {
    let (logs, _guard) = testkit::capture_logs();
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/livestreams/end", ResponseTemplate::new(200).set_body_json(json!({}))).await;
    let state = fake.state(&[]).await;
    let event = post(json!({"roomId": "room-5"})).user("mod-7", Some("[videosdk-moderators]"));
    let response = end_livestream::handler(state, event.request()).await;
    assert_eq!(response.status(), 200);
    testkit::assert_logged(&logs, "ended a live stream", &["caller=\"mod-7\"", "room_id=\"room-5\""]);
}

#[tokio::test]
async fn the_rtmp_opt_in_does_not_let_anonymous_callers_end_streams() {
    // Ending is any room's stream, wherever it goes: the host list bounds nothing here.
    let rtmp_only: &[(&str, &str)] = &[
        ("CALLER_AUTH", "none"),
        ("ANONYMOUS_LIVESTREAMS", "allow"),
        ("LIVESTREAM_ALLOWED_HOSTS", "a.rtmp.youtube.com"),
    ];
    for body in [json!({"roomId": "abcd-efgh-ijkl"}), json!({"roomId": "abcd-efgh-ijkl", "type": "hls"})] {
        let event = post(body);
        let refused =
            assert_refused_before_upstream(end_livestream::handler, rtmp_only, "end", &event, 403, "forbidden").await;
        assert!(refused["error"]["message"].as_str().unwrap().contains("ANONYMOUS_END_LIVESTREAMS"), "{refused}");
    }
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/livestreams/end", ResponseTemplate::new(200).set_body_json(json!({}))).await;
    let opted_in = [("CALLER_AUTH", "none"), ("ANONYMOUS_END_LIVESTREAMS", "allow")];
    let response =
        end_livestream::handler(fake.state(&opted_in).await, post(json!({"roomId": "abcd-efgh-ijkl"})).request()).await;
    assert_eq!(response.status(), 200, "{}", body_json(&response));
}
