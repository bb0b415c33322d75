//! Sends the stand-in's webhooks: one thread per delivery, plain HTTP/1.1 POST with the
//! signature header, a few attempts (as VideoSDK retries), each delivery's last result and
//! every attempt's recorded for `GET /_standin/webhooks`.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

const ATTEMPTS: u32 = 3;
/// `make dev` compiles a function on its first call: allow for that.
const READ_TIMEOUT: Duration = Duration::from_secs(300);

pub fn send(url: String, body: String, signature: String, sent: Arc<Mutex<Vec<Value>>>) {
    std::thread::spawn(move || {
        let webhook_type =
            serde_json::from_str::<Value>(&body).ok().and_then(|v| v["webhookType"].as_str().map(str::to_owned));
        let mut outcome = String::new();
        let mut attempts: Vec<String> = Vec::new();
        if let Err(why) = target(&url) {
            // Never sent, never retried: recorded for GET /_standin/webhooks.
            outcome = format!("refused: {why}");
        }
        for attempt in (outcome.is_empty()).then_some(1..=ATTEMPTS).into_iter().flatten() {
            let delivered = match post(&url, &body, &signature) {
                Ok(status) => {
                    outcome = status.to_string();
                    (200..300).contains(&status)
                }
                Err(e) => {
                    outcome = format!("error: {e}");
                    false
                }
            };
            attempts.push(outcome.clone());
            if delivered {
                break;
            }
            if attempt < ATTEMPTS {
                std::thread::sleep(Duration::from_secs(u64::from(attempt)));
            }
        }
        println!("videosdk-standin: sent webhook {} to {url:?}: {outcome}", webhook_type.as_deref().unwrap_or("?"));
        sent.lock().unwrap_or_else(|p| p.into_inner()).push(json!({
            "url": url, "webhookType": webhook_type, "status": outcome, "attempts": attempts,
        }));
    });
}

/// Where a webhook may go: `http` to `127.0.0.1`, `localhost` or `[::1]` only (this is a
/// developer's machine), parsed with a real URL parser, with no control characters or spaces
/// anywhere (they would end the request line and smuggle headers or requests). Returns the
/// address to connect to, the `Host` header and the request target.
pub(crate) fn target(url: &str) -> Result<(String, String, String), String> {
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("the URL holds control characters or whitespace".into());
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    if parsed.scheme() != "http" {
        return Err("only http:// endpoints on this machine can be reached from the stand-in".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("the URL holds credentials".into());
    }
    // The parser writes hosts in their normal form (`127.1` and `0x7f.0.0.1` are `127.0.0.1`).
    let host = match parsed.host_str() {
        Some(host @ ("127.0.0.1" | "localhost" | "[::1]")) => host.to_owned(),
        _ => return Err("the stand-in sends webhooks only to 127.0.0.1, localhost or [::1]".into()),
    };
    let port = parsed.port_or_known_default().unwrap_or(80);
    let mut path = parsed.path().to_owned();
    if let Some(query) = parsed.query() {
        path.push('?');
        path.push_str(query);
    }
    Ok((format!("{host}:{port}"), format!("{host}:{port}"), path))
}

fn post(url: &str, body: &str, signature: &str) -> Result<u16, String> {
    let (address, authority, path) = target(url)?;
    let addr = address.to_socket_addrs().map_err(|e| e.to_string())?.next().ok_or("no address")?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(READ_TIMEOUT)).map_err(|e| e.to_string())?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nUser-Agent: videosdk-standin\r\n\
         videosdk-signature: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(|e| e.to_string())?;
    let head = String::from_utf8_lossy(&answer[..answer.len().min(64)]).into_owned();
    head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| format!("no HTTP status in {head:?}"))
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn only_loopback_http_urls_without_control_characters_are_targets() {
        assert_eq!(
            target("http://127.0.0.1:9000/videosdk-webhook?x=1").unwrap(),
            ("127.0.0.1:9000".into(), "127.0.0.1:9000".into(), "/videosdk-webhook?x=1".into())
        );
        assert_eq!(target("http://localhost/h").unwrap().0, "localhost:80");
        assert_eq!(target("http://[::1]:8080").unwrap(), ("[::1]:8080".into(), "[::1]:8080".into(), "/".into()));
        for refused in [
            "http://127.0.0.1:9000/h\r\nX-Injected: 1",
            "http://127.0.0.1:9000/h HTTP/1.1\r\nHost: evil.example\r\n\r\nGET /",
            "http://127.0.0.1:9000/h\nPOST /admin",
            "http://127.0.0.1:9000/h\u{0}",
            "http://evil.example/h",
            "http://localhost.evil.example/h",
            "http://localhost@evil.example/h",
            "http://user:pw@127.0.0.1/h",
            "http://10.0.0.1/h",
            "http://127.0.0.2/h",
            "http://169.254.169.254/latest/meta-data/",
            "https://127.0.0.1/h",
            "file:///etc/passwd",
            "127.0.0.1:9000/h",
        ] {
            assert!(target(refused).is_err(), "{refused:?}");
        }
    }
}
