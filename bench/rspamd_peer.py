"""The Rspamd peer for ``make bench``: Debian's Rspamd 3.4, its milter proxy, minimal modules.

What the issue asks for: Rspamd's ``rspamd_proxy`` worker in milter mode (``self_scan``, so the
proxy scans in-process like our milter does), on loopback, with only ``mime_types`` and a
``multimap`` content rule built from *our* word lists, so both products look for the same words
and dangerous file types, and ``dkim_signing`` with the same key (aupmilter signs every outbound
letter it adds the disclaimer to; the peer signs the same mail).  Everything else (Bayes, fuzzy, RBLs, DNS, Redis, the controller) is
off: the comparison is the cost of the milter path and the checks, not Rspamd's spam engine.

The configuration is written into a private directory; nothing under /etc/rspamd is read or
changed, and the system's Rspamd service is never started.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RSPAMD = "/usr/bin/rspamd"
LEXICON = REPO / "rules" / "lexicon"
WORD_LISTS = (
    "profanity_strong.txt",
    "profanity_mild.txt",
    "sexual.txt",
    "insults.txt",
    "harassment.txt",
    "slurs_race_religion.txt",
    "slurs_disability.txt",
    "slurs_sexuality_gender.txt",
)

_CONFIG = """
# Written by bench/rspamd_peer.py: Rspamd as a benchmark peer, minimal modules.
options {{
    pidfile = "{root}/rspamd.pid";
    dns {{ nameserver = ["127.0.0.1:1"]; timeout = 0.1s; retransmits = 0; }}
    local_addrs = "127.0.0.0/8";
    filters = "{filters}";
}}
logging {{ type = "file"; filename = "{root}/rspamd.log"; level = "{level}"; }}

# Rspamd's own rules/rspamd.lua would add hundreds of regexp rules; only its global helpers,
# which the plugins need, are loaded.
lua = "{root}/minimal.lua";
modules {{ path = "${{PLUGINSDIR}}"; }}

actions {{ reject = 15; add_header = 6; greylist = null; }}

worker "rspamd_proxy" {{
    bind_socket = "{bind}";
    milter = yes;
    timeout = 120s;
    upstream "local" {{ default = yes; self_scan = yes; }}
    count = {workers};
    reject_message = "rejected by policy";
}}

# The shipped mime_types.conf would fetch a map from maps.rspamd.com: the local copy instead.
mime_types {{ file = ["file:///etc/rspamd/maps.d/mime_types.inc"]; }}

group "aup" {{
    symbols {{
        "MIME_BAD_EXTENSION" {{ weight = 20.0; }}
        "MIME_DOUBLE_BAD_EXTENSION" {{ weight = 20.0; }}
        "MIME_BAD_ATTACHMENT" {{ weight = 4.0; }}
        "MIME_ENCRYPTED_ARCHIVE" {{ weight = 4.0; }}
        "MIME_ARCHIVE_IN_ARCHIVE" {{ weight = 4.0; }}
    }}
}}

{dkim}
multimap {{
    AUP_WORDS {{
        type = "content";
        filter = "text";
        map = "{root}/words.map";
        regexp = true;
        score = 20.0;
        description = "aupmilter's offensive-language lexicon, as whole-word regexps";
    }}
}}
"""


#: DKIM signing with the benchmark's key, as aupmilter signs: mail from the local network for
#: the From: domain, relaxed/relaxed, the From/To/Cc/Subject/Reply-To fields oversigned.
_DKIM = """
dkim {{ }}
dkim_signing {{
    path = "{key}";
    selector = "s1";
    sign_local = true;
    sign_authenticated = true;
    allow_username_mismatch = true;
    use_domain = "header";
    use_esld = true;
    sign_headers = "(o)from:(o)to:(o)cc:(o)subject:(o)reply-to:date:message-id:mime-version:content-type:content-transfer-encoding:in-reply-to:references";
}}
"""


def _words() -> list[str]:
    words: list[str] = []
    for name in WORD_LISTS:
        for line in (LEXICON / name).read_text().splitlines():
            term = line.split("#", 1)[0].strip()
            if term and not term.startswith("["):
                words.append(term.split("|", 1)[0].strip())
    return sorted(set(w for w in words if w))


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class RspamdPeer:
    """A private Rspamd proxy-as-milter on ``127.0.0.1:port`` (see module docstring)."""

    def __init__(
        self, root: Path, port: int, workers: int, dkim_key: Path | None = None, unix_socket: bool = True
    ) -> None:
        """``dkim_key``: sign as aupmilter does (the benchmark's fair comparison has both sign).
        ``unix_socket``: listen on a unix socket beside Postfix (the default, as aupmilter's
        benchmark runs and as the issue measured the peer); over loopback TCP Postfix's Nagle
        against the proxy's delayed ACK caps any milter at ~170 msgs/s with the CPU idle."""
        self.root, self.port, self.workers = root, port, workers
        self.unix_socket = unix_socket
        self.dkim_key = dkim_key
        self.process: subprocess.Popen[bytes] | None = None
        self.log_level = "error"

    @staticmethod
    def available() -> bool:
        return Path(RSPAMD).exists()

    @property
    def socket_path(self) -> Path:
        return self.root / "run" / "proxy.sock"

    @property
    def milter_address(self) -> str:
        return f"unix:{self.socket_path}" if self.unix_socket else f"inet:127.0.0.1:{self.port}"

    def _listening(self) -> bool:
        return self.socket_path.exists() if self.unix_socket else _port_open(self.port)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "words.map").write_text("".join(f"/\\b{_regex_escape(w)}\\b/i\n" for w in _words()))
        (self.root / "minimal.lua").write_text(
            'require "global_functions" ()\nconfig["regexp"] = {}\nrspamd_maps = {}\n'
        )
        conf = self.root / "rspamd.conf"
        dkim = ""
        if self.dkim_key is not None:
            key = self.root / "dkim.key"
            key.write_bytes(self.dkim_key.read_bytes())
            key.chmod(0o600)
            dkim = _DKIM.format(key=key)
        conf.write_text(
            _CONFIG.format(
                root=self.root,
                bind=f"{self.socket_path} mode=0666" if self.unix_socket else f"127.0.0.1:{self.port}",
                workers=self.workers,
                level=self.log_level,
                dkim=dkim,
                filters="dkim" if dkim else "",  # the C module dkim_signing signs with
            )
        )
        for d in ("db", "run"):
            (self.root / d).mkdir(exist_ok=True)
        user = pwd.getpwnam("_rspamd")
        for path in [self.root, *self.root.iterdir()]:
            os.chown(path, user.pw_uid, grp.getgrnam("_rspamd").gr_gid)
        for directory in (self.root, self.root / "run"):
            directory.chmod(0o755)  # Postfix (another user) reaches the socket through these
        self.process = subprocess.Popen(
            [
                RSPAMD,
                "-f",
                "-c",
                str(conf),
                "-u",
                "_rspamd",
                "-g",
                "_rspamd",
                "--var",
                f"DBDIR={self.root / 'db'}",
                "--var",
                f"RUNDIR={self.root / 'run'}",
                "--var",
                f"LOGDIR={self.root}",
            ],
            stdout=(self.root / "stdout.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not self._listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (
                    (self.root / "rspamd.log").read_text(errors="replace")[-2000:]
                    if (self.root / "rspamd.log").exists()
                    else ""
                )
                raise RuntimeError(f"rspamd did not start: {log}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _regex_escape(word: str) -> str:
    """Escape for an Rspamd (hyperscan/PCRE) regexp map line, slashes included."""
    out = []
    for ch in word:
        if ch.isalnum() or ch == " ":
            out.append(ch)
        else:
            out.append("\\" + ch)
    return "".join(out)
