"""The floor of any Python milter: pymilter accepting every message and doing nothing else.

``make bench`` runs it beside Postfix (on a unix socket, as aupmilter runs) so the tables show
what the milter protocol and pymilter's callbacks cost by themselves, before any check runs:
a ratio to Postfix alone that no Python milter can beat on this machine.

Usage: ``python -m bench.noop_milter unix:/path/to/socket``
"""

from __future__ import annotations

import sys

import Milter


class NoopMilter(Milter.Base):  # type: ignore[misc]
    """Accepts at end of message; every other callback is pymilter's default (continue)."""

    def eom(self) -> int:
        return Milter.ACCEPT  # type: ignore[no-any-return]


def main() -> None:
    Milter.factory = NoopMilter
    Milter.set_flags(0)
    Milter.runmilter("noop", sys.argv[1], 240)


if __name__ == "__main__":
    main()
