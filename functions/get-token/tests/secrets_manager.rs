//! The secret read from a real Secrets Manager endpoint (`moto_server`) through the AWS SDK:
//! read once at INIT, 503 while missing or malformed, recovery, throttled retries, rotation,
//! and no secret text in any log line.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use shared::State;
use shared::claims::Claims;
use shared::secret::{self, SecretStore};
use testkit::{Event, Fault, FaultProxy, Moto, body_json, capture_logs, config, leak, serve_within};

const GOOD: &str = r#"{"apiKey": "moto-api-key", "secret": "moto-secret-first"}"#;
const ROTATED: &str = r#"{"apiKey": "moto-api-key", "secret": "moto-secret-second"}"#;

fn state(moto: &Moto, id: &str, refresh_after: Duration, retry_after: Duration) -> State {
    State {
        config: config(&[("CALLER_AUTH", "none"), ("VIDEOSDK_SECRET_ID", id)]),
        secrets: SecretStore::secrets_manager(moto.client(), id.to_owned(), refresh_after, retry_after),
        videosdk: None,
        webhooks: None,
        limiter: None,
    }
}

async fn get_token(state: &State) -> (u16, Value) {
    let response = get_token::handler(state, Event::get("/get-token").request()).await;
    (response.status().as_u16(), body_json(&response))
}

fn verify(token: &str, secret: &str) -> Option<Claims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims = ["exp"].into_iter().map(String::from).collect();
    jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret.as_bytes()), &validation)
        .ok()
        .map(|d| d.claims)
}

#[tokio::test]
async fn secret_is_read_once_at_init_and_reused() {
    let moto = Moto::start();
    moto.put_secret("videosdk/init", GOOD).await;
    let state = state(&moto, "videosdk/init", Duration::from_secs(300), Duration::from_secs(1));
    state.secrets.current().await.expect("INIT read");

    // Changing the stored value does not matter within the refresh window: nothing is re-read.
    moto.put_secret("videosdk/init", ROTATED).await;
    let (status, body) = get_token(&state).await;
    assert_eq!(status, 200, "{body}");
    let claims = verify(body["token"].as_str().unwrap(), "moto-secret-first").expect("signed with the INIT secret");
    assert_eq!(claims.apikey, "moto-api-key");
}

#[tokio::test]
async fn load_reads_through_the_sdk_at_init() {
    let moto = Moto::start();
    moto.put_secret("videosdk/load", GOOD).await;
    let store =
        SecretStore::secrets_manager(moto.client(), "videosdk/load".into(), Duration::from_secs(300), Duration::ZERO);
    let credentials = store.current().await.expect("read");
    assert_eq!(credentials.api_key(), "moto-api-key");
    assert_eq!(credentials.secret_bytes(), b"moto-secret-first");
}

#[tokio::test]
async fn missing_secret_answers_503_then_recovers_once_it_exists() {
    let moto = Moto::start();
    let (logs, _guard) = capture_logs();
    let state = state(&moto, "videosdk/later", Duration::from_secs(300), Duration::ZERO);
    let (status, body) = get_token(&state).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "secret_unavailable");
    assert!(logs.text().contains("ResourceNotFoundException"), "{}", logs.text());

    moto.put_secret("videosdk/later", GOOD).await;
    let (status, body) = get_token(&state).await;
    assert_eq!(status, 200, "{body}");
    assert!(verify(body["token"].as_str().unwrap(), "moto-secret-first").is_some());
}

#[tokio::test]
async fn failed_reads_are_retried_at_most_once_per_interval() {
    let moto = Moto::start();
    let state = state(&moto, "videosdk/throttled", Duration::from_secs(300), Duration::from_secs(3600));
    assert_eq!(get_token(&state).await.0, 503);
    moto.put_secret("videosdk/throttled", GOOD).await;
    // The secret now exists, but the store does not hammer Secrets Manager.
    assert_eq!(get_token(&state).await.0, 503);
}

#[tokio::test]
async fn malformed_secret_string_answers_503_and_logs_the_cause_without_the_secret() {
    let moto = Moto::start();
    let cases = [
        ("videosdk/not-json", "apiKey=hunter2-key secret=hunter2-secret", "not valid JSON"),
        ("videosdk/wrong-type", r#"{"apiKey": "hunter2-key", "secret": 987654321}"#, "\"secret\" is not a string"),
        ("videosdk/no-key", r#"{"key": "hunter2-key", "secret": "hunter2-secret"}"#, "no \"apiKey\" field"),
    ];
    for (id, text, cause) in cases {
        moto.put_secret(id, text).await;
        let (logs, _guard) = capture_logs();
        let state = state(&moto, id, Duration::from_secs(300), Duration::ZERO);
        let (status, body) = get_token(&state).await;
        assert_eq!(status, 503, "{id}: {body}");
        assert_eq!(body["error"]["code"], "secret_unavailable");
        let logged = logs.text();
        assert!(logged.contains(cause), "{id}: {logged}");
        assert!(logged.contains(id), "the log names the secret id: {logged}");
        for leaked in ["hunter2", "987654321"] {
            assert!(!logged.contains(leaked), "{id}: secret text in the log: {logged}");
            assert!(!body.to_string().contains(leaked));
        }
    }
}

#[tokio::test]
async fn rotation_mid_traffic_fails_no_request_and_new_tokens_use_the_new_secret() {
    let moto = Moto::start();
    moto.put_secret("videosdk/rotate", GOOD).await;
    let (logs, _guard) = capture_logs();
    let state = state(&moto, "videosdk/rotate", Duration::from_millis(200), Duration::ZERO);
    let started = std::time::Instant::now();
    let (mut served, mut rotated_at, mut first_new) = (0, None, None);
    let mut tokens = Vec::new();
    // A steady stream of requests, one every 5 ms for 3 s; the secret is rotated after 0.5 s.
    while started.elapsed() < Duration::from_secs(3) {
        if rotated_at.is_none() && started.elapsed() > Duration::from_millis(500) {
            moto.put_secret("videosdk/rotate", ROTATED).await;
            rotated_at = Some(started.elapsed());
        }
        let (status, body) = get_token(&state).await;
        assert_eq!(status, 200, "request {served} failed: {body}");
        let token = body["token"].as_str().unwrap().to_owned();
        let new = verify(&token, "moto-secret-second").is_some();
        if new {
            first_new.get_or_insert(started.elapsed());
        } else {
            assert!(first_new.is_none(), "request {served}: an old-secret token after the refresh");
            assert!(verify(&token, "moto-secret-first").is_some(), "request {served}: verifies with neither");
        }
        tokens.push(token);
        served += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (rotated_at, first_new) = (rotated_at.unwrap(), first_new.expect("the new secret was picked up"));
    println!("served {served} requests, 0 failed; rotated at {rotated_at:?}, new secret from {first_new:?}");
    // Picked up within the refresh interval plus one read.
    assert!(first_new - rotated_at < Duration::from_millis(200) + secret::READ_TIMEOUT, "{first_new:?}");

    let logged = logs.text();
    for leaked in ["moto-secret-first", "moto-secret-second"].iter().map(|s| s.to_string()).chain(tokens) {
        assert!(!logged.contains(&leaked), "leaked into the log");
    }
}

/// The Lambda deadline of the fault tests: well under the store's own read timeout.
const LEFT: Duration = Duration::from_millis(1_500);

fn proxied(proxy: &FaultProxy, id: &str, refresh_after: Duration) -> &'static State {
    leak(State {
        config: config(&[("CALLER_AUTH", "none"), ("VIDEOSDK_SECRET_ID", id)]),
        secrets: SecretStore::secrets_manager(proxy.client(), id.to_owned(), refresh_after, Duration::ZERO),
        videosdk: None,
        webhooks: None,
        limiter: None,
    })
}

#[tokio::test]
async fn secrets_manager_down_hanging_or_throttling_at_cold_start_answers_503_in_time_then_recovers() {
    let moto = Moto::start();
    moto.put_secret("videosdk/outage", GOOD).await;
    let proxy = FaultProxy::start(&moto.endpoint);
    let state = proxied(&proxy, "videosdk/outage", Duration::from_secs(300));
    let get = Event::get("/get-token");
    for fault in [Fault::Hang, Fault::Close, Fault::Throttle, Fault::Hang] {
        proxy.set(fault);
        let (status, body, took) = serve_within(state, get_token::handler, &get, LEFT).await;
        println!("{fault:?} at cold start: {status} {} in {took:?}", body["error"]["code"]);
        assert_eq!(status, 503, "{fault:?}: {body}");
        assert_eq!(body["error"]["code"], "secret_unavailable", "{fault:?}");
        assert!(took < LEFT, "{fault:?}: answered after {took:?}, past the invocation's deadline");
    }
    // Back again: the same container recovers, no restart.
    proxy.set(Fault::Pass);
    let (status, body, took) = serve_within(state, get_token::handler, &get, LEFT).await;
    assert_eq!(status, 200, "{body}");
    assert!(verify(body["token"].as_str().unwrap(), "moto-secret-first").is_some());
    println!("recovered: 200 in {took:?}");
}

#[tokio::test]
async fn a_warm_container_serves_its_cached_secret_while_secrets_manager_hangs() {
    let moto = Moto::start();
    moto.put_secret("videosdk/stale", GOOD).await;
    let proxy = FaultProxy::start(&moto.endpoint);
    let state = proxied(&proxy, "videosdk/stale", Duration::from_millis(100));
    let get = Event::get("/get-token");
    assert_eq!(serve_within(state, get_token::handler, &get, LEFT).await.0, 200);

    proxy.set(Fault::Hang);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let before = proxy.requests();
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let (status, body, took) = serve_within(state, get_token::handler, &get, LEFT).await;
        assert_eq!(status, 200, "request {i}: {body}");
        assert!(verify(body["token"].as_str().unwrap(), "moto-secret-first").is_some());
        slowest = slowest.max(took);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("20 requests during the hang, slowest {slowest:?}");
    assert!(slowest < Duration::from_millis(100), "a request waited on the refresh: {slowest:?}");
    assert_eq!(proxy.requests() - before, 1, "one refresher, not one read per request");

    // Secrets Manager answers again, with a rotated secret: picked up without a restart.
    moto.put_secret("videosdk/stale", ROTATED).await;
    proxy.set(Fault::Pass);
    let started = std::time::Instant::now();
    loop {
        let (status, body, _) = serve_within(state, get_token::handler, &get, LEFT).await;
        assert_eq!(status, 200, "{body}");
        if verify(body["token"].as_str().unwrap(), "moto-secret-second").is_some() {
            break;
        }
        assert!(started.elapsed() < secret::READ_TIMEOUT * 2, "the rotated secret was never picked up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
