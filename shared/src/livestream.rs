//! What a `create-livestream` or `end-livestream` body may hold: the stream type, the room, RTMP
//! outputs (scheme, allowed host, stream key) and the composition `config`. Parsing only; the
//! upstream calls are in `videosdk::livestreams` and `videosdk::hls`.

use lambda_http::Request;
use lambda_http::http::Method;
use serde_json::Value;

use crate::config::Config;
use crate::error::ApiError;
use crate::http::{Fields, require_method};
use crate::ids::{RoomId, url_host};
use crate::policy::StreamAction;
use crate::videosdk::livestreams::Output;
use crate::{caller, policy};

/// Most RTMP destinations one stream may push to.
pub const MAX_OUTPUTS: usize = 5;
const MAX_STREAM_KEY_CHARS: usize = 512;
/// What a stream key may hold. VideoSDK joins it to the output URL, so nothing that could move
/// the stream elsewhere (`@ / \ : ? # %`, whitespace, dots alone) is accepted.
pub const STREAM_KEY_CHARACTERS: &str = "A-Z a-z 0-9 - _ . ~ = & (not dots alone)";

fn stream_key_ok(key: &str) -> bool {
    (1..=MAX_STREAM_KEY_CHARS).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'=' | b'&'))
        && !key.bytes().all(|b| b == b'.')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamType {
    Rtmp,
    Hls,
}

impl StreamType {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamType::Rtmp => "rtmp",
            StreamType::Hls => "hls",
        }
    }
}

/// A live-stream request past its common checks; the endpoint takes its own fields from `rest`.
pub struct Opened {
    pub caller: caller::Caller,
    pub kind: StreamType,
    pub room: RoomId,
    pub rest: Fields,
}

/// What both live-stream endpoints do first: POST only, the body's `type`, a caller allowed to
/// start (`starting`) or end that kind of stream, then `roomId` (and the legacy `token`, ignored).
pub fn open(req: &Request, config: &Config, starting: bool) -> Result<Opened, ApiError> {
    require_method(req, &[Method::POST])?;
    let caller = caller::identify(req, config)?;
    let mut rest = Fields::from_body(req)?;
    rest.ignore(&["token"]);
    let kind = take_type(&mut rest)?;
    let action = match (starting, kind) {
        (true, StreamType::Rtmp) => StreamAction::StartRtmp,
        (true, StreamType::Hls) => StreamAction::StartHls,
        (false, _) => StreamAction::End,
    };
    policy::may_run_livestreams(&caller, config, action)?;
    let room = take_room(&mut rest)?;
    Ok(Opened { caller, kind, room, rest })
}

/// `type`: `rtmp` (default) or `hls`.
pub fn take_type(fields: &mut Fields) -> Result<StreamType, ApiError> {
    match fields.take_str("type")?.as_deref() {
        None | Some("rtmp") => Ok(StreamType::Rtmp),
        Some("hls") => Ok(StreamType::Hls),
        Some(_) => Err(ApiError::invalid("type", "type must be \"rtmp\" or \"hls\".")),
    }
}

/// `roomId`, required.
pub fn take_room(fields: &mut Fields) -> Result<RoomId, ApiError> {
    fields.take_room_id("roomId")?.ok_or_else(|| ApiError::invalid("roomId", "roomId is required."))
}

/// `outputs` (alias `restream`; both may be given when equal): 1–5 `{"url": "rtmp(s)://…", "streamKey": "…"}`, each host allowed
/// by `LIVESTREAM_ALLOWED_HOSTS`. Error messages never repeat a stream key.
pub fn take_outputs(fields: &mut Fields, config: &Config) -> Result<Option<Vec<Output>>, ApiError> {
    fields.take_aliased(["outputs", "restream"], |name, value| output_list(name, value, config))
}

fn output_list(name: &str, value: Value, config: &Config) -> Result<Vec<Output>, ApiError> {
    let Value::Array(items) = value else {
        return Err(ApiError::invalid(name, format!("{name} must be an array of {{\"url\", \"streamKey\"}} objects.")));
    };
    if items.is_empty() || items.len() > MAX_OUTPUTS {
        return Err(ApiError::invalid(name, format!("{name} must hold 1 to {MAX_OUTPUTS} entries.")));
    }
    items.into_iter().enumerate().map(|(i, item)| output(name, i, item, config)).collect()
}

fn output(list: &str, index: usize, item: Value, config: &Config) -> Result<Output, ApiError> {
    let field = |key: &str| format!("{list}[{index}].{key}");
    let Value::Object(map) = item else {
        return Err(ApiError::invalid(&format!("{list}[{index}]"), format!("{list}[{index}] must be an object.")));
    };
    let mut item = Fields::from_map(map);
    let url = item.take_str("url").map_err(|_| ApiError::invalid(&field("url"), "url must be a string."))?;
    let url = url.ok_or_else(|| ApiError::invalid(&field("url"), format!("{} is required.", field("url"))))?;
    let host = url_host(&url, &["rtmp", "rtmps"])
        .map_err(|e| ApiError::invalid(&field("url"), format!("{} {e}.", field("url"))))?;
    if !config.livestream_allowed_hosts.is_empty() && !config.livestream_allowed_hosts.contains(&host) {
        return Err(ApiError::Forbidden(format!(
            "{} pushes to {host}, which is not in LIVESTREAM_ALLOWED_HOSTS.",
            field("url")
        )));
    }
    let key = match item.take("streamKey") {
        Some(Value::String(k)) if stream_key_ok(&k) => k,
        Some(Value::String(_)) => {
            return Err(ApiError::invalid(
                &field("streamKey"),
                format!("{} must be 1 to 512 characters from {STREAM_KEY_CHARACTERS}.", field("streamKey")),
            ));
        }
        Some(_) => {
            return Err(ApiError::invalid(&field("streamKey"), format!("{} must be a string.", field("streamKey"))));
        }
        None => return Err(ApiError::invalid(&field("streamKey"), format!("{} is required.", field("streamKey")))),
    };
    item.finish().map_err(|e| match e {
        ApiError::UnknownField(name) => ApiError::UnknownField(format!("{list}[{index}].{name}")),
        other => other,
    })?;
    Ok(Output { url, stream_key: key })
}

/// `config`: the composition settings VideoSDK documents, passed on as given.
pub fn take_config(fields: &mut Fields) -> Result<Option<Value>, ApiError> {
    const KEYS: [&str; 5] = ["layout", "theme", "mode", "quality", "orientation"];
    match fields.take("config") {
        None => Ok(None),
        Some(Value::Object(map)) => {
            if let Some(key) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
                return Err(ApiError::UnknownField(format!("config.{key}")));
            }
            for (key, value) in &map {
                let ok = if key == "layout" { value.is_object() } else { value.is_string() };
                if !ok {
                    return Err(ApiError::invalid(
                        &format!("config.{key}"),
                        format!("config.{key} has the wrong type."),
                    ));
                }
            }
            Ok(Some(Value::Object(map)))
        }
        Some(_) => Err(ApiError::invalid("config", "config must be a JSON object.")),
    }
}

/// `templateUrl`: an https URL.
pub fn take_template_url(fields: &mut Fields) -> Result<Option<String>, ApiError> {
    let Some(url) = fields.take_str("templateUrl")? else { return Ok(None) };
    url_host(&url, &["https"]).map_err(|e| ApiError::invalid("templateUrl", format!("templateUrl {e}.")))?;
    Ok(Some(url))
}
