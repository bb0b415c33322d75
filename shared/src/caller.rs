//! Who is calling: the API Gateway JWT authorizer's claims under `CALLER_AUTH=jwt`, or an
//! anonymous caller under `CALLER_AUTH=none`. Only identity; what a caller may do is `policy`.

use std::collections::HashMap;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::config::{CallerAuth, Config};
use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    User { sub: String, moderator: bool },
}

impl Caller {
    pub fn is_moderator(&self) -> bool {
        matches!(self, Caller::User { moderator: true, .. })
    }

    /// Who to name in the audit log: the authorizer's `sub`, or `anonymous`. Log it with `?`
    /// (quoted and escaped), since a `sub` is the identity provider's text.
    pub fn audit_name(&self) -> &str {
        match self {
            Caller::Anonymous => "anonymous",
            Caller::User { sub, .. } => sub,
        }
    }
}

/// Identifies the caller of `req` as `config.caller_auth` says.
pub fn identify(req: &Request, config: &Config) -> Result<Caller, ApiError> {
    match config.caller_auth {
        CallerAuth::None => Ok(Caller::Anonymous),
        CallerAuth::Jwt => {
            let claims = jwt_claims(req).ok_or_else(|| {
                ApiError::Unauthenticated(
                    "No caller identity: call this API with an Authorization header holding your user's ID token."
                        .into(),
                )
            })?;
            let sub = claims.get("sub").map(|s| s.trim()).filter(|s| !s.is_empty()).ok_or_else(|| {
                ApiError::Unauthenticated(
                    "The caller's token has no \"sub\" claim; use an ID or access token that names the user.".into(),
                )
            })?;
            let moderator = ["cognito:groups", "groups"]
                .iter()
                .filter_map(|name| claims.get(*name))
                .any(|value| group_list(value).iter().any(|g| g == &config.moderator_group));
            Ok(Caller::User { sub: sub.to_owned(), moderator })
        }
    }
}

/// The IAM principal API Gateway verified for a route authorized with `AWS_IAM`: its
/// `userArn`, else its `callerId`. Present in every `CALLER_AUTH` mode; `None` without one.
pub fn iam_principal(req: &Request) -> Option<String> {
    let RequestContext::ApiGatewayV2(ctx) = req.request_context_ref()? else { return None };
    let iam = ctx.authorizer.as_ref()?.iam.as_ref()?;
    [iam.user_arn.as_deref(), iam.caller_id.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|v| !v.is_empty() && v.len() <= 2048 && !v.chars().any(char::is_control))
        .map(str::to_owned)
}

/// Who a per-caller rate limit counts (contract: "Per-caller rate limits"): the JWT `sub`, else
/// the IAM identity, else `requestContext.http.sourceIp`, each named by its kind. Requests that
/// carry none of them (never through API Gateway) share one count.
pub fn rate_key(req: &Request) -> String {
    let sub = jwt_claims(req).and_then(|c| c.get("sub")).map(|s| s.trim()).filter(|s| !s.is_empty());
    if let Some(sub) = sub {
        return format!("sub:{sub}");
    }
    if let Some(principal) = iam_principal(req) {
        return format!("iam:{}", without_session_name(&principal));
    }
    source_ip_key(req)
}

/// The source IP's key: `ip:<IPv4>`, or `ip:<the /64>/64` for IPv6 (one host owns a /64's
/// many addresses).
pub fn source_ip_key(req: &Request) -> String {
    let ip = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.as_deref().map(str::trim),
        _ => None,
    };
    match ip {
        Some(ip) if !ip.is_empty() && ip.len() <= 64 => match ip.parse::<std::net::Ipv6Addr>() {
            Ok(v6) if v6.to_ipv4_mapped().is_none() => {
                let s = v6.segments();
                format!("ip:{}/64", std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
            Ok(v6) => format!("ip:{}", v6.to_ipv4_mapped().map_or_else(|| ip.to_owned(), |v4| v4.to_string())),
            Err(_) => format!("ip:{ip}"),
        },
        _ => "ip:unknown".into(),
    }
}

/// An IAM identity without the role session name, which the caller chooses when it assumes the
/// role: `arn:aws:sts::123456789012:assumed-role/agent/i-1` counts as
/// `arn:aws:sts::123456789012:assumed-role/agent`, and a `callerId` `AROA…:i-1` as `AROA…`. Users
/// and other principals are kept whole.
pub fn without_session_name(principal: &str) -> &str {
    if let Some((account, rest)) = principal.split_once(":assumed-role/")
        && account.starts_with("arn:")
        && let Some((role, _session)) = rest.split_once('/')
    {
        return &principal[..account.len() + ":assumed-role/".len() + role.len()];
    }
    match principal.split_once(':') {
        // A role's unique id (AROA…) and the session name, as callerId carries them.
        Some((id, _session)) if id.starts_with("AROA") && !id.starts_with("arn") => id,
        _ => principal,
    }
}

/// The API Gateway domain the request arrived at (`requestContext.domainName`).
pub fn domain_name(req: &Request) -> Option<&str> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.domain_name.as_deref(),
        _ => None,
    }
}

fn jwt_claims(req: &Request) -> Option<&HashMap<String, String>> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.authorizer.as_ref()?.jwt.as_ref().map(|jwt| &jwt.claims),
        _ => None,
    }
}

/// Splits a list claim as API Gateway's JWT authorizer delivers it: a string holding a JSON
/// array of strings (`["a","b"]`, names exactly as given), or API Gateway's bracketed form
/// `[a b]` (or a bare `a b`), split on whitespace only. Names are kept exactly: a group called
/// `ops,videosdk-moderators` or `'videosdk-moderators'` is not `videosdk-moderators`. The
/// bracketed form cannot carry a name holding whitespace, so `MODERATOR_GROUP` may hold none.
pub fn group_list(value: &str) -> Vec<String> {
    let value = value.trim();
    if value.starts_with('[')
        && value[1..].trim_start().starts_with(['"', ']'])
        && let Ok(names) = serde_json::from_str::<Vec<String>>(value)
    {
        return names;
    }
    let inner = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')).unwrap_or(value);
    inner.split_whitespace().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_claims_split_on_whitespace_only() {
        let expected = vec!["videosdk-moderators".to_owned(), "staff".to_owned()];
        for shape in ["[videosdk-moderators staff]", "videosdk-moderators staff", " [videosdk-moderators  staff] "] {
            assert_eq!(group_list(shape), expected, "{shape}");
        }
        assert_eq!(group_list("[solo]"), vec!["solo"]);
        assert_eq!(group_list("solo"), vec!["solo"]);
        assert!(group_list("[]").is_empty());
    }

    #[test]
    fn look_alike_group_names_are_not_the_moderator_group() {
        for shape in [
            "[ops,videosdk-moderators]",
            r#"[ops "videosdk-moderators"]"#,
            "['videosdk-moderators']",
            r#"["staff,videosdk-moderators"]"#,
            r#"["videosdk-moderators "]"#,
            r#"["Trainee videosdk-moderators"]"#,
            r#"["staff", 7, "videosdk-moderators"]"#,
        ] {
            assert!(!group_list(shape).iter().any(|g| g == "videosdk-moderators"), "{shape}: {:?}", group_list(shape));
        }
    }

    #[test]
    fn json_array_strings_are_read_exactly() {
        for (shape, expected) in [
            (r#"["videosdk-moderators"]"#, vec!["videosdk-moderators"]),
            (r#"["a","videosdk-moderators"]"#, vec!["a", "videosdk-moderators"]),
            (r#" [ "a" , "b c" ] "#, vec!["a", "b c"]),
            ("[]", vec![]),
        ] {
            assert_eq!(group_list(shape), expected, "{shape}");
        }
    }

    #[test]
    fn a_role_counts_as_one_caller_whatever_its_session_names() {
        let role = "arn:aws:sts::123456789012:assumed-role/videosdk-agent";
        for session in ["i-0abc", "worker-2", "anything/else"] {
            assert_eq!(without_session_name(&format!("{role}/{session}")), role, "{session}");
        }
        assert_eq!(without_session_name("AROAEXAMPLE:i-0abc"), "AROAEXAMPLE");
        for whole in ["arn:aws:iam::123456789012:user/ops", "AIDAEXAMPLE", "arn:aws:sts::1:assumed-role/noslash"] {
            assert_eq!(without_session_name(whole), whole);
        }
    }

    #[test]
    fn ipv6_callers_are_counted_by_their_64() {
        let key = |ip: &str| {
            let mut event: serde_json::Value =
                serde_json::from_str(include_str!("../../events/get-token-anonymous.json")).unwrap();
            event["requestContext"]["http"]["sourceIp"] = serde_json::json!(ip);
            let req: lambda_http::request::LambdaRequest = serde_json::from_value(event).unwrap();
            rate_key(&lambda_http::Request::from(req))
        };
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "ip:2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:1:2:3"), key("2001:db8:1:2::9"), "one /64, one caller");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("198.51.100.7"), "ip:198.51.100.7");
        assert_eq!(key("::ffff:198.51.100.7"), "ip:198.51.100.7");
    }

    #[test]
    fn membership_is_exact_not_a_substring() {
        let groups = group_list("[videosdk-moderators-trainee]");
        assert!(!groups.iter().any(|g| g == "videosdk-moderators"));
    }
}
