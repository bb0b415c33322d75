#!/usr/bin/env python3
"""Runs `make <step>` for each step in order, stopping at the first failure, and ends with a
table of each step's wall time (also after a failure), so that a slow step names itself in
every CI log: `tools/steps.py venv lint unit ...` (make test)."""

import subprocess
import sys
import time


def main(steps):
    times, failed = [], None
    started = time.monotonic()
    for step in steps:
        t0 = time.monotonic()
        # Steps already run are not remade as another step's prerequisite (bench-smoke's sam-build).
        done = [arg for earlier, _ in times for arg in ("-o", earlier)]
        code = subprocess.call(["make", "--no-print-directory", *done, step])
        times.append((step, time.monotonic() - t0))
        if code != 0:
            failed = step
            break
    total = time.monotonic() - started
    print("\nmake test: wall time per step")
    print(f"  {'step':<14}{'m:ss':>7}{'share':>8}")
    for step, seconds in times:
        print(f"  {step:<14}{int(seconds // 60):>4}:{int(seconds % 60):02d}{seconds / total:>8.0%}")
    print(f"  {'total':<14}{int(total // 60):>4}:{int(total % 60):02d}")
    skipped = steps[len(times):]
    if failed:
        print(f"make test: step {failed} failed" + (f"; not run: {' '.join(skipped)}" if skipped else ""))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
