"""Site configuration and policy data, loaded and validated in one place.

Two layers of data: the shipped ``rules/`` (policy.toml, lexicons, rule files), which say what
the trust's policies mean by default, and the site's ``aupmilter.toml``, which names the schools,
networks and paths and may override any action, per school.  Every key is validated; unknown keys
are errors naming the file and the key, because a typo in a mail-filter policy silently weakens
it.  A shipped default config (a demo trust with two schools) lets ``make run`` start with no
file at all.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import ipaddress
import os
import zoneinfo
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from aupmilter import schema, sender_exceptions
from aupmilter.errors import ConfigError
from aupmilter.model import Action, Direction
from aupmilter.schema import ONE_OR_MANY, Invalid, setting
from aupmilter.sender_exceptions import SenderException

ENV_VAR = "AUPMILTER_CONFIG"
DEFAULT_CONFIG_NAME = "aupmilter.toml"
PERSONAL_USE_MODES = ("allowed_with_label", "prohibited", "allowed")
FAILURE_ACTIONS = ("tempfail", "accept", "reject")
LOG_TARGETS = ("stderr", "syslog", "file")
ANTIVIRUS_FAILURE_ACTIONS = ("tempfail", "policy")


def shipped_rules_dir() -> Path:
    """The rules directory shipped inside the package (``rules/`` at the top of the repo)."""
    return Path(str(resources.files("aupmilter") / "rules"))


def policy_files(rules_dir: Path) -> list[Path]:
    """``policy.toml`` then ``policy.d/*.toml`` in name order: one file per concern, so the
    attachment rows and the language rows can be read (and reviewed) on their own."""
    main = rules_dir / "policy.toml"
    extra = sorted((rules_dir / "policy.d").glob("*.toml"))
    return [main, *extra]


def shipped_default_config() -> Path:
    return Path(str(resources.files("aupmilter") / "defaults" / DEFAULT_CONFIG_NAME))


@dataclass(frozen=True)
class PolicyEntry:
    """One row of the action table: findings matching ``match`` whose summed score reaches
    ``min_score`` get ``actions[direction]``.  ``clause`` is quoted in rejections and the UI."""

    match: str
    actions: dict[Direction, Action]
    min_score: float = 0.0
    clause: str = ""
    source: str = ""

    def matches(self, rule: str, category: str) -> bool:
        return (
            any(name == self.match or name.startswith(self.match + ".") for name in (rule, category))
            or self.match == "*"
        )


@dataclass(frozen=True)
class ActionRow:
    """``[[action]]`` / ``[[schools.action]]`` as written; :meth:`entry` makes the policy row."""

    match: str = setting(doc='Rule id or category (prefix on dots) the row applies to; "*" for every finding.')
    inbound: str = setting("", doc="Action for inbound mail: accept, tag, quarantine or block.")
    outbound: str = setting("", doc="Action for outbound mail.")
    internal: str = setting("", doc="Action for internal mail.")
    all_: str = setting("", key="all", doc="Action for every direction not named separately.")
    min_score: float = setting(0.0, doc="The row applies when the summed score of matching findings reaches this.")
    clause: str = setting(
        "", doc="Policy words quoted in the 550 reply and the review UI (never the offending content)."
    )

    def actions(self) -> dict[Direction, Action]:
        actions: dict[Direction, Action] = {}
        for direction in Direction:
            text = getattr(self, direction.value) or self.all_
            if text:
                try:
                    actions[direction] = Action.parse(text)
                except ValueError as exc:
                    raise Invalid(direction.value if getattr(self, direction.value) else "all", str(exc)) from None
        return actions

    def validate(self) -> None:
        if not self.match:
            raise Invalid("match", "is required")
        if not self.actions():
            raise Invalid("match", "names no action (inbound/outbound/internal/all)")

    def entry(self, source: str) -> PolicyEntry:
        return PolicyEntry(self.match, self.actions(), self.min_score, self.clause, source)


_DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def _require_zone(name: str) -> None:
    """An IANA zone this machine knows (tzdata), or :class:`Invalid` on ``timezone``."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise Invalid("timezone", f"unknown time zone {name!r}") from None


def _hhmm(value: str, key: str) -> str:
    """``"8:00"`` → ``"08:00"`` (so times compare as strings); anything else is :class:`Invalid`."""
    hh, sep, mm = value.strip().partition(":")
    if not (sep and hh.isdigit() and mm.isdigit() and 0 <= int(hh) <= 24 and 0 <= int(mm) < 60):
        raise Invalid(key, f"expected HH:MM, got {value!r}")
    return f"{int(hh):02d}:{int(mm):02d}"


@dataclass(frozen=True)
class WorkingHours:
    """``[schools.working_hours]``: when a school's staff are working (personal mail inside these
    hours is a finding).  Written as the admin writes it; :attr:`weekdays`, :attr:`opens`,
    :attr:`closes` and :attr:`break_spans` are the same facts in the form the check compares,
    parsed once per configuration load (the check asks for each message)."""

    days: tuple[str, ...] = setting(("mon", "tue", "wed", "thu", "fri"), doc="Working days, mon..sun.")
    start: str = setting("08:00", doc="Start of the working day, HH:MM.")
    end: str = setting("17:00", doc="End of the working day, HH:MM.")
    timezone: str = setting("Europe/London", doc="IANA time zone (Europe/London): clock changes are handled.")
    holidays: tuple[str, ...] = setting((), doc="ISO dates that are not working days (bank holidays, INSET days).")
    breaks: tuple[str, ...] = setting(
        ("12:00-13:00",),
        doc='Break times, "HH:MM-HH:MM" (personal use is allowed in them; "usual break time", 000 7.3).',
    )

    @functools.cached_property
    def weekdays(self) -> frozenset[int]:
        """Monday = 0."""
        return frozenset(_DAYS[d.lower()[:3]] for d in self.days)

    @functools.cached_property
    def opens(self) -> str:
        return _hhmm(self.start, "start")

    @functools.cached_property
    def closes(self) -> str:
        return _hhmm(self.end, "end")

    @functools.cached_property
    def break_spans(self) -> tuple[tuple[str, str], ...]:
        spans = []
        for item in self.breaks:
            b_start, sep, b_end = item.partition("-")
            if not sep:
                raise Invalid("breaks", f"expected 'HH:MM-HH:MM', got {item!r}")
            spans.append((_hhmm(b_start, "breaks"), _hhmm(b_end, "breaks")))
        return tuple(spans)

    def validate(self) -> None:
        for d in self.days:
            if d.lower()[:3] not in _DAYS:
                raise Invalid("days", f"unknown day {d!r} (mon..sun)")
        _require_zone(self.timezone)
        for h in self.holidays:
            try:
                datetime.date.fromisoformat(h)
            except ValueError:
                raise Invalid("holidays", f"not an ISO date: {h!r}") from None
        self.break_spans  # noqa: B018 - validates the break times
        if self.opens >= self.closes:
            raise Invalid("end", "working hours must end after they start")


@dataclass(frozen=True)
class School:
    """``[[schools]]``: one school of the trust, its domains, its policy choices and its contacts."""

    domain: str = setting(doc="The school's mail domain (subdomains included).")
    name: str = setting("", doc="Display name used in rejections and disclaimers (default: the domain).")
    aliases: tuple[str, ...] = setting((), doc="Other domains of the same school.")
    policy_ref: str = setting("", doc="Which acceptable use policy document applies (free text, e.g. 000).")
    personal_use: str = setting(
        "allowed_with_label",
        choices=PERSONAL_USE_MODES,
        doc="allowed_with_label (default), prohibited (labelled personal mail is refused) or allowed.",
    )
    seal_personal: bool = setting(
        True,
        doc="Personal/Private-labelled mail is sealed from people (subject and content hidden, dpo unseals"
        " with a reason); every check still runs, findings keep type and count only.",
    )
    working_hours: WorkingHours = setting(
        WorkingHours(), doc="Table of working hours (below); personal mail inside them is a finding."
    )
    contacts: dict[str, Annotated[tuple[str, ...], ONE_OR_MANY]] = setting(
        {}, doc="Table role = address(es) for notifications: it, headteacher, dsl."
    )
    action: tuple[ActionRow, ...] = setting(
        (), doc="Per-school [[schools.action]] rows overriding the policy (same keys as [[action]])."
    )
    source: str = ""

    def __post_init__(self) -> None:
        # Domains compare lower-case everywhere; a display name defaults to the domain.
        object.__setattr__(self, "domain", self.domain.lower().strip())
        object.__setattr__(self, "aliases", tuple(a.lower() for a in self.aliases))
        if not self.name:
            object.__setattr__(self, "name", self.domain)

    def validate(self) -> None:
        if not self.domain or "." not in self.domain:
            raise Invalid("domain", "a school needs a domain like 'school.example'")

    @property
    def domains(self) -> tuple[str, ...]:
        return (self.domain, *self.aliases)

    @property
    def actions(self) -> tuple[PolicyEntry, ...]:
        return tuple(row.entry(f"{self.source}[{i}]") for i, row in enumerate(self.action))


@dataclass(frozen=True)
class OrganisationSettings:
    name: str = setting("Trust", doc="The trust's name, used in disclaimers and rejection texts.")
    internal_networks: tuple[str, ...] = setting(
        ("127.0.0.0/8", "::1/128"), doc="Client networks whose mail counts as sent from inside the trust (CIDR list)."
    )
    rules_dir: str = setting(
        "", doc="Directory of policy.toml, policy.d/, lexicons and rule files; empty = the shipped rules."
    )
    plugins: tuple[str, ...] = setting((), doc='Site-local checks as "module:Class", run after the shipped ones.')

    @property
    def networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.internal_networks)

    def validate(self) -> None:
        for plugin in self.plugins:
            module, sep, cls = plugin.partition(":")
            if not (module and sep and cls):
                raise Invalid("plugins", f"expected 'module:Class', got {plugin!r}")
        for net in self.internal_networks:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise Invalid("internal_networks", f"not a network: {net!r}") from None


@dataclass(frozen=True)
class MilterSettings:
    socket: str = setting(
        "unix:./var/aupmilter.sock",
        doc="Where the milter listens: unix:PATH (recommended, inside Postfix's chroot) or inet:PORT@HOST.",
    )
    failure_action: str = setting(
        "tempfail",
        choices=FAILURE_ACTIONS,
        doc="What Postfix is told when a message cannot be decided: tempfail (default), accept or reject.",
    )
    time_budget_seconds: float = setting(
        20.0, minimum=0.1, doc="Per-message decision budget; over it, the failure action applies."
    )
    spool_memory_bytes: int = setting(
        1 << 20, minimum=0, doc="Message bytes held in memory before spilling to a private temp file."
    )
    max_message_bytes: int = setting(
        50 << 20, minimum=1, doc="Larger messages are refused with 552 5.3.4 (keep Postfix's message_size_limit lower)."
    )
    socket_mode: str = setting(
        "0660", doc="Mode the unix socket gets by chmod right after bind (the process umask is never changed)."
    )
    log_format: str = setting("text", choices=("text", "json"), doc="One line per message as text or json.")
    log_addresses: bool = setting(
        False, doc="Include sender and recipient addresses in the per-message log line (off: privacy)."
    )
    tcp_nodelay: bool = setting(
        True, doc="Disable Nagle's algorithm on inet milter connections (tiny milter replies otherwise stall)."
    )
    workers: int = setting(
        -1, minimum=-1, doc="Worker processes deciding messages (-1: one per CPU; 0: in the milter process)."
    )

    def validate(self) -> None:
        if not (len(self.socket_mode) in (3, 4) and all(c in "01234567" for c in self.socket_mode)):
            raise Invalid("socket_mode", f"must be octal like '0660', not {self.socket_mode!r}")
        if not (self.socket.startswith("unix:") or self.socket.startswith("inet:")):
            raise Invalid("socket", "must start with unix: or inet:")


@dataclass(frozen=True)
class QuarantineSettings:
    mode: str = setting(
        "store",
        choices=("store", "hold"),
        doc="store: our store then discard from the mail flow; hold: Postfix's hold queue.",
    )
    path: str = setting(
        "./var/quarantine",
        doc="Directory of raw quarantined messages (and the SQLite database unless database is set).",
    )
    database: str = setting(
        "", doc="Empty for SQLite in path; postgresql://... to share one quarantine between gateways."
    )
    release_host: str = setting(
        "127.0.0.1", doc="Postfix listener without milters used for releases and notifications."
    )
    release_port: int = setting(
        10026, minimum=1, maximum=65535, doc="Port of that listener (deploy/postfix/master.cf.snippet)."
    )
    retention_days: dict[str, int] = setting(
        {}, doc="Table: days quarantined mail is kept, per top-level category (attachment = 30, ...)."
    )
    default_retention_days: int = setting(90, minimum=1, doc="Days kept for categories not named in retention_days.")
    sender_exceptions: str = setting(
        "", doc="Per-sender exceptions file written by 'Release and allow sender' (default: beside the store)."
    )
    audit_key_file: str = setting(
        "",
        doc="HMAC key ring of the audit chain, mode 0600, outside the database; empty = path/audit.key (created if"
        " missing). Copy it to every gateway sharing a PostgreSQL quarantine.",
    )
    audit_anchor_file: str = setting(
        "",
        doc="Local append-only log of audit chain heads (truncation evidence; chattr +a it);"
        " empty = path/audit-anchor.log.",
    )

    @property
    def sender_exceptions_path(self) -> Path:
        return Path(self.sender_exceptions) if self.sender_exceptions else Path(self.path) / "sender-exceptions.toml"

    def validate(self) -> None:
        for category, days in self.retention_days.items():
            if days < 1:
                raise Invalid(f"retention_days.{category}", "retention must be at least 1 day")


@dataclass(frozen=True)
class WebSettings:
    listen: str = setting(
        "127.0.0.1:8025", doc="Review UI HOST:PORT; keep it on loopback behind an HTTPS reverse proxy."
    )
    secret_key_file: str = setting(
        "./var/web-secret",
        doc="Secret binding the sign-in form's CSRF token; created 0600 (O_EXCL) if missing, refused if group or"
        " others can read it.",
    )
    secure_cookies: bool = setting(True, doc="Mark session cookies Secure (keep true in production).")
    trusted_header: str = setting(
        "",
        doc="Header carrying the user name from an authenticating reverse proxy; empty = off. Honoured only with the"
        " proxy secret below, or on a unix: listen socket.",
    )
    base_url: str = setting("http://127.0.0.1:8025", doc="Public URL of the review UI, used in notification links.")
    timezone: str = setting("Europe/London", doc="Time zone the review UI shows times in (and where 'today' starts).")
    page_size: int = setting(50, minimum=5, maximum=500, doc="Items per page in the review list (5-500).")
    trusted_proxy_secret_header: str = setting(
        "X-Proxy-Secret", doc="Header in which the authenticating proxy sends the shared secret."
    )
    trusted_proxy_secret_file: str = setting(
        "",
        doc="File (mode 0600) holding that shared secret; required for trusted_header unless listen is unix:PATH.",
    )
    trusted_proxies: tuple[str, ...] = setting(
        (),
        doc="Addresses of reverse proxies whose client_address_header is believed (login rate limiting); [] = none.",
    )
    client_address_header: str = setting(
        "X-Forwarded-For", doc="Header in which a trusted proxy passes the client address (its last entry is used)."
    )
    session_idle_seconds: int = setting(
        1800, minimum=60, doc="A session unused this long ends (server-side; at least 60)."
    )
    session_max_seconds: int = setting(8 * 3600, doc="A session ends this long after sign-in whatever its use.")

    def validate(self) -> None:
        _require_zone(self.timezone)
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_address(proxy)
            except ValueError:
                raise Invalid("trusted_proxies", f"not an IP address: {proxy!r}") from None
        if self.trusted_header and not (self.trusted_proxy_secret_file or self.listen.startswith("unix:")):
            raise Invalid(
                "trusted_header",
                "needs web.trusted_proxy_secret_file (a secret only the proxy sends) or a unix: listen socket",
            )
        if self.session_max_seconds < self.session_idle_seconds:
            raise Invalid("session_max_seconds", "sessions: idle >= 60 s and max >= idle")


REVIEW_ROLES = ("auditor", "reviewer", "dpo")


@dataclass(frozen=True)
class ReviewSettings:
    """Who may use the quarantine CLI as which role: OS group names per role, checked against
    the real uid's groups (never a flag or an environment variable)."""

    os_roles: dict[str, Annotated[tuple[str, ...], ONE_OR_MANY]] = setting(
        {},
        doc="Table role = OS group(s): who may use the quarantine CLI as auditor, reviewer or dpo (e.g. dpo ="
        ' ["aup-dpo"]); the highest role among the real uid\'s groups applies.',
    )

    def validate(self) -> None:
        for role in self.os_roles:
            if role not in REVIEW_ROLES:
                raise Invalid(f"os_roles.{role}", "unknown role (auditor, reviewer, dpo)")


@dataclass(frozen=True)
class DkimKey:
    selector: str = setting(doc="DNS selector of the key (selector._domainkey.domain).")
    key_file: str = setting(doc="PEM private key, mode 600, owned by the service user.")


@dataclass(frozen=True)
class DkimSettings:
    """``[dkim]``: signing is the gateway's last step, on its own, whatever else is configured.

    ``domains`` maps a school domain to (selector, key file); the keys are read and test-signed
    when the transforms are built (:func:`aupmilter.dkim.load_keys`)."""

    scope: str = setting(
        "external",
        choices=("external", "all_outbound"),
        doc="external: sign outbound mail; all_outbound: also internal mail.",
    )
    sign: str = setting(
        "changed",
        choices=("changed", "all"),
        doc="changed (default): mail the gateway changed (disclaimer, subject tag, release); all: every message"
        " from a keyed domain.",
    )
    domains: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggingSettings:
    """Where the daemons log: stderr (systemd's journal), syslog (mail facility, like Postfix),
    or a file (for a box without either)."""

    target: str = setting(
        "stderr", choices=LOG_TARGETS, doc="stderr (systemd's journal), syslog (facility below, like Postfix) or file."
    )
    file: str = setting(
        "",
        doc="Log file for target = file (the service user must be able to write it; rotate with copytruncate or"
        " SIGHUP-free logrotate).",
    )
    syslog_socket: str = setting("/dev/log", doc="Syslog socket for target = syslog.")
    facility: str = setting(
        "mail",
        choices=("mail", "daemon", "user", *(f"local{i}" for i in range(8))),
        doc="Syslog facility: mail (default, Postfix's), daemon, user or local0..local7.",
    )
    level: str = setting("info", doc="debug, info (default), warning or error.")

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", self.level.lower())

    def validate(self) -> None:
        if self.target == "file" and not self.file:
            raise Invalid("file", "target = 'file' needs file = '/var/log/aupmilter/aupmilter.log'")
        if self.level not in ("debug", "info", "warning", "error"):
            raise Invalid("level", "must be debug, info, warning or error")


@dataclass(frozen=True)
class AntivirusSettings:
    """``[antivirus]``: the clamd the antivirus check sends decoded parts to (docs/install.md)."""

    enabled: bool = setting(
        False,
        doc="Send every decoded attachment and body part to the virus scanner (docs/install.md: clamd + freshclam).",
    )
    scanner: str = setting("clamav", doc="Scanner protocol; clamav (clamd INSTREAM) is the one shipped.")
    socket: str = setting(
        "unix:/var/run/clamav/clamd.ctl",
        doc="clamd's socket: unix:/path (Debian: /var/run/clamav/clamd.ctl) or inet:HOST:PORT.",
    )
    connect_timeout_seconds: float = setting(
        2.0, minimum=0.001, doc="Connecting longer than this is a scan error (failure_action applies)."
    )
    scan_timeout_seconds: float = setting(
        10.0,
        minimum=0.001,
        doc="No verdict within this per part is a scan error; keep it below milter.time_budget_seconds.",
    )
    max_scan_bytes: int = setting(
        25 << 20,
        minimum=1,
        doc="Parts larger than this are not sent (antivirus.skipped); keep it at or below clamd's StreamMaxLength.",
    )
    max_parts: int = setting(200, minimum=1, doc="Parts scanned per message; the rest are antivirus.skipped.")
    failure_action: str = setting(
        "tempfail",
        choices=ANTIVIRUS_FAILURE_ACTIONS,
        doc="Scanner unreachable, timing out or failing: tempfail (451, Postfix retries) or policy (finding"
        " antivirus.unavailable).",
    )

    def validate(self) -> None:
        from aupmilter.antivirus import SCANNERS, Address

        if self.scanner not in SCANNERS:
            raise Invalid("scanner", f"must be one of {', '.join(SCANNERS)}")
        try:
            Address.parse(self.socket)
        except ValueError as exc:
            raise Invalid("socket", str(exc)) from None


@dataclass(frozen=True)
class MetricsSettings:
    listen: str = setting("127.0.0.1:9851", doc="Prometheus endpoint HOST:PORT (loopback); empty disables it.")


@dataclass(frozen=True)
class TaggingSettings:
    subject_prefix: str = setting("", doc="Prefix added to the subject of tagged mail, e.g. [AUP]; empty = none.")
    outbound_verdict: bool = setting(
        False,
        doc="Keep one X-AUP-Verdict header on mail to outside recipients (never the findings); off by default.",
    )


@dataclass(frozen=True)
class SiteFile:
    """The site's ``aupmilter.toml`` as written: every section, each with its own schema.  The
    checks' own ``[checks.<name>]`` tables are read by the checks' option schemas
    (:mod:`aupmilter.checks`); ``[dkim]`` has school domains as keys and is read below."""

    organisation: OrganisationSettings = setting(OrganisationSettings(), doc="The trust.")
    milter: MilterSettings = setting(MilterSettings(), doc="The milter daemon.")
    quarantine: QuarantineSettings = setting(QuarantineSettings(), doc="Quarantine store and release.")
    web: WebSettings = setting(WebSettings(), doc="Review web UI.")
    review: ReviewSettings = setting(ReviewSettings(), doc="Who may review from the CLI.")
    antivirus: AntivirusSettings = setting(AntivirusSettings(), doc="Virus scanning by clamd.")
    metrics: MetricsSettings = setting(MetricsSettings(), doc="Prometheus metrics.")
    tagging: TaggingSettings = setting(TaggingSettings(), doc="What tagged mail carries.")
    logging: LoggingSettings = setting(LoggingSettings(), doc="Where the daemons log.")
    dkim: dict[str, Any] = setting({}, doc="DKIM signing (below).")
    schools: tuple[School, ...] = setting((), doc="The schools of the trust.")
    action: tuple[ActionRow, ...] = setting((), doc="Site policy rows overriding the shipped policy.")
    checks: dict[str, dict[str, Any]] = setting({}, doc="Per-check options (below).")


@dataclass(frozen=True)
class PolicyFile:
    """``rules/policy.toml`` and ``rules/policy.d/*.toml``: rows of the action table."""

    action: tuple[ActionRow, ...] = setting((), doc="Policy rows.")


@dataclass(frozen=True)
class Config:
    """The whole validated configuration.  Immutable: a reload builds a new one."""

    source: str
    rules_dir: Path
    org_name: str
    schools: tuple[School, ...]
    internal_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    milter: MilterSettings
    quarantine: QuarantineSettings
    metrics_listen: str
    subject_prefix: str
    policy: tuple[PolicyEntry, ...]
    checks: dict[str, dict[str, Any]]
    #: Site-local checks ("module:Class"), run after the shipped ones: lets a trust add a check
    #: of its own without forking, and lets the test suite inject a misbehaving one.
    plugins: tuple[str, ...] = ()
    web: WebSettings = field(default_factory=WebSettings)
    #: Outbound mail keeps one ``X-AUP-Verdict`` header (never the findings); off by default.
    outbound_verdict: bool = False
    dkim: DkimSettings = field(default_factory=DkimSettings)
    logging: LoggingSettings = field(default_factory=lambda: LoggingSettings())
    sender_exceptions: tuple[SenderException, ...] = ()
    review: ReviewSettings = field(default_factory=ReviewSettings)
    antivirus: AntivirusSettings = field(default_factory=AntivirusSettings)

    @property
    def org_domains(self) -> tuple[str, ...]:
        return tuple(d for s in self.schools for d in s.domains)

    def school_for_domain(self, domain: str) -> School | None:
        domain = domain.lower()
        for school in self.schools:
            for d in school.domains:
                if domain == d or domain.endswith("." + d):
                    return school
        return None

    def is_org_domain(self, domain: str) -> bool:
        return self.school_for_domain(domain) is not None

    def check_enabled(self, name: str) -> bool:
        if name == "antivirus":  # configured in its own [antivirus] section
            return self.antivirus.enabled
        return bool(self.checks.get(name, {}).get("enabled", True))


def _read_dkim(table: dict[str, Any], source: str, schools: tuple[School, ...]) -> DkimSettings:
    """``[dkim]``: two settings plus one ``[dkim."<domain>"]`` table per signing domain."""
    rest = dict(table)
    plain = {k: rest.pop(k) for k in ("scope", "sign") if k in rest}
    settings = schema.read(DkimSettings, plain, source, "dkim")
    own = {d for s in schools for d in s.domains}
    domains: dict[str, tuple[str, str]] = {}
    for domain, spec in rest.items():
        path = f'dkim."{domain}"'
        key = schema.read(DkimKey, spec, source, path)
        name = domain.lower()
        if not any(name == d or name.endswith("." + d) for d in own):
            raise ConfigError(source, path, "not a school domain of this trust")
        domains[name] = (key.selector, key.key_file)
    return DkimSettings(settings.scope, settings.sign, domains)


def _load_toml(path: Path) -> dict[str, Any]:
    return schema.load_toml(path)


#: Where a deployed gateway keeps its config (docs/install.md); used when nothing else is named.
SYSTEM_CONFIG = Path("/etc/aupmilter/aupmilter.toml")


def resolve_config_path(explicit: str | None) -> Path:
    """``--config``, else ``$AUPMILTER_CONFIG``, else ``/etc/aupmilter/aupmilter.toml`` when it
    exists, else the shipped demo config.  The /etc step is why ``aupmilter quarantine list`` on a
    gateway reads the gateway's quarantine instead of an empty ``./var`` of the demo."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    if SYSTEM_CONFIG.is_file():
        return SYSTEM_CONFIG
    return shipped_default_config()


def is_demo(config: Config) -> bool:
    return Path(config.source) == shipped_default_config()


def demo_notice(config: Config) -> str:
    """What a command that touches state says when it runs on the demo config (never silently)."""
    state = Path(config.quarantine.path).resolve()
    return (
        f"aupmilter: using the built-in demo configuration ({config.source}): no --config, no ${ENV_VAR},"
        f" no {SYSTEM_CONFIG}; quarantine and accounts are under {state}"
    )


def load_config(explicit: str | None = None) -> Config:
    path = resolve_config_path(explicit)
    return parse_config(_load_toml(path), str(path), base_dir=path.parent)


def parse_config(data: dict[str, Any], source: str, base_dir: Path | None = None) -> Config:
    """Validate a parsed site config (and the policy files it points at) into a :class:`Config`."""
    site = schema.read(SiteFile, data, source)
    org = site.organisation
    rules_dir = Path(org.rules_dir) if org.rules_dir else shipped_rules_dir()
    if org.rules_dir and not rules_dir.is_absolute() and base_dir is not None:
        rules_dir = (base_dir / rules_dir).resolve()

    schools = tuple(
        dataclasses.replace(school, source=f"{source}:schools[{i}].action") for i, school in enumerate(site.schools)
    )
    seen: set[str] = set()
    for school in schools:
        for d in school.domains:
            if d in seen:
                raise ConfigError(source, "schools", f"domain {d!r} configured twice")
            seen.add(d)

    site_actions = tuple(row.entry(f"{source}:action[{i}]") for i, row in enumerate(site.action))
    shipped_entries: tuple[PolicyEntry, ...] = ()
    for policy_path in policy_files(rules_dir):
        rows = schema.read_file(PolicyFile, policy_path).action
        shipped_entries += tuple(row.entry(f"{policy_path}:action[{i}]") for i, row in enumerate(rows))
    quarantine = site.quarantine
    return Config(
        source=source,
        rules_dir=rules_dir,
        org_name=org.name,
        schools=schools,
        internal_networks=org.networks,
        milter=site.milter,
        quarantine=quarantine,
        metrics_listen=site.metrics.listen,
        subject_prefix=site.tagging.subject_prefix,
        policy=shipped_entries + site_actions,
        checks=site.checks,
        plugins=org.plugins,
        web=site.web,
        sender_exceptions=sender_exceptions.load(quarantine.sender_exceptions_path, seen),
        review=site.review,
        antivirus=site.antivirus,
        outbound_verdict=site.tagging.outbound_verdict,
        dkim=_read_dkim(site.dkim, source, schools),
        logging=site.logging,
    )
