//! What a caller may do: which permissions and participant id a token may carry, and who may
//! drive live streams. The single place where these rules live.

use std::time::Duration;

use crate::caller::Caller;
use crate::claims::{Permission, Permissions};
use crate::config::{Config, OptIn};
use crate::error::ApiError;
use crate::ids::ParticipantId;

/// The header `make dev`'s front door stamps every forwarded event with (`DEV_REQUEST_SECRET`).
pub const DEV_REQUEST_SECRET_HEADER: &str = "x-dev-request-secret";

/// The permissions a participant token gets: what was asked, if allowed. A caller that asks for
/// none gets `allow_join`, or `ANONYMOUS_DEFAULT_PERMISSIONS` when anonymous.
pub fn token_permissions(
    caller: &Caller,
    requested: Option<Permissions>,
    config: &Config,
) -> Result<Permissions, ApiError> {
    let permissions = match (requested, caller) {
        (Some(p), _) => p,
        (None, Caller::Anonymous) => Permissions::new(config.anonymous.default_permissions.iter().copied())
            .map_err(|_| ApiError::Misconfigured)?,
        (None, Caller::User { .. }) => Permissions::new([Permission::AllowJoin]).map_err(|_| ApiError::Internal)?,
    };
    for &p in permissions.as_slice() {
        match caller {
            Caller::Anonymous if !config.anonymous.permissions.contains(&p) => {
                let allowed: Vec<&str> = config.anonymous.permissions.iter().map(|p| p.as_str()).collect();
                return Err(ApiError::Forbidden(format!(
                    "Anonymous callers may not ask for {p}; allowed: {}.",
                    if allowed.is_empty() { "none".to_owned() } else { allowed.join(", ") }
                )));
            }
            Caller::User { moderator: false, .. } if p == Permission::AllowMod => {
                return Err(ApiError::Forbidden(format!(
                    "Only members of the \"{}\" group may ask for allow_mod.",
                    config.moderator_group
                )));
            }
            _ => {}
        }
    }
    Ok(permissions)
}

/// The lifetimes a caller's participant token may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ttls {
    /// When the caller names none.
    pub default: Duration,
    /// The longest it may ask for.
    pub max: Duration,
    /// Appended to the 400 message: whose bound it is.
    pub who: &'static str,
}

/// `TOKEN_DEFAULT_TTL_SECONDS` and `TOKEN_MAX_TTL_SECONDS`; anonymous callers are also capped
/// by `ANONYMOUS_MAX_TTL_SECONDS`, default included.
pub fn token_ttls(caller: &Caller, config: &Config) -> Ttls {
    match caller {
        Caller::Anonymous => {
            let max = config.tokens.max_ttl.min(config.anonymous.max_ttl);
            Ttls { default: config.tokens.default_ttl.min(max), max, who: " for anonymous callers" }
        }
        Caller::User { .. } => Ttls { default: config.tokens.default_ttl, max: config.tokens.max_ttl, who: "" },
    }
}

/// The participant id a token is bound to. A signed-in caller is always bound to its own `sub`.
pub fn token_participant(caller: &Caller, requested: Option<ParticipantId>) -> Result<Option<ParticipantId>, ApiError> {
    match caller {
        Caller::Anonymous => Ok(requested),
        Caller::User { sub, .. } => {
            let own = ParticipantId::parse(sub).map_err(|_| {
                ApiError::Forbidden("The caller's \"sub\" claim cannot be used as a participant id.".into())
            })?;
            match requested {
                Some(other) if other != own => Err(ApiError::Forbidden(
                    "participantId must be your own user id (the \"sub\" of your token); omit it to use that.".into(),
                )),
                _ => Ok(Some(own)),
            }
        }
    }
}

/// Whether a request whose `Host` header is `host` may be served under `ALLOWED_HOSTS`: always
/// when the list is empty; otherwise its name (the port dropped, compared case-insensitively) must
/// be listed, and a request without a `Host` is refused.
pub fn host_allowed(allowed: &[String], host: Option<&str>) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let Some(host) = host.map(str::trim) else { return false };
    // `[::1]:9000` → `[::1]`; `localhost:9000` → `localhost`; a bare IPv6 has no brackets: refused.
    let name = match host.strip_prefix('[') {
        Some(rest) => match rest.find(']') {
            Some(end) if rest[end + 1..].is_empty() || rest[end + 1..].starts_with(':') => &host[..end + 2],
            _ => return false,
        },
        None => host.split(':').next().unwrap_or(""),
    };
    let port_ok =
        host[name.len()..].strip_prefix(':').is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    port_ok && allowed.iter().any(|a| a.eq_ignore_ascii_case(name))
}

/// Whether a request whose `Origin` header is `origin` may be served under `ALLOWED_ORIGINS`:
/// always when the list is empty or the request names no origin (apps, servers, curl).
pub fn origin_allowed(allowed: &[String], origin: Option<&str>) -> bool {
    let Some(origin) = origin else { return true };
    if allowed.is_empty() {
        return true;
    }
    let origin = origin.trim().to_ascii_lowercase();
    allowed.iter().any(|entry| match entry.strip_suffix('*') {
        // `http://localhost:*`: that host without a port, or with any port.
        Some(prefix) => {
            origin == prefix[..prefix.len() - 1]
                || origin
                    .strip_prefix(prefix)
                    .is_some_and(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        }
        None => origin == *entry,
    })
}

/// Whether a caller may name the room it creates (`customRoomId`). Creation is idempotent on
/// the name, so an anonymous caller naming `weekly-allhands` first would own the room the real
/// app joins later: refused for anonymous callers (and, under `CALLER_AUTH=none`, for the
/// bearers of participant tokens, which anyone can get) unless `ANONYMOUS_CUSTOM_ROOM_IDS=allow`.
pub fn may_name_rooms(anonymous: bool, config: &Config) -> Result<(), ApiError> {
    match anonymous && !config.anonymous.allows(OptIn::CustomRoomIds) {
        false => Ok(()),
        true => Err(ApiError::Forbidden(
            "Anonymous callers may not choose the room's name (customRoomId): whoever names a room first owns it. \
             Omit customRoomId to get a fresh room; the operator can allow it with ANONYMOUS_CUSTOM_ROOM_IDS=allow."
                .into(),
        )),
    }
}

/// What a live-stream call does, as the policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamAction {
    /// RTMP to hosts `LIVESTREAM_ALLOWED_HOSTS` bounds.
    StartRtmp,
    /// HLS: a public playback URL of the room.
    StartHls,
    /// Ending a room's stream, whoever started it.
    End,
}

/// Who may start and end live streams: moderators when callers are signed in. Anonymous callers
/// only by the operator's opt-in for exactly that action: `ANONYMOUS_LIVESTREAMS=allow` covers
/// RTMP to `LIVESTREAM_ALLOWED_HOSTS` (and nothing without that list); HLS start
/// (`ANONYMOUS_HLS=allow`) and ending streams (`ANONYMOUS_END_LIVESTREAMS=allow`) have their own,
/// since the host list bounds neither. Otherwise anyone could restream or publish any room.
pub fn may_run_livestreams(caller: &Caller, config: &Config, action: StreamAction) -> Result<(), ApiError> {
    let anonymous_allowed = match action {
        StreamAction::StartRtmp => {
            config.anonymous.allows(OptIn::Livestreams) && !config.livestream_allowed_hosts.is_empty()
        }
        StreamAction::StartHls => config.anonymous.allows(OptIn::Hls),
        StreamAction::End => config.anonymous.allows(OptIn::EndLivestreams),
    };
    match caller {
        Caller::Anonymous if anonymous_allowed => Ok(()),
        Caller::Anonymous => Err(ApiError::Forbidden(
            match action {
                StreamAction::StartRtmp => {
                    "Anonymous callers may not start RTMP live streams. The operator can allow it with \
                     ANONYMOUS_LIVESTREAMS=allow together with LIVESTREAM_ALLOWED_HOSTS, or require signed-in \
                     moderators (CALLER_AUTH=jwt)."
                }
                StreamAction::StartHls => {
                    "Anonymous callers may not start HLS streams (a public playback URL of the room). The operator \
                     can allow it with ANONYMOUS_HLS=allow, or require signed-in moderators (CALLER_AUTH=jwt)."
                }
                StreamAction::End => {
                    "Anonymous callers may not end live streams. The operator can allow it with \
                     ANONYMOUS_END_LIVESTREAMS=allow, or require signed-in moderators (CALLER_AUTH=jwt)."
                }
            }
            .into(),
        )),
        Caller::User { moderator: true, .. } => Ok(()),
        Caller::User { moderator: false, .. } => Err(ApiError::Forbidden(format!(
            "Only members of the \"{}\" group may start or end live streams.",
            config.moderator_group
        ))),
    }
}

/// Who may record a room, list its recordings and end its meeting: moderators when callers are
/// signed in; anonymous callers only with `ANONYMOUS_ROOM_CONTROL=allow` (for local use).
pub fn may_control_rooms(caller: &Caller, config: &Config) -> Result<(), ApiError> {
    match caller {
        Caller::Anonymous if config.anonymous.allows(OptIn::RoomControl) => Ok(()),
        Caller::Anonymous => Err(ApiError::Forbidden(
            "Anonymous callers may not record or transcribe rooms or end meetings. Sign in as a moderator (CALLER_AUTH=jwt); \
             for local use only, the operator can set ANONYMOUS_ROOM_CONTROL=allow."
                .into(),
        )),
        Caller::User { moderator: true, .. } => Ok(()),
        Caller::User { moderator: false, .. } => Err(ApiError::Forbidden(format!(
            "Only members of the \"{}\" group may record rooms or end meetings.",
            config.moderator_group
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_lookup(|_| None).unwrap()
    }

    #[test]
    fn origins_outside_the_list_are_refused() {
        let list: Vec<String> =
            ["http://localhost:*", "http://127.0.0.1:*", "https://app.example.com"].map(String::from).into();
        for ok in [
            None,
            Some("http://localhost:3000"),
            Some("http://localhost"),
            Some("HTTP://LocalHost:5173"),
            Some("http://127.0.0.1:9000"),
            Some("https://app.example.com"),
        ] {
            assert!(origin_allowed(&list, ok), "{ok:?}");
        }
        for refused in [
            "https://evil.example",
            "http://localhost.evil.example",
            "http://localhost:3000.evil.example",
            "http://localhost:",
            "https://localhost:3000",
            "http://app.example.com",
            "https://app.example.com:8443",
            "https://app.example.com.evil.example",
            "null",
            "",
        ] {
            assert!(!origin_allowed(&list, Some(refused)), "{refused:?}");
        }
        assert!(origin_allowed(&[], Some("https://evil.example")), "no list: any origin");
    }

    #[test]
    fn hosts_are_matched_by_name_whatever_the_port() {
        let list: Vec<String> = ["localhost", "127.0.0.1", "[::1]"].map(String::from).to_vec();
        for ok in ["localhost", "localhost:9000", "LOCALHOST:9000", "127.0.0.1:9000", "[::1]:9000", "[::1]"] {
            assert!(host_allowed(&list, Some(ok)), "{ok:?}");
        }
        for refused in [
            None,
            Some("attacker.example:9000"),
            Some("attacker.example"),
            Some("localhost.attacker.example:9000"),
            Some("127.0.0.1.nip.io:9000"),
            Some("localhost:"),
            Some("localhost:9000:1"),
            Some("localhost:90a0"),
            Some("[::1"),
            Some("[::1]x"),
            Some("::1"),
            Some(""),
        ] {
            assert!(!host_allowed(&list, refused), "{refused:?}");
        }
        assert!(host_allowed(&[], Some("attacker.example")) && host_allowed(&[], None), "no list: any host");
    }

    fn perms(list: &[Permission]) -> Option<Permissions> {
        Some(Permissions::new(list.iter().copied()).unwrap())
    }

    #[test]
    fn default_is_allow_join() {
        let p = token_permissions(&Caller::Anonymous, None, &config()).unwrap();
        assert_eq!(p.as_slice(), &[Permission::AllowJoin]);
    }

    #[test]
    fn allow_mod_needs_a_moderator() {
        let user = Caller::User { sub: "u".into(), moderator: false };
        let moderator = Caller::User { sub: "m".into(), moderator: true };
        let ask = perms(&[Permission::AllowJoin, Permission::AllowMod]);
        assert_eq!(token_permissions(&user, ask.clone(), &config()).unwrap_err().code(), "forbidden");
        assert!(token_permissions(&moderator, ask.clone(), &config()).is_ok());
        assert_eq!(token_permissions(&Caller::Anonymous, ask, &config()).unwrap_err().code(), "forbidden");
    }

    #[test]
    fn anonymous_callers_get_the_operator_s_default() {
        let c = crate::config::Config::from_lookup(|k| match k {
            "ANONYMOUS_PERMISSIONS" => Some("allow_join,allow_mod".into()),
            "ANONYMOUS_DEFAULT_PERMISSIONS" => Some("allow_join,allow_mod".into()),
            _ => None,
        })
        .unwrap();
        let p = token_permissions(&Caller::Anonymous, None, &c).unwrap();
        assert_eq!(p.as_slice(), &[Permission::AllowJoin, Permission::AllowMod]);
        let user = Caller::User { sub: "u".into(), moderator: false };
        assert_eq!(token_permissions(&user, None, &c).unwrap().as_slice(), &[Permission::AllowJoin]);
    }

    #[test]
    fn anonymous_live_streams_need_the_opt_in_and_a_host_list() {
        let with = |vars: &'static [(&'static str, &'static str)]| {
            crate::config::Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
                .unwrap()
        };
        let refused = [
            with(&[]),
            with(&[("ANONYMOUS_LIVESTREAMS", "allow")]),
            with(&[("LIVESTREAM_ALLOWED_HOSTS", "a.rtmp.youtube.com")]),
        ];
        for c in &refused {
            assert_eq!(
                may_run_livestreams(&Caller::Anonymous, c, StreamAction::StartRtmp).unwrap_err().code(),
                "forbidden"
            );
        }
        let opted_in = with(&[("ANONYMOUS_LIVESTREAMS", "allow"), ("LIVESTREAM_ALLOWED_HOSTS", "a.rtmp.youtube.com")]);
        assert!(may_run_livestreams(&Caller::Anonymous, &opted_in, StreamAction::StartRtmp).is_ok());
        // The RTMP opt-in bounds RTMP only: HLS and ending streams need their own.
        for action in [StreamAction::StartHls, StreamAction::End] {
            assert_eq!(may_run_livestreams(&Caller::Anonymous, &opted_in, action).unwrap_err().code(), "forbidden");
        }
        let hls = with(&[("ANONYMOUS_HLS", "allow")]);
        assert!(may_run_livestreams(&Caller::Anonymous, &hls, StreamAction::StartHls).is_ok());
        assert!(may_run_livestreams(&Caller::Anonymous, &hls, StreamAction::End).is_err());
        let end = with(&[("ANONYMOUS_END_LIVESTREAMS", "allow")]);
        assert!(may_run_livestreams(&Caller::Anonymous, &end, StreamAction::End).is_ok());
        assert!(may_run_livestreams(&Caller::Anonymous, &end, StreamAction::StartHls).is_err());
        let moderator = Caller::User { sub: "m".into(), moderator: true };
        let user = Caller::User { sub: "u".into(), moderator: false };
        for action in [StreamAction::StartRtmp, StreamAction::StartHls, StreamAction::End] {
            assert!(may_run_livestreams(&moderator, &with(&[]), action).is_ok());
            assert_eq!(may_run_livestreams(&user, &opted_in, action).unwrap_err().code(), "forbidden");
        }
    }

    #[test]
    fn room_control_is_for_moderators_or_an_explicit_local_opt_in() {
        let moderator = Caller::User { sub: "m".into(), moderator: true };
        let user = Caller::User { sub: "u".into(), moderator: false };
        assert!(may_control_rooms(&moderator, &config()).is_ok());
        assert_eq!(may_control_rooms(&user, &config()).unwrap_err().code(), "forbidden");
        assert_eq!(may_control_rooms(&Caller::Anonymous, &config()).unwrap_err().code(), "forbidden");
        let opted_in = Config::from_lookup(|k| (k == "ANONYMOUS_ROOM_CONTROL").then(|| "allow".into())).unwrap();
        assert!(may_control_rooms(&Caller::Anonymous, &opted_in).is_ok());
        assert_eq!(may_control_rooms(&user, &opted_in).unwrap_err().code(), "forbidden");
    }

    #[test]
    fn signed_in_callers_are_bound_to_their_sub() {
        let user = Caller::User { sub: "user-1".into(), moderator: false };
        let own = token_participant(&user, None).unwrap().unwrap();
        assert_eq!(own.as_str(), "user-1");
        let other = ParticipantId::parse("user-2").ok();
        assert_eq!(token_participant(&user, other).unwrap_err().code(), "forbidden");
        let anonymous = token_participant(&Caller::Anonymous, ParticipantId::parse("x").ok()).unwrap();
        assert_eq!(anonymous.unwrap().as_str(), "x");
    }
}
