//! VideoSDK access-token claims: typed permissions and roles, and a builder that refuses to
//! produce a token VideoSDK would reject or that would never expire.
//!
//! Not for deciding *who* may get which permissions: that is `policy`.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::credentials::Credentials;
use crate::ids::{ParticipantId, RoomId};

/// One VideoSDK permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Join the room directly.
    AllowJoin,
    /// Wait in the lobby until someone holding `allow_join` admits the participant.
    AskJoin,
    /// Moderate: toggle other participants' mic/webcam and remove them.
    AllowMod,
}

impl Permission {
    pub const ALL: [Permission; 3] = [Permission::AllowJoin, Permission::AskJoin, Permission::AllowMod];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::AllowJoin => "allow_join",
            Permission::AskJoin => "ask_join",
            Permission::AllowMod => "allow_mod",
        }
    }

    /// Parses the exact lowercase name VideoSDK uses.
    pub fn parse(name: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A non-empty, duplicate-free permission list that respects VideoSDK's rule that `ask_join`
/// stands alone (client error 4008 otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions(Vec<Permission>);

impl Permissions {
    pub fn new(list: impl IntoIterator<Item = Permission>) -> Result<Self, ClaimsError> {
        let mut perms: Vec<Permission> = list.into_iter().collect();
        perms.sort();
        perms.dedup();
        if perms.is_empty() {
            return Err(ClaimsError::NoPermissions);
        }
        if perms.contains(&Permission::AskJoin) && perms.len() > 1 {
            return Err(ClaimsError::AskJoinNotAlone);
        }
        Ok(Permissions(perms))
    }

    pub fn as_slice(&self) -> &[Permission] {
        &self.0
    }

    pub fn contains(&self, p: Permission) -> bool {
        self.0.contains(&p)
    }
}

/// A VideoSDK token role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May call the v2 REST API; may not join a room. Server-side management tokens only.
    Crawler,
    /// May join a room; may not call the REST API.
    Rtc,
}

/// The role participant tokens carry (`PARTICIPANT_TOKEN_ROLE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipantRole {
    /// `roles: ["rtc"]`.
    Rtc,
    /// No `roles` claim: for older client apps that call the REST API themselves.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    #[error("a token needs at least one permission")]
    NoPermissions,
    #[error("ask_join cannot be combined with allow_join or allow_mod")]
    AskJoinNotAlone,
    #[error("a token needs a lifetime of at least one second")]
    NoExpiry,
    #[error("a token may live at most 7 days")]
    TooLong,
    #[error("the token could not be signed")]
    Signing,
}

/// The longest lifetime any token may have: 7 days.
pub const MAX_TTL_SECONDS: u64 = 7 * 24 * 3600;

/// The exact JSON payload VideoSDK reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub apikey: String,
    pub permissions: Vec<Permission>,
    /// `2` on every token but a room-less agent token (the agent payload has none).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub roles: Option<Vec<Role>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub room_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub participant_id: Option<String>,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
}

/// Builds and signs one token. Start from [`TokenBuilder::participant`] or
/// [`TokenBuilder::management`].
#[derive(Debug, Clone)]
pub struct TokenBuilder {
    permissions: Permissions,
    role: Option<Role>,
    room_id: Option<RoomId>,
    participant_id: Option<ParticipantId>,
    ttl: Option<Duration>,
    /// Which kind of token this is, for the metrics.
    kind: crate::metrics::TokenKind,
}

/// A signed token. `Debug` shows the `jti` and expiry, never the token itself.
pub struct SignedToken {
    token: String,
    pub jti: String,
    pub iat: u64,
    pub exp: u64,
}

impl SignedToken {
    /// The compact JWT. Only for the response body or the upstream `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.token
    }

    pub fn expires_in(&self) -> u64 {
        self.exp - self.iat
    }
}

impl fmt::Debug for SignedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedToken")
            .field("token", &"<redacted>")
            .field("jti", &self.jti)
            .field("iat", &self.iat)
            .field("exp", &self.exp)
            .finish()
    }
}

impl TokenBuilder {
    /// A token for a participant joining a room from a client app.
    pub fn participant(role: ParticipantRole, permissions: Permissions) -> Self {
        TokenBuilder {
            permissions,
            role: match role {
                ParticipantRole::Rtc => Some(Role::Rtc),
                ParticipantRole::None => None,
            },
            room_id: None,
            participant_id: None,
            ttl: None,
            kind: crate::metrics::TokenKind::Participant,
        }
    }

    /// A token for a server running a VideoSDK AI agent, as the agents SDK mints its own:
    /// `apikey`, `permissions`, `version: 2`, no role.
    pub fn agent(permissions: Permissions) -> Self {
        TokenBuilder {
            permissions,
            role: None,
            room_id: None,
            participant_id: None,
            ttl: None,
            kind: crate::metrics::TokenKind::Agent,
        }
    }

    /// The server's own token for the REST API: `crawler`, `allow_join` + `allow_mod`.
    pub fn management() -> Self {
        TokenBuilder {
            permissions: Permissions(vec![Permission::AllowJoin, Permission::AllowMod]),
            role: Some(Role::Crawler),
            room_id: None,
            participant_id: None,
            ttl: None,
            kind: crate::metrics::TokenKind::Management,
        }
    }

    pub fn room(mut self, room_id: Option<RoomId>) -> Self {
        self.room_id = room_id;
        self
    }

    pub fn participant_id(mut self, participant_id: Option<ParticipantId>) -> Self {
        self.participant_id = participant_id;
        self
    }

    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// The claims this builder would sign at `now`.
    pub fn claims(&self, apikey: &str, now: SystemTime) -> Result<Claims, ClaimsError> {
        let ttl = self.ttl.filter(|t| t.as_secs() > 0).ok_or(ClaimsError::NoExpiry)?.as_secs();
        if ttl > MAX_TTL_SECONDS {
            return Err(ClaimsError::TooLong);
        }
        let iat = now.duration_since(UNIX_EPOCH).map_err(|_| ClaimsError::Signing)?.as_secs();
        let exp = iat.checked_add(ttl).ok_or(ClaimsError::Signing)?;
        Ok(Claims {
            apikey: apikey.to_owned(),
            permissions: self.permissions.as_slice().to_vec(),
            // Every token this API signs is a version 2 token (VideoSDK requires it with a room,
            // a participant or a role; the agents SDK sets it always).
            version: Some(2),
            roles: self.role.map(|r| vec![r]),
            room_id: self.room_id.as_ref().map(|r| r.as_str().to_owned()),
            participant_id: self.participant_id.as_ref().map(|p| p.as_str().to_owned()),
            iat,
            exp,
            jti: uuid::Uuid::new_v4().to_string(),
        })
    }

    /// Signs with HS256 and the project secret.
    pub fn sign(&self, credentials: &Credentials, now: SystemTime) -> Result<SignedToken, ClaimsError> {
        let claims = self.claims(credentials.api_key(), now)?;
        let key = EncodingKey::from_secret(credentials.secret_bytes());
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).map_err(|_| ClaimsError::Signing)?;
        crate::metrics::token_issued(self.kind);
        Ok(SignedToken { token, jti: claims.jti, iat: claims.iat, exp: claims.exp })
    }
}

/// Why a token a client presented was not accepted. The messages are safe to show the caller
/// and never quote the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token is not signed with HS256")]
    Algorithm,
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token has no expiry")]
    NoExpiry,
    #[error("the token was issued for another API key")]
    ForeignKey,
}

/// Verifies a token a client presents (`Authorization: <token>`): HS256 with `credentials`'
/// secret, an `exp` in the future (no leeway), and `apikey` equal to ours. Nothing else about
/// the token is trusted before this returns.
pub fn verify(token: &str, credentials: &Credentials) -> Result<Claims, VerifyError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.validate_exp = true;
    validation.required_spec_claims = ["exp"].into_iter().map(String::from).collect();
    let key = DecodingKey::from_secret(credentials.secret_bytes());
    let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => VerifyError::Signature,
            ErrorKind::ExpiredSignature => VerifyError::Expired,
            ErrorKind::MissingRequiredClaim(_) => VerifyError::NoExpiry,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => VerifyError::Algorithm,
            _ => VerifyError::Malformed,
        })?
        .claims;
    if claims.apikey != credentials.api_key() {
        return Err(VerifyError::ForeignKey);
    }
    Ok(claims)
}

/// The `iat` of a token whose signature has NOT been verified: only a hint (whether the token
/// may come from a newer secret), never an identity.
pub fn issued_at_unverified(token: &str) -> Option<u64> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<serde_json::Value>(&json).ok()?.get("iat")?.as_u64()
}

/// Formats Unix seconds as RFC 3339 UTC (`2026-11-23T11:29:48Z`).
pub fn rfc3339_utc(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Howard Hinnant's civil-from-days algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3_600, (secs % 3_600) / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    fn creds() -> Credentials {
        Credentials::new("key-123".into(), "s3cr3t-value".into())
    }

    fn decode(token: &str, secret: &[u8]) -> Result<Claims, jsonwebtoken::errors::Error> {
        let mut v = Validation::new(Algorithm::HS256);
        v.required_spec_claims = ["exp", "iat"].into_iter().map(String::from).collect();
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret), &v).map(|d| d.claims)
    }

    fn perms(list: &[Permission]) -> Permissions {
        Permissions::new(list.iter().copied()).unwrap()
    }

    #[test]
    fn participant_token_round_trips_with_every_claim() {
        let now = SystemTime::now();
        let token = TokenBuilder::participant(ParticipantRole::Rtc, perms(&[Permission::AllowJoin]))
            .room(Some(RoomId::parse("abc-defg-hijk").unwrap()))
            .participant_id(Some(ParticipantId::parse("user-1").unwrap()))
            .ttl(Duration::from_secs(600))
            .sign(&creds(), now)
            .unwrap();
        let claims = decode(token.expose(), b"s3cr3t-value").unwrap();
        assert_eq!(claims.apikey, "key-123");
        assert_eq!(claims.permissions, vec![Permission::AllowJoin]);
        assert_eq!(claims.version, Some(2));
        assert_eq!(claims.roles, Some(vec![Role::Rtc]));
        assert_eq!(claims.room_id.as_deref(), Some("abc-defg-hijk"));
        assert_eq!(claims.participant_id.as_deref(), Some("user-1"));
        assert_eq!(claims.exp - claims.iat, 600);
        assert_eq!(claims.iat, now.duration_since(UNIX_EPOCH).unwrap().as_secs());
        assert!(uuid::Uuid::parse_str(&claims.jti).is_ok());
        assert_eq!(claims.jti, token.jti);
    }

    #[test]
    fn header_is_exactly_hs256_jwt() {
        let token = TokenBuilder::management().ttl(Duration::from_secs(60)).sign(&creds(), SystemTime::now()).unwrap();
        let header = token.expose().split('.').next().unwrap();
        let raw = base64_url_decode(header);
        let value: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(value, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
    }

    #[test]
    fn wrong_secret_fails_verification() {
        let token = TokenBuilder::management().ttl(Duration::from_secs(60)).sign(&creds(), SystemTime::now()).unwrap();
        assert!(decode(token.expose(), b"another-secret").is_err());
    }

    #[test]
    fn role_less_mode_omits_roles_and_optional_ids() {
        let token = TokenBuilder::participant(ParticipantRole::None, perms(&[Permission::AskJoin]))
            .ttl(Duration::from_secs(60))
            .sign(&creds(), SystemTime::now())
            .unwrap();
        let payload = base64_url_decode(token.expose().split('.').nth(1).unwrap());
        let value: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        let obj = value.as_object().unwrap();
        assert!(!obj.contains_key("roles"));
        assert!(!obj.contains_key("roomId"));
        assert!(!obj.contains_key("participantId"));
        assert_eq!(obj["permissions"], serde_json::json!(["ask_join"]));
        assert_eq!(obj["version"], 2);
    }

    #[test]
    fn management_token_is_crawler_with_join_and_mod() {
        let token = TokenBuilder::management().ttl(Duration::from_secs(300)).sign(&creds(), SystemTime::now()).unwrap();
        let claims = decode(token.expose(), b"s3cr3t-value").unwrap();
        assert_eq!(claims.roles, Some(vec![Role::Crawler]));
        assert_eq!(claims.permissions, vec![Permission::AllowJoin, Permission::AllowMod]);
        assert_eq!(claims.version, Some(2));
    }

    #[test]
    fn agent_tokens_carry_no_role_and_always_version_2() {
        let bare = TokenBuilder::agent(perms(&[Permission::AllowJoin])).ttl(Duration::from_secs(3600));
        let token = bare.sign(&creds(), SystemTime::now()).unwrap();
        let payload = base64_url_decode(token.expose().split('.').nth(1).unwrap());
        let value: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["apikey", "exp", "iat", "jti", "permissions", "version"]);
        assert_eq!(value["version"], 2, "as the agents SDK mints its own, with or without a room");
        let roomed = bare.room(Some(RoomId::parse("abcd-efgh-ijkl").unwrap()));
        let claims = decode(roomed.sign(&creds(), SystemTime::now()).unwrap().expose(), b"s3cr3t-value").unwrap();
        assert_eq!((claims.version, claims.roles, claims.room_id.as_deref()), (Some(2), None, Some("abcd-efgh-ijkl")));
    }

    #[test]
    fn ask_join_cannot_be_combined_with_allow_join() {
        assert_eq!(Permissions::new([Permission::AskJoin, Permission::AllowJoin]), Err(ClaimsError::AskJoinNotAlone));
        assert_eq!(Permissions::new([Permission::AllowMod, Permission::AskJoin]), Err(ClaimsError::AskJoinNotAlone));
        assert!(Permissions::new([Permission::AskJoin, Permission::AskJoin]).is_ok());
    }

    #[test]
    fn empty_permissions_are_refused() {
        assert_eq!(Permissions::new([]), Err(ClaimsError::NoPermissions));
    }

    #[test]
    fn a_token_without_expiry_is_refused() {
        let builder = TokenBuilder::participant(ParticipantRole::Rtc, perms(&[Permission::AllowJoin]));
        assert_eq!(builder.sign(&creds(), SystemTime::now()).unwrap_err(), ClaimsError::NoExpiry);
        let zero = builder.clone().ttl(Duration::ZERO);
        assert_eq!(zero.sign(&creds(), SystemTime::now()).unwrap_err(), ClaimsError::NoExpiry);
    }

    #[test]
    fn lifetimes_are_bounded_and_never_wrap() {
        let builder = TokenBuilder::participant(ParticipantRole::Rtc, perms(&[Permission::AllowJoin]));
        let week = builder.clone().ttl(Duration::from_secs(MAX_TTL_SECONDS)).sign(&creds(), SystemTime::now());
        assert_eq!(week.unwrap().expires_in(), MAX_TTL_SECONDS);
        for ttl in [MAX_TTL_SECONDS + 1, u64::MAX - 10, u64::MAX] {
            let long = builder.clone().ttl(Duration::from_secs(ttl));
            assert_eq!(long.sign(&creds(), SystemTime::now()).unwrap_err(), ClaimsError::TooLong, "{ttl}");
        }
    }

    #[test]
    fn debug_of_a_signed_token_hides_it() {
        let token = TokenBuilder::management().ttl(Duration::from_secs(60)).sign(&creds(), SystemTime::now()).unwrap();
        let shown = format!("{token:?}");
        assert!(!shown.contains(token.expose()));
        assert!(shown.contains(&token.jti));
    }

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_795_433_388), "2026-11-23T11:29:48Z");
    }

    fn base64_url_decode(s: &str) -> Vec<u8> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut bits = 0u32;
        let mut n = 0;
        let mut out = Vec::new();
        for c in s.bytes() {
            let v = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
            bits = (bits << 6) | v;
            n += 6;
            if n >= 8 {
                n -= 8;
                out.push((bits >> n) as u8);
                bits &= (1 << n) - 1;
            }
        }
        out
    }

    proptest::proptest! {
        /// The claims builder on arbitrary input: never a panic; a token only when every input
        /// is valid, and then its claims are exactly the input.
        #[test]
        fn the_builder_never_panics_and_signs_only_what_it_was_given(
            room in proptest::option::of(".{0,140}"),
            participant in proptest::option::of(".{0,140}"),
            picks in proptest::collection::vec(0usize..3, 0..4),
            ttl in proptest::prop_oneof![0u64..=MAX_TTL_SECONDS + 10, proptest::num::u64::ANY],
            role_less in proptest::bool::ANY,
        ) {
            let all = [Permission::AllowJoin, Permission::AskJoin, Permission::AllowMod];
            let Ok(permissions) = Permissions::new(picks.iter().map(|&i| all[i])) else { return Ok(()) };
            let room_id = room.as_deref().map(RoomId::parse);
            let participant_id = participant.as_deref().map(ParticipantId::parse);
            if matches!(room_id, Some(Err(_))) || matches!(participant_id, Some(Err(_))) {
                return Ok(());
            }
            let role = if role_less { ParticipantRole::None } else { ParticipantRole::Rtc };
            let signed = TokenBuilder::participant(role, permissions.clone())
                .room(room_id.clone().transpose().unwrap())
                .participant_id(participant_id.clone().transpose().unwrap())
                .ttl(Duration::from_secs(ttl))
                .sign(&creds(), SystemTime::now());
            match signed {
                Ok(token) => {
                    proptest::prop_assert!((1..=MAX_TTL_SECONDS).contains(&ttl));
                    let claims = decode(token.expose(), b"s3cr3t-value").unwrap();
                    proptest::prop_assert_eq!(claims.exp - claims.iat, ttl);
                    proptest::prop_assert_eq!(claims.room_id, room);
                    proptest::prop_assert_eq!(claims.participant_id, participant);
                    proptest::prop_assert_eq!(claims.permissions, permissions.as_slice().to_vec());
                    proptest::prop_assert_eq!(claims.roles.is_none(), role_less);
                }
                Err(ClaimsError::NoExpiry) => proptest::prop_assert_eq!(ttl, 0),
                Err(ClaimsError::TooLong) => proptest::prop_assert!(ttl > MAX_TTL_SECONDS),
                Err(e) => proptest::prop_assert!(false, "unexpected {e:?}"),
            }

        }
    }
}
