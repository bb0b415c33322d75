//! What the room-control endpoints (`start-recording`, `end-recording`, `list-recordings`,
//! `end-meeting`) do first: the method, a caller allowed to control rooms, and the room.
//! Parsing and policy only; the upstream calls are in `videosdk::recordings` and
//! `videosdk::sessions`.

use lambda_http::Request;
use lambda_http::http::Method;

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
