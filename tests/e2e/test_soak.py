"""A short soak of the packaged bootstraps through the runtime emulator (`make soak` runs the
long one: 100,000 get-token and 10,000 create-meeting invocations)."""

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import soak  # noqa: E402


def test_a_short_soak_has_no_errors_and_no_memory_growth():
    results = soak.soak(get_token_count=4_000, create_meeting_count=2_000)
    failures = soak.report(results)
    assert not failures, failures
    assert [r["count"] for r in results] == [4_000, 2_000]
