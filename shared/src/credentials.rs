//! The VideoSDK API key and secret as values: a type that never prints the secret, the parsing
//! of the stored secret, and the one error of not having them. Where they come from and when
//! they are re-read is `secret`'s business.

use std::fmt;

/// The project's API key and secret. `Debug` shows the API key (it travels inside every token)
/// but never the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    api_key: String,
    secret: String,
}

impl Credentials {
    pub fn new(api_key: String, secret: String) -> Self {
        Credentials { api_key, secret }
    }

    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The signing key. Only for HMAC.
    pub fn secret_bytes(&self) -> &[u8] {
        self.secret.as_bytes()
    }

    /// Parses a Secrets Manager SecretString: `{"apiKey": "…", "secret": "…"}`.
    /// Error messages describe the shape only, never the content.
    pub fn from_secret_string(text: &str) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| format!("SecretString is not valid JSON (line {}, column {})", e.line(), e.column()))?;
        let obj = value.as_object().ok_or("SecretString is not a JSON object")?;
        let field = |name: &str| match obj.get(name) {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Some(serde_json::Value::String(_)) => Err(format!("SecretString field \"{name}\" is empty")),
            Some(_) => Err(format!("SecretString field \"{name}\" is not a string")),
            None => {
                Err(format!("SecretString has no \"{name}\" field (expected {{\"apiKey\": \"…\", \"secret\": \"…\"}})"))
            }
        };
        let (api_key, secret) = (field("apiKey")?, field("secret")?);
        if api_key == PLACEHOLDER || secret == PLACEHOLDER {
            return Err(
                "SecretString still holds the REPLACE_ME placeholder; store your VideoSDK API key and secret in it"
                    .into(),
            );
        }
        Ok(Credentials::new(api_key, secret))
    }
}

/// What the SAM template's new secret holds until the operator stores real values.
const PLACEHOLDER: &str = "REPLACE_ME";

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("api_key", &self.api_key).field("secret", &"<redacted>").finish()
    }
}

/// The secret could not be had; the log says why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the VideoSDK credentials are not available")]
pub struct SecretUnavailable;
