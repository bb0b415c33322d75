//! `create-livestream` against a fake VideoSDK: RTMP and HLS starts, moderator rule, output
//! validation, and stream keys kept out of answers and logs.

use serde_json::{Value, json};
use testkit::{
    Event, FakeVideoSdk, assert_refused_before_upstream, body_json, capture_logs, check_upstream_failures, event_file,
    request_json,
};
use wiremock::ResponseTemplate;

const KEY: &str = "live-key-4f9a-SECRET";
/// Environment variables for one case.
type Vars<'a> = &'a [(&'a str, &'a str)];

/// Anonymous callers, with the operator's opt-in for live streams.
const NONE: Vars<'static> = testkit::ANONYMOUS_OPTED_IN;

fn post(body: Value) -> Event {
    Event::post("/create-livestream").json(body)
}

fn rtmp_body() -> Value {
    json!({"roomId": "abcd-efgh-ijkl", "outputs": [{"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": KEY}]})
}

fn output(url: &str) -> Value {
    json!({"roomId": "abcd-efgh-ijkl", "outputs": [{"url": url, "streamKey": KEY}]})
}

#[tokio::test]
async fn starts_an_rtmp_stream_with_exactly_the_documented_body() {
    let (logs, _guard) = capture_logs();
    let fake = FakeVideoSdk::start().await;
    fake.on(
        "POST",
        "/v2/livestreams/start",
        ResponseTemplate::new(200).set_body_json(json!("Livestream started successfully")),
    )
    .await;
    let state = fake.state(NONE).await;
    let body = json!({
        "roomId": "abcd-efgh-ijkl",
        "type": "rtmp",
        "restream": [
            {"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": KEY},
            {"url": "rtmps://live-api-s.facebook.com:443/rtmp/", "streamKey": "second-key"}
        ],
        "config": {"layout": {"type": "GRID", "priority": "SPEAKER", "gridSize": 4}, "theme": "DARK"},
        "templateUrl": "https://templates.example.com/grid",
        "token": "client-token"
    });
    let response = create_livestream::handler(state, post(body).request()).await;
    let answer = body_json(&response);
    assert_eq!(response.status(), 200, "{answer}");
    assert_eq!(answer, json!({"roomId": "abcd-efgh-ijkl", "type": "rtmp", "status": "started"}));
    let upstream = fake.only_request().await;
    assert_eq!(upstream.url.path(), "/v2/livestreams/start");
    assert_eq!(
        request_json(&upstream),
        json!({
            "roomId": "abcd-efgh-ijkl",
            "outputs": [
                {"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": KEY},
                {"url": "rtmps://live-api-s.facebook.com:443/rtmp/", "streamKey": "second-key"}
            ],
            "config": {"layout": {"type": "GRID", "priority": "SPEAKER", "gridSize": 4}, "theme": "DARK"},
            "templateUrl": "https://templates.example.com/grid"
        })
    );
    assert!(!logs.text().contains(KEY), "stream key logged: {}", logs.text());
}

#[tokio::test]
async fn starts_hls_and_answers_the_playback_urls() {
    let fake = FakeVideoSdk::start().await;
    fake.on(
        "POST",
        "/v2/hls/start",
        ResponseTemplate::new(200).set_body_json(json!({
            "sessionId": "sess-1", "roomId": "abcd-efgh-ijkl", "id": "hls-1",
            "playbackHlsUrl": "https://cdn.videosdk.live/playback.m3u8",
            "livestreamUrl": "https://cdn.videosdk.live/live.m3u8",
            "downstreamUrl": "https://cdn.videosdk.live/old.m3u8"
        })),
    )
    .await;
    let state = fake.state(NONE).await;
    let response = create_livestream::handler(
        state,
        post(json!({"roomId": "abcd-efgh-ijkl", "type": "hls", "config": {"mode": "video-and-audio", "orientation": "portrait"}})).request(),
    )
    .await;
    let answer = body_json(&response);
    assert_eq!(response.status(), 200, "{answer}");
    assert_eq!(
        answer,
        json!({"roomId": "abcd-efgh-ijkl", "type": "hls", "status": "started", "sessionId": "sess-1",
               "playbackHlsUrl": "https://cdn.videosdk.live/playback.m3u8",
               "livestreamUrl": "https://cdn.videosdk.live/live.m3u8"})
    );
    let upstream = fake.only_request().await;
    assert_eq!(upstream.url.path(), "/v2/hls/start");
    assert_eq!(
        request_json(&upstream),
        json!({"roomId": "abcd-efgh-ijkl", "config": {"mode": "video-and-audio", "orientation": "portrait"}})
    );
}

#[tokio::test]
async fn only_moderators_start_streams_under_jwt() {
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/livestreams/start", ResponseTemplate::new(200).set_body_json(json!({"message": "ok"}))).await;
    fake.on("POST", "/v2/hls/start", ResponseTemplate::new(200).set_body_json(json!({"sessionId": "s"}))).await;
    let state = fake.state(&[]).await;
    for file in ["create-livestream-rtmp.json", "create-livestream-hls.json"] {
        let response = create_livestream::handler(state, event_file(file)).await;
        assert_eq!(response.status(), 200, "{file}: {}", body_json(&response));
    }
    assert_eq!(fake.requests().await.len(), 2);

    let fake = FakeVideoSdk::start().await;
    let state = fake.state(&[]).await;
    let response = create_livestream::handler(state, event_file("create-livestream-not-moderator.json")).await;
    assert_eq!(response.status(), 403);
    assert_eq!(body_json(&response)["error"]["code"], "forbidden");
    let response = create_livestream::handler(state, event_file("create-livestream-missing-identity.json")).await;
    assert_eq!(response.status(), 401);
    let response = create_livestream::handler(state, post(rtmp_body()).request()).await;
    assert_eq!(response.status(), 401);
    assert!(fake.requests().await.is_empty());
}

#[tokio::test]
async fn anonymous_callers_cannot_stream_without_the_operator_s_opt_in_and_host_list() {
    let hls = post(json!({"roomId": "abcd-efgh-ijkl", "type": "hls"}));
    let cases: &[(&str, Vars)] = &[
        ("CALLER_AUTH=none alone", &[("CALLER_AUTH", "none")]),
        ("opt-in without hosts", &[("CALLER_AUTH", "none"), ("ANONYMOUS_LIVESTREAMS", "allow")]),
        ("hosts without opt-in", &[("CALLER_AUTH", "none"), ("LIVESTREAM_ALLOWED_HOSTS", "a.rtmp.youtube.com")]),
    ];
    for (name, vars) in cases {
        for (event, opt_in) in [(post(rtmp_body()), "ANONYMOUS_LIVESTREAMS"), (hls.clone(), "ANONYMOUS_HLS")] {
            let body =
                assert_refused_before_upstream(create_livestream::handler, vars, name, &event, 403, "forbidden").await;
            assert!(body["error"]["message"].as_str().unwrap().contains(opt_in), "{body}");
        }
    }
}

#[tokio::test]
async fn the_rtmp_opt_in_does_not_hand_out_hls() {
    // The host list bounds RTMP only: HLS (a public playback URL of any room) needs its own opt-in.
    let rtmp_only: Vars = &[
        ("CALLER_AUTH", "none"),
        ("ANONYMOUS_LIVESTREAMS", "allow"),
        ("LIVESTREAM_ALLOWED_HOSTS", "a.rtmp.youtube.com"),
    ];
    let hls = post(json!({"roomId": "abcd-efgh-ijkl", "type": "hls"}));
    let body =
        assert_refused_before_upstream(create_livestream::handler, rtmp_only, "hls", &hls, 403, "forbidden").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("ANONYMOUS_HLS"), "{body}");
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/hls/start", ResponseTemplate::new(200).set_body_json(json!({"data": {}}))).await;
    let response = create_livestream::handler(fake.state(rtmp_only).await, post(rtmp_body()).request()).await;
    assert_ne!(response.status(), 403, "RTMP to an allowed host stays open: {}", body_json(&response));
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_reaches_videosdk() {
    let six: Vec<Value> =
        (0..6).map(|i| json!({"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": format!("k{i}")})).collect();
    let allowed: Vars = &[
        ("CALLER_AUTH", "none"),
        ("ANONYMOUS_LIVESTREAMS", "allow"),
        ("LIVESTREAM_ALLOWED_HOSTS", "a.rtmp.youtube.com,live.twitch.tv"),
    ];
    let cases: Vec<(&str, Vars, Event, u16, &str)> = vec![
        ("malformed json", NONE, Event::post("/create-livestream").body("{\"roomId\":"), 400, "malformed_json"),
        ("missing roomId", NONE, post(json!({"outputs": rtmp_body()["outputs"]})), 400, "invalid_field"),
        ("roomId ../x", NONE, post(json!({"roomId": "../x", "outputs": rtmp_body()["outputs"]})), 400, "invalid_field"),
        ("roomId a b", NONE, post(json!({"roomId": "a b", "outputs": rtmp_body()["outputs"]})), 400, "invalid_field"),
        (
            "roomId 129 chars",
            NONE,
            post(json!({"roomId": "a".repeat(129), "outputs": rtmp_body()["outputs"]})),
            400,
            "invalid_field",
        ),
        ("roomId a number", NONE, post(json!({"roomId": 7, "outputs": rtmp_body()["outputs"]})), 400, "invalid_field"),
        (
            "unknown field",
            NONE,
            post(json!({"roomId": "r", "name": "x", "outputs": rtmp_body()["outputs"]})),
            400,
            "unknown_field",
        ),
        (
            "unknown output field",
            NONE,
            post(json!({"roomId": "r", "outputs": [{"url": "rtmp://h.example.com/x", "streamKey": KEY, "extra": 1}]})),
            400,
            "unknown_field",
        ),
        ("type dash", NONE, post(json!({"roomId": "r", "type": "dash"})), 400, "invalid_field"),
        ("rtmp without outputs", NONE, post(json!({"roomId": "r"})), 400, "invalid_field"),
        (
            "outputs not a list",
            NONE,
            post(json!({"roomId": "r", "outputs": {"url": "rtmp://h.example.com"}})),
            400,
            "invalid_field",
        ),
        ("0 outputs", NONE, post(json!({"roomId": "r", "outputs": []})), 400, "invalid_field"),
        ("6 outputs", NONE, post(json!({"roomId": "r", "outputs": six})), 400, "invalid_field"),
        (
            "outputs and restream differ",
            NONE,
            post(
                json!({"roomId": "r", "outputs": rtmp_body()["outputs"], "restream": output("rtmp://a.rtmp.youtube.com/other")["outputs"]}),
            ),
            400,
            "invalid_field",
        ),
        (
            "restream invalid beside valid outputs",
            NONE,
            post(
                json!({"roomId": "r", "outputs": rtmp_body()["outputs"], "restream": [{"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": "k/x"}]}),
            ),
            400,
            "invalid_field",
        ),
        ("http url", NONE, post(output("http://a.rtmp.youtube.com/live2")), 400, "invalid_field"),
        ("file url", NONE, post(output("file:///etc/passwd")), 400, "invalid_field"),
        ("url without host", NONE, post(output("rtmp:///live2")), 400, "invalid_field"),
        (
            "missing streamKey",
            NONE,
            post(json!({"roomId": "r", "outputs": [{"url": "rtmp://a.rtmp.youtube.com/live2"}]})),
            400,
            "invalid_field",
        ),
        (
            "empty streamKey",
            NONE,
            post(json!({"roomId": "r", "outputs": [{"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": ""}]})),
            400,
            "invalid_field",
        ),
        (
            "streamKey a number",
            NONE,
            post(json!({"roomId": "r", "outputs": [{"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": 1234}]})),
            400,
            "invalid_field",
        ),
        ("disallowed host", allowed, post(output("rtmp://evil.example.com/live")), 403, "forbidden"),
        (
            "outputs for hls",
            NONE,
            post(json!({"roomId": "r", "type": "hls", "outputs": rtmp_body()["outputs"]})),
            400,
            "invalid_field",
        ),
        (
            "templateUrl http",
            NONE,
            post(json!({"roomId": "r", "type": "hls", "templateUrl": "http://t.example.com"})),
            400,
            "invalid_field",
        ),
        (
            "config unknown key",
            NONE,
            post(json!({"roomId": "r", "type": "hls", "config": {"bitrate": 9000}})),
            400,
            "unknown_field",
        ),
        (
            "config not an object",
            NONE,
            post(json!({"roomId": "r", "type": "hls", "config": "DARK"})),
            400,
            "invalid_field",
        ),
        ("GET", NONE, Event::get("/create-livestream"), 405, "method_not_allowed"),
        (
            "body over 16 KiB",
            NONE,
            post(json!({"roomId": "r", "templateUrl": format!("https://t.example.com/{}", "x".repeat(17_000))})),
            413,
            "payload_too_large",
        ),
    ];
    for (name, vars, event, status, code) in cases {
        let body = assert_refused_before_upstream(create_livestream::handler, vars, name, &event, status, code).await;
        assert!(!body.to_string().contains(KEY), "{name}: stream key echoed");
    }
    // An allowed host passes the same check.
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/livestreams/start", ResponseTemplate::new(200).set_body_json(json!({}))).await;
    let state = fake.state(allowed).await;
    let response = create_livestream::handler(state, post(output("rtmps://Live.Twitch.tv/app")).request()).await;
    assert_eq!(response.status(), 200);
    // outputs and its alias restream may both be given when they agree.
    let same = json!({"roomId": "r", "outputs": rtmp_body()["outputs"], "restream": rtmp_body()["outputs"]});
    let response = create_livestream::handler(state, post(same).request()).await;
    assert_eq!(response.status(), 200, "{}", body_json(&response));
}

#[tokio::test]
async fn upstream_messages_never_echo_the_stream_key() {
    let (logs, _guard) = capture_logs();
    let fake = FakeVideoSdk::start().await;
    let message = format!("Invalid streamKey {KEY} for this destination");
    fake.on("POST", "/v2/livestreams/start", ResponseTemplate::new(422).set_body_json(json!({"message": message})))
        .await;
    let state = fake.state(NONE).await;
    let response = create_livestream::handler(state, post(rtmp_body()).request()).await;
    let body = body_json(&response);
    assert_eq!(response.status(), 422);
    assert_eq!(body["error"]["code"], "upstream_rejected");
    assert!(body["error"]["message"].as_str().unwrap().contains("Invalid streamKey <redacted>"), "{body}");
    assert!(!body.to_string().contains(KEY));
    assert!(!logs.text().contains(KEY), "{}", logs.text());
}

#[tokio::test]
async fn every_upstream_failure_maps_to_the_contract_for_rtmp() {
    check_upstream_failures(
        create_livestream::handler,
        || post(rtmp_body()).request(),
        "POST",
        "/v2/livestreams/start",
        |_| {},
    )
    .await;
}

#[tokio::test]
async fn every_upstream_failure_maps_to_the_contract_for_hls() {
    check_upstream_failures(
        create_livestream::handler,
        || post(json!({"roomId": "abcd-efgh-ijkl", "type": "hls"})).request(),
        "POST",
        "/v2/hls/start",
        |_| {},
    )
    .await;
}

/// A key long enough that VideoSDK's quoted message is cut in the middle of it.
fn long_key() -> String {
    format!("lk-{}", (0..200).map(|i| char::from(b'a' + (i % 26) as u8)).collect::<String>())
}

fn key_fragments(key: &str) -> impl Iterator<Item = &str> {
    (0..key.len() - 12).map(move |i| &key[i..i + 12])
}

#[tokio::test]
async fn stream_keys_cut_by_the_message_limit_leave_no_prefix() {
    let (logs, _guard) = capture_logs();
    let key = long_key();
    let fake = FakeVideoSdk::start().await;
    // The message limit (300 characters) falls inside the key.
    let message = format!("{} streamKey {key} refused", "x".repeat(250));
    fake.on("POST", "/v2/livestreams/start", ResponseTemplate::new(422).set_body_json(json!({"message": message})))
        .await;
    let state = fake.state(NONE).await;
    let body =
        json!({"roomId": "abcd-efgh-ijkl", "outputs": [{"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": key}]});
    let response = create_livestream::handler(state, post(body).request()).await;
    let answer = body_json(&response);
    assert_eq!(response.status(), 422, "{answer}");
    let text = format!("{answer}\n{}", logs.text());
    for fragment in key_fragments(&key) {
        assert!(!text.contains(fragment), "a piece of the stream key ({fragment}) got out: {text}");
    }
    assert!(answer["error"]["message"].as_str().unwrap().contains("streamKey <redacted>"), "{answer}");
}

#[tokio::test]
async fn url_encoded_stream_keys_and_url_credentials_are_scrubbed() {
    let (logs, _guard) = capture_logs();
    let key = "Key-With.Dots_and~tilde-0123";
    let encoded: String = key
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect();
    let lower = encoded.replace("%2D", "%2d").replace("%2E", "%2e").replace("%5F", "%5f").replace("%7E", "%7e");
    let url = "rtmp://a.rtmp.youtube.com/live2?auth=url-credential-77";
    let message = format!("rtmp://a.rtmp.youtube.com/live2/{encoded} and {lower} refused; pushed to {url}");
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/livestreams/start", ResponseTemplate::new(422).set_body_string(message)).await;
    let state = fake.state(NONE).await;
    let body = json!({"roomId": "abcd-efgh-ijkl", "outputs": [{"url": url, "streamKey": key}]});
    let response = create_livestream::handler(state, post(body).request()).await;
    let answer = body_json(&response);
    assert_eq!(response.status(), 422, "{answer}");
    let text = format!("{answer}\n{}", logs.text());
    for secret in [key, encoded.as_str(), lower.as_str(), "url-credential-77"] {
        assert!(!text.contains(secret), "{secret} got out: {text}");
    }
}

#[tokio::test]
async fn stream_keys_with_url_syntax_are_refused() {
    for bad in ["a@evil.example.com", "../other", "k/2", "host:1935", "k?x=1", "k#frag", "k\\x", "..", "a b", "k%2F"] {
        let body = json!({"roomId": "r", "outputs": [{"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": bad}]});
        let answer =
            assert_refused_before_upstream(create_livestream::handler, NONE, bad, &post(body), 400, "invalid_field")
                .await;
        assert_eq!(answer["error"]["details"]["field"], "outputs[0].streamKey", "{bad}: {answer}");
        assert!(!answer.to_string().contains(bad), "{bad}: the key was echoed: {answer}");
    }
    // What real services issue: YouTube, Twitch, Facebook, and a query-style key.
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/livestreams/start", ResponseTemplate::new(200).set_body_json(json!({}))).await;
    let state = fake.state(NONE).await;
    for good in
        ["abcd-efgh-ijkl-mnop-qrst", "live_123456789_AbCdEfGhIjKlMnOp", "FB-1234567890-0-Abc_Def", "s=1&t=2.x~y"]
    {
        let body = json!({"roomId": "r", "outputs": [{"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": good}]});
        let response = create_livestream::handler(state, post(body).request()).await;
        assert_eq!(response.status(), 200, "{good}: {}", body_json(&response));
    }
}

#[tokio::test]
async fn the_log_names_who_started_which_stream() {
    let (logs, _guard) = capture_logs();
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/livestreams/start", ResponseTemplate::new(200).set_body_json(json!({}))).await;
    let state = fake.state(&[]).await;
    let event = post(rtmp_body()).user("mod-7", Some("[videosdk-moderators]"));
    let response = create_livestream::handler(state, event.request()).await;
    assert_eq!(response.status(), 200, "{}", body_json(&response));
    testkit::assert_logged(
        &logs,
        "started an RTMP live stream",
        &["caller=\"mod-7\"", "room_id=\"abcd-efgh-ijkl\"", "hosts=\"a.rtmp.youtube.com\""],
    );
    assert!(!logs.text().contains(KEY));
}
