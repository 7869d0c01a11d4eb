"""Errors that carry enough context for an admin to fix the file that caused them."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration or rules file is invalid; the message names the file and the key."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}")
