//! Property-based fuzzing of every input of `dispatch-agent` (see `testkit::fuzz`): never a panic,
//! never a 5xx, never an invalid request sent to VideoSDK (no agent outside `AGENTS`, no
//! `sipOptions`). `make fuzz` runs it for 10 minutes.

#[test]
fn arbitrary_events_never_panic_never_5xx_never_reach_videosdk_invalid() {
    testkit::fuzz::fuzz_function(
        "dispatch-agent",
        dispatch_agent::handler,
        &[
            "/dispatch-agent",
            "/v2/agent/dispatch",
            "/ai/v1/agents/tutor",
            "/ai/v1/agents",
            "/lambda-url/dispatch-agent",
        ],
    );
}
