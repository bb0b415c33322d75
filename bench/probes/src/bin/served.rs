//! `served <handler|with|without> <n> <event.json>`: `n` get-token invocations of one event, the
//! handler alone or served as the runtime loop serves it with metrics on or off
//! (METRICS_NAMESPACE=off). `make bench` counts their instructions with
//! `valgrind --tool=callgrind`: what metrics add per invocation, exactly, where timings of two
//! 20 µs paths on a shared machine differ by more than the cost measured. Run natively, it also
//! prints the time per invocation (which turns instructions into time on this machine).

use std::sync::atomic::{AtomicUsize, Ordering};

use shared::config::Config;
use shared::{State, Uses};

/// EMF records emitted, each checked to count the token.
static EMITTED: AtomicUsize = AtomicUsize::new(0);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, n): (&str, usize) =
        (&args[1], args[2].parse().expect("usage: served <handler|with|without> <n> <event.json>"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let vars =
        [("VIDEOSDK_API_KEY", "bench-api-key"), ("VIDEOSDK_SECRET", "bench-secret-0123456789"), ("CALLER_AUTH", "jwt")];
    let mut config = Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    if mode == "without" {
        config.metrics_namespace = None;
    }
    let state: &'static State = Box::leak(Box::new(runtime.block_on(State::init(config, Uses::TokensOnly))));
    let event = std::fs::read_to_string(&args[3]).expect("the event file");
    let started = std::time::Instant::now();
    for _ in 0..n {
        let request = lambda_http::request::from_str(&event).expect("an API Gateway event");
        let response = match mode {
            "handler" => runtime.block_on(get_token::handler(state, request)),
            _ => runtime.block_on(shared::app::serve_emitting(state, request, &get_token::handler, |line| {
                assert!(line.contains(r#""TokensIssued":1"#), "{line}");
                EMITTED.fetch_add(1, Ordering::Relaxed);
            })),
        };
        assert_eq!(response.status(), 200, "{:?}", response.body());
    }
    let per_invocation_ns = started.elapsed().as_nanos() as f64 / n as f64;
    let emitted = EMITTED.load(Ordering::Relaxed);
    assert_eq!(emitted, if mode == "with" { n } else { 0 }, "EMF records");
    println!(r#"{{"mode":"{mode}","invocations":{n},"records":{emitted},"per_invocation_ns":{per_invocation_ns:.0}}}"#);
}
