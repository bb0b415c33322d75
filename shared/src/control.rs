//! What the room-control endpoints (`start-recording`, `end-recording`, `list-recordings`,
//! `end-meeting`, `start-transcription`, `end-transcription`) do first: the method, a caller
//! allowed to control rooms, and the room; and the body parts they share (a summary request).
//! Parsing and policy only; the upstream calls are in `videosdk::recordings` and
//! `videosdk::sessions`.

use lambda_http::Request;
use lambda_http::http::Method;
use serde_json::{Map, Value};

use crate::caller::{self, Caller};
use crate::config::Config;
use crate::error::ApiError;
use crate::http::{Fields, require_method};
use crate::ids::RoomId;
use crate::policy;

/// A room-control request past its common checks; the endpoint takes its own fields from `rest`.
pub struct Opened {
    pub caller: Caller,
    pub room: RoomId,
    pub rest: Fields,
}

/// `method` only, a caller who may control rooms, then the input's required `roomId`
/// (the JSON body for POST, the query string for GET; a legacy `token` is ignored).
pub fn open(req: &Request, config: &Config, method: Method) -> Result<Opened, ApiError> {
    require_method(req, &[method])?;
    let caller = caller::identify(req, config)?;
    policy::may_control_rooms(&caller, config)?;
    let mut rest = Fields::from_request(req)?;
    rest.ignore(&["token"]);
    let room = rest.take_room_id("roomId")?.ok_or_else(|| ApiError::invalid("roomId", "roomId is required."))?;
    Ok(Opened { caller, room, rest })
}

/// A whole number from 1 to `max`, when given.
pub fn take_bounded(fields: &mut Fields, name: &str, max: u64) -> Result<Option<u64>, ApiError> {
    match fields.take_u64(name)? {
        Some(n) if !(1..=max).contains(&n) => {
            Err(ApiError::invalid(name, format!("{name} must be between 1 and {max}.")))
        }
        other => Ok(other),
    }
}

/// Longest summary prompt, in characters.
pub const MAX_PROMPT_CHARS: usize = 2000;

/// A summary request `{"enabled": bool, "prompt": "…"}` (both optional) of the object named
/// `parent` (for messages: `transcription.summary`, `summary`).
pub fn summary(mut fields: Fields, parent: &str) -> Result<Value, ApiError> {
    let mut out = Map::new();
    match fields.take("enabled") {
        None => {}
        Some(Value::Bool(b)) => {
            out.insert("enabled".into(), Value::Bool(b));
        }
        Some(_) => {
            let field = format!("{parent}.enabled");
            return Err(ApiError::invalid(&field, format!("{field} must be true or false.")));
        }
    }
    let field = format!("{parent}.prompt");
    match fields.take_str("prompt").map_err(|_| ApiError::invalid(&field, format!("{field} must be a string.")))? {
        None => {}
        Some(p) if p.chars().count() > MAX_PROMPT_CHARS => {
            return Err(ApiError::invalid(&field, format!("{field} may hold at most {MAX_PROMPT_CHARS} characters.")));
        }
        Some(p) => {
            out.insert("prompt".into(), Value::String(p));
        }
    }
    finish_nested(fields, parent)?;
    Ok(Value::Object(out))
}

/// [`Fields::finish`] for a nested object: an unknown field is named with its parent's path.
pub fn finish_nested(fields: Fields, parent: &str) -> Result<(), ApiError> {
    fields.finish().map_err(|e| match e {
        ApiError::UnknownField(name) => ApiError::UnknownField(format!("{parent}.{name}")),
        other => other,
    })
}
