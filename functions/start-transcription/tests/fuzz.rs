//! Property-based fuzzing of every input of `start-transcription` (see `testkit::fuzz`): never a panic, never
//! a 5xx, never an invalid request sent to VideoSDK. `make fuzz` runs it for 10 minutes.

#[test]
fn arbitrary_events_never_panic_never_5xx_never_reach_videosdk_invalid() {
    testkit::fuzz::fuzz_function(
        "start-transcription",
        start_transcription::handler,
        &["/start-transcription", "/lambda-url/start-transcription"],
    );
}
