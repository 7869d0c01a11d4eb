"""An aiosmtpd sink on loopback that keeps every delivered message in memory."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Delivered:
    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class _Handler:
    messages: list[Delivered] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(
                Delivered(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    bytes(envelope.original_content or envelope.content),
                )
            )
        return "250 OK delivered to sink"


class Sink:
    def __init__(self, port: int) -> None:
        self.handler = _Handler()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port, decode_data=False)
        self.port = port

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[Delivered]:
        with self.handler.lock:
            return list(self.handler.messages)
