//! The secret read from a real Secrets Manager endpoint (`moto_server`) through the AWS SDK:
//! read once at INIT, 503 while missing or malformed, recovery, throttled retries, rotation,
//! and no secret text in any log line.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use shared::State;
use shared::claims::Claims;
use shared::secret::SecretStore;
use shared::testing::{Event, Moto, body_json, capture_logs, config};

const GOOD: &str = r#"{"apiKey": "moto-api-key", "secret": "moto-secret-first"}"#;
const ROTATED: &str = r#"{"apiKey": "moto-api-key", "secret": "moto-secret-second"}"#;

fn state(moto: &Moto, id: &str, refresh_after: Duration, retry_after: Duration) -> State {
    State {
        config: config(&[("CALLER_AUTH", "none"), ("VIDEOSDK_SECRET_ID", id)]),
        secrets: SecretStore::secrets_manager(moto.client(), id.to_owned(), refresh_after, retry_after),
        videosdk: None,
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
async fn rotated_secret_is_picked_up_after_the_refresh_interval() {
    let moto = Moto::start();
    moto.put_secret("videosdk/rotate", GOOD).await;
    let (logs, _guard) = capture_logs();
    let state = state(&moto, "videosdk/rotate", Duration::ZERO, Duration::ZERO);
    let (_, first) = get_token(&state).await;
    assert!(verify(first["token"].as_str().unwrap(), "moto-secret-first").is_some());

    moto.put_secret("videosdk/rotate", ROTATED).await;
    let (_, second) = get_token(&state).await;
    let token = second["token"].as_str().unwrap();
    assert!(verify(token, "moto-secret-second").is_some());
    assert!(verify(token, "moto-secret-first").is_none());

    let logged = logs.text();
    for leaked in ["moto-secret-first", "moto-secret-second", token, first["token"].as_str().unwrap()] {
        assert!(!logged.contains(leaked), "leaked into the log: {logged}");
    }
    assert!(logged.contains("issued a participant token"), "the issue is logged by jti: {logged}");
}
