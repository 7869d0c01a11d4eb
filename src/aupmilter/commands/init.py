"""``aupmilter init``: write a starter configuration for the admin's own school domains.

    aupmilter init --org "Riverside Learning Trust" --domain riverside.sch.uk:"Riverside Primary" \\
        --domain hilltop.sch.uk:"Hilltop Academy" --out /etc/aupmilter/aupmilter.toml

The file is validated by loading it before it is written; an existing file is never replaced
unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from aupmilter.config import parse_config
from aupmilter.errors import ConfigError

TEMPLATE = """# aupmilter site configuration (written by `aupmilter init`).
# Every key is documented in docs/config-reference.md; validate with `aupmilter rules lint`.

[organisation]
name = {org}
internal_networks = {networks}

[milter]
socket = "unix:/var/spool/postfix/aupmilter/aupmilter.sock"
failure_action = "tempfail"
time_budget_seconds = 20.0

[quarantine]
mode = "store"
path = "/var/lib/aupmilter/quarantine"
database = ""                       # or "postgresql://aupmilter@db.example/aupmilter"
release_host = "127.0.0.1"
release_port = 10026

[quarantine.retention_days]
attachment = 30
offensive = 365
chain_letter = 30

[metrics]
listen = "127.0.0.1:9851"

[antivirus]                         # ClamAV: docs/install.md section 4a (clamd + freshclam)
enabled = true
socket = "unix:/var/run/clamav/clamd.ctl"
failure_action = "tempfail"         # clamd down: 451, Postfix retries (mail is never unscanned)

[web]
listen = "127.0.0.1:8025"
secret_key_file = "/var/lib/aupmilter/web-secret"
base_url = "https://aup.{first}"
trusted_proxies = ["127.0.0.1"]     # the HTTPS reverse proxy on this host (login rate limits)

# Who may use `aupmilter quarantine` as which role: OS groups of the real uid.
[review.os_roles]
auditor = ["aup-audit"]
reviewer = ["aup-review"]
dpo = ["aup-dpo"]

[logging]
target = "stderr"                   # the journal under systemd; without it "syslog" (mail facility) or "file"
# file = "/var/log/aupmilter/aupmilter.log"

# DKIM signing (after the disclaimer and every other change), one table per school domain:
# [dkim."{first}"]
# selector = "aup2026"
# key_file = "/etc/aupmilter/dkim/{first}.pem"    # mode 600, owned by aupmilter
"""

SCHOOL = """
[[schools]]
domain = {domain}
name = {name}
personal_use = "allowed_with_label"   # or "prohibited" / "allowed"
seal_personal = true
[schools.working_hours]
days = ["mon", "tue", "wed", "thu", "fri"]
start = "08:00"
end = "17:00"
breaks = ["12:00-13:00"]
holidays = []
[schools.contacts]
it = "it@{bare}"
headteacher = "head@{bare}"
dsl = "dsl@{bare}"
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("init", help="write a starter config for your school domains")
    p.add_argument("--org", required=True, help="the trust's name")
    p.add_argument(
        "--domain",
        action="append",
        required=True,
        metavar="DOMAIN[:NAME]",
        help="a school's mail domain and display name (repeatable)",
    )
    p.add_argument(
        "--network",
        action="append",
        default=[],
        metavar="CIDR",
        help="staff networks whose mail counts as sent from inside (repeatable)",
    )
    p.add_argument("--out", default="aupmilter.toml")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=run)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(org: str, domains: list[str], networks: list[str]) -> str:
    pairs = []
    for item in domains:
        domain, _, name = item.partition(":")
        pairs.append((domain.strip().lower(), name.strip() or domain.strip()))
    text = TEMPLATE.format(
        org=_q(org), networks="[" + ", ".join(_q(n) for n in networks or ["127.0.0.0/8"]) + "]", first=pairs[0][0]
    )
    for domain, name in pairs:
        text += SCHOOL.format(domain=_q(domain), name=_q(name), bare=domain)
    return text


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"aupmilter: {out} exists; use --force to replace it", file=sys.stderr)
        return 1
    text = render(args.org, args.domain, args.network)
    try:
        parse_config(tomllib.loads(text), str(out))
    except ConfigError as exc:
        print(f"aupmilter: the generated config is invalid: {exc}", file=sys.stderr)
        return 2
    out.write_text(text)
    print(f"wrote {out}; next: edit contacts and hours, then `aupmilter rules lint --config {out}`")
    return 0
