//! The one HTTPS stack of a function: one rustls configuration, built once per process from
//! compiled-in trust roots, under one reqwest client per caller (the VideoSDK client and the AWS
//! SDK's Secrets Manager client).
//!
//! The trust roots are Mozilla's, compiled in (`webpki-roots`): nothing is read or parsed from
//! the OS trust store at INIT. Both upstreams (api.videosdk.live and Secrets Manager) present
//! certificates from public CAs. An operator who must go through a private CA (a TLS-inspecting
//! proxy, say) sets `EXTRA_CA_CERTS_FILE` to a PEM file; its certificates are added to the
//! compiled-in roots, at the cost of reading that file at INIT.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;

/// The environment variable naming a PEM file of extra trusted CA certificates.
pub const EXTRA_CA_CERTS_VAR: &str = "EXTRA_CA_CERTS_FILE";

/// The process's rustls client configuration (built on first use).
pub fn tls_config() -> Result<rustls::ClientConfig, TlsError> {
    static CONFIG: OnceLock<Result<rustls::ClientConfig, TlsError>> = OnceLock::new();
    CONFIG.get_or_init(|| build_tls_config(std::env::var_os(EXTRA_CA_CERTS_VAR).map(std::path::PathBuf::from))).clone()
}

/// Why the TLS configuration could not be built (only an unusable `EXTRA_CA_CERTS_FILE`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    #[error("{EXTRA_CA_CERTS_VAR}: {0}")]
    ExtraCaCerts(String),
    #[error("TLS setup failed: {0}")]
    Rustls(String),
}

fn build_tls_config(extra_ca_file: Option<std::path::PathBuf>) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = extra_ca_file {
        let unusable = |e: &dyn std::fmt::Display| TlsError::ExtraCaCerts(format!("{}: {e}", path.display()));
        let pem = std::fs::read(&path).map_err(|e| unusable(&e))?;
        let mut added = 0;
        for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
            let cert: rustls::pki_types::CertificateDer<'static> = cert.map_err(|e| unusable(&e))?;
            roots.add(cert).map_err(|e| unusable(&e))?;
            added += 1;
        }
        if added == 0 {
            return Err(TlsError::ExtraCaCerts(format!("{} holds no PEM certificate", path.display())));
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // reqwest is built without HTTP/2 (smaller bootstrap; one request at a time per function).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A reqwest client on the process's TLS configuration.
pub fn http_client(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, NetError> {
    let tls = tls_config()?;
    Ok(builder.tls_backend_preconfigured(tls).build()?)
}

/// Why an HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("could not build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// The AWS SDK's HTTP client: its requests go through a reqwest client on the shared TLS
/// configuration. The SDK's own timeouts (see `secret`) bound each attempt and the operation.
pub fn aws_http_client(connect_timeout: Duration) -> Result<SharedHttpClient, NetError> {
    let client = http_client(reqwest::Client::builder().connect_timeout(connect_timeout))?;
    let connector = SharedHttpConnector::new(ReqwestConnector(client));
    Ok(http_client_fn(move |_settings, _components| connector.clone()))
}

#[derive(Debug)]
struct ReqwestConnector(reqwest::Client);

impl HttpConnector for ReqwestConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.0.clone();
        HttpConnectorFuture::new(async move {
            let method = reqwest::Method::from_bytes(request.method().as_bytes())
                .map_err(|e| ConnectorError::user(Box::new(e)))?;
            let mut outgoing = client.request(method, request.uri());
            for (name, value) in request.headers() {
                outgoing = outgoing.header(name, value);
            }
            let body = request.body().bytes().ok_or_else(|| {
                ConnectorError::user("the AWS SDK sent a streaming body, which this client does not send".into())
            })?;
            let response = outgoing.body(body.to_vec()).send().await.map_err(connector_error)?;
            // The body is streamed to the SDK, never handed over as bytes: the SDK's TRACE log
            // prints an in-memory response body, and GetSecretValue's holds the secret.
            let (head, body) = lambda_http::http::Response::<reqwest::Body>::from(response).into_parts();
            let mut answer = HttpResponse::new(
                head.status.as_u16().try_into().map_err(|e| ConnectorError::other(Box::new(e), None))?,
                SdkBody::from_body_1_x(body),
            );
            for (name, value) in &head.headers {
                if let Ok(value) = value.to_str() {
                    answer.headers_mut().append(name.as_str().to_owned(), value.to_owned());
                }
            }
            Ok(answer)
        })
    }
}

/// Timeouts and connection failures are retried by the SDK; other errors are not.
fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(Box::new(e))
    } else if e.is_connect() || e.is_request() {
        ConnectorError::io(Box::new(e))
    } else {
        ConnectorError::other(Box::new(e), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roots_are_compiled_in_and_extra_ca_files_are_checked() {
        let config = build_tls_config(None).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);

        let dir = std::env::temp_dir().join(format!("net-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let err = build_tls_config(Some(missing.clone())).unwrap_err();
        assert!(matches!(&err, TlsError::ExtraCaCerts(m) if m.contains("missing.pem")), "{err}");

        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = build_tls_config(Some(empty)).unwrap_err();
        assert!(err.to_string().contains("holds no PEM certificate"), "{err}");

        // A self-signed CA certificate (test only): accepted next to the compiled-in roots.
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, TEST_CA_PEM).unwrap();
        build_tls_config(Some(ca)).expect("a PEM CA certificate is accepted");
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A throwaway self-signed CA certificate (no key is kept anywhere).
    const TEST_CA_PEM: &str = include_str!("../testdata/test-ca.pem");
}
