//! Sends the stand-in's webhooks: one thread per delivery, plain HTTP/1.1 POST with the
//! signature header, a few attempts (as VideoSDK retries), each result recorded for
//! `GET /_standin/webhooks`.

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
        for attempt in 1..=ATTEMPTS {
            match post(&url, &body, &signature) {
                Ok(status) if (200..300).contains(&status) => {
                    outcome = status.to_string();
                    break;
                }
                Ok(status) => outcome = status.to_string(),
                Err(e) => outcome = format!("error: {e}"),
            }
            if attempt < ATTEMPTS {
                std::thread::sleep(Duration::from_secs(u64::from(attempt)));
            }
        }
        println!("videosdk-standin: sent webhook {} to {url}: {outcome}", webhook_type.as_deref().unwrap_or("?"));
        sent.lock().unwrap_or_else(|p| p.into_inner()).push(json!({
            "url": url, "webhookType": webhook_type, "status": outcome,
        }));
    });
}

fn post(url: &str, body: &str, signature: &str) -> Result<u16, String> {
    let rest = url.strip_prefix("http://").ok_or("only http:// endpoints can be reached from the stand-in")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let with_port = if authority.contains(':') { authority.to_owned() } else { format!("{authority}:80") };
    let addr = with_port.to_socket_addrs().map_err(|e| e.to_string())?.next().ok_or("no address")?;
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
