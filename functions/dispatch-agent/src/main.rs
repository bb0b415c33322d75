//! `dispatch-agent` Lambda: INIT, then serve.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::run_limited(
        env!("CARGO_PKG_NAME"),
        shared::Uses::VideoSdkApi,
        &[shared::config::Action::Agent],
        dispatch_agent::handler,
    )
    .await
}
