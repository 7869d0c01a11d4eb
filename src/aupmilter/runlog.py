"""One log line per message: queue id, direction, action, rule ids — no addresses by default.

Policies 002/004 limit who sees monitoring data; mail logs are read by more people than the
review UI, so addresses appear only when ``milter.log_addresses`` is set and subjects never do.
"""

from __future__ import annotations

import json
import logging

from aupmilter.config import Config
from aupmilter.model import Decision, Envelope

log = logging.getLogger("aupmilter.verdict")


def log_decision(config: Config, envelope: Envelope, decision: Decision) -> None:
    fields: dict[str, object] = {
        "queue_id": envelope.queue_id or "-",
        "direction": str(decision.direction),
        "action": str(decision.action),
        "rules": list(decision.rule_ids),
        "schools": list(decision.schools),
        "sealed": decision.sealed,
    }
    if config.milter.log_addresses:
        fields["sender"] = envelope.sender
        fields["recipients"] = list(envelope.recipients)
    if config.milter.log_format == "json":
        log.info(json.dumps(fields, sort_keys=True))
    else:
        log.info(" ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in fields.items()))
