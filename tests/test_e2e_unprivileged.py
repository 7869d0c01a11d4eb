"""Issue 17: the gateway run as deployed — unprivileged service user, umask 0027, real Postfix.

The milter, the review UI and every CLI command run as a system user (tests/harness/deployed.py)
from a non-editable install made with Debian's python3.  An inbound ``.exe`` mail is quarantined,
a second one too (the bug was: the first created a year/month folder without its search bit and
every later one got 451), the folder and file modes are asserted, and a reviewer releases the
first item through the web UI.  Then a broken folder is named in the log instead of a traceback.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import dkim as dkimpy
import httpx
import pytest

from tests.harness.deployed import SERVICE_USER, ensure_service_user
from tests.harness.gateway import DEFAULT_CONFIG, Gateway, wait_for

pytestmark = pytest.mark.postfix

PASSWORD = "a long passphrase for the e2e reviewer"


def exe_mail(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = "billing@supplier.test"
    msg["To"] = "office@oakfield.example"
    msg["Subject"] = f"Invoice {n}"
    msg["Message-ID"] = f"<invoice-{n}@supplier.test>"
    msg.set_content("Invoice attached.\n")
    msg.add_attachment(
        b"MZ\x90\x00" + b"\x00" * 200, maintype="application", subtype="octet-stream", filename="invoice.exe"
    )
    return msg.as_bytes()


#: The CLI runs as the service user here, so its group maps to the reviewer role (issue 23:
#: roles come from OS groups, never from a flag).
CLI_ROLES = f"""
[review.os_roles]
reviewer = ["{SERVICE_USER}"]
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def proc_status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


def held(gw: Gateway) -> list[dict[str, object]]:
    out = gw.cli("quarantine", "list", "--config", str(gw.config_path), "--json", "--status", "all")
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_quarantine_and_release_as_unprivileged_service(make_gateway: Callable[..., Gateway]) -> None:
    user = ensure_service_user()
    gw = make_gateway(DEFAULT_CONFIG + CLI_ROLES, deployed=True)
    assert gw.milter is not None
    status = proc_status(gw.milter.pid)
    assert status["Uid"].split()[0] == str(user.pw_uid) and status["Umask"] == "0027"

    sock = gw.milter_socket
    assert stat.S_ISSOCK(sock.stat().st_mode) and mode(sock) == 0o660  # chmod after bind, umask untouched
    assert sock.stat().st_uid == user.pw_uid

    for n in (1, 2, 3):
        code, reply = gw.send(exe_mail(n), "billing@supplier.test", ["office@oakfield.example"])
        assert code == 250, reply  # not 451: each quarantine after the first one works too
    wait_for(lambda: len(held(gw)) == 3, 30, "three quarantined items")
    assert not gw.sink_messages

    root = gw.store_dir
    now = dt.datetime.now(dt.UTC)
    year, month = root / f"{now:%Y}", root / f"{now:%Y}" / f"{now:%m}"
    for folder in (root, year, month):
        assert mode(folder) == 0o750 and folder.stat().st_uid == user.pw_uid, folder
    files = sorted(month.iterdir())
    assert len(files) == 6  # .eml + .json per item, no temporary files left
    for f in [*files, root / "quarantine.db"]:
        assert mode(f) == 0o640 and f.stat().st_uid == user.pw_uid, f

    # A reviewer account (created by the service user, as docs/install.md says), then the UI.
    out = gw.cli(
        "user", "add", "rita", "--role", "reviewer", "--config", str(gw.config_path), input_text=PASSWORD + "\n"
    )
    assert out.returncode == 0, out.stderr
    base = gw.start_web()
    assert gw.web is not None and proc_status(gw.web.pid)["Umask"] == "0027"
    assert proc_status(gw.web.pid)["Uid"].split()[0] == str(user.pw_uid)
    secret = gw.state_dir / "web-secret"
    assert mode(secret) == 0o600 and secret.stat().st_uid == user.pw_uid

    item_id = str(next(i for i in held(gw) if i["subject"] == "Invoice 1")["id"])
    with httpx.Client(base_url=base, follow_redirects=True, timeout=60) as web:
        page = web.post("/login", data={"username": "rita", "password": PASSWORD})
        assert page.status_code == 200 and item_id in page.text
        item_page = web.get(f"/item/{item_id}")
        token = re.search(r'name="csrf" value="([^"]+)"', item_page.text)
        assert token is not None
        # Every recipient ticked, as the page offers them (an empty selection releases to nobody).
        ticked = {f"rcpt:{r}": "on" for r in re.findall(r'name="rcpt:([^"]+)"', item_page.text)}
        assert ticked
        released = web.post(f"/item/{item_id}/release", data={"csrf": token.group(1), **ticked})
        assert released.status_code == 200, released.text[-2000:]
    [delivered] = gw.wait_delivered(1)
    assert f"X-AUP-Released: {item_id}".encode() in delivered and b"Invoice 1" in delivered
    assert {str(i["id"]): i["status"] for i in held(gw)}[item_id] == "released"

    # A restart keeps working on the folders it made (nothing was left without a search bit).
    assert gw.stop_milter() == 0
    gw.start_milter()
    assert gw.send(exe_mail(4), "billing@supplier.test", ["office@oakfield.example"])[0] == 250
    wait_for(lambda: len(held(gw)) == 4, 30, "fourth quarantined item")

    # A month folder someone broke (the old umask's 0640) is not repaired: the message is kept
    # by Postfix (451) and the log names the folder, its owner and mode.
    month.chmod(0o640)
    try:
        code, reply = gw.send(exe_mail(5), "billing@supplier.test", ["office@oakfield.example"])
        assert code == 451 and "4.7.1" in reply
        log = gw.milter_log.read_text()
        assert f"quarantine folder not writable: {month} (owner uid {user.pw_uid}, mode 0640" in log
        assert "Traceback" not in log
        assert mode(month) == 0o640
    finally:
        month.chmod(0o750)


def dkim_keypair(folder: Path, owner_uid: int, owner_gid: int) -> tuple[Path, bytes]:
    """A signing key owned by the service user, mode 600 (what dkim.load_key demands)."""
    key = folder / "oakfield.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    der = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True, capture_output=True
    ).stdout
    os.chown(key, owner_uid, owner_gid)
    key.chmod(0o600)
    return key, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def staff_mail(subject: str, to: str, extra_headers: dict[str, str], exe: bool = False) -> bytes:
    msg = EmailMessage()
    msg["From"] = "teacher@oakfield.example"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Wed, 02 Dec 2026 10:00:00 +0000"
    msg["Message-ID"] = f"<{abs(hash(subject))}@oakfield.example>"
    for name, value in extra_headers.items():
        msg[name] = value
    msg.set_content("Dear parent,\nthe trip leaves at nine.\n")
    if exe:
        msg.add_attachment(
            b"MZ\x90\x00" + b"\x00" * 200, maintype="application", subtype="octet-stream", filename="setup.exe"
        )
    return msg.as_bytes()


FORGED = {
    "X-AUP-Disclaimer": "oakfield.example",
    "X-AUP-Released": "0123456789abcdef0123456789abcdef",
    "X-AUP-Notification": "1",
    "X-AUP-Findings": "none",
}


def test_forged_headers_outbound_verdicts_and_release_transforms_as_deployed(
    make_gateway: Callable[..., Gateway],
) -> None:
    user = ensure_service_user()
    keys = Path(tempfile.mkdtemp(prefix="aupkeys-", dir="/tmp"))
    keys.chmod(0o755)
    try:
        key, record = dkim_keypair(keys, user.pw_uid, user.pw_gid)
        config = (
            DEFAULT_CONFIG
            + f"""
[tagging]
subject_prefix = "[AUP]"

[dkim."oakfield.example"]
selector = "aup"
key_file = "{key}"

[[action]]
match = "attachment.executable"
outbound = "quarantine"
"""
        )
        gw = make_gateway(config + CLI_ROLES, deployed=True)
        dns = lambda name, timeout=5: record if name == b"aup._domainkey.oakfield.example." else None  # noqa: E731

        # 1. Forged X-AUP-* from an authenticated client: gone; the disclaimer is applied and signed.
        code, _ = gw.send(
            staff_mail("Trip", "parent@home.test", FORGED),
            "teacher@oakfield.example",
            ["parent@home.test"],
            auth_user="teacher",
        )
        assert code == 250
        [out] = gw.wait_delivered(1)
        head = out.split(b"\r\n\r\n", 1)[0]
        assert b"Oakfield Primary School, part of" in out
        assert head.count(b"X-AUP-Disclaimer:") == 1 and b"X-AUP-Disclaimer: oakfield.example; v=1; mac=" in head
        for name in ("X-AUP-Released", "X-AUP-Notification", "X-AUP-Findings", "X-AUP-Verdict"):
            assert name.encode() not in head, name
        assert dkimpy.verify(out, dnsfunc=dns)

        # 2. Inbound: forged release/notification headers never reach the mailbox; our verdict does.
        inbound = staff_mail("Hello", "office@oakfield.example", FORGED).replace(
            b"teacher@oakfield.example", b"parent@home.test"
        )
        assert gw.send(inbound, "parent@home.test", ["office@oakfield.example"])[0] == 250
        delivered = gw.wait_delivered(2)
        head = next(m for m in delivered if b"Subject: Hello" in m).split(b"\r\n\r\n", 1)[0]
        assert head.count(b"X-AUP-Verdict: accept") == 1
        for name in FORGED:
            assert name.encode() not in head, name

        # 3. Outbound tagged ([Personal], the label's tag): reaches the sink without our findings.
        code, _ = gw.send(
            staff_mail("[Personal] dinner", "friend@home.test", {}),
            "teacher@oakfield.example",
            ["friend@home.test"],
            auth_user="teacher",
        )
        assert code == 250
        delivered = gw.wait_delivered(3)
        tagged = next(m for m in delivered if b"dinner" in m)
        assert (
            b"[AUP] [Personal] dinner" in tagged and b"X-AUP-Findings" not in tagged and b"personal.label" not in tagged
        )
        assert dkimpy.verify(tagged, dnsfunc=dns)

        # 4. Outbound .exe quarantined, released by the service user's CLI: the copy that leaves has
        #    the disclaimer and a DKIM signature that verifies, and no internal headers.
        code, _ = gw.send(
            staff_mail("Installer", "it@supplier.test", {}, exe=True),
            "teacher@oakfield.example",
            ["it@supplier.test"],
            auth_user="teacher",
        )
        assert code == 250
        wait_for(lambda: len(held(gw)) == 1, 30, "the outbound item")
        [item] = held(gw)
        assert item["direction"] == "outbound"
        released = gw.cli("quarantine", "release", str(item["id"]), "--config", str(gw.config_path))
        assert released.returncode == 0, released.stderr
        delivered = gw.wait_delivered(4)
        copy = next(m for m in delivered if b"Installer" in m)
        head = copy.split(b"\r\n\r\n", 1)[0]
        assert b"Oakfield Primary School, part of" in copy and b"setup.exe" in copy
        assert head.startswith(b"DKIM-Signature:") or b"\r\nDKIM-Signature:" in head
        assert dkimpy.verify(copy, dnsfunc=dns)
        assert b"X-AUP-Released" not in head and b"X-AUP-Findings" not in head and b"X-AUP-Verdict" not in head
        assert not dkimpy.verify(copy.replace(b"the trip leaves at nine", b"the trip leaves at ten"), dnsfunc=dns)
    finally:
        shutil.rmtree(keys, ignore_errors=True)
