"""The floor of any content-filtering Python milter: pymilter receiving every header and body
chunk, keeping nothing, and accepting.

``make bench`` runs it beside Postfix (on a unix socket, as aupmilter runs) so the tables show
what the milter protocol and pymilter's callbacks cost by themselves, before any check runs:
a ratio to Postfix alone that no Python milter reading the message can beat on this machine.
(A milter without header and body callbacks negotiates them away and is faster still, but it
cannot inspect content.)

Usage: ``python -m bench.noop_milter unix:/path/to/socket``
"""

from __future__ import annotations

import sys

import Milter


class NoopMilter(Milter.Base):  # type: ignore[misc]
    """Takes the headers and body as aupmilter does (no reply per header or chunk), then accepts."""

    @Milter.noreply  # type: ignore[untyped-decorator]
    def header(self, name: str, value: str) -> int:
        return Milter.CONTINUE  # type: ignore[no-any-return]

    @Milter.noreply  # type: ignore[untyped-decorator]
    def eoh(self) -> int:
        return Milter.CONTINUE  # type: ignore[no-any-return]

    @Milter.noreply  # type: ignore[untyped-decorator]
    def body(self, chunk: bytes) -> int:
        return Milter.CONTINUE  # type: ignore[no-any-return]

    def eom(self) -> int:
        return Milter.ACCEPT  # type: ignore[no-any-return]


def main() -> None:
    Milter.factory = NoopMilter
    Milter.set_flags(0)
    Milter.runmilter("noop", sys.argv[1], 240)


if __name__ == "__main__":
    main()
