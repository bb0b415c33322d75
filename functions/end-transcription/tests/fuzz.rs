//! Property-based fuzzing of every input of `end-transcription` (see `testkit::fuzz`): never a panic, never
//! a 5xx, never an invalid request sent to VideoSDK. `make fuzz` runs it for 10 minutes.

#[test]
fn arbitrary_events_never_panic_never_5xx_never_reach_videosdk_invalid() {
    testkit::fuzz::fuzz_function(
        "end-transcription",
        end_transcription::handler,
        &["/end-transcription", "/lambda-url/end-transcription"],
    );
}
