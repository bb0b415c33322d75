//! The AWS SDK configuration takes the region and the credentials from the environment, as
//! Lambda provides them, and falls back to the SDK's default chains otherwise. One test per
//! process state, in this file alone: it sets environment variables before any other thread runs.

use aws_sdk_secretsmanager::config::ProvideCredentials;

#[tokio::test(flavor = "current_thread")]
async fn region_and_credentials_come_from_the_environment() {
    // SAFETY: the only test in this binary, run before the runtime reads anything; no other
    // thread reads the environment concurrently.
    unsafe {
        std::env::remove_var("AWS_DEFAULT_REGION");
        std::env::set_var("AWS_REGION", "eu-west-3");
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDFROMTHEENVIRONMENT");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "from-the-environment");
        std::env::set_var("AWS_SESSION_TOKEN", "session-from-the-environment");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        // No profile of the machine running the tests takes part.
        std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/aws-config");
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials");
        std::env::remove_var("AWS_PROFILE");
        std::env::remove_var("AWS_WEB_IDENTITY_TOKEN_FILE");
        std::env::remove_var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        std::env::remove_var("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    }
    let sdk = shared::secret::aws_sdk_config().await.expect("SDK configuration");
    assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-3"));
    let credentials = sdk.credentials_provider().expect("a credentials provider");
    let provided = credentials.provide_credentials().await.expect("credentials");
    assert_eq!(provided.access_key_id(), "AKIDFROMTHEENVIRONMENT");
    assert_eq!(provided.session_token(), Some("session-from-the-environment"));
    // Only the access key without its secret: not usable, so the default chain decides (here,
    // with no profile and no metadata service, it finds nothing).
    unsafe { std::env::remove_var("AWS_SECRET_ACCESS_KEY") };
    let sdk = shared::secret::aws_sdk_config().await.expect("SDK configuration");
    let chain = sdk.credentials_provider().expect("the default chain");
    assert!(chain.provide_credentials().await.is_err(), "half-set environment credentials are never used");
}
