"""What the in-process tools (``bench.percheck``, ``bench.hotspots``) evaluate with: the shipped
default configuration signing DKIM with a throw-away key, the benchmark corpus with the letters,
and one outbound and one inbound envelope.

aupmilter is imported inside the functions, so a tool can be pointed at another checkout's code
with ``PYTHONPATH=<checkout>/src`` (how before/after figures are taken)."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from bench.corpus import build, letter

if TYPE_CHECKING:
    from aupmilter.model import Envelope
    from aupmilter.ruleset import Ruleset


def signing_ruleset(work: Path, name: str, rules_dir: Path | None = None) -> Ruleset:
    """The default configuration, plus DKIM signing for oakfield.example with a new 2048-bit key
    in ``work`` (``name``: the configuration's name in error messages; ``rules_dir``: another
    rules folder than the package's)."""
    from aupmilter.config import load_config, parse_config
    from aupmilter.ruleset import build_ruleset

    key = work / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    data = tomllib.loads(Path(load_config(None).source).read_text(encoding="utf-8"))
    data["dkim"] = {"oakfield.example": {"selector": "s1", "key_file": str(key)}}
    if rules_dir is not None:
        data.setdefault("organisation", {})["rules_dir"] = str(rules_dir)
    return build_ruleset(parse_config(data, name))


def corpus_with_letters(work: Path) -> dict[str, tuple[Path, int]]:
    """The benchmark mix (name -> (path, weight)) and the two letters, weight 0."""
    return {
        **build(work / "corpus"),
        "letter_6k": (letter(work), 0),
        "letter_html_14k": (letter(work, html=True), 0),
    }


def as_received(raw: bytes) -> bytes:
    """``raw`` as the milter hands it to the engine: CRLF line ends (Postfix sends a milter
    CRLF lines, and the adapter writes the header fields it receives with CRLF).  The corpus files
    are written with LF; timed as they are, a large message paid for conversions and searches
    that mail through the milter never costs (a 2.7 MB message: 22.8 ms as LF, 17.5 as CRLF)."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def envelopes() -> dict[str, Envelope]:
    """``out``: a teacher's letter to a parent (authenticated); ``in``: a parent's reply."""
    from aupmilter.model import Envelope

    return {
        "out": Envelope("teacher@oakfield.example", ("parent@home.test",), auth_user="teacher"),
        "in": Envelope("parent@home.test", ("teacher@oakfield.example",), client_addr="198.51.100.1"),
    }
