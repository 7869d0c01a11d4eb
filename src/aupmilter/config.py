"""Site configuration and policy data, loaded and validated in one place.

Two layers of data: the shipped ``rules/`` (policy.toml, lexicons, rule files), which say what
the trust's policies mean by default, and the site's ``aupmilter.toml``, which names the schools,
networks and paths and may override any action, per school.  Every key is validated; unknown keys
are errors naming the file and the key, because a typo in a mail-filter policy silently weakens
it.  A shipped default config (a demo trust with two schools) lets ``make run`` start with no
file at all.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from aupmilter import sender_exceptions
from aupmilter.errors import ConfigError
from aupmilter.model import Action, Direction
from aupmilter.registry import REGISTRY
from aupmilter.sender_exceptions import SenderException

ENV_VAR = "AUPMILTER_CONFIG"
DEFAULT_CONFIG_NAME = "aupmilter.toml"
PERSONAL_USE_MODES = ("allowed_with_label", "prohibited", "allowed")
FAILURE_ACTIONS = ("tempfail", "accept", "reject")


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
class WorkingHours:
    days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday=0
    start: str = "08:00"
    end: str = "17:00"
    timezone: str = "Europe/London"
    holidays: tuple[str, ...] = ()  # ISO dates (bank holidays, INSET days) that are not working
    breaks: tuple[tuple[str, str], ...] = (("12:00", "13:00"),)  # "usual break time" (000 7.3)


@dataclass(frozen=True)
class School:
    domain: str
    name: str
    aliases: tuple[str, ...] = ()
    policy_ref: str = ""
    personal_use: str = "allowed_with_label"
    seal_personal: bool = True
    working_hours: WorkingHours = field(default_factory=WorkingHours)
    contacts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    actions: tuple[PolicyEntry, ...] = ()

    @property
    def domains(self) -> tuple[str, ...]:
        return (self.domain, *self.aliases)


@dataclass(frozen=True)
class MilterSettings:
    socket: str = "unix:./var/aupmilter.sock"
    failure_action: str = "tempfail"
    time_budget_seconds: float = 20.0
    spool_memory_bytes: int = 1 << 20
    max_message_bytes: int = 50 << 20
    socket_mode: str = "0660"
    log_format: str = "text"  # text | json
    log_addresses: bool = False
    tcp_nodelay: bool = True
    workers: int = -1  # evaluation processes: -1 = one per CPU, 0 = in the milter process


@dataclass(frozen=True)
class QuarantineSettings:
    mode: str = "store"  # store (our store, then discard) | hold (Postfix hold queue)
    path: str = "./var/quarantine"
    database: str = ""  # "" = sqlite under path; or postgresql://...
    release_host: str = "127.0.0.1"
    release_port: int = 10026
    #: Days kept, per top-level category (attachment, offensive, ...); others: default.
    retention_days: dict[str, int] = field(default_factory=dict)
    default_retention_days: int = 90
    #: Per-sender exceptions file (:mod:`aupmilter.sender_exceptions`); "" = beside the store.
    sender_exceptions: str = ""

    @property
    def sender_exceptions_path(self) -> Path:
        return Path(self.sender_exceptions) if self.sender_exceptions else Path(self.path) / "sender-exceptions.toml"
    #: HMAC key ring of the audit chain (outside the database, mode 0600); "" = path/audit.key.
    audit_key_file: str = ""
    #: Local append-only log of audit chain heads (truncation evidence); "" = path/audit-anchor.log.
    audit_anchor_file: str = ""


@dataclass(frozen=True)
class WebSettings:
    listen: str = "127.0.0.1:8025"
    secret_key_file: str = "./var/web-secret"  # created (mode 600) if missing
    secure_cookies: bool = True
    trusted_header: str = ""  # e.g. "X-Remote-User" behind an authenticating proxy; "" = off
    base_url: str = "http://127.0.0.1:8025"
    #: Times in the UI are shown in this zone, with its abbreviation; "today" starts at its midnight.
    timezone: str = "Europe/London"
    #: Items per page in the review list.
    page_size: int = 50
    #: trusted_header is honoured only with this header carrying the shared secret below
    #: (or when the UI listens on a unix socket only the proxy can reach).
    trusted_proxy_secret_header: str = "X-Proxy-Secret"
    trusted_proxy_secret_file: str = ""
    #: Peers whose client-address header is believed (for login rate limiting); [] = none.
    trusted_proxies: tuple[str, ...] = ()
    client_address_header: str = "X-Forwarded-For"
    session_idle_seconds: int = 1800
    session_max_seconds: int = 8 * 3600


@dataclass(frozen=True)
class ReviewSettings:
    """Who may use the quarantine CLI as which role: OS group names per role, checked against
    the real uid's groups (never a flag or an environment variable)."""

    os_roles: dict[str, tuple[str, ...]] = field(default_factory=dict)


LOG_TARGETS = ("stderr", "syslog", "file")


@dataclass(frozen=True)
class DkimSettings:
    """``[dkim]``: signing is the gateway's last step, on its own, whatever else is configured.

    ``domains`` maps a school domain to (selector, key file); the keys are read and test-signed
    when the transforms are built (:func:`aupmilter.dkim.load_keys`)."""

    scope: str = "external"  # external: outbound mail; all_outbound: also internal mail
    sign: str = "changed"  # changed: mail the gateway changed; all: every message from a keyed domain
    domains: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggingSettings:
    """Where the daemons log: stderr (systemd's journal), syslog (mail facility, like Postfix),
    or a file (for a box without either)."""

    target: str = "stderr"
    file: str = ""
    syslog_socket: str = "/dev/log"
    facility: str = "mail"
    level: str = "info"


@dataclass(frozen=True)
class AntivirusSettings:
    """``[antivirus]``: the clamd the antivirus check sends decoded parts to (docs/install.md)."""

    enabled: bool = False
    scanner: str = "clamav"
    socket: str = "unix:/var/run/clamav/clamd.ctl"
    connect_timeout_seconds: float = 2.0
    scan_timeout_seconds: float = 10.0
    max_scan_bytes: int = 25 << 20  # keep at or below clamd's StreamMaxLength
    max_parts: int = 200
    failure_action: str = "tempfail"  # tempfail | policy (finding antivirus.unavailable)


ANTIVIRUS_FAILURE_ACTIONS = ("tempfail", "policy")


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


# --- parsing helpers --------------------------------------------------------------------------


class _Table:
    """A TOML table being consumed key by key, so leftovers can be reported as unknown."""

    def __init__(self, data: Any, source: str, path: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(source, path, "must be a table")
        self.data = dict(data)
        self.source = source
        self.path = path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def take(self, name: str, kind: type | tuple[type, ...], default: Any) -> Any:
        if name not in self.data:
            return default
        value = self.data.pop(name)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
            expected = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise ConfigError(self.source, self.key(name), f"expected {expected}, got {value!r}")
        return value

    def take_table(self, name: str) -> _Table:
        return _Table(self.data.pop(name, {}), self.source, self.key(name))

    def done(self) -> None:
        if self.data:
            raise ConfigError(self.source, self.key(sorted(self.data)[0]), "unknown key")


def _parse_policy_entries(items: Any, source: str, path: str) -> tuple[PolicyEntry, ...]:
    if not isinstance(items, list):
        raise ConfigError(source, path, "must be an array of tables ([[action]])")
    entries = []
    for i, item in enumerate(items):
        t = _Table(item, source, f"{path}[{i}]")
        match = t.take("match", str, None)
        if not match:
            raise ConfigError(source, t.key("match"), "is required")
        actions: dict[Direction, Action] = {}
        every = t.take("all", str, None)
        for direction in Direction:
            text = t.take(direction.value, str, every)
            if text is not None:
                try:
                    actions[direction] = Action.parse(text)
                except ValueError as exc:
                    raise ConfigError(source, t.key(direction.value), str(exc)) from None
        min_score = t.take("min_score", float, 0.0)
        clause = t.take("clause", str, "")
        t.done()
        if not actions:
            raise ConfigError(source, t.key("match"), "names no action (inbound/outbound/internal/all)")
        entries.append(PolicyEntry(match, actions, min_score, clause, f"{source}:{path}[{i}]"))
    return tuple(entries)


_DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def _parse_hhmm(value: str, source: str, key: str) -> str:
    hh, sep, mm = value.partition(":")
    if not (sep and hh.isdigit() and mm.isdigit() and 0 <= int(hh) <= 24 and 0 <= int(mm) < 60):
        raise ConfigError(source, key, f"expected HH:MM, got {value!r}")
    return f"{int(hh):02d}:{int(mm):02d}"


def _parse_working_hours(t: _Table) -> WorkingHours:
    days_raw = t.take("days", list, ["mon", "tue", "wed", "thu", "fri"])
    days = []
    for d in days_raw:
        if not isinstance(d, str) or d.lower()[:3] not in _DAYS:
            raise ConfigError(t.source, t.key("days"), f"unknown day {d!r} (mon..sun)")
        days.append(_DAYS[d.lower()[:3]])
    start = _parse_hhmm(t.take("start", str, "08:00"), t.source, t.key("start"))
    end = _parse_hhmm(t.take("end", str, "17:00"), t.source, t.key("end"))
    tz = t.take("timezone", str, "Europe/London")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(tz)
    except Exception:
        raise ConfigError(t.source, t.key("timezone"), f"unknown time zone {tz!r}") from None
    holidays = t.take("holidays", list, [])
    for h in holidays:
        import datetime as _dt

        try:
            _dt.date.fromisoformat(str(h))
        except ValueError:
            raise ConfigError(t.source, t.key("holidays"), f"not an ISO date: {h!r}") from None
    breaks: list[tuple[str, str]] = []
    for item in t.take("breaks", list, ["12:00-13:00"]):
        b_start, sep, b_end = str(item).partition("-")
        if not sep:
            raise ConfigError(t.source, t.key("breaks"), f"expected 'HH:MM-HH:MM', got {item!r}")
        breaks.append(
            (
                _parse_hhmm(b_start.strip(), t.source, t.key("breaks")),
                _parse_hhmm(b_end.strip(), t.source, t.key("breaks")),
            )
        )
    t.done()
    if start >= end:
        raise ConfigError(t.source, t.key("end"), "working hours must end after they start")
    return WorkingHours(tuple(days), start, end, tz, tuple(str(h) for h in holidays), tuple(breaks))


def _parse_dkim(t: _Table, schools: tuple[School, ...]) -> DkimSettings:
    scope = t.take("scope", str, "external")
    if scope not in ("external", "all_outbound"):
        raise ConfigError(t.source, t.key("scope"), "must be 'external' or 'all_outbound'")
    sign = t.take("sign", str, "changed")
    if sign not in ("changed", "all"):
        raise ConfigError(t.source, t.key("sign"), "must be 'changed' or 'all'")
    own = {d for s in schools for d in s.domains}
    domains: dict[str, tuple[str, str]] = {}
    for domain in list(t.data):
        spec = t.take_table(domain)
        selector = spec.take("selector", str, "")
        key_file = spec.take("key_file", str, "")
        spec.done()
        if not selector or not key_file:
            raise ConfigError(t.source, spec.path, "needs exactly selector and key_file")
        name = domain.lower()
        if not any(name == d or name.endswith("." + d) for d in own):
            raise ConfigError(t.source, spec.path, "not a school domain of this trust")
        domains[name] = (selector, key_file)
    return DkimSettings(scope, sign, domains)


def _parse_logging(t: _Table) -> LoggingSettings:
    settings = LoggingSettings(
        target=t.take("target", str, "stderr"),
        file=t.take("file", str, ""),
        syslog_socket=t.take("syslog_socket", str, "/dev/log"),
        facility=t.take("facility", str, "mail"),
        level=t.take("level", str, "info").lower(),
    )
    t.done()
    if settings.target not in LOG_TARGETS:
        raise ConfigError(t.source, t.key("target"), f"must be one of {', '.join(LOG_TARGETS)}")
    if settings.target == "file" and not settings.file:
        raise ConfigError(t.source, t.key("file"), "target = 'file' needs file = '/var/log/aupmilter/aupmilter.log'")
    if settings.facility not in ("mail", "daemon", "user", *(f"local{i}" for i in range(8))):
        raise ConfigError(t.source, t.key("facility"), "must be mail, daemon, user or local0..local7")
    if settings.level not in ("debug", "info", "warning", "error"):
        raise ConfigError(t.source, t.key("level"), "must be debug, info, warning or error")
    return settings


def _parse_retention(t: _Table) -> dict[str, int]:
    days: dict[str, int] = {}
    for category in list(t.data):
        value = t.take(category, int, 0)
        if value < 1:
            raise ConfigError(t.source, t.key(category), "retention must be at least 1 day")
        days[category] = value
    return days


def _parse_school(item: Any, source: str, path: str) -> School:
    t = _Table(item, source, path)
    domain = t.take("domain", str, "").lower().strip()
    if not domain or "." not in domain:
        raise ConfigError(source, t.key("domain"), "a school needs a domain like 'school.example'")
    name = t.take("name", str, domain)
    aliases = tuple(a.lower() for a in t.take("aliases", list, []))
    policy_ref = t.take("policy_ref", str, "")
    personal_use = t.take("personal_use", str, "allowed_with_label")
    if personal_use not in PERSONAL_USE_MODES:
        raise ConfigError(source, t.key("personal_use"), f"must be one of {', '.join(PERSONAL_USE_MODES)}")
    seal = t.take("seal_personal", bool, True)
    hours = _parse_working_hours(t.take_table("working_hours"))
    contacts_t = t.take_table("contacts")
    contacts: dict[str, tuple[str, ...]] = {}
    for role in list(contacts_t.data):
        value = contacts_t.take(role, (str, list), [])
        contacts[role] = (value,) if isinstance(value, str) else tuple(str(v) for v in value)
    actions = _parse_policy_entries(t.data.pop("action", []), source, t.key("action"))
    t.done()
    return School(domain, name, aliases, policy_ref, personal_use, seal, hours, contacts, actions)


def _parse_antivirus(t: _Table) -> AntivirusSettings:
    from aupmilter.antivirus import SCANNERS, Address

    av = AntivirusSettings(
        enabled=t.take("enabled", bool, False),
        scanner=t.take("scanner", str, "clamav"),
        socket=t.take("socket", str, AntivirusSettings.socket),
        connect_timeout_seconds=t.take("connect_timeout_seconds", float, 2.0),
        scan_timeout_seconds=t.take("scan_timeout_seconds", float, 10.0),
        max_scan_bytes=t.take("max_scan_bytes", int, AntivirusSettings.max_scan_bytes),
        max_parts=t.take("max_parts", int, AntivirusSettings.max_parts),
        failure_action=t.take("failure_action", str, "tempfail"),
    )
    t.done()
    if av.scanner not in SCANNERS:
        raise ConfigError(t.source, t.key("scanner"), f"must be one of {', '.join(SCANNERS)}")
    try:
        Address.parse(av.socket)
    except ValueError as exc:
        raise ConfigError(t.source, t.key("socket"), str(exc)) from None
    if av.failure_action not in ANTIVIRUS_FAILURE_ACTIONS:
        raise ConfigError(t.source, t.key("failure_action"), f"must be one of {', '.join(ANTIVIRUS_FAILURE_ACTIONS)}")
    for key in ("connect_timeout_seconds", "scan_timeout_seconds", "max_scan_bytes", "max_parts"):
        if getattr(av, key) <= 0:
            raise ConfigError(t.source, t.key(key), "must be greater than 0")
    return av


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror}") from None


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
    """Validate a parsed site config (and the rules it points at) into a :class:`Config`."""
    root = _Table(data, source, "")
    org = root.take_table("organisation")
    org_name = org.take("name", str, "Trust")
    rules_dir_text = org.take("rules_dir", str, "")
    plugins = tuple(str(p) for p in org.take("plugins", list, []))
    for plugin in plugins:
        module, sep, cls = plugin.partition(":")
        if not (module and sep and cls):
            raise ConfigError(source, org.key("plugins"), f"expected 'module:Class', got {plugin!r}")
    nets = []
    for net in org.take("internal_networks", list, ["127.0.0.0/8", "::1/128"]):
        try:
            nets.append(ipaddress.ip_network(str(net), strict=False))
        except ValueError:
            raise ConfigError(source, org.key("internal_networks"), f"not a network: {net!r}") from None
    org.done()
    rules_dir = Path(rules_dir_text) if rules_dir_text else shipped_rules_dir()
    if rules_dir_text and not rules_dir.is_absolute() and base_dir is not None:
        rules_dir = (base_dir / rules_dir).resolve()

    m = root.take_table("milter")
    milter = MilterSettings(
        socket=m.take("socket", str, MilterSettings.socket),
        failure_action=m.take("failure_action", str, "tempfail"),
        time_budget_seconds=m.take("time_budget_seconds", float, 20.0),
        spool_memory_bytes=m.take("spool_memory_bytes", int, 1 << 20),
        max_message_bytes=m.take("max_message_bytes", int, 50 << 20),
        socket_mode=m.take("socket_mode", str, "0660"),
        log_format=m.take("log_format", str, "text"),
        log_addresses=m.take("log_addresses", bool, False),
        tcp_nodelay=m.take("tcp_nodelay", bool, True),
        workers=m.take("workers", int, -1),
    )
    if milter.failure_action not in FAILURE_ACTIONS:
        raise ConfigError(source, "milter.failure_action", f"must be one of {', '.join(FAILURE_ACTIONS)}")
    if not (len(milter.socket_mode) in (3, 4) and all(c in "01234567" for c in milter.socket_mode)):
        raise ConfigError(source, "milter.socket_mode", f"must be octal like '0660', not {milter.socket_mode!r}")
    if milter.log_format not in ("text", "json"):
        raise ConfigError(source, "milter.log_format", "must be 'text' or 'json'")
    if not (milter.socket.startswith("unix:") or milter.socket.startswith("inet:")):
        raise ConfigError(source, "milter.socket", "must start with unix: or inet:")
    m.done()

    q = root.take_table("quarantine")
    quarantine = QuarantineSettings(
        mode=q.take("mode", str, "store"),
        path=q.take("path", str, QuarantineSettings.path),
        database=q.take("database", str, ""),
        release_host=q.take("release_host", str, "127.0.0.1"),
        release_port=q.take("release_port", int, 10026),
        retention_days=_parse_retention(q.take_table("retention_days")),
        default_retention_days=q.take("default_retention_days", int, 90),
        sender_exceptions=q.take("sender_exceptions", str, ""),
        audit_key_file=q.take("audit_key_file", str, ""),
        audit_anchor_file=q.take("audit_anchor_file", str, ""),
    )
    if quarantine.mode not in ("store", "hold"):
        raise ConfigError(source, "quarantine.mode", "must be 'store' or 'hold'")
    q.done()

    w = root.take_table("web")
    web = WebSettings(
        listen=w.take("listen", str, WebSettings.listen),
        secret_key_file=w.take("secret_key_file", str, WebSettings.secret_key_file),
        secure_cookies=w.take("secure_cookies", bool, True),
        trusted_header=w.take("trusted_header", str, ""),
        base_url=w.take("base_url", str, WebSettings.base_url),
        timezone=w.take("timezone", str, WebSettings.timezone),
        page_size=w.take("page_size", int, WebSettings.page_size),
        trusted_proxy_secret_header=w.take("trusted_proxy_secret_header", str, "X-Proxy-Secret"),
        trusted_proxy_secret_file=w.take("trusted_proxy_secret_file", str, ""),
        trusted_proxies=tuple(str(p) for p in w.take("trusted_proxies", list, [])),
        client_address_header=w.take("client_address_header", str, "X-Forwarded-For"),
        session_idle_seconds=w.take("session_idle_seconds", int, 1800),
        session_max_seconds=w.take("session_max_seconds", int, 8 * 3600),
    )
    try:
        zoneinfo.ZoneInfo(web.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(source, "web.timezone", f"unknown time zone {web.timezone!r}") from None
    if not 5 <= web.page_size <= 500:
        raise ConfigError(source, "web.page_size", "must be between 5 and 500")
    for proxy in web.trusted_proxies:
        try:
            ipaddress.ip_address(proxy)
        except ValueError:
            raise ConfigError(source, "web.trusted_proxies", f"not an IP address: {proxy!r}") from None
    if web.trusted_header and not (web.trusted_proxy_secret_file or web.listen.startswith("unix:")):
        raise ConfigError(
            source,
            "web.trusted_header",
            "needs web.trusted_proxy_secret_file (a secret only the proxy sends) or a unix: listen socket",
        )
    if web.session_idle_seconds < 60 or web.session_max_seconds < web.session_idle_seconds:
        raise ConfigError(source, "web.session_max_seconds", "sessions: idle >= 60 s and max >= idle")
    w.done()

    rv = root.take_table("review")
    roles_t = rv.take_table("os_roles")
    os_roles: dict[str, tuple[str, ...]] = {}
    for role_name in list(roles_t.data):
        if role_name not in ("auditor", "reviewer", "dpo"):
            raise ConfigError(source, roles_t.key(role_name), "unknown role (auditor, reviewer, dpo)")
        groups = roles_t.take(role_name, (str, list), [])
        os_roles[role_name] = (groups,) if isinstance(groups, str) else tuple(str(g) for g in groups)
    roles_t.done()
    rv.done()
    review = ReviewSettings(os_roles)
    antivirus = _parse_antivirus(root.take_table("antivirus"))

    met = root.take_table("metrics")
    metrics_listen = met.take("listen", str, "127.0.0.1:9851")
    met.done()
    tag = root.take_table("tagging")
    subject_prefix = tag.take("subject_prefix", str, "")
    outbound_verdict = tag.take("outbound_verdict", bool, False)
    tag.done()
    logging_settings = _parse_logging(root.take_table("logging"))
    dkim_table = root.take_table("dkim")

    schools_raw = root.data.pop("schools", [])
    if not isinstance(schools_raw, list):
        raise ConfigError(source, "schools", "must be an array of tables ([[schools]])")
    schools = tuple(_parse_school(s, source, f"schools[{i}]") for i, s in enumerate(schools_raw))
    seen: set[str] = set()
    for school in schools:
        for d in school.domains:
            if d in seen:
                raise ConfigError(source, "schools", f"domain {d!r} configured twice")
            seen.add(d)

    site_actions = _parse_policy_entries(root.data.pop("action", []), source, "action")
    checks_t = root.take_table("checks")
    checks: dict[str, dict[str, Any]] = {}
    for name in list(checks_t.data):
        if name not in REGISTRY:
            raise ConfigError(source, checks_t.key(name), f"unknown check (known: {', '.join(REGISTRY)})")
        opts = checks_t.take(name, dict, {})
        checks[name] = opts
    root.done()

    shipped_entries: tuple[PolicyEntry, ...] = ()
    for policy_path in policy_files(rules_dir):
        pt = _Table(_load_toml(policy_path), str(policy_path), "")
        shipped_entries += _parse_policy_entries(pt.data.pop("action", []), str(policy_path), "action")
        pt.done()
    return Config(
        source=source,
        rules_dir=rules_dir,
        org_name=org_name,
        schools=schools,
        internal_networks=tuple(nets),
        milter=milter,
        quarantine=quarantine,
        metrics_listen=metrics_listen,
        subject_prefix=subject_prefix,
        policy=shipped_entries + site_actions,
        checks=checks,
        plugins=plugins,
        web=web,
        sender_exceptions=sender_exceptions.load(quarantine.sender_exceptions_path, set(seen)),
        review=review,
        antivirus=antivirus,
        outbound_verdict=outbound_verdict,
        dkim=_parse_dkim(dkim_table, schools),
        logging=logging_settings,
    )
