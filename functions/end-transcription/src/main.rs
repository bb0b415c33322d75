//! `end-transcription` Lambda: INIT, then serve.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::run(env!("CARGO_PKG_NAME"), shared::Uses::VideoSdkApi, end_transcription::handler).await
}
