//! `videosdk-standin [--port N]`: serves the VideoSDK stand-in on 127.0.0.1 until stopped.
//! Tokens must be signed with `VIDEOSDK_API_KEY` / `VIDEOSDK_SECRET` (the development defaults
//! of `make dev` when unset).

use std::net::TcpListener;

fn main() {
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
    let server = TcpListener::bind(("127.0.0.1", port))
        .and_then(|listener| videosdk_standin::start(credentials, Some(listener)));
    match server {
        Ok(server) => {
            println!("videosdk-standin: VideoSDK stand-in listening on {}", server.uri());
            // Serves on its own threads until the process is stopped (Ctrl-C, SIGTERM).
            loop {
                std::thread::park();
            }
        }
        Err(e) => {
            eprintln!("videosdk-standin: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    }
}
