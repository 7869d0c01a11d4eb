"""Attachment policy: executables by content, name and declared type, through archives."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from aupmilter.config import load_config
from aupmilter.engine import evaluate
from aupmilter.message import MessageView
from aupmilter.model import Action, Decision, Envelope
from aupmilter.ruleset import build_ruleset
from tests import attachment_builders as b

RULESET = build_ruleset(load_config(None))
INBOUND = Envelope("x@outside.test", ("t@oakfield.example",), client_addr="198.51.100.1")
OUTBOUND = Envelope("t@oakfield.example", ("x@outside.test",), auth_user="t")


def decide(raw: bytes, env: Envelope = INBOUND) -> Decision:
    return evaluate(env, MessageView(raw), RULESET)


def rules(d: Decision) -> set[str]:
    return {f.rule for f in d.findings}


def evidence(d: Decision, rule: str) -> list[str]:
    return [f.evidence for f in d.findings if f.rule == rule]


EXE = b.pe_bytes()
EXECUTABLE_CARRIERS = {
    "plain-exe": [("setup.exe", EXE, "application/octet-stream")],
    "renamed-to-pdf": [("invoice.pdf", EXE, "application/pdf")],
    "double-extension": [("invoice.pdf.exe", EXE, "application/octet-stream")],
    "rtlo": [("invoice\u202efdp.exe", EXE, "application/octet-stream")],
    "zero-width": [("report\u200b.exe", EXE, "application/octet-stream")],
    "trailing-dots": [("setup.exe...", EXE, "application/octet-stream")],
    "padding": [("photo.jpg" + " " * 30 + ".exe", EXE, "application/octet-stream")],
    "as-wav": [("song.wav", EXE, "audio/x-wav")],
    "zip-1": [("a.zip", b.zip_of({"setup.exe": EXE}), "application/zip")],
    "zip-2": [("a.zip", b.zip_of({"b.zip": b.zip_of({"setup.exe": EXE})}), "application/zip")],
    "zip-3": [
        (
            "a.zip",
            b.zip_of({"b.zip": b.zip_of({"c.zip": b.zip_of({"setup.exe": EXE})})}),
            "application/zip",
        )
    ],
    "zip-renamed-inner": [("a.zip", b.zip_of({"notes.txt": EXE}), "application/zip")],
    "tar.gz": [("a.tar.gz", b.targz_of({"bin/setup.exe": EXE}), "application/gzip")],
    "7z": [("a.7z", b.sevenzip_of({"setup.exe": EXE}), "application/x-7z-compressed")],
    "script-vbs": [("LOVE-LETTER.TXT.vbs", b'MsgBox "hi"\r\n', "application/octet-stream")],
    "script-js-in-zip": [("a.zip", b.zip_of({"invoice.js": b"var x = 1;"}), "application/zip")],
    "lnk": [("document.lnk", b.lnk(), "application/octet-stream")],
    "elf": [("tool", b.ELF_FILE.read_bytes(), "application/octet-stream")],
    "shebang-as-txt": [("run.txt", b"#!/bin/sh\nrm -rf ~\n", "text/plain")],
    "jar": [("app.jar", b.jar(), "application/java-archive")],
    "jar-renamed": [("app.zip", b.jar(), "application/zip")],
    "iso": [("disk.iso", b.iso(), "application/octet-stream")],
    "docm": [("budget.docm", b.docx(macro=True), "application/vnd.ms-word")],
    "macro-docx-renamed": [
        (
            "budget.docx",
            b.docx(macro=True),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        )
    ],
    "ole-doc-with-vba": [("letter.doc", b.ole_doc(macro=True), "application/msword")],
}


@pytest.mark.parametrize("name", sorted(EXECUTABLE_CARRIERS))
def test_every_carrier_is_held_or_refused_with_path_evidence(name: str) -> None:
    raw = b.message_with(EXECUTABLE_CARRIERS[name])
    inbound = decide(raw)
    assert inbound.action >= Action.QUARANTINE, (name, rules(inbound))
    outbound = decide(
        b.message_with(EXECUTABLE_CARRIERS[name], sender="t@oakfield.example", to="x@outside.test"),
        OUTBOUND,
    )
    assert outbound.action >= Action.QUARANTINE, (name, rules(outbound))
    top_name = EXECUTABLE_CARRIERS[name][0][0]
    assert any(
        top_name.split("\u202e")[0][:4] in f.evidence for f in inbound.findings if f.rule.startswith("attachment")
    )


def test_path_level_evidence_three_zips_deep() -> None:
    d = decide(b.message_with(EXECUTABLE_CARRIERS["zip-3"]))
    content = evidence(d, "attachment.executable.windows")
    assert any(e.startswith("a.zip/b.zip/c.zip/setup.exe (PE32+ executable") for e in content), content


def test_mismatch_and_rtlo_are_their_own_findings() -> None:
    d = decide(b.message_with(EXECUTABLE_CARRIERS["renamed-to-pdf"]))
    assert "attachment.mismatch" in rules(d)
    d = decide(b.message_with(EXECUTABLE_CARRIERS["as-wav"]))
    assert any("declared as audio/x-wav" in e for e in evidence(d, "attachment.mismatch"))
    d = decide(b.message_with(EXECUTABLE_CARRIERS["rtlo"]))
    assert any("hidden bidi" in e and "invoice[U+202E]fdp.exe" in e for e in evidence(d, "attachment.name_trick"))
    assert any(e.endswith("(.exe)") for e in evidence(d, "attachment.executable.windows"))


def test_encrypted_archives_are_quarantined_and_names_still_checked() -> None:
    d = decide(b.message_with([("a.zip", b.encrypted_zip_of({"setup.exe": EXE}), "application/zip")]))
    assert "attachment.archive.encrypted" in rules(d)
    assert any("a.zip/setup.exe" in e for e in evidence(d, "attachment.executable.windows"))
    assert d.action is Action.QUARANTINE
    d = decide(b.message_with([("a.zip", b.encrypted_zip_of({"minutes.pdf": b.pdf()}), "application/zip")]))
    assert rules(d) == {"attachment.archive.encrypted"} and d.action is Action.QUARANTINE
    d = decide(
        b.message_with(
            [
                (
                    "a.7z",
                    b.sevenzip_of({"minutes.pdf": b.pdf()}, password="pw"),
                    "application/x-7z-compressed",
                )
            ]
        )
    )
    assert "attachment.archive.encrypted" in rules(d)


def test_executable_in_attached_message_and_zipped_message() -> None:
    inner = b.message_with([("setup.exe", EXE, "application/octet-stream")], subject="fwd")
    d = decide(b.message_with([("fwd.eml", inner, "message/rfc822")]))
    assert "attachment.executable.windows" in rules(d)
    d = decide(b.message_with([("mail.zip", b.zip_of({"forward.eml": inner}), "application/zip")]))
    assert any(e.startswith("mail.zip/forward.eml/setup.exe") for e in evidence(d, "attachment.executable.windows"))


BENIGN = {
    "pdf": ("minutes.pdf", b.pdf(), "application/pdf"),
    "docx": (
        "minutes.docx",
        b.docx(),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    "xlsx": (
        "budget.xlsx",
        b.xlsx(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    "odt": ("letter.odt", b.odt(), "application/vnd.oasis.opendocument.text"),
    "ole-doc": ("letter.doc", b.ole_doc(macro=False), "application/msword"),
    "png": ("logo.png", b.png(), "image/png"),
    "ics": (
        "trip.ics",
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Trip\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        "text/calendar",
    ),
    "vcf": (
        "office.vcf",
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:School Office\r\nEND:VCARD\r\n",
        "text/vcard",
    ),
    "csv": ("register.csv", b"name,class\r\nA,4B\r\n", "text/csv"),
    "zip-of-docs": (
        "pack.zip",
        b.zip_of({"minutes.pdf": b.pdf(), "budget.xlsx": b.xlsx(), "photo.png": b.png()}),
        "application/zip",
    ),
    "targz-of-docs": ("pack.tar.gz", b.targz_of({"minutes.pdf": b.pdf()}), "application/gzip"),
}


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_benign_documents_are_accepted(name: str) -> None:
    for env, sender, to in (
        (INBOUND, "x@outside.test", "t@oakfield.example"),
        (OUTBOUND, "t@oakfield.example", "x@outside.test"),
    ):
        d = decide(b.message_with([BENIGN[name]], sender=sender, to=to), env)
        assert d.action is Action.ACCEPT, (name, [(f.rule, f.evidence) for f in d.findings])


def test_zero_byte_exe_is_an_extension_finding_not_content() -> None:
    d = decide(b.message_with([("empty.exe", b"", "application/octet-stream")]))
    assert evidence(d, "attachment.executable.windows") == ["empty.exe (.exe)"]
    assert "attachment.mismatch" not in rules(d)


def test_media_is_tagged_only() -> None:
    d = decide(
        b.message_with(
            [
                (
                    "song.mp3",
                    b"ID3\x03\x00\x00\x00\x00\x00\x0f" + b"\xff\xfb\x90\x00" * 200,
                    "audio/mpeg",
                )
            ]
        )
    )
    assert "attachment.media" in rules(d) and d.action is Action.TAG


def test_zip_bomb_is_a_limits_finding() -> None:
    bomb = b.zip_bomb(levels=3, fanout=10, leaf_bytes=10 << 20)  # claims 10 GB
    assert len(bomb) < 2 << 20
    d = decide(b.message_with([("42.zip", bomb, "application/zip")]))
    assert "attachment.limits" in rules(d)
    assert d.action is Action.QUARANTINE


def test_ten_thousand_member_zip_is_a_limits_finding() -> None:
    d = decide(b.message_with([("many.zip", b.many_member_zip(10_000), "application/zip")]))
    assert any("10000 members" in e for e in evidence(d, "attachment.limits"))


def test_deep_nesting_is_a_limits_finding() -> None:
    payload = b.pdf()
    for i in range(12):
        payload = b.zip_of({f"level{i}.zip" if i else "doc.pdf": payload})
    d = decide(b.message_with([("deep.zip", payload, "application/zip")]))
    assert any("nested deeper than 8" in e for e in evidence(d, "attachment.limits"))


def test_corrupt_archive_is_tagged_not_crashed() -> None:
    d = decide(b.message_with([("broken.zip", b"PK\x03\x04" + b"\x00" * 100, "application/zip")]))
    assert "attachment.archive.corrupt" in rules(d) and d.action is Action.TAG


def test_shared_pymilter_corpus(shared_data: Path) -> None:
    """pymilter's worm samples: every known carrier is caught (virus.zip, password 'denatured')."""
    folder = shared_data / "mime-dev" / "pymilter"
    honey = decide((folder / "honey").read_bytes())
    assert any(e.startswith("story[1].scr") for e in evidence(honey, "attachment.executable.windows"))
    assert any("declared as audio/x-wav" in e for e in evidence(honey, "attachment.mismatch"))
    for name in ("zip1", "zip3", "ziploop"):
        d = decide((folder / name).read_bytes())
        assert any(".exe" in e for e in evidence(d, "attachment.executable.windows")), name
        assert any("double extension .doc.exe" in e for e in evidence(d, "attachment.name_trick")), name
    with zipfile.ZipFile(folder / "virus.zip") as zf:
        worms = [zf.read(i, pwd=b"denatured") for i in zf.infolist()]
    assert len(worms) == 8
    for raw in worms:
        d = decide(raw)
        assert d.action is Action.QUARANTINE, [f.rule for f in d.findings]
        assert rules(d) & {"attachment.executable.windows", "attachment.script"}


# --- rules file values of the wrong type are config errors (issue 20) ---------------------------


def _rules_copy(tmp_path: Path, old: str, new: str) -> Path:
    import shutil

    from aupmilter.config import shipped_rules_dir

    rules = tmp_path / "rules"
    shutil.copytree(shipped_rules_dir(), rules)
    lines = (rules / "attachments.toml").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(old))
    lines[at] = new  # the whole line: the first one starting with ``old``
    (rules / "attachments.toml").write_text("\n".join(lines) + "\n")
    return rules


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("extensions = ", 'extensions = "exe"', "type[0].extensions"),
        ("magic = ", 'magic = [32, "PE32"]', "type[0].magic[0]"),
        ("max_depth = 8", 'max_depth = "8"', "limits.max_depth"),
        ("max_depth = 8", "max_depth = true", "limits.max_depth"),
        ('content = ["shebang"]', 'content = ["shebangs"]', "type[1].content"),
        ('rule = "attachment.executable.windows"', 'rule = ["attachment.executable.windows"]', "type[0].rule"),
        ("whitespace_run = 5", 'whitespace_run = "5"', "names.whitespace_run"),
        ("innocent_extensions = ", 'innocent_extensions = "pdf"', "names.innocent_extensions"),
        ("max_members = ", "max_members = -5", "limits.max_members"),
    ],
)
def test_wrong_typed_rules_values_are_config_errors(tmp_path: Path, old: str, new: str, key: str) -> None:
    import tomllib

    from aupmilter.config import parse_config, shipped_default_config
    from aupmilter.errors import ConfigError

    rules = _rules_copy(tmp_path, old, new)
    data = tomllib.loads(shipped_default_config().read_text())
    data["organisation"]["rules_dir"] = str(rules)
    with pytest.raises(ConfigError) as caught:
        build_ruleset(parse_config(data, "site.toml"))
    assert caught.value.source == str(rules / "attachments.toml")
    assert caught.value.key == key, caught.value


def test_rules_lint_names_the_rules_file_and_key(tmp_path: Path) -> None:
    import subprocess
    import sys

    rules = _rules_copy(tmp_path, "extensions = ", 'extensions = "exe"')
    from aupmilter.config import shipped_default_config

    site = tmp_path / "site.toml"
    site.write_text(
        shipped_default_config().read_text().replace('# rules_dir = "/etc/aupmilter/rules"', f'rules_dir = "{rules}"')
    )
    out = subprocess.run(
        [sys.executable, "-m", "aupmilter.cli", "rules", "lint", "--config", str(site)], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert f"{rules / 'attachments.toml'}: type[0].extensions: expected list of strings, got string 'exe'" in out.stderr
