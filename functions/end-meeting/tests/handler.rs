//! `end-meeting` against a fake VideoSDK: the session ended for everyone, the room deactivated
//! when asked.

use serde_json::{Value, json};
use testkit::{
    Event, FakeVideoSdk, Refusal, assert_all_refused, assert_logged, body_json, capture_logs, check_upstream_failures,
    event_file, request_json,
};
use wiremock::ResponseTemplate;

const ANONYMOUS: &[(&str, &str)] = &[("CALLER_AUTH", "none"), ("ANONYMOUS_ROOM_CONTROL", "allow")];

fn post(body: Value) -> Event {
    Event::post("/end-meeting").json(body)
}

async fn fake() -> FakeVideoSdk {
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/sessions/end", ResponseTemplate::new(200).set_body_json(json!("Session ended"))).await;
    fake.on("POST", "/v2/rooms/deactivate", ResponseTemplate::new(200).set_body_json(json!({"disabled": true}))).await;
    fake
}

#[tokio::test]
async fn ends_the_session_and_deactivates_only_when_asked() {
    for (body, deactivated, calls) in [
        (json!({"roomId": "abcd-efgh-ijkl"}), false, vec!["/v2/sessions/end"]),
        (json!({"roomId": "abcd-efgh-ijkl", "deactivate": false}), false, vec!["/v2/sessions/end"]),
        (
            json!({"roomId": "abcd-efgh-ijkl", "deactivate": true}),
            true,
            vec!["/v2/sessions/end", "/v2/rooms/deactivate"],
        ),
    ] {
        let fake = fake().await;
        let state = fake.state(ANONYMOUS).await;
        let response = end_meeting::handler(state, post(body.clone()).request()).await;
        let answer = body_json(&response);
        assert_eq!(response.status(), 200, "{answer}");
        assert_eq!(answer, json!({"roomId": "abcd-efgh-ijkl", "ended": true, "deactivated": deactivated}));
        let requests = fake.requests().await;
        assert_eq!(requests.iter().map(|r| r.url.path()).collect::<Vec<_>>(), calls, "{body}");
        for request in &requests {
            testkit::assert_crawler_token(request, testkit::SECRET);
            assert_eq!(request_json(request), json!({"roomId": "abcd-efgh-ijkl"}));
        }
    }
}

#[tokio::test]
async fn the_stored_events_end_and_refuse() {
    let fake = fake().await;
    let state = fake.state(&[]).await;
    let response = end_meeting::handler(state, event_file("end-meeting.json")).await;
    assert_eq!(body_json(&response)["deactivated"], true);
    assert_eq!(fake.requests().await.len(), 2);
    let fake = FakeVideoSdk::start().await;
    let state = fake.state(&[]).await;
    let response = end_meeting::handler(state, event_file("end-meeting-not-moderator.json")).await;
    assert_eq!(response.status(), 403);
    assert!(fake.requests().await.is_empty());
}

#[tokio::test]
async fn no_live_session_is_422_and_an_unknown_room_404_with_nothing_deactivated() {
    for (reply, status, code) in [
        (ResponseTemplate::new(400).set_body_string("No active session found"), 422, "upstream_rejected"),
        (ResponseTemplate::new(404).set_body_json(json!({"message": "Room not found"})), 404, "not_found"),
    ] {
        let fake = FakeVideoSdk::start().await;
        fake.on("POST", "/v2/sessions/end", reply).await;
        let state = fake.state(ANONYMOUS).await;
        let response =
            end_meeting::handler(state, post(json!({"roomId": "abcd-efgh-ijkl", "deactivate": true})).request()).await;
        assert_eq!(response.status(), status);
        assert_eq!(body_json(&response)["error"]["code"], code);
        assert_eq!(fake.requests().await.len(), 1, "no deactivate after a failed end");
    }
}

#[tokio::test]
async fn refusals_reach_nothing_upstream() {
    let room = json!({"roomId": "abcd-efgh-ijkl"});
    let cases: Vec<Refusal> = vec![
        ("missing roomId", ANONYMOUS, post(json!({"deactivate": true})), 400, "invalid_field"),
        ("deactivate text", ANONYMOUS, post(json!({"roomId": "r", "deactivate": "yes"})), 400, "invalid_field"),
        ("unknown field", ANONYMOUS, post(json!({"roomId": "r", "sessionId": "s"})), 400, "unknown_field"),
        ("GET", ANONYMOUS, Event::get("/end-meeting"), 405, "method_not_allowed"),
        ("anonymous without the opt-in", &[("CALLER_AUTH", "none")], post(room.clone()), 403, "forbidden"),
        ("signed-in non-moderator", &[], post(room.clone()).user("user-1", Some("[staff]")), 403, "forbidden"),
        ("no identity under jwt", &[], post(room), 401, "unauthenticated"),
    ];
    assert_all_refused(end_meeting::handler, cases).await;
}

#[tokio::test]
async fn every_upstream_failure_maps_to_the_contract() {
    check_upstream_failures(
        end_meeting::handler,
        || post(json!({"roomId": "abcd-efgh-ijkl"})).request(),
        "POST",
        "/v2/sessions/end",
        |_| {},
    )
    .await;
}

#[tokio::test]
async fn the_log_names_who_ended_which_meeting() {
    let (logs, _guard) = capture_logs();
    let fake = fake().await;
    let state = fake.state(&[]).await;
    let event = post(json!({"roomId": "room-5", "deactivate": true})).user("mod-7", Some("[videosdk-moderators]"));
    assert_eq!(end_meeting::handler(state, event.request()).await.status(), 200);
    assert_logged(&logs, "ended a meeting", &["caller=\"mod-7\"", "room_id=\"room-5\"", "deactivated=true"]);
}
