"""Prometheus metrics (one registry per process).

Label values are bounded by construction: direction and action are enums, category and rule ids
come from the shipped rule files, ``school`` is only ever a *configured* organisation domain (or
``other``), and ``stage``/``check`` are code names.  Addresses, subjects and body text never
become labels.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from aupmilter import __version__

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)

MESSAGES = Counter(
    "aupmilter_messages",
    "Messages evaluated, by direction, final action and school domain.",
    ["direction", "action", "school"],
    registry=REGISTRY,
)
FINDINGS = Counter(
    "aupmilter_findings",
    "Findings raised, by policy category and rule id.",
    ["category", "rule"],
    registry=REGISTRY,
)
PROCESSING = Histogram(
    "aupmilter_processing_seconds",
    "Time from end-of-message to decision (engine and effects), per message.",
    registry=REGISTRY,
    buckets=_LATENCY_BUCKETS,
)
CHECK_SECONDS = Histogram(
    "aupmilter_check_seconds",
    "Time spent in each check, per message.",
    ["check"],
    registry=REGISTRY,
    buckets=_LATENCY_BUCKETS,
)
ERRORS = Counter(
    "aupmilter_errors",
    "Failures handled by the failure action (tempfail by default), by stage.",
    ["stage"],
    registry=REGISTRY,
)
FAILURE_REPLIES = Counter(
    "aupmilter_failure_replies",
    "Messages answered with the configured failure action instead of a verdict.",
    ["reply"],
    registry=REGISTRY,
)
SPOOL_BYTES = Counter(
    "aupmilter_spool_bytes",
    "Message bytes received from the MTA.",
    registry=REGISTRY,
)
CONNECTIONS = Gauge(
    "aupmilter_connections_in_flight",
    "Milter connections currently open.",
    registry=REGISTRY,
)
CONFIG_GENERATION = Gauge(
    "aupmilter_config_generation",
    "Generation number of the policy in use (increments on each successful reload).",
    registry=REGISTRY,
)
RELOAD_SUCCESS = Gauge(
    "aupmilter_config_last_reload_successful",
    "1 if the last configuration reload succeeded, 0 if the old policy was kept.",
    registry=REGISTRY,
)
RELOAD_TIME = Gauge(
    "aupmilter_config_last_reload_timestamp_seconds",
    "Unix time of the last reload attempt.",
    registry=REGISTRY,
)
QUARANTINED = Counter(
    "aupmilter_quarantined_messages",
    "Messages written to the quarantine store, by category of the deciding finding.",
    ["category"],
    registry=REGISTRY,
)
NOTIFICATIONS = Counter(
    "aupmilter_notifications",
    "Policy notifications, by outcome (sent, failed, coalesced, dropped, no_contact, error).",
    ["outcome"],
    registry=REGISTRY,
)
RELEASES = Counter(
    "aupmilter_releases",
    "Quarantine releases, by outcome (ok = every chosen recipient got 250, failed otherwise).",
    ["outcome"],
    registry=REGISTRY,
)
ANTIVIRUS_SCANS = Counter(
    "aupmilter_antivirus_scans",
    "Parts sent to the virus scanner, by result (clean, infected, error, skipped).",
    ["result"],
    registry=REGISTRY,
)
ANTIVIRUS_ERRORS = Counter(
    "aupmilter_antivirus_errors",
    "Scans without a verdict, by kind (unreachable, timeout, protocol, size_limit).",
    ["kind"],
    registry=REGISTRY,
)
ANTIVIRUS_SECONDS = Histogram(
    "aupmilter_antivirus_scan_seconds",
    "Time the virus scanner took per part (connect, stream, verdict).",
    registry=REGISTRY,
    buckets=_LATENCY_BUCKETS,
)
BUILD = Info("aupmilter_build", "Build information.", registry=REGISTRY)
BUILD.info({"version": __version__})


class QuarantineBacklog:
    """``aupmilter_quarantine_held_items{category,age}``: read from the store at scrape time."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "aupmilter_quarantine_held_items",
            "Quarantined items not yet released or deleted, by category and age bucket.",
            labels=["category", "age"],
        )
        try:
            summary = self.store.held_summary(datetime.datetime.now(datetime.UTC))
        except Exception:
            ERRORS.labels(stage="metrics_store").inc()
            summary = {}
        for (category, age), count in sorted(summary.items()):
            family.add_metric([category, age], count)
        yield family


def observe_scans(observations: Any) -> None:
    """Scans made while deciding a message (possibly in a worker process: see aupmilter.antivirus)."""
    for o in observations:
        ANTIVIRUS_SCANS.labels(result=o.result).inc()
        if o.result == "error":
            ANTIVIRUS_ERRORS.labels(kind=o.kind).inc()
        if o.result != "skipped":
            ANTIVIRUS_SECONDS.observe(o.seconds)


def register_backlog(store: Any) -> None:
    REGISTRY.register(QuarantineBacklog(store))


def school_label(domain: str | None, org_domains: tuple[str, ...]) -> str:
    """A configured school domain, else ``other``: keeps the label set bounded."""
    return domain if domain and domain in org_domains else "other"


def serve(listen: str) -> None:
    """Serve /metrics on ``host:port``; loopback only unless the admin names another address."""
    host, _, port = listen.rpartition(":")
    start_http_server(int(port), addr=host or "127.0.0.1", registry=REGISTRY)
