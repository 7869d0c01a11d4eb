"""aupmilter: a Postfix milter that enforces a school trust's e-mail Acceptable Use Policy.

The engine (:func:`aupmilter.engine.evaluate`) is a pure function from an envelope and a parsed
message to a :class:`aupmilter.model.Decision`; the milter adapter only collects bytes and applies
the decision.
"""

__version__ = "0.1.0"
