//! `list-recordings` against a fake VideoSDK: the query sent, both field placements read, and
//! paging bounds.

use serde_json::json;
use testkit::{Event, FakeVideoSdk, Refusal, assert_all_refused, body_json, check_upstream_failures, event_file};
use wiremock::ResponseTemplate;

const ANONYMOUS: &[(&str, &str)] = &[("CALLER_AUTH", "none"), ("ANONYMOUS_ROOM_CONTROL", "allow")];

fn get(query: &str) -> Event {
    Event::get("/recordings").query(query)
}

#[tokio::test]
async fn lists_recordings_from_either_field_placement() {
    let fake = FakeVideoSdk::start().await;
    fake.on(
        "GET",
        "/v2/recordings",
        ResponseTemplate::new(200).set_body_json(json!({
            "pageInfo": {"currentPage": 1, "perPage": 20, "lastPage": 1, "total": 2},
            "data": [
                {"id": "r1", "roomId": "abcd-efgh-ijkl", "sessionId": "s1", "createdAt": "2026-12-01T10:00:00.000Z",
                 "file": {"fileUrl": "https://cdn.example.com/r1.mp4", "size": 1048576, "meta": {"duration": 125}}},
                {"id": "r2", "roomId": "abcd-efgh-ijkl", "sessionId": "s2", "fileUrl": "https://cdn.example.com/r2.mp4",
                 "size": 2048}
            ]
        })),
    )
    .await;
    let state = fake.state(&[]).await;
    let response = list_recordings::handler(state, event_file("list-recordings.json")).await;
    let body = body_json(&response);
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!(
        body,
        json!({"recordings": [
            {"id": "r1", "roomId": "abcd-efgh-ijkl", "sessionId": "s1", "fileUrl": "https://cdn.example.com/r1.mp4",
             "size": 1048576, "duration": 125, "createdAt": "2026-12-01T10:00:00.000Z"},
            {"id": "r2", "roomId": "abcd-efgh-ijkl", "sessionId": "s2", "fileUrl": "https://cdn.example.com/r2.mp4",
             "size": 2048, "duration": null, "createdAt": null}
        ], "page": 1, "perPage": 20, "total": 2})
    );
    let upstream = fake.only_request().await;
    assert_eq!(upstream.url.query(), Some("roomId=abcd-efgh-ijkl&page=1&perPage=20"));
}

#[tokio::test]
async fn the_session_and_paging_are_passed_on_and_an_odd_answer_is_an_empty_page() {
    let fake = FakeVideoSdk::start().await;
    fake.on("GET", "/v2/recordings", ResponseTemplate::new(200).set_body_json(json!({"data": "none"}))).await;
    let state = fake.state(ANONYMOUS).await;
    let response =
        list_recordings::handler(state, get("roomId=abcd-efgh-ijkl&sessionId=s-1&page=3&perPage=100").request()).await;
    let body = body_json(&response);
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!(body, json!({"recordings": [], "page": 3, "perPage": 100, "total": null}));
    assert_eq!(fake.only_request().await.url.query(), Some("roomId=abcd-efgh-ijkl&sessionId=s-1&page=3&perPage=100"));
}

#[tokio::test]
async fn refusals_reach_nothing_upstream() {
    let cases: Vec<Refusal> = vec![
        ("missing roomId", ANONYMOUS, get(""), 400, "invalid_field"),
        ("perPage over 100", ANONYMOUS, get("roomId=r&perPage=101"), 400, "invalid_field"),
        ("perPage 0", ANONYMOUS, get("roomId=r&perPage=0"), 400, "invalid_field"),
        ("page 0", ANONYMOUS, get("roomId=r&page=0"), 400, "invalid_field"),
        ("page text", ANONYMOUS, get("roomId=r&page=two"), 400, "invalid_field"),
        ("sessionId with a slash", ANONYMOUS, get("roomId=r&sessionId=a%2Fb"), 400, "invalid_field"),
        ("roomId twice", ANONYMOUS, get("roomId=a&roomId=b"), 400, "invalid_field"),
        ("unknown parameter", ANONYMOUS, get("roomId=r&limit=5"), 400, "unknown_field"),
        ("POST", ANONYMOUS, Event::post("/recordings").body("{}"), 405, "method_not_allowed"),
        ("anonymous without the opt-in", &[("CALLER_AUTH", "none")], get("roomId=r"), 403, "forbidden"),
        ("signed-in non-moderator", &[], get("roomId=r").user("user-1", Some("[staff]")), 403, "forbidden"),
        ("no identity under jwt", &[], get("roomId=r"), 401, "unauthenticated"),
    ];
    assert_all_refused(list_recordings::handler, cases).await;
    let fake = FakeVideoSdk::start().await;
    let state = fake.state(&[]).await;
    let response = list_recordings::handler(state, event_file("list-recordings-not-moderator.json")).await;
    assert_eq!(response.status(), 403);
    assert!(fake.requests().await.is_empty());
}

#[tokio::test]
async fn every_upstream_failure_maps_to_the_contract() {
    check_upstream_failures(
        list_recordings::handler,
        || get("roomId=abcd-efgh-ijkl").request(),
        "GET",
        "/v2/recordings",
        |case| {
            // An unknown room: VideoSDK's 400 means "no such room" here, as for validate.
            if case.name == "400 plain text" {
                case.status = 404;
                case.code = "not_found";
            }
        },
    )
    .await;
}
