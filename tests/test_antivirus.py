"""Antivirus through a real clamd (tests/harness/clamd.py): verdicts, policy, failures, metrics.

The clamd here is Debian's, running as ``clamav`` with a database these tests write (EICAR and
our own body and hash signatures).  Failure cases use real sockets too: a path nobody listens
on, and a listener that accepts and never answers.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aupmilter import antivirus
from aupmilter.antivirus import Address, ScanError, ScannerUnavailable
from aupmilter.config import parse_config, shipped_default_config
from aupmilter.engine import Ruleset, evaluate
from aupmilter.errors import ConfigError
from aupmilter.message import MessageView
from aupmilter.model import Action, Decision, Envelope
from aupmilter.ruleset import build_ruleset
from tests import attachment_builders as b
from tests import document_corpus as corpus
from tests.harness.clamd import (
    EICAR_SIGNATURE,
    HASH_SAMPLE,
    HASH_SIGNATURE,
    MARKER,
    MARKER_SIGNATURE,
    PrivateClamd,
)
from tests.harness.gateway import DEFAULT_CONFIG, Gateway, wait_for

INBOUND = Envelope("x@outside.test", ("t@oakfield.example",), client_addr="198.51.100.1")
OUTBOUND = Envelope("t@oakfield.example", ("x@outside.test",), auth_user="t")
EICAR = corpus.EICAR


def ruleset(socket_address: str, **extra: object) -> Ruleset:
    data = tomllib.loads(shipped_default_config().read_text())
    data["antivirus"] = {"enabled": True, "socket": socket_address, **extra}
    return build_ruleset(parse_config(data, "test.toml"))


def decide(
    rules: Ruleset, attachments: list[corpus.Sample], env: Envelope = INBOUND, body: str = "See attached.\n"
) -> Decision:
    raw = b.message_with(attachments, sender=env.sender, to=env.recipients[0])
    if body != "See attached.\n":
        raw = raw.replace(b"Please see the attached.", body.encode())
    return evaluate(env, MessageView(raw), rules)


def virus_findings(d: Decision) -> list[str]:
    return [f.rule for f in d.findings if f.category == "virus"]


@pytest.fixture
def hanging_socket() -> Iterator[str]:
    """A unix socket that accepts connections and never answers (a wedged scanner)."""
    root = Path(tempfile.mkdtemp(prefix="aup-hang-", dir="/tmp"))
    path = root / "hang.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"unix:{path}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


# --- the client against the real daemon ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["unix", "inet"])
def test_clamd_verdicts_over_unix_and_tcp(clamd: PrivateClamd, kind: str) -> None:
    address = clamd.unix_address if kind == "unix" else clamd.inet_address
    scanner = antivirus.connect("clamav", address, 2.0, 10.0)
    assert scanner.ping()
    assert scanner.scan(b"Dear parents, the trip is on Friday.\n") is None
    assert scanner.scan(EICAR) == EICAR_SIGNATURE
    assert scanner.scan(b"prefix " + MARKER + b" suffix") == MARKER_SIGNATURE
    assert scanner.scan(HASH_SAMPLE) == HASH_SIGNATURE
    assert scanner.scan(HASH_SAMPLE + b"!") is None  # a hash signature is the whole file


def test_clamd_runs_unprivileged(clamd: PrivateClamd) -> None:
    assert clamd.owner() == "clamav"


def test_stream_over_clamd_limit_is_a_size_limit_error(clamd: PrivateClamd) -> None:
    scanner = antivirus.connect("clamav", clamd.unix_address, 2.0, 10.0)
    with pytest.raises(ScanError) as caught:
        scanner.scan(b"\x00" * (11 << 20))  # the harness's clamd: StreamMaxLength 10M
    assert caught.value.kind == "size_limit"


def test_unreachable_and_hanging_scanners_are_errors_not_clean(hanging_socket: str) -> None:
    with pytest.raises(ScanError) as caught:
        antivirus.connect("clamav", "unix:/nonexistent/clamd.sock", 1.0, 1.0).scan(EICAR)
    assert caught.value.kind == "unreachable"
    with pytest.raises(ScanError) as caught:
        antivirus.connect("clamav", "inet:127.0.0.1:9", 1.0, 1.0).scan(EICAR)
    assert caught.value.kind == "unreachable"
    started = time.monotonic()
    with pytest.raises(ScanError) as caught:
        antivirus.connect("clamav", hanging_socket, 1.0, 0.5).scan(EICAR)
    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 5


# --- the check and the policy ------------------------------------------------------------------------


def test_virus_is_quarantined_inbound_and_refused_outbound(clamd: PrivateClamd) -> None:
    rules = ruleset(clamd.unix_address)
    sample = [("statement.txt", b"Your statement\n" + MARKER, "text/plain")]
    inbound = decide(rules, sample, INBOUND)
    assert inbound.action is Action.QUARANTINE
    assert virus_findings(inbound) == [f"virus.{MARKER_SIGNATURE}"]
    [finding] = [f for f in inbound.findings if f.category == "virus"]
    assert finding.evidence == f"statement.txt: {MARKER_SIGNATURE}"
    outbound = decide(rules, sample, OUTBOUND)
    assert outbound.action is Action.BLOCK
    assert outbound.smtp_reply is not None and "virus" in outbound.smtp_reply.text


def test_clamd_unpacks_archives_and_documents_itself(clamd: PrivateClamd) -> None:
    rules = ruleset(clamd.inet_address)
    nested = b.zip_of({"inner.zip": b.zip_of({"notes.txt": b"x" + MARKER})})
    assert virus_findings(decide(rules, [("files.zip", nested, "application/zip")])) == [f"virus.{MARKER_SIGNATURE}"]
    docx = corpus.inject(corpus.make_docx(), {"word/media/blob.bin": MARKER})
    assert virus_findings(decide(rules, [("letter.docx", docx, corpus.DOCX)])) == [f"virus.{MARKER_SIGNATURE}"]
    targz = b.targz_of({"a/b.dat": HASH_SAMPLE})
    assert virus_findings(decide(rules, [("logs.tgz", targz, "application/gzip")])) == [f"virus.{HASH_SIGNATURE}"]


def test_eicar_in_every_carrier_is_found_by_clamd(clamd: PrivateClamd) -> None:
    rules = ruleset(clamd.unix_address)
    carriers = {
        name: samples
        for name, samples in corpus.dangerous().items()
        if name.startswith("eicar-") and name != "eicar-in-docx-package"
    }
    assert len(carriers) >= 6
    for name, samples in carriers.items():
        d = decide(rules, samples)
        assert virus_findings(d) == [f"virus.{EICAR_SIGNATURE}"], name
        assert d.action >= Action.QUARANTINE
    body = decide(rules, [], body=EICAR.decode())
    assert virus_findings(body) == [f"virus.{EICAR_SIGNATURE}"]
    assert [f.location for f in body.findings if f.category == "virus"] == ["body"]


def test_clean_mail_and_benign_documents_pass_the_scanner(clamd: PrivateClamd) -> None:
    rules = ruleset(clamd.unix_address)
    with antivirus.collect() as scans:
        d = decide(
            rules, [("deck.pptx", corpus.make_pptx(2), corpus.PPTX), ("b.pdf", corpus.make_pdf(), "application/pdf")]
        )
    assert d.action is Action.ACCEPT, [(f.rule, f.evidence) for f in d.findings]
    assert [s.result for s in scans] == ["clean", "clean", "clean"]  # two attachments + the body


def test_unreachable_scanner_tempfails_by_default() -> None:
    rules = ruleset("unix:/nonexistent/clamd.sock", connect_timeout_seconds=0.5)
    with antivirus.collect() as scans, pytest.raises(ScannerUnavailable):
        decide(rules, [("a.txt", b"hello", "text/plain")])
    assert [(s.result, s.kind) for s in scans] == [("error", "unreachable")]


def test_hanging_scanner_tempfails(hanging_socket: str) -> None:
    rules = ruleset(hanging_socket, scan_timeout_seconds=0.5)
    with pytest.raises(ScannerUnavailable, match="timeout"):
        decide(rules, [("a.txt", b"hello", "text/plain")])


def test_failure_action_policy_holds_the_message() -> None:
    rules = ruleset("unix:/nonexistent/clamd.sock", failure_action="policy", connect_timeout_seconds=0.5)
    for env in (INBOUND, OUTBOUND):
        d = decide(rules, [("a.txt", b"hello", "text/plain")], env)
        assert "antivirus.unavailable" in d.rule_ids
        assert d.action is Action.QUARANTINE


def test_parts_over_the_size_limit_are_skipped_and_tagged(clamd: PrivateClamd) -> None:
    rules = ruleset(clamd.unix_address, max_scan_bytes=1000)
    d = decide(rules, [("big.dat", b"\x01" * 5000 + MARKER, "application/octet-stream")])
    assert "antivirus.skipped" in d.rule_ids
    assert d.action is Action.TAG


def test_antivirus_is_off_unless_configured() -> None:
    text = shipped_default_config().read_text()
    config = parse_config(tomllib.loads(text), "default.toml")
    assert not config.antivirus.enabled
    assert all(c.name != "antivirus" for c in build_ruleset(config).checks)


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ('socket = "tcp:localhost"', "antivirus.socket"),
        ('failure_action = "accept"', "antivirus.failure_action"),
        ('scanner = "sophos"', "antivirus.scanner"),
        ("scan_timeout_seconds = 0", "antivirus.scan_timeout_seconds"),
        ('max_scan_bytes = "25M"', "antivirus.max_scan_bytes"),
        ("enabled = 1", "antivirus.enabled"),
        ("sockets = 1", "antivirus.sockets"),
    ],
)
def test_antivirus_config_errors_name_the_key(section: str, key: str) -> None:
    text = DEFAULT_CONFIG + f"\n[antivirus]\n{section}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(tomllib.loads(text), "site.toml")
    assert caught.value.key == key and caught.value.source == "site.toml"


def test_address_parsing() -> None:
    assert Address.parse("unix:/run/clamav/clamd.ctl").path == "/run/clamav/clamd.ctl"
    inet = Address.parse("inet:127.0.0.1:3310")
    assert (inet.host, inet.port) == ("127.0.0.1", 3310)
    with pytest.raises(ValueError):
        Address.parse("127.0.0.1:3310")


# --- end to end through Postfix ------------------------------------------------------------------------


def _gateway_config(address: str) -> str:
    return (
        DEFAULT_CONFIG
        + f'\n[antivirus]\nenabled = true\nsocket = "{address}"\nconnect_timeout_seconds = 1.0\nscan_timeout_seconds = 5.0\n'
    )


def _metric(gw: Gateway, name: str) -> float:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{gw.metrics_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.postfix
def test_e2e_virus_quarantined_inbound_refused_outbound_and_counted(
    clamd: PrivateClamd, make_gateway: Callable[..., Gateway]
) -> None:
    gw = make_gateway(_gateway_config(clamd.unix_address))
    infected = b.message_with(
        [("invoice.txt", b"Invoice\n" + MARKER, "text/plain")], sender="x@outside.test", to="t@oakfield.example"
    )
    assert gw.send(infected, "x@outside.test", ["t@oakfield.example"])[0] == 250
    wait_for(
        lambda: any(gw.store_dir.rglob("*.eml")) or _metric(gw, "aupmilter_quarantined_messages_total") >= 1,
        30,
        "quarantine",
    )
    outbound = b.message_with(
        [("invoice.txt", b"Invoice\n" + MARKER, "text/plain")], sender="teacher@oakfield.example", to="x@outside.test"
    )
    code, text = gw.send(outbound, "teacher@oakfield.example", ["x@outside.test"], auth_user="teacher")
    assert code == 550 and "virus" in text
    clean = b.message_with(
        [("notes.txt", b"Bring wellies.\n", "text/plain")], sender="x@outside.test", to="t@oakfield.example"
    )
    assert gw.send(clean, "x@outside.test", ["t@oakfield.example"])[0] == 250
    [delivered] = gw.wait_delivered(1)
    assert b"Bring wellies" in delivered or b"QnJpbmcgd2VsbGllcy" in delivered
    assert _metric(gw, 'aupmilter_antivirus_scans_total{result="infected"}') == 2
    assert _metric(gw, 'aupmilter_antivirus_scans_total{result="clean"}') >= 2
    assert _metric(gw, "aupmilter_antivirus_scan_seconds_count") >= 4
    assert _metric(gw, 'aupmilter_findings_total{category="virus",rule="virus"}') == 2


@pytest.mark.postfix
def test_e2e_scanner_down_tempfails_and_counts_the_error(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(_gateway_config("unix:/nonexistent/clamd.sock"))
    raw = b.message_with([("a.txt", b"hello", "text/plain")], sender="x@outside.test", to="t@oakfield.example")
    code, text = gw.send(raw, "x@outside.test", ["t@oakfield.example"])
    assert code == 451 and "4.7.1" in text
    assert gw.sink_messages == []
    assert _metric(gw, 'aupmilter_antivirus_errors_total{kind="unreachable"}') == 1
    assert _metric(gw, 'aupmilter_errors_total{stage="antivirus"}') == 1
