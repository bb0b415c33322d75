//! Validated identifiers. Once parsed, a `RoomId` or `ParticipantId` cannot hold a value that
//! would break an upstream URL or be rejected by VideoSDK.

use std::fmt;

const MAX_ID_LEN: usize = 128;

/// Every webhook event VideoSDK sends (a room's `webhook.events` may name only these).
pub const WEBHOOK_EVENT_TYPES: &[&str] = &[
    "participant-joined",
    "participant-left",
    "session-started",
    "session-ended",
    "recording-starting",
    "recording-started",
    "recording-stopping",
    "recording-stopped",
    "recording-failed",
    "livestream-starting",
    "livestream-started",
    "livestream-stopping",
    "livestream-stopped",
    "livestream-failed",
    "hls-starting",
    "hls-started",
    "hls-playable",
    "hls-stopping",
    "hls-stopped",
    "hls-failed",
    "agent-session-starting",
    "agent-session-started",
    "agent-session-stopping",
    "agent-session-stopped",
    "agent-session-failed",
];

/// A room (meeting) id or custom room id: 1–128 characters from `A–Z a–z 0–9 - _ .`.
#[derive(Clone, PartialEq, Eq)]
pub struct RoomId(String);

impl RoomId {
    pub fn parse(value: &str) -> Result<Self, IdError> {
        check_len(value)?;
        // `.` and `..` are path segments the URL library resolves: `/v2/rooms/validate/..` would
        // reach `/v2/rooms/`.
        if value.bytes().all(|b| b == b'.') {
            return Err(IdError::Characters("A-Z a-z 0-9 - _ . (not dots alone)"));
        }
        if value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
            Ok(RoomId(value.to_owned()))
        } else {
            Err(IdError::Characters("A-Z a-z 0-9 - _ ."))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A participant id: 1–128 characters, no whitespace or control characters (VideoSDK 4004).
#[derive(Clone, PartialEq, Eq)]
pub struct ParticipantId(String);

impl ParticipantId {
    pub fn parse(value: &str) -> Result<Self, IdError> {
        check_len(value)?;
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Err(IdError::Characters("any character except whitespace and control characters"))
        } else {
            Ok(ParticipantId(value.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The host of an absolute URL whose scheme is one of `schemes`, lowercased, without port or
/// user info. Refuses whitespace, control characters and URLs longer than 2048 bytes.
pub fn url_host(value: &str, schemes: &[&str]) -> Result<String, IdError> {
    if value.len() > 2048 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(IdError::Url);
    }
    let (scheme, rest) = value.split_once("://").ok_or(IdError::Url)?;
    if !schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return Err(IdError::Scheme(schemes.join(" or ")));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    if host.is_empty() || authority.contains('@') {
        return Err(IdError::Url);
    }
    Ok(host.to_ascii_lowercase())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must be an absolute URL with a host")]
    Url,
    #[error("must be a {0} URL")]
    Scheme(String),
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 128 characters")]
    TooLong,
    #[error("may only contain {0}")]
    Characters(&'static str),
}

fn check_len(value: &str) -> Result<(), IdError> {
    match value.chars().count() {
        0 => Err(IdError::Empty),
        n if n > MAX_ID_LEN => Err(IdError::TooLong),
        _ => Ok(()),
    }
}

impl fmt::Debug for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoomId({:?})", self.0)
    }
}

impl fmt::Debug for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ParticipantId({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_ids_follow_the_contract() {
        assert!(RoomId::parse("abcd-efgh-ijkl").is_ok());
        assert!(RoomId::parse("Final_Test.1").is_ok());
        assert!(RoomId::parse(&"a".repeat(128)).is_ok());
        assert_eq!(RoomId::parse(&"a".repeat(129)), Err(IdError::TooLong));
        assert_eq!(RoomId::parse(""), Err(IdError::Empty));
        for bad in ["a/b", "../x", "a b", "a%2Fb", "é", "a?b", "a#b", ".", "..", "..."] {
            assert!(matches!(RoomId::parse(bad), Err(IdError::Characters(_))), "{bad}");
        }
    }

    #[test]
    fn url_hosts_are_extracted_and_schemes_enforced() {
        let rtmp = &["rtmp", "rtmps"];
        assert_eq!(url_host("rtmp://a.rtmp.youtube.com/live2", rtmp).unwrap(), "a.rtmp.youtube.com");
        assert_eq!(url_host("RTMPS://Live.Twitch.tv:443/app", rtmp).unwrap(), "live.twitch.tv");
        assert_eq!(url_host("https://hooks.example.com", &["https"]).unwrap(), "hooks.example.com");
        assert_eq!(url_host("http://hooks.example.com", &["https"]), Err(IdError::Scheme("https".into())));
        assert_eq!(url_host("file:///etc/passwd", rtmp), Err(IdError::Scheme("rtmp or rtmps".into())));
        for bad in ["rtmp://", "rtmp:///x", "rtmp://user@host/x", "rtmp://a b/x", "youtube.com/live"] {
            assert!(url_host(bad, rtmp).is_err(), "{bad}");
        }
    }

    #[test]
    fn participant_ids_reject_whitespace_and_controls() {
        assert!(ParticipantId::parse("user@example.com").is_ok());
        assert!(ParticipantId::parse("Zoë|42").is_ok());
        for bad in ["a b", "a\tb", "a\nb", "\u{7}", " lead"] {
            assert!(ParticipantId::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(ParticipantId::parse(&"é".repeat(129)), Err(IdError::TooLong));
    }
}
