"""Which way a message travels: inbound, outbound or internal.

A message *originates inside* the trust when the client authenticated (``{auth_authen}``) or
connected from an internal network.  With no connection facts at all (``aupmilter check`` on a
file) the sender's domain is trusted instead, so an admin can test a verdict offline.  Inside-
originated mail to only the trust's own domains is internal; to anyone else, outbound.  Anything
else is inbound, including mail from outside that merely *claims* a school sender domain.
"""

from __future__ import annotations

import ipaddress

from aupmilter.config import Config
from aupmilter.model import Direction, Envelope, domain_of


def _client_is_internal(config: Config, client_addr: str | None) -> bool:
    if not client_addr:
        return False
    try:
        addr = ipaddress.ip_address(client_addr.strip("[]").removeprefix("IPv6:"))
    except ValueError:
        return False
    return any(addr in net for net in config.internal_networks)


def classify(config: Config, envelope: Envelope) -> Direction:
    if envelope.auth_user or _client_is_internal(config, envelope.client_addr):
        originated_inside = True
    elif envelope.client_addr is None:
        originated_inside = config.is_org_domain(envelope.sender_domain)
    else:
        originated_inside = False
    if not originated_inside:
        return Direction.INBOUND
    rcpt_domains = [domain_of(r) for r in envelope.recipients]
    if rcpt_domains and all(config.is_org_domain(d) for d in rcpt_domains):
        return Direction.INTERNAL
    return Direction.OUTBOUND
