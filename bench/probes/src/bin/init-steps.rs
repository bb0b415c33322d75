//! Where a cold start's INIT goes, step by step, as `shared::app` runs it: configuration, the
//! TLS configuration, an HTTP client, the AWS SDK configuration and Secrets Manager client, the
//! VideoSDK client. Prints each step's time in microseconds as JSON (one process = one cold INIT;
//! `make bench` runs it many times and takes medians).

use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut steps: Vec<(&str, f64)> = Vec::new();
    let mut last = Instant::now();
    let mut lap = |name: &'static str, steps: &mut Vec<(&str, f64)>| {
        let now = Instant::now();
        steps.push((name, (now - last).as_secs_f64() * 1e6));
        last = now;
    };
    let config = shared::config::Config::from_env().expect("configuration");
    lap("config", &mut steps);
    shared::net::tls_config().expect("TLS configuration");
    lap("tls_config", &mut steps);
    shared::net::http_client(reqwest::Client::builder()).expect("HTTP client");
    lap("http_client", &mut steps);
    let sdk = shared::secret::aws_sdk_config().await.expect("SDK configuration");
    lap("aws_sdk_config", &mut steps);
    let _client = aws_sdk_secretsmanager::Client::new(&sdk);
    lap("secrets_manager_client", &mut steps);
    shared::videosdk::VideoSdk::new(&config).expect("VideoSDK client");
    lap("videosdk_client", &mut steps);
    let fields: Vec<String> = steps.iter().map(|(n, us)| format!("\"{n}\": {us:.1}")).collect();
    println!("{{{}}}", fields.join(", "));
}
