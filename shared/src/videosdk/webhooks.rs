//! Webhook signing key: `GET /v2/public/rsa-public-key`, answered as JSON (`publicKey` or
//! `data.publicKey`) or as a plain-text PEM body.

use serde_json::Value;

use super::{Segment, VideoSdk};
use crate::error::ApiError;
use crate::secret::SecretStore;
use crate::signature::PublicKey;

pub async fn public_key(api: &VideoSdk, secrets: &SecretStore) -> Result<PublicKey, ApiError> {
    let body = api.get_raw(secrets, &[Segment::Fixed("v2/public/rsa-public-key")]).await?;
    read_public_key(&body).ok_or_else(|| {
        tracing::warn!("VideoSDK's public-key answer holds no RSA public key in PEM");
        ApiError::UpstreamError("VideoSDK's public key could not be read.".into())
    })
}

/// The key from any of the answer's shapes.
pub fn read_public_key(body: &[u8]) -> Option<PublicKey> {
    let text = String::from_utf8_lossy(body);
    let pem = match serde_json::from_str::<Value>(&text) {
        Ok(Value::String(s)) => s,
        Ok(value) => value
            .get("publicKey")
            .or_else(|| value.get("data").and_then(|d| d.get("publicKey")))
            .and_then(Value::as_str)?
            .to_owned(),
        Err(_) => text.into_owned(),
    };
    PublicKey::from_pem(&pem.replace("\\n", "\n")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::Signer;

    #[test]
    fn the_key_is_read_from_json_nested_json_and_plain_text() {
        let pem = Signer::generate().public_key_pem();
        let shapes = [
            serde_json::json!({"publicKey": pem}).to_string(),
            serde_json::json!({"data": {"publicKey": pem}}).to_string(),
            serde_json::json!(pem).to_string(),
            pem.clone(),
        ];
        for shape in &shapes {
            assert!(read_public_key(shape.as_bytes()).is_some(), "{shape}");
        }
        for bad in ["", "{}", r#"{"publicKey": 5}"#, "<html>oops</html>"] {
            assert!(read_public_key(bad.as_bytes()).is_none(), "{bad}");
        }
    }
}
