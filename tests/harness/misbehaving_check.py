"""A site-local check (loaded via ``organisation.plugins``) that hangs or crashes on demand.

Used by the fault-injection tests: a subject containing ``HANG-CHECK`` sleeps far past the
milter's per-message budget; ``CRASH-CHECK`` raises; ``DIE-CHECK`` ends the process deciding
it (a worker killed mid-message).  All must end in the failure action (tempfail), never in
silently accepted mail.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import ClassVar

from aupmilter.checks import CheckSettings
from aupmilter.message import MessageView
from aupmilter.model import Envelope, Finding


class MisbehavingCheck:
    name: ClassVar[str] = "misbehaving"
    reads_content: ClassVar[bool] = False

    def __init__(self, settings: CheckSettings) -> None:
        self.settings = settings

    def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]:
        if "HANG-CHECK" in message.subject:
            time.sleep(120)
        if "DIE-CHECK" in message.subject:
            os._exit(3)
        if "CRASH-CHECK" in message.subject:
            raise RuntimeError("injected check failure")
        return []
