//! A local stand-in for the VideoSDK v2 REST API: rooms, sessions and live streams kept in
//! memory, answered in VideoSDK's documented shapes, odd error bodies included. Every request
//! must carry a valid token for the configured API key and secret, as VideoSDK requires: a
//! `crawler` token or a role-less one; `rtc` tokens (join only) are refused with 403.
//!
//! For `make dev` and the end-to-end tests only; it is never deployed.
//! `GET /_standin/requests` lists what it received, for tests to assert on;
//! `POST /_standin/join {"roomId"}` starts a session in a room, as a participant joining would;
//! `GET /_standin/webhooks` lists the webhooks it sent;
//! `POST /_standin/rotate-key` replaces its webhook key with a new one, as VideoSDK may rotate
//! its own: webhooks are signed with the new key and the key route serves it.
//!
//! It knows one AI agent, [`DEV_AGENT`], with two versions (newest first): it lists them, takes
//! dispatches of it into a room (the agent joins: a session starts) and plays realtime
//! transcription start and end.
//!
//! Like VideoSDK, it signs webhooks (RSA-SHA256, header `videosdk-signature`) and sends them to
//! a room's `webhook.endPoint` (session started and ended, recording started and stopped, agent
//! session started and stopped) and to a recording's or transcription's own `webhookUrl`, over
//! plain HTTP (local endpoints), from a thread of their own.
//! Its key is the committed development key in `keys/`, served at `GET /v2/public/rsa-public-key`.
//!
//! It serves HTTP/1.1 with the standard library alone (a thread per connection) and depends only
//! on crates the functions use, with their features: `make dev` builds it in the functions' own
//! cargo run, so a fresh clone compiles each dependency once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

mod http;
mod outbox;

pub use http::Server;
use http::{Reply, Request};

#[derive(Clone)]
pub struct Credentials {
    pub api_key: String,
    pub secret: String,
}

#[derive(Default)]
struct Rooms {
    by_id: HashMap<String, Value>,
    custom: HashMap<String, String>,
    rtmp_live: HashMap<String, usize>,
    hls_live: HashMap<String, String>,
    /// Room id → its sessions, oldest first.
    sessions: HashMap<String, Vec<Value>>,
    /// Room id → the running recording's `{sessionId, webhookUrl, awsDirPath}`.
    recording: HashMap<String, Value>,
    /// Finished recordings, oldest first.
    recordings: Vec<Value>,
    received: Vec<Value>,
    /// Room id → the agents dispatched into its ongoing session: `{agentId, jobId, versionId}`.
    agents: HashMap<String, Vec<Value>>,
    /// Room id → the running transcription's `{id, webhookUrl}`.
    transcription: HashMap<String, Value>,
    /// Webhooks to send once the request is answered: `(url, body)`.
    outbox: Vec<(String, String)>,
}

struct Standin {
    credentials: Credentials,
    rooms: Mutex<Rooms>,
    /// The webhook key deliveries are signed with, and its public half as served.
    key: Mutex<(shared::signature::Signer, String)>,
    sent: Arc<Mutex<Vec<Value>>>,
}

/// The development webhook key (obviously not VideoSDK's); `events/videosdk-webhook*.json` are
/// signed with it.
pub const DEV_PRIVATE_KEY: &str = include_str!("../keys/dev-webhook-private-key.pem");
pub const DEV_PUBLIC_KEY: &str = include_str!("../keys/dev-webhook-public-key.pem");

/// The host names the stand-in answers requests to.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// The one agent the stand-in knows (`make dev` presets `AGENTS` to it), and its versions,
/// newest first.
pub const DEV_AGENT: &str = "dev-agent";
pub const DEV_AGENT_VERSIONS: [&str; 2] = ["dev-agent-v2", "dev-agent-v1"];

/// Starts the stand-in on `listener` (a free port on 127.0.0.1 when `None`); it serves until
/// the returned [`Server`] is dropped.
pub fn start(credentials: Credentials, listener: Option<std::net::TcpListener>) -> std::io::Result<Server> {
    let listener = match listener {
        Some(l) => l,
        None => std::net::TcpListener::bind(("127.0.0.1", 0))?,
    };
    let signer = shared::signature::Signer::from_pkcs8_pem(DEV_PRIVATE_KEY)
        .ok_or_else(|| std::io::Error::other("the development webhook key does not parse"))?;
    let standin = Arc::new(Standin {
        credentials,
        rooms: Mutex::new(Rooms::default()),
        key: Mutex::new((signer, DEV_PUBLIC_KEY.to_owned())),
        sent: Arc::new(Mutex::new(Vec::new())),
    });
    Server::start(listener, move |request| {
        let (reply, outbox) = standin.respond(request);
        for (url, body) in outbox {
            let signature = standin.key.lock().unwrap_or_else(|p| p.into_inner()).0.sign(body.as_bytes());
            outbox::send(url, body, signature, standin.sent.clone());
        }
        reply
    })
}

fn message(status: u16, text: &str) -> Reply {
    Reply::json(status, &json!({"statusCode": status, "message": text}))
}

impl Standin {
    /// The reply, and the webhooks the request set off.
    fn respond(&self, request: &Request) -> (Reply, Vec<(String, String)>) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        let reply = self.answer(request, &mut rooms);
        (reply, std::mem::take(&mut rooms.outbox))
    }

    fn answer(&self, request: &Request, rooms: &mut Rooms) -> Reply {
        // Only requests to this machine's own names: a web page whose name was rebound to
        // 127.0.0.1 (DNS rebinding) sends its own name and is refused, as `make dev` refuses it.
        if !shared::policy::host_allowed(&LOOPBACK_NAMES.map(String::from), request.header("host")) {
            return message(403, "The stand-in answers requests to localhost, 127.0.0.1 and [::1] only");
        }
        let path = request.path.clone();
        let method = request.method.clone();
        if method == "GET" && path == "/_standin/requests" {
            return Reply::json(200, &Value::Array(rooms.received.clone()));
        }
        if method == "GET" && path == "/_standin/webhooks" {
            let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone();
            return Reply::json(200, &Value::Array(sent));
        }
        if method == "POST" && path == "/_standin/rotate-key" {
            let signer = shared::signature::Signer::generate();
            let public = signer.public_key_pem();
            *self.key.lock().unwrap_or_else(|p| p.into_inner()) = (signer, public.clone());
            return Reply::json(200, &json!({"publicKey": public}));
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if method == "POST" && path == "/_standin/join" {
            return match body.get("roomId").and_then(Value::as_str).and_then(|id| rooms.find(id)) {
                Some(room) => Reply::json(200, &rooms.ensure_session(&room)),
                None => message(404, "Room not found"),
            };
        }
        let auth = self.check_token(request);
        rooms.received.push(json!({
            "method": method,
            "path": path,
            "body": body,
            "authorization": match &auth { Ok(kind) => kind, Err((_, why)) => why.as_str() },
        }));
        match auth {
            Err((403, why)) => {
                return Reply::json(403, &json!({"statusCode": 403, "message": why}));
            }
            Err((_, why)) => {
                return Reply::json(401, &json!({"message": "Token is invalid or expired", "reason": why}));
            }
            Ok(_) => {}
        }
        match (method.as_str(), path.as_str()) {
            ("POST", "/v2/rooms") => rooms.create(&body),
            ("GET", p) if p.starts_with("/v2/rooms/validate/") => {
                let id = percent_encoding::percent_decode_str(&p["/v2/rooms/validate/".len()..]).decode_utf8_lossy();
                match rooms.find(&id) {
                    Some(room) => Reply::json(200, &room),
                    // VideoSDK answers an unknown id with a plain-text 400.
                    None => Reply::text(400, "Invalid meeting id"),
                }
            }
            ("POST", "/v2/rooms/deactivate") => rooms.deactivate(&body),
            ("GET", "/v2/public/rsa-public-key") => {
                let public = self.key.lock().unwrap_or_else(|p| p.into_inner()).1.clone();
                Reply::json(200, &json!({"publicKey": public}))
            }
            ("POST", "/v2/recordings/start") => rooms.start_recording(&body),
            ("POST", "/v2/recordings/end") => rooms.end_recording(&body),
            ("GET", "/v2/recordings") => rooms.list_recordings(request),
            ("POST", "/v2/sessions/end") => rooms.end_session(&body),
            ("POST", "/v2/livestreams/start") => rooms.start_rtmp(&body),
            ("POST", "/v2/livestreams/end") => rooms.end(&body, false),
            ("POST", "/v2/hls/start") => rooms.start_hls(&body),
            ("POST", "/v2/hls/end") => rooms.end(&body, true),
            ("GET", "/v2/sessions" | "/v2/sessions/") => rooms.list_sessions(request),
            ("GET", p) if let Some(id) = p.strip_prefix("/v2/hls/").and_then(|r| r.strip_suffix("/active")) => {
                let id = percent_encoding::percent_decode_str(id).decode_utf8_lossy().into_owned();
                rooms.active_hls(&id)
            }
            ("GET", p) if let Some(id) = p.strip_prefix("/ai/v1/agents/").and_then(|r| r.strip_suffix("/versions")) => {
                agent_versions(&percent_encoding::percent_decode_str(id).decode_utf8_lossy())
            }
            ("POST", "/v2/agent/dispatch") => rooms.dispatch(&body),
            ("POST", "/ai/v1/realtime-transcriptions/start") => rooms.start_transcription(&body),
            ("POST", "/ai/v1/realtime-transcriptions/end") => rooms.end_transcription(&body),
            _ => message(404, "Route not found"),
        }
    }

    /// What kind of token the request carries, or the status and reason of its refusal.
    fn check_token(&self, request: &Request) -> Result<&'static str, (u16, String)> {
        let token = request.header("authorization").ok_or((401, "no Authorization header".to_owned()))?;
        if token.starts_with("Bearer ") {
            return Err((401, "Authorization must hold the raw token, without Bearer".into()));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims = ["exp"].into_iter().map(String::from).collect();
        let key = DecodingKey::from_secret(self.credentials.secret.as_bytes());
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|e| (401, format!("token does not verify: {e}")))?
            .claims;
        if claims["apikey"] != self.credentials.api_key.as_str() {
            return Err((401, "token is for another API key".into()));
        }
        match claims.get("roles") {
            None => Ok("valid role-less token"),
            Some(roles) if *roles == json!(["crawler"]) && claims["version"] == 2 => Ok("valid crawler token"),
            Some(roles) if roles.as_array().is_some_and(|r| r.contains(&json!("rtc"))) => {
                Err((403, "rtc tokens may join rooms but not call the REST API".into()))
            }
            Some(_) => Err((401, "REST calls need a version 2 token with roles [\"crawler\"] or no roles".into())),
        }
    }
}

/// `GET /ai/v1/agents/{agentId}/versions`: the dev agent's versions, newest first, with the
/// deployment details VideoSDK's objects carry (which this API must not pass on).
fn agent_versions(agent: &str) -> Reply {
    if agent != DEV_AGENT {
        return message(404, "Agent not found");
    }
    let versions: Vec<Value> = DEV_AGENT_VERSIONS
        .iter()
        .enumerate()
        .map(|(i, id)| {
            json!({
                "versionId": id, "versionTag": if i == 0 { "latest" } else { "previous" },
                "createdAt": format!("2026-0{}-01T00:00:00.000Z", 6 - i), "status": "deployed",
                "config": {"llm": {"provider": "standin", "apiKey": "fake-standin-model-key"}},
                "env": {"AGENT_SECRET": "standin-agent-env"},
            })
        })
        .collect();
    Reply::json(200, &json!({"versions": versions}))
}

impl Rooms {
    fn find(&self, id: &str) -> Option<Value> {
        let id = self.custom.get(id).map(String::as_str).unwrap_or(id);
        self.by_id.get(id).cloned()
    }

    fn create(&mut self, body: &Value) -> Reply {
        let custom = body.get("customRoomId").and_then(Value::as_str);
        if let Some(existing) = custom.and_then(|c| self.find(c)) {
            return Reply::json(200, &existing);
        }
        if body.get("region").is_some() {
            return message(400, "region is discontinued");
        }
        if body.get("autoCloseConfig").is_some_and(|c| c.get("type").is_none()) {
            return message(400, "autoCloseConfig.type is required");
        }
        let hex = uuid::Uuid::new_v4().simple().to_string();
        let room_id = format!("{}-{}-{}", &hex[0..4], &hex[4..8], &hex[8..12]);
        let now = "2026-01-01T00:00:00.000Z";
        let room = json!({
            "roomId": room_id, "customRoomId": custom, "userId": "standin-user", "disabled": false,
            "createdAt": now, "updatedAt": now, "id": &hex[..24],
            "webhook": body.get("webhook"), "autoCloseConfig": body.get("autoCloseConfig"),
            "links": {"get_room": format!("/v2/rooms/{room_id}"), "get_session": "/v2/sessions/"}
        });
        if let Some(c) = custom {
            self.custom.insert(c.to_owned(), room_id.clone());
        }
        self.by_id.insert(room_id, room.clone());
        Reply::json(200, &room)
    }

    /// `POST /v2/rooms/deactivate`: the room stays known (validate answers `disabled: true`)
    /// but has no live session any more.
    fn deactivate(&mut self, body: &Value) -> Reply {
        let id = body.get("roomId").and_then(Value::as_str).unwrap_or_default();
        let Some(room_id) = self.find(id).and_then(|r| r["roomId"].as_str().map(str::to_owned)) else {
            return message(404, "Room not found");
        };
        let room = self.by_id.get_mut(&room_id).expect("found above");
        room["disabled"] = json!(true);
        Reply::json(200, room)
    }

    /// The room a live-stream request names, or VideoSDK's refusal.
    fn live_room(&self, body: &Value) -> Result<String, Box<Reply>> {
        let id = body
            .get("roomId")
            .and_then(Value::as_str)
            .ok_or_else(|| Box::new(message(422, "Please provide roomId")))?;
        match self.find(id) {
            None => Err(Box::new(message(404, "Room not found"))),
            // A deactivated room has no live session to stream.
            Some(room) if room["disabled"] == true => {
                Err(Box::new(message(400, "No active session found for this room")))
            }
            Some(room) => Ok(room["roomId"].as_str().unwrap_or(id).to_owned()),
        }
    }

    /// The room's ongoing session, started if there is none.
    fn ensure_session(&mut self, room: &Value) -> Value {
        let room_id = room["roomId"].as_str().unwrap_or_default().to_owned();
        let sessions = self.sessions.entry(room_id.clone()).or_default();
        if let Some(ongoing) = sessions.iter().find(|s| s["status"] == "ongoing") {
            return ongoing.clone();
        }
        let id = uuid::Uuid::new_v4().simple().to_string()[..24].to_owned();
        let session = json!({
            "id": id, "roomId": room_id, "start": "2026-01-01T00:05:00.000Z", "end": null,
            "participants": [{"participantId": "standin-participant", "name": "Stand-in",
                              "timelog": [{"start": "2026-01-01T00:05:00.000Z", "end": null}]}],
            "status": "ongoing",
            "links": {"get_room": format!("/v2/rooms/{room_id}"), "get_session": format!("/v2/sessions/{id}")},
        });
        sessions.push(session.clone());
        self.notify(room, "session-started", json!({"meetingId": room_id, "sessionId": id}), None);
        session
    }

    /// Queues `webhook_type` for the room's webhook (when it subscribes to it) and for `also`
    /// (a recording's own `webhookUrl`), once each.
    fn notify(&mut self, room: &Value, webhook_type: &str, data: Value, also: Option<&str>) {
        let body = json!({"webhookType": webhook_type, "data": data}).to_string();
        let hook = &room["webhook"];
        let subscribed = hook["events"].as_array().is_none_or(|e| e.iter().any(|t| t == webhook_type));
        let mut urls: Vec<String> = Vec::new();
        if let Some(url) = hook["endPoint"].as_str().filter(|_| subscribed) {
            urls.push(url.to_owned());
        }
        if let Some(url) = also.filter(|u| !urls.iter().any(|x| x == u)) {
            urls.push(url.to_owned());
        }
        self.outbox.extend(urls.into_iter().map(|u| (u, body.clone())));
    }

    fn ongoing_session(&self, room_id: &str) -> Option<Value> {
        self.sessions.get(room_id)?.iter().find(|s| s["status"] == "ongoing").cloned()
    }

    /// `POST /v2/recordings/start`: needs a live session; one recording at a time.
    fn start_recording(&mut self, body: &Value) -> Reply {
        let room_id = match self.live_room(body) {
            Ok(room) => room,
            Err(reply) => return *reply,
        };
        let Some(session) = self.ongoing_session(&room_id) else {
            return message(400, "No active session found for this room");
        };
        if self.recording.contains_key(&room_id) {
            return message(409, "Recording is already running for this room");
        }
        let session_id = session["id"].as_str().unwrap_or_default().to_owned();
        let webhook_url = body.get("webhookUrl").and_then(Value::as_str).map(str::to_owned);
        self.recording.insert(
            room_id.clone(),
            json!({"sessionId": session_id, "webhookUrl": webhook_url, "awsDirPath": body.get("awsDirPath")}),
        );
        let room = self.find(&room_id).unwrap_or_default();
        let data = json!({"meetingId": room_id, "sessionId": session_id});
        self.notify(&room, "recording-started", data, webhook_url.as_deref());
        Reply::json(200, &json!({"message": "Recording started successfully"}))
    }

    /// `POST /v2/recordings/end`: the file is listed and `recording-stopped` sent.
    fn end_recording(&mut self, body: &Value) -> Reply {
        let room_id = match self.live_room(body) {
            Ok(room) => room,
            Err(reply) => return *reply,
        };
        match self.stop_recording(&room_id) {
            true => Reply::json(200, &json!({"message": "Recording stopped successfully"})),
            false => message(400, "Recording is not running for this room"),
        }
    }

    fn stop_recording(&mut self, room_id: &str) -> bool {
        let Some(running) = self.recording.remove(room_id) else { return false };
        let session_id = running["sessionId"].as_str().unwrap_or_default().to_owned();
        let id = uuid::Uuid::new_v4().simple().to_string()[..24].to_owned();
        let dir = running["awsDirPath"].as_str().unwrap_or("recordings/").to_owned();
        let file_path = format!("{}{id}.mp4", if dir.ends_with('/') { dir } else { format!("{dir}/") });
        let file_url = format!("https://cdn.videosdk.live/{file_path}");
        self.recordings.push(json!({
            "id": id, "roomId": room_id, "sessionId": session_id, "createdAt": "2026-01-01T00:10:00.000Z",
            "file": {"fileUrl": file_url, "filePath": file_path, "size": 1_048_576, "meta": {"duration": 300}},
        }));
        let room = self.find(room_id).unwrap_or_default();
        let data = json!({"meetingId": room_id, "sessionId": session_id, "filePath": file_path, "fileUrl": file_url});
        self.notify(&room, "recording-stopped", data, running["webhookUrl"].as_str());
        true
    }

    /// `GET /v2/recordings?roomId=…[&sessionId][&page][&perPage]`.
    fn list_recordings(&self, request: &Request) -> Reply {
        let Some(room) = request.query("roomId") else {
            return message(400, "Please provide roomId");
        };
        let room_id = self.find(&room).and_then(|r| r["roomId"].as_str().map(str::to_owned)).unwrap_or(room);
        let session = request.query("sessionId");
        let all: Vec<&Value> = self
            .recordings
            .iter()
            .filter(|r| r["roomId"] == room_id.as_str())
            .filter(|r| session.as_ref().is_none_or(|s| r["sessionId"] == s.as_str()))
            .collect();
        let page: usize = request.query("page").and_then(|p| p.parse().ok()).filter(|p| *p > 0).unwrap_or(1);
        let per_page: usize = request.query("perPage").and_then(|p| p.parse().ok()).filter(|p| *p > 0).unwrap_or(20);
        let data: Vec<Value> = all.iter().skip((page - 1) * per_page).take(per_page).map(|r| (*r).clone()).collect();
        Reply::json(
            200,
            &json!({
                "pageInfo": {"currentPage": page, "perPage": per_page, "lastPage": all.len().div_ceil(per_page).max(1),
                             "total": all.len()},
                "data": data,
            }),
        )
    }

    /// `POST /v2/sessions/end`: everyone leaves; a running recording or stream stops with it.
    fn end_session(&mut self, body: &Value) -> Reply {
        let Some(id) = body.get("roomId").and_then(Value::as_str) else {
            return message(422, "Please provide roomId");
        };
        let Some(room) = self.find(id) else {
            return message(404, "Room not found");
        };
        let room_id = room["roomId"].as_str().unwrap_or(id).to_owned();
        let Some(session) =
            self.sessions.get_mut(&room_id).and_then(|s| s.iter_mut().find(|s| s["status"] == "ongoing"))
        else {
            return message(400, "No active session found for this room");
        };
        session["status"] = json!("ended");
        session["end"] = json!("2026-01-01T00:30:00.000Z");
        let session_id = session["id"].clone();
        self.stop_recording(&room_id);
        self.transcription.remove(&room_id);
        for agent in self.agents.remove(&room_id).unwrap_or_default() {
            let mut data = agent;
            data["meetingId"] = json!(room_id);
            data["roomId"] = json!(room_id);
            data["sessionId"] = session_id.clone();
            self.notify(&room, "agent-session-stopped", data, None);
        }
        self.rtmp_live.remove(&room_id);
        self.hls_live.remove(&room_id);
        self.notify(&room, "session-ended", json!({"meetingId": room_id, "sessionId": session_id}), None);
        Reply::json(200, &json!({"message": "Session ended successfully"}))
    }

    /// `GET /v2/sessions?roomId=`: the room's sessions, newest first, one page.
    fn list_sessions(&self, request: &Request) -> Reply {
        let room_id = request.query("roomId");
        let Some(room_id) = room_id else {
            return message(400, "Please provide roomId");
        };
        let room_id = self.find(&room_id).and_then(|r| r["roomId"].as_str().map(str::to_owned)).unwrap_or(room_id);
        let data: Vec<Value> =
            self.sessions.get(&room_id).map(|s| s.iter().rev().cloned().collect()).unwrap_or_default();
        Reply::json(
            200,
            &json!({
                "pageInfo": {"currentPage": 1, "perPage": 20, "lastPage": 1, "total": data.len()},
                "data": data,
            }),
        )
    }

    /// `GET /v2/hls/{roomId}/active`: the running HLS stream's URLs, or VideoSDK's 404.
    fn active_hls(&self, id: &str) -> Reply {
        let room_id = self.find(id).and_then(|r| r["roomId"].as_str().map(str::to_owned));
        match room_id.and_then(|r| self.hls_live.get(&r).map(|s| (r, s))) {
            Some((room_id, session)) => {
                let base = format!("https://cdn.videosdk.live/meetings-hls/{session}");
                Reply::json(
                    200,
                    &json!({"code": 200, "data": {
                        "roomId": room_id, "sessionId": session,
                        "playbackHlsUrl": format!("{base}/index.m3u8"), "livestreamUrl": format!("{base}/live.m3u8"),
                    }}),
                )
            }
            None => message(404, "No active HLS found for this room"),
        }
    }

    /// `POST /v2/agent/dispatch`: the dev agent (a version it has, when one is named) joins the
    /// room, starting its session; `agent-session-started` goes to the room's webhook.
    fn dispatch(&mut self, body: &Value) -> Reply {
        let agent = body.get("agentId").and_then(Value::as_str).unwrap_or_default();
        if agent.is_empty() {
            return message(400, "Please provide agentId");
        }
        if agent != DEV_AGENT {
            return message(404, "Agent not found");
        }
        let version = body.get("versionId").and_then(Value::as_str);
        if version.is_some_and(|v| !DEV_AGENT_VERSIONS.contains(&v)) {
            return message(404, "Agent version not found");
        }
        let Some(id) = body.get("meetingId").and_then(Value::as_str) else {
            return message(400, "Please provide meetingId");
        };
        let Some(room) = self.find(id) else {
            return message(404, "Room not found");
        };
        if room["disabled"] == true {
            return message(400, "Room is deactivated");
        }
        let room_id = room["roomId"].as_str().unwrap_or(id).to_owned();
        let session = self.ensure_session(&room);
        let job_id = format!("job-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let version = version.unwrap_or(DEV_AGENT_VERSIONS[0]);
        let agent_entry = json!({"agentId": agent, "jobId": job_id, "versionId": version});
        self.agents.entry(room_id.clone()).or_default().push(agent_entry);
        let data = json!({"meetingId": room_id, "roomId": room_id, "sessionId": session["id"], "agentId": agent,
                          "jobId": job_id, "versionId": version});
        self.notify(&room, "agent-session-started", data, None);
        Reply::json(
            200,
            &json!({"message": "Agent dispatched successfully", "data": {
                "success": true, "jobId": job_id, "status": "dispatched", "workerId": "standin-worker",
                "roomId": room_id, "agentId": agent,
            }}),
        )
    }

    /// `POST /ai/v1/realtime-transcriptions/start`: needs a live session; one at a time;
    /// `transcription-started` goes to its own `webhookUrl`.
    fn start_transcription(&mut self, body: &Value) -> Reply {
        let room_id = match self.live_room(body) {
            Ok(room) => room,
            Err(reply) => return *reply,
        };
        if self.ongoing_session(&room_id).is_none() {
            return message(400, "No active session found for this room");
        }
        if self.transcription.contains_key(&room_id) {
            return message(409, "Transcription is already running for this room");
        }
        let id = uuid::Uuid::new_v4().simple().to_string()[..24].to_owned();
        let webhook_url = body.get("webhookUrl").and_then(Value::as_str).map(str::to_owned);
        self.transcription.insert(room_id.clone(), json!({"id": id, "webhookUrl": webhook_url}));
        if let Some(url) = &webhook_url {
            let hook = json!({"webhookType": "transcription-started", "data": {"meetingId": room_id, "id": id}});
            self.outbox.push((url.clone(), hook.to_string()));
        }
        Reply::json(200, &json!({"id": id, "roomId": room_id, "status": "starting", "language": body.get("language")}))
    }

    /// `POST /ai/v1/realtime-transcriptions/end`.
    fn end_transcription(&mut self, body: &Value) -> Reply {
        let room_id = match self.live_room(body) {
            Ok(room) => room,
            Err(reply) => return *reply,
        };
        let Some(running) = self.transcription.remove(&room_id) else {
            return message(400, "Transcription is not running for this room");
        };
        if let Some(url) = running["webhookUrl"].as_str() {
            let hook =
                json!({"webhookType": "transcription-stopped", "data": {"meetingId": room_id, "id": running["id"]}});
            self.outbox.push((url.to_owned(), hook.to_string()));
        }
        Reply::json(200, &json!({"message": "Transcription stopped successfully"}))
    }

    fn start_rtmp(&mut self, body: &Value) -> Reply {
        let room = match self.live_room(body) {
            Ok(room) => room,
            Err(reply) => return *reply,
        };
        let Some(outputs) = body.get("outputs").and_then(Value::as_array).filter(|o| !o.is_empty()) else {
            return message(422, "Please provide outputs");
        };
        if outputs.iter().any(|o| o.get("streamKey").and_then(Value::as_str).is_none_or(str::is_empty)) {
            return message(422, "Please provide streamKey");
        }
        if self.rtmp_live.contains_key(&room) {
            return message(409, "Livestream is already running for this room");
        }
        let found = self.find(&room).unwrap_or_default();
        self.ensure_session(&found);
        self.rtmp_live.insert(room, outputs.len());
        Reply::json(200, &json!("Livestream started successfully"))
    }

    fn start_hls(&mut self, body: &Value) -> Reply {
        let room = match self.live_room(body) {
            Ok(room) => room,
            Err(reply) => return *reply,
        };
        if self.hls_live.contains_key(&room) {
            return message(409, "HLS is already running for this room");
        }
        let found = self.find(&room).unwrap_or_default();
        let session = self.ensure_session(&found)["id"].as_str().unwrap_or_default().to_owned();
        self.hls_live.insert(room.clone(), session.clone());
        let base = format!("https://cdn.videosdk.live/meetings-hls/{session}");
        Reply::json(
            200,
            &json!({
                "sessionId": session, "roomId": room, "id": format!("hls-{session}"),
                "playbackHlsUrl": format!("{base}/index.m3u8"),
                "livestreamUrl": format!("{base}/live.m3u8"),
                "downstreamUrl": format!("{base}/index.m3u8"),
            }),
        )
    }

    fn end(&mut self, body: &Value, hls: bool) -> Reply {
        let room = match self.live_room(body) {
            Ok(room) => room,
            Err(reply) => return *reply,
        };
        let running = if hls { self.hls_live.remove(&room).is_some() } else { self.rtmp_live.remove(&room).is_some() };
        if running {
            Reply::json(200, &json!({"message": "Livestream stopped successfully"}))
        } else {
            Reply::json(400, &json!({"error": "Livestream is not running for this room"}))
        }
    }
}
