//! VideoSDK's webhook signatures: an RSA public key read from PEM, and the check of a
//! `videosdk-signature` header (base64 of an RSA-SHA256 PKCS#1 v1.5 signature) over the raw
//! body bytes. Plain values only; where the key comes from is `webhook`.

use std::fmt;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine;
use rustls_pki_types::SubjectPublicKeyInfoDer;
use rustls_pki_types::pem::PemObject;

/// Longest `videosdk-signature` value looked at: base64 of an 8192-bit signature is 1368 bytes.
const MAX_SIGNATURE_CHARS: usize = 2048;

/// An RSA public key (2048 to 8192 bits) that webhook signatures are checked against.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    spki: Vec<u8>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey").field("spki_bytes", &self.spki.len()).finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no PEM block \"BEGIN PUBLIC KEY\" was found")]
    NotPem,
    #[error("the PEM block is not an RSA public key of 2048 to 8192 bits")]
    NotRsa,
}

/// Why a signature was not accepted. Nothing here quotes the header or the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the videosdk-signature header is missing")]
    Missing,
    #[error("the videosdk-signature header is not base64")]
    NotBase64,
    #[error("the signature does not match the body")]
    Mismatch,
}

impl PublicKey {
    /// Reads the first `BEGIN PUBLIC KEY` block of `pem` (text around it is ignored; JSON
    /// escapes such as `\n` are undone by the caller).
    pub fn from_pem(pem: &str) -> Result<PublicKey, KeyError> {
        let der = SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes()).map_err(|_| KeyError::NotPem)?;
        PublicKey::from_der(der.as_ref())
    }

    /// An X.509 SubjectPublicKeyInfo (or PKCS#1 RSAPublicKey) in DER.
    pub fn from_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let key = aws_lc_rs::rsa::PublicKey::from_der(der).map_err(|_| KeyError::NotRsa)?;
        let bits = key.as_ref().len();
        // RSAPublicKey DER of a 2048-bit key is ~270 bytes; a 1024-bit one ~140.
        if bits < 200 {
            return Err(KeyError::NotRsa);
        }
        Ok(PublicKey { spki: der.to_vec() })
    }

    /// Checks `header` (the `videosdk-signature` value) against `body`, the raw bytes received.
    pub fn verify(&self, body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
        let signature = decode_signature(header)?;
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.spki)
            .verify(body, &signature)
            .map_err(|_| SignatureError::Mismatch)
    }
}

/// The signature bytes of a header value: standard base64, padded or not, surrounding
/// whitespace ignored.
pub fn decode_signature(header: Option<&str>) -> Result<Vec<u8>, SignatureError> {
    let text = header.map(str::trim).filter(|h| !h.is_empty()).ok_or(SignatureError::Missing)?;
    if text.len() > MAX_SIGNATURE_CHARS {
        return Err(SignatureError::NotBase64);
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    match engine.decode(text) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(SignatureError::NotBase64),
    }
}

/// Lowercase hex SHA-256 of `bytes`: a delivery's stable id.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Signs `body` as VideoSDK does (for the stand-in and tests): base64 of RSA-SHA256 PKCS#1 v1.5.
pub struct Signer {
    pair: aws_lc_rs::rsa::KeyPair,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer(<private key>)")
    }
}

impl Signer {
    /// A new 2048-bit key pair.
    pub fn generate() -> Signer {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("RSA key generation");
        Signer { pair }
    }

    /// The key pair of a PKCS#8 PEM (`BEGIN PRIVATE KEY`) RSA private key.
    pub fn from_pkcs8_pem(pem: &str) -> Option<Signer> {
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).ok()?;
        let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(der.secret_pkcs8_der()).ok()?;
        Some(Signer { pair })
    }

    /// The public key as PEM (`BEGIN PUBLIC KEY`).
    pub fn public_key_pem(&self) -> String {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::KeyPair;
        let der = self.pair.public_key().as_der().expect("public key DER");
        let encoded = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in encoded.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// The `videosdk-signature` header value for `body`.
    pub fn sign(&self, body: &[u8]) -> String {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair.sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &rng, body, &mut signature).expect("RSA signing");
        base64::engine::general_purpose::STANDARD.encode(signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_over_exactly_the_signed_bytes() {
        let signer = Signer::generate();
        let key = PublicKey::from_pem(&signer.public_key_pem()).unwrap();
        let body = br#"{"webhookType":"recording-stopped","data":{"meetingId":"abcd-efgh-ijkl"}}"#;
        let header = signer.sign(body);
        assert_eq!(key.verify(body, Some(&header)), Ok(()));
        assert_eq!(key.verify(body, Some(&format!("  {header}\n"))), Ok(()));
        assert_eq!(key.verify(body, Some(header.trim_end_matches('='))), Ok(()));
        let mut tampered = body.to_vec();
        tampered[5] ^= 1;
        assert_eq!(key.verify(&tampered, Some(&header)), Err(SignatureError::Mismatch));
        let other = PublicKey::from_pem(&Signer::generate().public_key_pem()).unwrap();
        assert_eq!(other.verify(body, Some(&header)), Err(SignatureError::Mismatch));
        assert_eq!(key.verify(body, None), Err(SignatureError::Missing));
        assert_eq!(key.verify(body, Some(" ")), Err(SignatureError::Missing));
        assert_eq!(key.verify(body, Some("not base64!")), Err(SignatureError::NotBase64));
        assert_eq!(key.verify(body, Some(&"A".repeat(5000))), Err(SignatureError::NotBase64));
        assert_eq!(key.verify(body, Some("AAAA")), Err(SignatureError::Mismatch));
    }

    #[test]
    fn keys_must_be_rsa_public_keys_in_pem() {
        assert_eq!(PublicKey::from_pem("hello").unwrap_err(), KeyError::NotPem);
        let junk = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        assert_eq!(PublicKey::from_pem(junk).unwrap_err(), KeyError::NotRsa);
        let pem = Signer::generate().public_key_pem();
        assert!(PublicKey::from_pem(&format!("key follows\n{pem}trailing")).is_ok());
        assert!(!format!("{:?}", PublicKey::from_pem(&pem).unwrap()).contains("MII"));
    }

    #[test]
    fn the_development_key_pair_signs_what_its_public_half_verifies() {
        let signer =
            Signer::from_pkcs8_pem(include_str!("../../dev/videosdk-standin/keys/dev-webhook-private-key.pem"))
                .expect("the committed development key");
        let public = include_str!("../../dev/videosdk-standin/keys/dev-webhook-public-key.pem");
        assert_eq!(signer.public_key_pem(), public);
        let key = PublicKey::from_pem(public).unwrap();
        assert_eq!(key.verify(b"{}", Some(&signer.sign(b"{}"))), Ok(()));
    }

    #[test]
    fn ids_are_the_hex_sha256_of_the_body() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
