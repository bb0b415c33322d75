//! DynamoDB throttling the caller's own counter is that caller hammering, not an outage: 429
//! with `Retry-After: 1`, nothing minted, and no retry of the check. The table down is an outage:
//! the request goes on. The rate-limit table is reached through a fault proxy, as INIT builds the
//! client (the process's AWS SDK configuration): one test in this binary, since it sets the
//! environment before any other thread runs.

use shared::Uses;
use shared::config::Action;
use testkit::{Event, Fault, FaultProxy, body_json, config, leak};

#[tokio::test(flavor = "current_thread")]
async fn a_throttled_counter_is_429_and_an_unreachable_table_lets_the_call_through() {
    // Nothing listens upstream: only the proxy's own answers (throttling, closing) are used.
    let proxy = FaultProxy::start("http://127.0.0.1:9");
    // SAFETY: the only test in this binary, before anything reads the environment.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL", &proxy.endpoint);
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    let vars = [
        ("VIDEOSDK_API_KEY", testkit::API_KEY),
        ("VIDEOSDK_SECRET", testkit::SECRET),
        ("CALLER_AUTH", "none"),
        ("RATE_LIMIT_TABLE", "videosdk-rate-limits"),
        ("RATE_LIMITS", "token=5/60"),
    ];
    let state = leak(shared::State::init_limited(config(&vars), Uses::TokensOnly, &[Action::Token]).await);
    assert!(state.limiter.is_some());

    proxy.set(Fault::Throttle);
    let started = std::time::Instant::now();
    let response = get_token::handler(state, Event::get("/get-token").request()).await;
    let body = body_json(&response);
    assert_eq!(response.status(), 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(response.headers()["retry-after"], "1");
    assert!(body.get("token").is_none());
    assert_eq!(proxy.requests(), 1, "the check is not retried");
    assert!(started.elapsed() < shared::ratelimit::CHECK_TIMEOUT, "answered without waiting: {:?}", started.elapsed());
    assert_eq!(state.limiter.as_ref().unwrap().failures(), 0, "throttling is not an outage");

    // The table unreachable: the request goes on, counted as unchecked.
    proxy.set(Fault::Close);
    let response = get_token::handler(state, Event::get("/get-token").request()).await;
    assert_eq!(response.status(), 200, "{}", body_json(&response));
    assert_eq!(state.limiter.as_ref().unwrap().failures(), 1);
}
