"""The corpus: every ``tests/fixtures/eml/<case>.eml`` has ``<case>.expected.json`` beside it.

Expected file: ``{"action": "tag", "rules": ["personal.label"], "direction": "outbound"}`` —
``action`` must match exactly, every listed rule must fire (others may too, unless
``"exact_rules": true``), and ``direction`` (optional) is forced instead of derived.
Envelope: sender from From:, recipients from To/Cc, as ``aupmilter check`` does.
"""

from __future__ import annotations

import json
from email.utils import getaddresses
from pathlib import Path

import pytest

from aupmilter.config import load_config
from aupmilter.engine import evaluate
from aupmilter.message import MessageView
from aupmilter.model import Direction, Envelope
from aupmilter.ruleset import build_ruleset

FIXTURES = Path(__file__).parent / "fixtures" / "eml"
CASES = sorted(FIXTURES.glob("*.eml"))
RULESET = build_ruleset(load_config(None))


def test_every_fixture_has_an_expected_verdict() -> None:
    assert CASES, "no corpus fixtures found"
    missing = [c.name for c in CASES if not c.with_suffix(".expected.json").exists()]
    assert missing == []


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_corpus_case(case: Path) -> None:
    expected = json.loads(case.with_suffix(".expected.json").read_text())
    message = MessageView(case.read_bytes())
    sender = getaddresses([message.header("From") or ""])[0][1]
    rcpts = [a for _, a in getaddresses(message.headers_all("To") + message.headers_all("Cc")) if a]
    direction = Direction(expected["direction"]) if "direction" in expected else None
    decision = evaluate(Envelope(sender, tuple(rcpts), direction=direction), message, RULESET)
    fired = [f.rule for f in decision.findings]
    assert str(decision.action) == expected["action"], (fired, decision.reason)
    for rule in expected.get("rules", []):
        assert any(r == rule or r.startswith(rule + ".") for r in fired), (rule, fired)
    if expected.get("exact_rules"):
        assert sorted(set(fired)) == sorted(expected["rules"])
