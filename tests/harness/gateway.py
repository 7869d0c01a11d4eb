"""A private Postfix instance + the aupmilter daemon + an SMTP sink, all on loopback.

Postfix is the real Debian ``postfix`` started with ``-c CONFIG_DIR`` (see
../shared/notes/postfix-private-instance.md); its milter settings come from
``deploy/postfix/main.cf.snippet`` and its release listener from ``master.cf.snippet``, so the
snippets admins copy are the ones under test.  Clients are told apart with Postfix's XCLIENT
(client address and SASL login), a real Postfix feature, instead of faking macros.
Everything waits by polling, never by sleeping a fixed time.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.harness.sink import Delivered, Sink

REPO = Path(__file__).resolve().parents[2]
POSTFIX = "/usr/sbin/postfix"

DEFAULT_CONFIG = """
[organisation]
name = "Test Trust"
internal_networks = ["10.0.0.0/8"]

[milter]
failure_action = "tempfail"
time_budget_seconds = 20.0

[[schools]]
domain = "oakfield.example"
name = "Oakfield Primary School"
policy_ref = "000"

[[schools]]
domain = "birchwood.example"
name = "Birchwood Academy"
policy_ref = "003"
personal_use = "prohibited"
"""


#: Staff accounts the private Postfix knows (SMTP AUTH PLAIN/LOGIN against a sasldb).
STAFF_USERS = ("teacher", "office", "head")
STAFF_PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def unix_socket_open(path: Path) -> bool:
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(str(path))
            return True
        except OSError:
            return False


def _snippet_settings(path: Path) -> list[tuple[str, str]]:
    settings = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            settings.append((key.strip(), value.strip()))
    return settings


class Gateway:
    def __init__(
        self,
        root: Path,
        config_text: str | None = None,
        socket_kind: str = "unix",
        quarantine_mode: str = "store",
        *,
        with_milter: bool = True,
        fast_sink: bool = False,
        milter_prefix: tuple[str, ...] = (),
        quarantine_database: str = "",
        store_size: str | None = None,
        external_milter: str | None = None,
        deployed: bool = False,
        audit_key_file: str = "",
    ) -> None:
        """``with_milter=False``: plain Postfix (the benchmark baseline); ``fast_sink``: Postfix's
        own smtp-sink instead of aiosmtpd (throughput runs; messages are not kept);
        ``milter_prefix``: e.g. ("taskset", "-c", "0") to pin the milter to one core;
        ``external_milter``: a Postfix milter address (``inet:127.0.0.1:11332``) of a milter
        someone else runs, instead of ours: the benchmark's Rspamd peer, behind the same
        Postfix milter settings as aupmilter; ``deployed``: the milter (and :meth:`start_web`,
        :meth:`cli`) run as an unprivileged system user with umask 0027 from a non-editable
        install, as docs/install.md deploys them (tests/harness/deployed.py)."""
        self.deployed = deployed
        self.venv: Path | None = None
        self.web: subprocess.Popen[bytes] | None = None
        self.web_port = free_port()
        self.external_milter = external_milter
        #: Gateways sharing one PostgreSQL quarantine share one audit key file (docs/operations.md).
        self.audit_key_file = audit_key_file
        self.quarantine_database = quarantine_database
        self.store_size = store_size  # e.g. "256k": the store lives on a tiny tmpfs (disk-full tests)
        self.with_milter = with_milter
        self.fast_sink = fast_sink
        self.milter_prefix = milter_prefix
        self.sink_process: subprocess.Popen[bytes] | None = None
        self.root = root
        self.conf_dir = root / "postfix-conf"
        self.queue_dir = root / "postfix-queue"
        self.data_dir = root / "postfix-data"
        self.log_file = root / "postfix.log"
        self.store_dir = root / "quarantine"
        self.milter_log = root / "milter.log"
        self.socket_kind = socket_kind
        self.quarantine_mode = quarantine_mode
        self.milter_socket = root / "milter" / "aupmilter.sock"
        self.milter_port = free_port()
        self.smtp_port = free_port()
        self.release_port = free_port()
        self.sink_port = free_port()
        self.metrics_port = free_port()
        self.sink = Sink(self.sink_port)
        self.milter: subprocess.Popen[bytes] | None = None
        # Debian's Postfix reads Cyrus SASL's smtpd.conf from $config_directory/sasl/.
        self.sasl_dir = self.conf_dir / "sasl"
        self.sasl_db = root / "sasldb2"
        self.config_path = root / "aupmilter.toml"
        self.state_dir = root / "state"  # the service user's own folder (/var/lib/aupmilter)
        if deployed:
            from tests.harness.deployed import deployed_venv, ensure_service_user, owned_folder

            ensure_service_user()
            self.venv = deployed_venv()
            owned_folder(self.state_dir)
            self.store_dir = self.state_dir / "quarantine"
        self.config_path.write_text(self._site_config(config_text or DEFAULT_CONFIG))

    # --- configuration ----------------------------------------------------------------------

    def _site_config(self, text: str) -> str:
        """The test's config plus the paths and ports only the harness knows."""
        extra = f"""
[quarantine]
mode = "{self.quarantine_mode}"
path = "{self.store_dir}"
database = "{self.quarantine_database}"
release_host = "127.0.0.1"
release_port = {self.release_port}
audit_key_file = "{self.audit_key_file}"

[metrics]
listen = "127.0.0.1:{self.metrics_port}"
"""
        if "[quarantine]" in text or "[metrics]" in text:
            raise ValueError("the harness owns [quarantine] and [metrics]; use gw attributes")
        if self.deployed:
            if "[web]" in text:
                raise ValueError("a deployed gateway's harness owns [web]")
            extra += f"""
[web]
listen = "127.0.0.1:{self.web_port}"
secret_key_file = "{self.state_dir}/web-secret"
secure_cookies = false
"""
        return text + extra

    @property
    def milter_spec(self) -> str:
        if self.socket_kind == "inet":
            return f"inet:{self.milter_port}@127.0.0.1"
        return f"unix:{self.milter_socket}"

    def _postfix_milter_spec(self) -> str:
        if self.external_milter:
            return self.external_milter
        if self.socket_kind == "inet":
            return f"inet:127.0.0.1:{self.milter_port}"
        return f"unix:{self.milter_socket}"

    def _write_postfix_config(self) -> None:
        for d in (self.conf_dir, self.queue_dir, self.data_dir):
            d.mkdir(parents=True, exist_ok=True)
        postfix_user = pwd.getpwnam("postfix")
        os.chown(self.data_dir, postfix_user.pw_uid, postfix_user.pw_gid)
        self._write_sasl(postfix_user)
        milter_lines = []
        wants_milter = self.with_milter or self.external_milter
        for key, value in _snippet_settings(REPO / "deploy/postfix/main.cf.snippet") if wants_milter else []:
            if key == "smtpd_milters":
                value = self._postfix_milter_spec()
            milter_lines.append(f"{key} = {value}")
        main_cf = (
            f"""
compatibility_level = 3.6
queue_directory = {self.queue_dir}
data_directory = {self.data_dir}
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = gateway.test
mydestination =
relay_domains = oakfield.example, birchwood.example
relayhost = [127.0.0.1]:{self.sink_port}
smtp_dns_support_level = disabled
mynetworks = 127.0.0.0/8, 10.0.0.0/8
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
smtpd_sasl_security_options = noanonymous
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
alias_maps =
alias_database =
local_recipient_maps =
maillog_file = {self.log_file}
maillog_file_prefixes = /var, /dev/stdout, {self.root}
smtp_tls_security_level = none
smtpd_tls_security_level = none
message_size_limit = 52428800
queue_run_delay = 3600s
minimal_backoff_time = 3600s
maximal_backoff_time = 3600s
default_destination_rate_delay = 0
delay_logging_resolution_limit = 6
"""
            + "\n".join(milter_lines)
            + "\n"
        )
        (self.conf_dir / "main.cf").write_text(main_cf)
        release = (REPO / "deploy/postfix/master.cf.snippet").read_text()
        release = release.replace("127.0.0.1:10026", f"127.0.0.1:{self.release_port}")
        master_cf = f"""
127.0.0.1:{self.smtp_port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
{release}
"""
        (self.conf_dir / "master.cf").write_text(master_cf)

    def _write_sasl(self, postfix_user: pwd.struct_passwd) -> None:
        """Real SMTP AUTH (Cyrus SASL, sasldb): staff log in, Postfix passes ``{auth_authen}``."""
        self.sasl_dir.mkdir(parents=True, exist_ok=True)
        (self.sasl_dir / "smtpd.conf").write_text(
            f"pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: {self.sasl_db}\n"
        )
        for user in STAFF_USERS:
            subprocess.run(
                ["saslpasswd2", "-f", str(self.sasl_db), "-p", "-c", "-u", "gateway.test", user],
                input=STAFF_PASSWORD.encode(),
                check=True,
                capture_output=True,
            )
        os.chown(self.sasl_db, postfix_user.pw_uid, postfix_user.pw_gid)
        os.chmod(self.sasl_db, 0o600)

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self.fast_sink:
            self.sink_process = subprocess.Popen(
                ["/usr/sbin/smtp-sink", "-u", "nobody", f"127.0.0.1:{self.sink_port}", "256"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_for(lambda: port_open(self.sink_port), 30, "smtp-sink")
        else:
            self.sink.start()
        if self.store_size:
            self.store_dir.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={self.store_size}", "tmpfs", str(self.store_dir)], check=True
            )
        if self.with_milter:
            self.start_milter()
        self._write_postfix_config()
        subprocess.run([POSTFIX, "-c", str(self.conf_dir), "check"], check=True, capture_output=True)
        subprocess.run([POSTFIX, "-c", str(self.conf_dir), "start"], check=True, capture_output=True)
        wait_for(lambda: port_open(self.smtp_port), 30, "postfix smtpd")
        wait_for(lambda: port_open(self.release_port), 30, "postfix release listener")

    def command(self, *args: str) -> tuple[list[str], dict[str, str]]:
        """argv and environment for ``aupmilter ARGS``: as root from the checkout, or as deployed."""
        if self.venv is not None:
            from tests.harness.deployed import as_service_user, service_env

            return as_service_user([str(self.venv / "bin" / "aupmilter"), *args]), service_env()
        # PYTHONPATH: site-local test plugins (tests.harness.*) must be importable by the daemon.
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO))
        return [sys.executable, "-m", "aupmilter.cli", *args], env

    def cli(self, *args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run one ``aupmilter`` command the way the gateway runs (same user, same install)."""
        argv, env = self.command(*args)
        return subprocess.run(argv, input=input_text, capture_output=True, text=True, env=env, cwd=self.root)

    def start_milter(self) -> None:
        # As deployed: a setgid directory of group postfix, so the 0660 socket the milter creates
        # belongs to Postfix's group and nobody else can talk to the milter.
        if self.deployed:
            from tests.harness.deployed import owned_folder

            owned_folder(self.milter_socket.parent, 0o2750, group="postfix")
        else:
            self.milter_socket.parent.mkdir(parents=True, exist_ok=True)
            os.chown(self.milter_socket.parent, 0, grp.getgrnam("postfix").gr_gid)
            os.chmod(self.milter_socket.parent, 0o2750)
        log = self.milter_log.open("ab")
        argv, env = self.command("run", "--config", str(self.config_path), "--socket", self.milter_spec)
        self.milter = subprocess.Popen(
            [*self.milter_prefix, *argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.root,
        )

        def ready() -> bool:
            if self.milter is not None and self.milter.poll() is not None:
                raise RuntimeError(f"milter exited early:\n{self.milter_log.read_text()[-3000:]}")
            if self.socket_kind == "inet":
                return port_open(self.milter_port)
            return unix_socket_open(self.milter_socket)

        wait_for(ready, 30, "milter socket")

    def start_web(self) -> str:
        """The review UI as its own process (``aupmilter web``); returns its base URL."""
        argv, env = self.command("web", "--config", str(self.config_path))
        log = (self.root / "web.log").open("ab")
        self.web = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.root)

        def ready() -> bool:
            if self.web is not None and self.web.poll() is not None:
                raise RuntimeError(f"web UI exited early:\n{(self.root / 'web.log').read_text()[-3000:]}")
            return port_open(self.web_port)

        wait_for(ready, 60, "web UI")
        return f"http://127.0.0.1:{self.web_port}"

    def kill_milter(self) -> None:
        """SIGKILL, as a crash would: no cleanup runs."""
        if self.milter is not None:
            self.milter.send_signal(signal.SIGKILL)
            self.milter.wait(10)
            self.milter = None

    def stop_milter(self) -> int:
        assert self.milter is not None
        self.milter.send_signal(signal.SIGTERM)
        code = self.milter.wait(30)
        self.milter = None
        return code

    def stop(self) -> None:
        subprocess.run([POSTFIX, "-c", str(self.conf_dir), "stop"], capture_output=True)
        if self.web is not None:
            self.web.terminate()
            try:
                self.web.wait(10)
            except subprocess.TimeoutExpired:
                self.web.kill()
        if self.sink_process is not None:
            self.sink_process.terminate()
            self.sink_process.wait(10)
        if self.milter is not None:
            self.milter.terminate()
            try:
                self.milter.wait(10)
            except subprocess.TimeoutExpired:
                self.milter.kill()
        if not self.fast_sink:
            self.sink.stop()
        if self.store_size:
            subprocess.run(["umount", "-l", str(self.store_dir)], capture_output=True)

    # --- use ------------------------------------------------------------------------------------

    def send(
        self,
        raw: bytes,
        sender: str,
        rcpts: list[str],
        auth_user: str | None = None,
        client_addr: str | None = None,
    ) -> tuple[int, str]:
        """Submit one message; returns the final SMTP reply (to DATA, or the failing step).

        ``auth_user`` logs in with real SMTP AUTH (so the milter sees ``{auth_authen}``), as
        staff submitting from a laptop at home would.  The client address is set with Postfix's
        XCLIENT: an outside address by default (so direction comes from authentication alone).
        """
        if auth_user is not None and auth_user not in STAFF_USERS:
            raise ValueError(f"unknown staff user {auth_user!r}: one of {STAFF_USERS}")
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=60) as smtp:
            smtp.ehlo("client.test")
            attrs = f"ADDR={client_addr or '203.0.113.7'} NAME=[UNAVAILABLE]"
            code, msg = smtp.docmd("XCLIENT", attrs)
            if code != 220:
                raise RuntimeError(f"XCLIENT refused: {code} {msg!r}")
            smtp.ehlo("client.test")
            if auth_user is not None:
                smtp.login(f"{auth_user}@gateway.test", STAFF_PASSWORD)
            code, msg = smtp.mail(sender)
            if code != 250:
                return code, msg.decode()
            for rcpt in rcpts:
                code, msg = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    return code, msg.decode()
            code, msg = smtp.data(raw)
            return code, msg.decode()

    @property
    def sink_messages(self) -> list[Delivered]:
        return self.sink.messages

    def wait_delivered(self, n: int = 1, timeout: float = 30) -> list[bytes]:
        wait_for(lambda: len(self.sink.messages) >= n, timeout, f"{n} message(s) at the sink")
        return [m.data for m in self.sink.messages]

    def flush(self) -> None:
        subprocess.run(["/usr/sbin/postqueue", "-c", str(self.conf_dir), "-f"], check=True, capture_output=True)

    def queue_ids(self) -> list[str]:
        out = subprocess.run(
            ["/usr/sbin/postqueue", "-c", str(self.conf_dir), "-j"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        import json

        return [json.loads(line)["queue_id"] for line in out.splitlines() if line.strip()]

    def postfix_log(self) -> str:
        return self.log_file.read_text() if self.log_file.exists() else ""

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
