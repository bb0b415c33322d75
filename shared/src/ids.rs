//! Validated identifiers. Once parsed, a `RoomId` or `ParticipantId` cannot hold a value that
//! would break an upstream URL or be rejected by VideoSDK.

use std::fmt;

const MAX_ID_LEN: usize = 128;

/// A room (meeting) id or custom room id: 1–128 characters from `A–Z a–z 0–9 - _ .`.
#[derive(Clone, PartialEq, Eq)]
pub struct RoomId(String);

impl RoomId {
    pub fn parse(value: &str) -> Result<Self, IdError> {
        check_len(value)?;
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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
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
        for bad in ["a/b", "../x", "a b", "a%2Fb", "é", "a?b", "a#b"] {
            assert!(matches!(RoomId::parse(bad), Err(IdError::Characters(_))), "{bad}");
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
