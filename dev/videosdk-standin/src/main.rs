//! `videosdk-standin [--port N]`: serves the VideoSDK stand-in on 127.0.0.1 until stopped.
//! Tokens must be signed with `VIDEOSDK_API_KEY` / `VIDEOSDK_SECRET` (the development defaults
//! of `make dev` when unset).

use std::net::TcpListener;

#[tokio::main]
async fn main() {
    let mut port = 8790u16;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().and_then(|v| v.parse().ok())) {
            ("--port", Some(p)) => port = p,
            _ => {
                eprintln!("usage: videosdk-standin [--port N]");
                std::process::exit(2);
            }
        }
    }
    let credentials = videosdk_standin::Credentials {
        api_key: std::env::var("VIDEOSDK_API_KEY").unwrap_or_else(|_| "dev-api-key-not-for-videosdk".into()),
        secret: std::env::var("VIDEOSDK_SECRET").unwrap_or_else(|_| "dev-secret-not-for-videosdk".into()),
    };
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("videosdk-standin: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let server = videosdk_standin::start(credentials, Some(listener)).await;
    println!("videosdk-standin: VideoSDK stand-in listening on {}", server.uri());
    let _ = tokio::signal::ctrl_c().await;
}
