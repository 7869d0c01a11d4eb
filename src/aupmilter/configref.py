"""The configuration reference (docs/config-reference.md), generated from the schema.

The typed sections are the dataclasses in :mod:`aupmilter.config` (their fields and defaults);
this module adds one sentence per key.  ``make test`` regenerates the page and fails if the
checked-in copy differs, and fails if a dataclass field has no description here, so the
reference cannot drift from the code.

    python -m aupmilter.configref > docs/config-reference.md
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aupmilter.config import (
    AntivirusSettings,
    LoggingSettings,
    MilterSettings,
    QuarantineSettings,
    ReviewSettings,
    School,
    WebSettings,
    WorkingHours,
)

DESCRIPTIONS: dict[str, str] = {
    "organisation.name": "The trust's name, used in disclaimers and rejection texts.",
    "organisation.internal_networks": "Client networks whose mail counts as sent from inside the trust (CIDR list).",
    "organisation.rules_dir": "Directory of policy.toml, policy.d/, lexicons and rule files; empty = the shipped rules.",
    "organisation.plugins": 'Site-local checks as "module:Class", run after the shipped ones.',
    "milter.socket": "Where the milter listens: unix:PATH (recommended, inside Postfix's chroot) or inet:PORT@HOST.",
    "milter.failure_action": "What Postfix is told when a message cannot be decided: tempfail (default), accept or reject.",
    "milter.time_budget_seconds": "Per-message decision budget; over it, the failure action applies.",
    "milter.spool_memory_bytes": "Message bytes held in memory before spilling to a private temp file.",
    "milter.max_message_bytes": "Larger messages are refused with 552 5.3.4 (keep Postfix's message_size_limit lower).",
    "milter.socket_mode": "Mode the unix socket gets by chmod right after bind (the process umask is never changed).",
    "milter.log_format": "One line per message as text or json.",
    "milter.tcp_nodelay": "Disable Nagle's algorithm on inet milter connections (tiny milter replies otherwise stall).",
    "milter.workers": "Worker processes deciding messages (-1: one per CPU; 0: in the milter process).",
    "milter.log_addresses": "Include sender and recipient addresses in the per-message log line (off: privacy).",
    "quarantine.mode": "store: our store then discard from the mail flow; hold: Postfix's hold queue.",
    "quarantine.path": "Directory of raw quarantined messages (and the SQLite database unless database is set).",
    "quarantine.database": "Empty for SQLite in path; postgresql://... to share one quarantine between gateways.",
    "quarantine.release_host": "Postfix listener without milters used for releases and notifications.",
    "quarantine.release_port": "Port of that listener (deploy/postfix/master.cf.snippet).",
    "quarantine.retention_days": "Table: days quarantined mail is kept, per top-level category (attachment = 30, ...).",
    "quarantine.default_retention_days": "Days kept for categories not named in retention_days.",
    "quarantine.sender_exceptions": "Per-sender exceptions file written by 'Release and allow sender' (default: beside the store).",
    "quarantine.audit_key_file": "HMAC key ring of the audit chain, mode 0600, outside the database; empty = path/audit.key (created if missing). Copy it to every gateway sharing a PostgreSQL quarantine.",
    "quarantine.audit_anchor_file": "Local append-only log of audit chain heads (truncation evidence; chattr +a it); empty = path/audit-anchor.log.",
    "metrics.listen": "Prometheus endpoint HOST:PORT (loopback); empty disables it.",
    "tagging.subject_prefix": "Prefix added to the subject of tagged mail, e.g. [AUP]; empty = none.",
    "web.listen": "Review UI HOST:PORT; keep it on loopback behind an HTTPS reverse proxy.",
    "web.secret_key_file": "Secret binding the sign-in form's CSRF token; created 0600 (O_EXCL) if missing, refused if group or others can read it.",
    "web.secure_cookies": "Mark session cookies Secure (keep true in production).",
    "web.trusted_header": "Header carrying the user name from an authenticating reverse proxy; empty = off. Honoured only with the proxy secret below, or on a unix: listen socket.",
    "web.base_url": "Public URL of the review UI, used in notification links.",
    "web.timezone": "Time zone the review UI shows times in (and where 'today' starts).",
    "web.page_size": "Items per page in the review list (5-500).",
    "web.trusted_proxy_secret_header": "Header in which the authenticating proxy sends the shared secret.",
    "web.trusted_proxy_secret_file": "File (mode 0600) holding that shared secret; required for trusted_header unless listen is unix:PATH.",
    "web.trusted_proxies": "Addresses of reverse proxies whose client_address_header is believed (login rate limiting); [] = none.",
    "web.client_address_header": "Header in which a trusted proxy passes the client address (its last entry is used).",
    "web.session_idle_seconds": "A session unused this long ends (server-side; at least 60).",
    "web.session_max_seconds": "A session ends this long after sign-in whatever its use.",
    "review.os_roles": 'Table role = OS group(s): who may use the quarantine CLI as auditor, reviewer or dpo (e.g. dpo = ["aup-dpo"]); the highest role among the real uid\'s groups applies.',
    "antivirus.enabled": "Send every decoded attachment and body part to the virus scanner (docs/install.md: clamd + freshclam).",
    "antivirus.scanner": "Scanner protocol; clamav (clamd INSTREAM) is the one shipped.",
    "antivirus.socket": "clamd's socket: unix:/path (Debian: /var/run/clamav/clamd.ctl) or inet:HOST:PORT.",
    "antivirus.connect_timeout_seconds": "Connecting longer than this is a scan error (failure_action applies).",
    "antivirus.scan_timeout_seconds": "No verdict within this per part is a scan error; keep it below milter.time_budget_seconds.",
    "antivirus.max_scan_bytes": "Parts larger than this are not sent (antivirus.skipped); keep it at or below clamd's StreamMaxLength.",
    "antivirus.max_parts": "Parts scanned per message; the rest are antivirus.skipped.",
    "antivirus.failure_action": "Scanner unreachable, timing out or failing: tempfail (451, Postfix retries) or policy (finding antivirus.unavailable).",
    "schools[].domain": "The school's mail domain (subdomains included).",
    "schools[].name": "Display name used in rejections and disclaimers.",
    "schools[].aliases": "Other domains of the same school.",
    "schools[].policy_ref": "Which acceptable use policy document applies (free text, e.g. 000).",
    "schools[].personal_use": "allowed_with_label (default), prohibited (labelled personal mail is refused) or allowed.",
    "schools[].seal_personal": "Personal/Private-labelled mail is sealed from people (subject and content hidden, dpo unseals with a reason); every check still runs, findings keep type and count only.",
    "schools[].working_hours": "Table of working hours (below); personal mail inside them is a finding.",
    "schools[].contacts": "Table role = address(es) for notifications: it, headteacher, dsl.",
    "schools[].actions": "Per-school [[schools.action]] rows overriding the policy (same keys as [[action]]).",
    "schools[].working_hours.days": "Working days, mon..sun.",
    "schools[].working_hours.start": "Start of the working day, HH:MM.",
    "schools[].working_hours.end": "End of the working day, HH:MM.",
    "schools[].working_hours.timezone": "IANA time zone (Europe/London): clock changes are handled.",
    "schools[].working_hours.holidays": "ISO dates that are not working days (bank holidays, INSET days).",
    "schools[].working_hours.breaks": 'Break times, "HH:MM-HH:MM" (personal use is allowed in them).',
    "action[].match": 'Rule id or category (prefix on dots) the row applies to; "*" for every finding.',
    "action[].inbound": "Action for inbound mail: accept, tag, quarantine or block.",
    "action[].outbound": "Action for outbound mail.",
    "action[].internal": "Action for internal mail.",
    "action[].all": "Action for every direction not named separately.",
    "action[].min_score": "The row applies when the summed score of matching findings reaches this.",
    "action[].clause": "Policy words quoted in the 550 reply and the review UI (never the offending content).",
    "checks.<name>.enabled": "Turn a check off (true by default).",
    "checks.personal.coach_unlabelled": "Tag outbound mail to personal webmail that looks personal but is unlabelled.",
    "checks.disclaimer.scope": "external: outbound mail; all_outbound: also internal mail.",
    "checks.disclaimer.signed": "skip (default): signed/encrypted mail untouched; wrap: wrapped whole after the disclaimer.",
    "checks.disclaimer.marker_key_file": "Site key authenticating the X-AUP-Disclaimer marker; empty = disclaimer-marker.key beside the quarantine folder, created 0600 by aupmilter run. Gateways that relay to each other share it.",
    "tagging.outbound_verdict": "Keep one X-AUP-Verdict header on mail to outside recipients (never the findings); off by default.",
    "dkim.scope": "external: sign outbound mail; all_outbound: also internal mail.",
    "dkim.sign": "changed (default): mail the gateway changed (disclaimer, subject tag, release); all: every message from a keyed domain.",
    'dkim."<domain>"': "Table selector, key_file (mode 600, owned by the service user): signs mail From that domain and its subdomains, after every other transform, with or without a disclaimer.",
    "logging.target": "stderr (systemd's journal), syslog (facility below, like Postfix) or file.",
    "logging.file": "Log file for target = file (the service user must be able to write it; rotate with copytruncate or SIGHUP-free logrotate).",
    "logging.syslog_socket": "Syslog socket for target = syslog.",
    "logging.facility": "Syslog facility: mail (default, Postfix's), daemon, user or local0..local7.",
    "logging.level": "debug, info (default), warning or error.",
    "checks.phishing.directions": 'Directions the phishing cues read (default ["inbound"]): IT\'s own reminders are genuine.',
    "checks.phishing.banner_schools": 'School domains (or "*") whose tagged inbound phishing gets a visible warning first in the body; breaks the sender\'s DKIM.',
    "checks.phishing.lookalike_allow": "Genuine domains that resemble a school's (a neighbour, a supplier): never look-alikes.",
    "checks.mass_mailing.recipients_report_at": "Record mail from inside to this many distinct recipients or more (rules file: 51).",
    "checks.mass_mailing.exposed_report_at": "Record outbound mail showing this many outside addresses in To/Cc (rules file: 20).",
    "checks.mass_mailing.repeat_report_at": "Record the Nth identical message from one sender in the window (rules file: 5; at most 100).",
    "checks.mass_mailing.repeat_window_seconds": "Sliding window the milter counts repeats in, per process, in memory (rules file: 600).",
    "checks.mass_mailing.restricted_lists": "[[...]] rows: address, name, senders (logins or addresses), require_auth: who may mail a list.",
    "checks.identity.default_domain": "Domain a bare SMTP login belongs to; empty: its local part at every trust domain.",
    "checks.identity.realms": "Table SASL realm = mail domain: login jsmith@realm is jsmith@domain.",
    "checks.identity.logins": "Table login = address, for logins that are not the mailbox name.",
    "checks.identity.delegations": "[[...]] rows: mailbox (address, *@domain or *), senders (logins or addresses), note: send-as rights.",
    "checks.identity.staff": "[[...]] rows: name/names, address/addresses, roles: the directory outside display names are compared with.",
    "checks.identity.report_unauthenticated": "Record mail from inside with no SMTP login (relayed by address) as identity.unauthenticated.",
    "checks.identity.recipient_delimiter": "Local-part tag separator ignored when comparing addresses (rules file: +).",
    "checks.identity.freemail_domains": "Extra consumer webmail domains (added to the rules file's list).",
    "checks.identity.relay_services": "Extra services allowed to send in a staff member's name (added to the rules file's list).",
}

_SECTIONS: list[tuple[str, Any]] = [
    ("milter", MilterSettings),
    ("quarantine", QuarantineSettings),
    ("web", WebSettings),
    ("logging", LoggingSettings),
    ("review", ReviewSettings),
    ("antivirus", AntivirusSettings),
    ("schools[]", School),
    ("schools[].working_hours", WorkingHours),
]


def schema_keys() -> list[str]:
    keys = [k for k in DESCRIPTIONS if not k.startswith(tuple(s for s, _ in _SECTIONS))]
    for section, cls in _SECTIONS:
        keys += [f"{section}.{f.name}" for f in dataclasses.fields(cls)]
    return keys


def _default(section: str, name: str) -> str:
    for sec, cls in _SECTIONS:
        if sec == section:
            f = next(x for x in dataclasses.fields(cls) if x.name == name)
            if f.default is not dataclasses.MISSING:
                return repr(f.default)
            if f.default_factory is not dataclasses.MISSING:
                return repr(f.default_factory())
            return "required"
    return ""


def render() -> str:
    lines = [
        "# Configuration reference",
        "",
        "Generated by `python -m aupmilter.configref` from the schema in `src/aupmilter/config.py`;",
        "`make test` fails if this page is out of date. Unknown keys are errors naming the file and key.",
        "",
    ]
    current = None
    for key in schema_keys():
        section, _, name = key.rpartition(".")
        if section != current:
            lines += ["", f"## `[{section}]`", "", "| key | default | meaning |", "|---|---|---|"]
            current = section
        if key not in DESCRIPTIONS:
            raise KeyError(f"no description for {key}")
        lines.append(f"| `{name}` | `{_default(section, name)}` | {DESCRIPTIONS[key]} |".replace("``", "-"))
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


if __name__ == "__main__":
    print(render(), end="")
