"""Issue 17: a client's X-AUP-* headers are removed before evaluation; the disclaimer marker is
authenticated, so forging it no longer suppresses the disclaimer (and DKIM)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from aupmilter import marker
from aupmilter.config import load_config, parse_config
from aupmilter.engine import Ruleset, evaluate
from aupmilter.message import MessageView
from aupmilter.model import ChangeHeader, Direction, Envelope
from aupmilter.ownheaders import strip_client_headers
from aupmilter.render import apply_effects
from aupmilter.ruleset import build_ruleset

OUT = Envelope("t@oakfield.example", ("parent@home.test",), auth_user="t")
INTERNAL = Envelope("t@oakfield.example", ("office@birchwood.example",), auth_user="t")
MARK_TEXT = b"Oakfield Primary School, part of"


def ruleset(tmp_path: Path, scope: str = "external") -> Ruleset:
    data = tomllib.loads(Path(load_config(None).source).read_text())
    key = tmp_path / "marker.key"
    data["checks"] = {"disclaimer": {"marker_key_file": str(key), "scope": scope}}
    rs = build_ruleset(parse_config(data, "test.toml"))
    assert rs.marker_key is not None
    rs.marker_key.ensure()
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    return rs


def mail(extra: bytes = b"") -> bytes:
    return (
        b"From: t@oakfield.example\r\nTo: parent@home.test\r\nSubject: Trip\r\n" + extra + b"\r\nSee you on Friday.\r\n"
    )


def leave(raw: bytes, rs: Ruleset, env: Envelope = OUT) -> bytes:
    """The message as the gateway lets it out: stripped, evaluated, effects applied."""
    key = rs.marker_key.get() if rs.marker_key else None
    clean = strip_client_headers(raw, key).raw
    decision = evaluate(env, MessageView(clean), rs)
    return apply_effects(clean, decision.effects)


def test_every_client_aup_header_goes_with_indices_for_postfix() -> None:
    raw = mail(b"X-AUP-Verdict: accept\r\nX-Other: 1\r\nx-aup-verdict: block\r\nX-AUP-Released:\r\n  abc\r\n")
    stripped = strip_client_headers(raw, b"k" * 64)
    assert b"aup" not in stripped.raw.lower() and b"X-Other: 1" in stripped.raw
    # Per name, last occurrence first: each index still names the header it meant in Postfix's copy.
    assert stripped.deletions == (
        ChangeHeader("X-AUP-Released", None, 1),
        ChangeHeader("x-aup-verdict", None, 2),
        ChangeHeader("X-AUP-Verdict", None, 1),
    )
    assert strip_client_headers(mail(), None).deletions == ()


def test_forged_marker_no_longer_suppresses_the_disclaimer(tmp_path: Path) -> None:
    rs = ruleset(tmp_path)
    for forged in (
        b"X-AUP-Disclaimer: oakfield.example\r\n",
        b"X-AUP-Disclaimer: oakfield.example; v=1; mac=" + b"0" * 64 + b"\r\n",
    ):
        out = leave(mail(forged), rs)
        assert out.count(MARK_TEXT) == 1
        [value] = [line for line in out.split(b"\r\n") if line.startswith(b"X-AUP-Disclaimer:")]
        assert b"mac=" + b"0" * 64 not in value and b"; v=1; mac=" in value


def test_authentic_marker_keeps_a_second_pass_from_adding_it_again(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, scope="all_outbound")
    once = leave(mail(), rs, INTERNAL)
    assert once.count(MARK_TEXT) == 1
    twice = leave(once, rs, OUT)  # internal hop, then out through the gateway again
    assert twice.count(MARK_TEXT) == 1 and twice.count(b"X-AUP-Disclaimer:") == 1
    # The same marker on a different body (copied into another message) is not believed.
    value = next(line for line in once.split(b"\r\n") if line.startswith(b"X-AUP-Disclaimer:"))
    assert leave(mail(value + b"\r\n"), rs).count(MARK_TEXT) == 1
    # Another site's key does not verify this site's marker.
    assert not marker.verify(value.split(b":", 1)[1].decode(), once.split(b"\r\n\r\n", 1)[1], b"x" * 64)


def test_outbound_mail_carries_no_internal_verdict_headers(tmp_path: Path) -> None:
    rs = ruleset(tmp_path)
    out = leave(mail(b"X-AUP-Findings: confidential.pupil_data.single\r\n").replace(b"Trip", b"[Personal] trip"), rs)
    assert b"X-AUP-Findings" not in out and b"X-AUP-Verdict" not in out
    inbound = Envelope("p@home.test", ("t@oakfield.example",), client_addr="198.51.100.1", direction=Direction.INBOUND)
    kept = leave(mail(), rs, inbound)
    assert b"X-AUP-Verdict: accept" in kept  # inbound and internal mail keep them
    data = tomllib.loads(Path(load_config(None).source).read_text())
    data["tagging"] = {**data.get("tagging", {}), "outbound_verdict": True}
    opted_in = build_ruleset(parse_config(data, "t.toml"))
    tagged = leave(mail().replace(b"Trip", b"[Personal] trip"), opted_in)
    assert tagged.count(b"X-AUP-Verdict: tag") == 1 and b"X-AUP-Findings" not in tagged
