"""``aupmilter check``: output contract, exit codes, --emit, and a 1,000-message directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "aupmilter.cli"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=600)


def write(path: Path, subject: str, sender: str = "t@oakfield.example", to: str = "p@home.test") -> Path:
    path.write_bytes(f"From: {sender}\nTo: {to}\nSubject: {subject}\n\nHello.\n".encode())
    return path


def test_json_contract(tmp_path: Path) -> None:
    f = write(tmp_path / "a.eml", "[Personal] hi")
    out = run("check", "--json", str(f))
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout)
    assert {"file", "action", "findings", "smtp_reply"} <= set(obj)
    assert obj["file"] == str(f)
    assert obj["action"] == "tag"
    assert obj["findings"] == [
        {
            "rule": "personal.label",
            "category": "personal.label",
            "score": 1.0,
            "evidence": "personal label",
            "location": "subject",
        }
    ]
    assert obj["smtp_reply"] is None
    assert obj["direction"] == "outbound"


def test_envelope_flags_override_headers(tmp_path: Path) -> None:
    f = write(tmp_path / "a.eml", "hello")
    out = run(
        "check",
        "--json",
        "--sender",
        "x@outside.test",
        "--rcpt",
        "t@oakfield.example",
        "--client-ip",
        "198.51.100.2",
        str(f),
    )
    assert json.loads(out.stdout)["direction"] == "inbound"
    out = run("check", "--json", "--direction", "internal", str(f))
    assert json.loads(out.stdout)["direction"] == "internal"


def test_exit_codes(tmp_path: Path) -> None:
    f = write(tmp_path / "a.eml", "hello")
    assert run("check", str(f), str(tmp_path / "missing.eml")).returncode == 1
    assert run("check", "--config", str(tmp_path / "nope.toml"), str(f)).returncode == 2
    assert run("check", "--direction", "sideways", str(f)).returncode == 2
    garbage = tmp_path / "garbage.eml"
    garbage.write_bytes(b"\x00\xff\xfe not a message at all \x00" * 100)
    out = run("check", "--json", str(garbage))
    assert out.returncode == 0, out.stderr  # malformed input is evaluated, not a failure


def test_emit_writes_message_as_it_leaves(tmp_path: Path) -> None:
    f = write(tmp_path / "a.eml", "Personal: hi")
    emit = tmp_path / "out"
    assert run("check", "--emit", str(emit), str(f)).returncode == 0
    emitted = (emit / "a.eml").read_bytes()
    assert b"X-AUP-Verdict" not in emitted and b"X-AUP-Findings" not in emitted  # outbound: internal headers stay in
    assert b"\n\nHello.\n" in emitted
    assert emitted.count(b"Oakfield Primary School, part of") == 1  # the disclaimer, once


def test_thousand_message_directory(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(1000):
        write(corpus / f"{i:04d}.eml", "[Personal] x" if i % 10 == 0 else f"Report {i}")
    out = run("check", "--json", str(corpus))
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 1000
    assert sum(1 for obj in lines if obj["action"] == "tag") >= 100


@pytest.mark.parametrize("name", ["plain"])
def test_text_output_one_line_per_message(tmp_path: Path, name: str) -> None:
    write(tmp_path / "a.eml", "[Personal] a")
    write(tmp_path / "b.eml", "b")
    out = run("check", str(tmp_path))
    lines = out.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("a.eml: tag [outbound] personal.label(personal label)")
    assert lines[1].endswith("b.eml: accept [outbound]")
