//! What a caller may do: which permissions and participant id a token may carry, and who may
//! drive live streams. The single place where these rules live.

use crate::caller::Caller;
use crate::claims::{Permission, Permissions};
use crate::config::Config;
use crate::error::ApiError;
use crate::ids::ParticipantId;

/// The permissions a participant token gets: what was asked, if allowed. A caller that asks for
/// none gets `allow_join`, or `ANONYMOUS_DEFAULT_PERMISSIONS` when anonymous.
pub fn token_permissions(
    caller: &Caller,
    requested: Option<Permissions>,
    config: &Config,
) -> Result<Permissions, ApiError> {
    let permissions = match (requested, caller) {
        (Some(p), _) => p,
        (None, Caller::Anonymous) => Permissions::new(config.anonymous_default_permissions.iter().copied())
            .map_err(|_| ApiError::Misconfigured)?,
        (None, Caller::User { .. }) => Permissions::new([Permission::AllowJoin]).map_err(|_| ApiError::Internal)?,
    };
    for &p in permissions.as_slice() {
        match caller {
            Caller::Anonymous if !config.anonymous_permissions.contains(&p) => {
                let allowed: Vec<&str> = config.anonymous_permissions.iter().map(|p| p.as_str()).collect();
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

/// Who may start and end live streams: moderators when callers are signed in; anonymous callers
/// only when the operator opted in (`ANONYMOUS_LIVESTREAMS=allow`) and also limited where
/// streams may go (`LIVESTREAM_ALLOWED_HOSTS`). Otherwise anyone could restream any room anywhere.
pub fn may_run_livestreams(caller: &Caller, config: &Config) -> Result<(), ApiError> {
    match caller {
        Caller::Anonymous if config.anonymous_livestreams && !config.livestream_allowed_hosts.is_empty() => Ok(()),
        Caller::Anonymous => Err(ApiError::Forbidden(
            "Anonymous callers may not start or end live streams. The operator can allow it with \
             ANONYMOUS_LIVESTREAMS=allow together with LIVESTREAM_ALLOWED_HOSTS, or require signed-in moderators \
             (CALLER_AUTH=jwt)."
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
        Caller::Anonymous if config.anonymous_room_control => Ok(()),
        Caller::Anonymous => Err(ApiError::Forbidden(
            "Anonymous callers may not record rooms or end meetings. Sign in as a moderator (CALLER_AUTH=jwt); \
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
            assert_eq!(may_run_livestreams(&Caller::Anonymous, c).unwrap_err().code(), "forbidden");
        }
        let opted_in = with(&[("ANONYMOUS_LIVESTREAMS", "allow"), ("LIVESTREAM_ALLOWED_HOSTS", "a.rtmp.youtube.com")]);
        assert!(may_run_livestreams(&Caller::Anonymous, &opted_in).is_ok());
        let moderator = Caller::User { sub: "m".into(), moderator: true };
        let user = Caller::User { sub: "u".into(), moderator: false };
        assert!(may_run_livestreams(&moderator, &with(&[])).is_ok());
        assert_eq!(may_run_livestreams(&user, &opted_in).unwrap_err().code(), "forbidden");
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
