"""Offensive language: see :mod:`.check` (the check), :mod:`.lexicon` (words), :mod:`.hate`
(targeted abuse, hate and threats) and :mod:`.spelling` (variation the normaliser cannot undo)."""

from aupmilter.checks.offensive.check import SPEC, OffensiveCheck
from aupmilter.checks.offensive.lexicon import starred

__all__ = ["SPEC", "OffensiveCheck", "starred"]
