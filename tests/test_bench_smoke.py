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


@pytest.mark.postfix
@pytest.mark.timeout(300)
def test_processcpu_reports_the_milter_processes() -> None:
    """bench.processcpu finds the milter's own processes: if its grouping rotted (a renamed
    worker entry point, say), their CPU would land in "other" and the table would mislead."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.processcpu", "--count", "40"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "letter: 40 messages" in result.stdout
    rows = {line.split("  ")[1].strip(): line for line in result.stdout.splitlines() if line.startswith("  ")}
    assert {"aupmilter workers", "aupmilter main process", "postfix"} <= set(rows), result.stdout


@pytest.mark.timeout(120)
def test_hotspots_profiles_the_engine() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.hotspots", "--rounds", "2", "--top", "5"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "engine.py" in result.stdout and "(evaluate)" in result.stdout, result.stdout[-2000:]
