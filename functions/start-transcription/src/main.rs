//! `start-transcription` Lambda: INIT, then serve.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::run_limited(
        env!("CARGO_PKG_NAME"),
        shared::Uses::VideoSdkApi,
        &[shared::config::Action::Transcription],
        start_transcription::handler,
    )
    .await
}
