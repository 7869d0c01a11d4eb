"""Coverage-guided fuzzing of parsing, every registered check, policy and effects rendering.

Run with ``make fuzz`` (bounded: FUZZ_RUNS iterations, default 20,000).  Any exception that
escapes ``evaluate`` or ``apply_effects`` is a crash: hostile mail must become findings.
Seeds: CPython's e-mail test corpus, plus ../shared/data/mime-dev when present.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from aupmilter.config import load_config
    from aupmilter.engine import evaluate
    from aupmilter.message import MessageView
    from aupmilter.model import Envelope
    from aupmilter.render import apply_effects
    from aupmilter.ruleset import build_ruleset

RULESET = build_ruleset(load_config(None))
ENVELOPES = (
    Envelope("x@outside.test", ("t@oakfield.example",), client_addr="198.51.100.1"),
    Envelope("t@oakfield.example", ("x@outside.test",), client_addr="10.1.1.1"),
)


def one_input(data: bytes) -> None:
    if len(data) > 200_000:
        return
    envelope = ENVELOPES[len(data) % 2]
    message = MessageView(data)
    decision = evaluate(envelope, message, RULESET)
    apply_effects(data, decision.effects)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
