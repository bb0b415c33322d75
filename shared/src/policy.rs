//! What a caller may do: which permissions and participant id a token may carry, and who may
//! drive live streams. The single place where these rules live.

use crate::caller::Caller;
use crate::claims::{Permission, Permissions};
use crate::config::Config;
use crate::http::ApiError;
use crate::ids::ParticipantId;

/// The permissions a participant token gets: what was asked (default `allow_join`), if allowed.
pub fn token_permissions(
    caller: &Caller,
    requested: Option<Permissions>,
    config: &Config,
) -> Result<Permissions, ApiError> {
    let permissions = match requested {
        Some(p) => p,
        None => Permissions::new([Permission::AllowJoin]).map_err(|_| ApiError::Internal)?,
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

/// Live streams are started and ended by moderators only when callers are signed in.
pub fn require_moderator(caller: &Caller, config: &Config) -> Result<(), ApiError> {
    match caller {
        Caller::Anonymous => Ok(()),
        Caller::User { moderator: true, .. } => Ok(()),
        Caller::User { moderator: false, .. } => Err(ApiError::Forbidden(format!(
            "Only members of the \"{}\" group may start or end live streams.",
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
