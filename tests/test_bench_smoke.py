"""The benchmark harness runs (tiny counts, no thresholds): `make bench` must not rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.postfix
@pytest.mark.timeout(600)
def test_bench_smoke_writes_results() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke"], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [latest] = sorted((REPO / "bench" / "results").glob("*-smoke.json"))[-1:]
    data = json.loads(latest.read_text())
    assert {"postfix_only", "aupmilter_unix", "aupmilter_inet", "aupmilter_inet_nagle"} <= set(data["e2e"])
    assert data["e2e"]["aupmilter_unix"]["messages"] > 0 and data["engine"]["msgs_per_s"] > 0
    assert "steady" in data["memory"] and "error" not in data["memory"]["steady"]
