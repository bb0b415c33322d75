//! Just enough HTTP/1.1 for the stand-in's callers (the functions' reqwest client, curl, Python's
//! urllib): keep-alive, `Content-Length` and chunked request bodies, `Expect: 100-continue`, and
//! JSON or plain-text replies with a `Content-Length`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

/// Larger requests are refused with 413; the stand-in's real requests are a few hundred bytes.
const MAX_BODY: usize = 1 << 20;
const MAX_HEAD: usize = 64 << 10;
/// An idle keep-alive connection is closed after this long.
const IDLE: Duration = Duration::from_secs(60);

pub struct Request {
    pub method: String,
    /// The path as sent, still percent-encoded.
    pub path: String,
    query: String,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The first value of query parameter `name`, decoded as a form value.
    pub fn query(&self, name: &str) -> Option<String> {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find_map(|(k, v)| (decode_form(k) == name).then(|| decode_form(v)))
    }
}

fn decode_form(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
}

pub struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, body: &Value) -> Reply {
        Reply { status, content_type: "application/json", body: body.to_string().into_bytes() }
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply { status, content_type: "text/plain; charset=utf-8", body: body.as_bytes().to_vec() }
    }
}

/// A running server; dropping it stops accepting connections.
pub struct Server {
    addr: SocketAddr,
    stopped: Arc<AtomicBool>,
}

impl Server {
    pub fn start<F>(listener: TcpListener, respond: F) -> io::Result<Server>
    where
        F: Fn(&Request) -> Reply + Send + Sync + 'static,
    {
        let addr = listener.local_addr()?;
        let stopped = Arc::new(AtomicBool::new(false));
        let respond = Arc::new(respond);
        let stop = stopped.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::Acquire) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let respond = respond.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &*respond);
                });
            }
        });
        Ok(Server { addr, stopped })
    }

    /// `http://127.0.0.1:<port>`
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::Release);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(stream: TcpStream, respond: &dyn Fn(&Request) -> Reply) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE))?;
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let request = match read_request(&mut reader, &mut writer) {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            Err(Refusal(status, why)) => {
                write_reply(&mut writer, &Reply::text(status, why), true)?;
                return writer.shutdown(Shutdown::Both);
            }
        };
        let close = request.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        write_reply(&mut writer, &respond(&request), close)?;
        if close {
            return writer.shutdown(Shutdown::Both);
        }
    }
}

/// Why a request could not be read: the status to answer and a reason.
struct Refusal(u16, &'static str);

impl From<io::Error> for Refusal {
    fn from(_: io::Error) -> Refusal {
        Refusal(400, "malformed request")
    }
}

/// The next request on the connection, or `None` once the client has closed it.
fn read_request(reader: &mut BufReader<TcpStream>, writer: &mut TcpStream) -> Result<Option<Request>, Refusal> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = reader.by_ref().take((MAX_HEAD + 1 - head.len()) as u64).read_until(b'\n', &mut line)?;
        if n == 0 && head.is_empty() {
            return Ok(None);
        }
        if n == 0 || !line.ends_with(b"\n") {
            return Err(Refusal(431, "request head too large or cut short"));
        }
        if line == b"\r\n" || line == b"\n" {
            if head.is_empty() {
                continue; // a stray blank line between requests
            }
            break;
        }
        head.extend_from_slice(&line);
    }
    let head = String::from_utf8(head).map_err(|_| Refusal(400, "request head is not UTF-8"))?;
    let mut lines = head.lines();
    let mut start = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(_version)) = (start.next(), start.next(), start.next()) else {
        return Err(Refusal(400, "malformed request line"));
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(Refusal(400, "malformed header"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut request = Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: Vec::new(),
    };
    if request.header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    if request.header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        request.body = read_chunked(reader)?;
    } else if let Some(length) = request.header("content-length") {
        let length: usize = length.parse().map_err(|_| Refusal(400, "malformed Content-Length"))?;
        if length > MAX_BODY {
            return Err(Refusal(413, "request body too large"));
        }
        request.body = vec![0; length];
        reader.read_exact(&mut request.body)?;
    }
    Ok(Some(request))
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> Result<Vec<u8>, Refusal> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.by_ref().take(1024).read_line(&mut size)?;
        let size = size.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| Refusal(400, "malformed chunk size"))?;
        if body.len() + size > MAX_BODY {
            return Err(Refusal(413, "request body too large"));
        }
        if size == 0 {
            // Trailers, up to the blank line.
            loop {
                let mut line = String::new();
                if reader.by_ref().take(1024).read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn write_reply(writer: &mut TcpStream, reply: &Reply, close: bool) -> io::Result<()> {
    let reason = match reply.status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        431 => "Request Header Fields Too Large",
        _ => "Status",
    };
    let connection = if close { "close" } else { "keep-alive" };
    let head = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: {connection}\r\n\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(&reply.body);
    writer.write_all(&out)?;
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that answers every request with what it read: method, path, `q` and the body.
    fn echo() -> Server {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        Server::start(listener, |r| {
            let body = String::from_utf8_lossy(&r.body).into_owned();
            Reply::json(200, &serde_json::json!({"method": r.method, "path": r.path, "q": r.query("q"), "body": body}))
        })
        .unwrap()
    }

    fn connect(server: &Server) -> TcpStream {
        let stream = TcpStream::connect(server.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream
    }

    /// Reads one response: status, headers (lower-case names) and body.
    fn response(reader: &mut BufReader<TcpStream>) -> (u16, Vec<(String, String)>, String) {
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        let code = status.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            let (n, v) = line.split_once(':').unwrap();
            headers.push((n.to_ascii_lowercase(), v.trim().to_owned()));
        }
        let length = headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        (code, headers, String::from_utf8(body).unwrap())
    }

    fn json(body: &str) -> Value {
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn keeps_the_connection_alive_and_reads_each_body() {
        let server = echo();
        let mut stream = connect(&server);
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        stream.write_all(b"POST /v2/rooms HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirstGET /b?q=a%2Bb+c HTTP/1.1\r\n\r\n").unwrap();
        let (status, headers, body) = response(&mut reader);
        assert_eq!(status, 200);
        assert!(headers.contains(&("connection".into(), "keep-alive".into())), "{headers:?}");
        assert_eq!(json(&body), serde_json::json!({"method": "POST", "path": "/v2/rooms", "q": null, "body": "first"}));
        let (_, _, body) = response(&mut reader);
        assert_eq!(json(&body)["q"], "a+b c", "form decoding of the query");
        stream.write_all(b"GET /c HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
        let (_, headers, _) = response(&mut reader);
        assert!(headers.contains(&("connection".into(), "close".into())), "{headers:?}");
        assert_eq!(reader.read(&mut [0; 1]).unwrap(), 0, "closed after Connection: close");
    }

    #[test]
    fn reads_chunked_bodies_and_answers_expect_continue() {
        let server = echo();
        let mut stream = connect(&server);
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        stream.write_all(b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n").unwrap();
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, "HTTP/1.1 100 Continue\r\n");
        reader.read_line(&mut line).unwrap();
        stream.write_all(b"4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nTrailer: x\r\n\r\n").unwrap();
        let (status, _, body) = response(&mut reader);
        assert_eq!((status, json(&body)["body"].clone()), (200, Value::from("{\"a\":1}")));
    }

    #[test]
    fn refuses_malformed_and_oversized_requests() {
        let server = echo();
        for (request, want) in [
            (&b"NONSENSE\r\n\r\n"[..], 400),
            (b"POST /a HTTP/1.1\r\nContent-Length: lots\r\n\r\n", 400),
            (b"POST /a HTTP/1.1\r\nbroken header\r\n\r\n", 400),
            (b"POST /a HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
            (b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ] {
            let mut stream = connect(&server);
            stream.write_all(request).unwrap();
            let (status, _, _) = response(&mut BufReader::new(stream));
            assert_eq!(status, want, "{}", String::from_utf8_lossy(request));
        }
        let mut stream = connect(&server);
        stream.write_all(b"GET /").unwrap();
        stream.write_all(&vec![b'a'; MAX_HEAD + 10]).unwrap();
        let (status, _, _) = response(&mut BufReader::new(stream));
        assert_eq!(status, 431);
    }

    #[test]
    fn stops_accepting_when_dropped() {
        let server = echo();
        let addr = server.addr;
        drop(server);
        std::thread::sleep(Duration::from_millis(100));
        assert!(TcpStream::connect(addr).is_err(), "still listening on {addr}");
    }
}
