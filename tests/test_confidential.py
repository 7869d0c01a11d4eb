"""Confidential data leaving: the identifier algorithms, bodies and attachments, thresholds and
destinations, hostile documents, per-school policy, and precision/recall on the labelled set."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import time
import tomllib
import zipfile
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from aupmilter.checks.confidential import (
    SPEC,
    ConfidentialCheck,
    is_valid_nhs,
    is_valid_ni,
    is_valid_upn,
    luhn_valid,
    nhs_check_digit,
    upn_check_letter,
)
from aupmilter.config import load_config, parse_config, shipped_rules_dir
from aupmilter.engine import Ruleset, evaluate
from aupmilter.errors import ConfigError
from aupmilter.message import MessageView
from aupmilter.model import Action, Decision, Direction, Envelope
from aupmilter.ruleset import build_ruleset

CORPUS = Path(__file__).parent / "fixtures" / "confidential"


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("confidential_corpus", CORPUS / "build_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


B = _builder()
RNG_SEED = 7
SITE = """
[organisation]
name = "T"
internal_networks = ["10.0.0.0/8"]

[[schools]]
domain = "oak.example"
name = "Oak School"

[[schools]]
domain = "birch.example"
name = "Birch Academy"
"""
STAFF = "t@oak.example"


def ruleset(extra: str = "") -> Ruleset:
    return build_ruleset(parse_config(tomllib.loads(SITE + extra), "site.toml"))


RS = ruleset()
CHECK = next(c for c in RS.checks if c.name == "confidential")
assert isinstance(CHECK, ConfidentialCheck)


def rng() -> Any:
    import random

    return random.Random(RNG_SEED)


def message(
    body: str,
    *,
    to: str = "x@partner.example",
    sender: str = STAFF,
    subject: str = "Hello",
    attachments: list[tuple[str, str, str, bytes]] | None = None,
    html: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for name, main, sub, data in attachments or []:
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return msg.as_bytes()


def decide(raw: bytes, to: str = "x@partner.example", sender: str = STAFF, rs: Ruleset = RS) -> Decision:
    env = Envelope(sender, (to,), client_addr="10.1.1.1")
    return evaluate(env, MessageView(raw), rs)


def visible(decision: Decision) -> str:
    """What reviewers, logs and the SMTP reply can show: findings, the reason, the reply."""
    return f"{decision.findings!r} {decision.reason} {decision.smtp_reply}"


def conf(decision: Decision) -> list[str]:
    return sorted(f.rule for f in decision.findings if f.rule.startswith("confidential."))


# --- the algorithms -------------------------------------------------------------------------------


def test_upn_check_letter_follows_the_dfe_rule() -> None:
    # Worked by hand: 8*2 + 1*4 + 2*5 + 5*10 + 1*13 = 93; 93 mod 23 = 1 -> B.
    assert upn_check_letter("801200005001") == "B"
    assert is_valid_upn("B801200005001") and not is_valid_upn("A801200005001")
    # Temporary UPN: the final letter counts as its index in the table (A=0 ... Z=22).
    tail = "80120000500A"
    assert upn_check_letter(tail) == "M"  # 16 + 4 + 10 + 50 + 0*13 = 80; 80 mod 23 = 11 -> M
    assert is_valid_upn("M" + tail) and not is_valid_upn("B" + tail)


def test_temporary_upn_letter_value() -> None:
    # A check the other way round: changing the final letter from A (0) to B (1) adds 13.
    a, b = upn_check_letter("80120000500A"), upn_check_letter("80120000500B")
    letters = "ABCDEFGHJKLMNPQRTUVWXYZ"
    assert a is not None and b is not None
    assert (letters.index(b) - letters.index(a)) % 23 == 13
    assert upn_check_letter("80120000500I") is None  # I, O, S are never used
    assert upn_check_letter("8012000050") is None


@pytest.mark.parametrize(
    ("nino", "valid"),
    [
        ("JR123456C", True),
        ("jr 12 34 56 c", True),
        ("JR123456E", False),  # suffix A-D only
        ("DA123456A", False),  # D never first
        ("AO123456A", False),  # O never second
        ("QQ123456C", False),  # Q never used (HMRC's own example prefix)
        ("BG123456A", False),
        ("GB123456A", False),
        ("NK123456A", False),
        ("KN123456A", False),
        ("NT123456A", False),
        ("TN123456A", False),
        ("ZZ123456A", False),
        ("JR12345C", False),
    ],
)
def test_ni_allocation_rules(nino: str, valid: bool) -> None:
    assert is_valid_ni(nino) is valid


def test_nhs_modulus_11() -> None:
    # The NHS Data Dictionary's worked example: 943 476 5919.
    assert nhs_check_digit("943476591") == 9
    assert is_valid_nhs("943 476 5919") and not is_valid_nhs("943 476 5918")
    # A remainder giving check 10 means the nine digits are never issued.
    ten = next(f"{n:09d}" for n in range(400000000, 400001000) if nhs_check_digit(f"{n:09d}") is None)
    assert not any(is_valid_nhs(ten + str(d)) for d in range(10))


def test_luhn() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    number = B.card(rng(), "4", 16)
    assert luhn_valid(number)
    assert not luhn_valid(number[:-1] + str((int(number[-1]) + 1) % 10))


# --- bodies: true positives, thresholds, destinations ----------------------------------------------


def test_one_upn_outbound_is_tagged_with_masked_evidence() -> None:
    upn = B.upn(rng())
    d = decide(message(f"Candidate Ella Fox, UPN {upn}, missed paper 2."))
    assert conf(d) == ["confidential.pupil_data.single"]
    assert d.action is Action.TAG
    finding = next(f for f in d.findings if f.rule.startswith("confidential."))
    assert finding.evidence == f"UPN {upn[:4]}…(x1)"
    assert finding.location == "body"
    assert upn not in visible(d)  # never the identifier itself


def test_bulk_upns_external_quarantined_webmail_blocked_internal_tagged() -> None:
    r = rng()
    rows = "\n".join(f"Pupil {i}\t{B.upn(r)}" for i in range(30))
    raw = message(f"Name\tUPN\n{rows}")
    external = decide(raw)
    assert conf(external) == ["confidential.pupil_data.bulk"]
    assert external.action is Action.QUARANTINE
    webmail = decide(raw, to="someone@gmail.com")
    assert webmail.action is Action.BLOCK
    assert webmail.smtp_reply is not None and "personal e-mail" in str(webmail.smtp_reply)
    assert "to consumer webmail" in next(f.evidence for f in webmail.findings if f.rule.startswith("confidential."))
    internal = decide(raw, to="colleague@birch.example")
    assert internal.direction is Direction.INTERNAL and internal.action is Action.TAG
    single_internal = decide(message(f"UPN {B.upn(r)}"), to="colleague@oak.example")
    assert conf(single_internal) == ["confidential.pupil_data.single"] and single_internal.action is Action.ACCEPT


def test_inbound_mail_is_not_scanned_by_default() -> None:
    raw = message("\n".join(B.upn(rng()) for _ in range(30)), sender="x@partner.example", to=STAFF)
    d = evaluate(Envelope("x@partner.example", (STAFF,), client_addr="198.51.100.7"), MessageView(raw), RS)
    assert d.direction is Direction.INBOUND and conf(d) == []


def test_payroll_query_with_one_ni_number_is_only_tagged() -> None:
    d = decide(message("Hi, my NI number is JR 12 34 56 C; is my tax code right?"), to="payroll@bureau.example")
    assert conf(d) == ["confidential.ni_number.single"] and d.action is Action.TAG
    assert "JR123456C" not in visible(d) and "12 34 56" not in visible(d)


def test_each_kind_in_a_body() -> None:
    r = rng()
    body = (
        f"NHS number {B.group(B.nhs(r), (3, 3, 4))}\n"
        f"Card {B.group(B.card(r, '4', 16), (4, 4, 4, 4))} exp 10/27\n"
        f"Sort code {B.sort_code(r)} account {B.account(r)}\n"
    )
    assert conf(decide(message(body))) == [
        "confidential.bank_account.single",
        "confidential.nhs_number.single",
        "confidential.payment_card.single",
    ]


def test_html_only_table_and_distinct_counting() -> None:
    r = rng()
    upns = [B.upn(r) for _ in range(12)]
    cells = "".join(f"<tr><td>P</td><td>{u}</td></tr>" for u in upns)
    # The same list in the plain and HTML alternatives, twice over: still 12 distinct pupils.
    plain = "\n".join(upns + upns)
    d = decide(message(plain, html=f"<table>{cells}{cells}</table>"))
    finding = next(f for f in d.findings if f.rule.startswith("confidential."))
    assert finding.rule == "confidential.pupil_data.bulk" and "(x12)" in finding.evidence


@pytest.mark.parametrize(
    "text",
    [
        "Call the office on 01632 960 123 or 07700 900 123.",
        "International: +44 20 7946 0958, fax 0161 496 0000.",
        "Purchase order 4501234567 and 4500098765 dispatched.",
        "Invoice INV-2026-004512 for £1,245.50 due 12-05-26.",
        "Parents' evening moved to 12-05-24 (was 2026-05-12, 12/05/2024).",
        "Order 30 copies of ISBN 978-0-306-40615-7 or 9780306406157.",
        "Reference 4929 1234 5678 9012 on the remittance.",  # 16 digits, fails Luhn
        "Our sort code is 20-00-00 (Barclays).",
        "Meter 0045821, account reference 7730 1122.",
        "Tracking 1Z999AA10123456784 and AB123456789GB.",
        "Write your NI number like AB123456C, without spaces.",
        "Stripe test card 4242 4242 4242 4242, or 4000 0000 0000 0002 for a decline.",
        "NHS number format: 999 123 4560 is the training range.",
        "Invoice 12345678 dated 12-05-24.",
        "Barcode 5012345678900 and 4006381333931 on the packing slip.",
        "School URN 123456, DfE 330/4012, company 01234567, VAT GB 123 4567 89.",
    ],
)
def test_hard_negatives(text: str) -> None:
    assert conf(decide(message(text))) == []


def test_nhs_number_needs_context_nearby_or_in_the_table_header() -> None:
    number = B.group(B.nhs(rng()), (3, 3, 4))
    assert conf(decide(message(f"Ref {number} attached."))) == []
    assert conf(decide(message(f"Her NHS no is {number}."))) == ["confidential.nhs_number.single"]
    far = "Name\tNHS Number\n" + "\n".join(f"Pupil {i}\t{B.group(B.nhs(rng()), (3, 3, 4))}" for i in range(40))
    # A fresh generator each row: the same number 40 times is one patient, not a bulk list.
    assert conf(decide(message(far))) == ["confidential.nhs_number.single"]
    r = rng()
    table = "Name\tNHS Number\n" + "\n".join(f"Pupil {i}\t{B.nhs(r)}" for i in range(40))
    assert conf(decide(message(table))) == ["confidential.nhs_number.bulk"]


# --- attachments -------------------------------------------------------------------------------------


def _upn_rows(n: int) -> list[list[str]]:
    r = rng()
    return [["Name", "UPN"]] + [[f"Pupil {i}", B.upn(r)] for i in range(n)]


def test_csv_xlsx_docx_pdf_attachments() -> None:
    rows = _upn_rows(15)
    xlsx_rows: list[list[str | int]] = [list(r) for r in rows]
    cases = {
        "pupils.csv": ("text", "csv", B.csv_bytes(rows)),
        "pupils.xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet", B.xlsx(xlsx_rows)),
        "pupils.docx": (
            "application",
            "vnd.openxmlformats-officedocument.wordprocessingml.document",
            B.docx(["List"], rows),
        ),
        "pupils.pdf": ("application", "pdf", B.pdf([" ".join(r) for r in rows])),
        # A renamed spreadsheet is still a spreadsheet: the content decides, not the name.
        "pupils.dat": ("application", "octet-stream", B.xlsx(xlsx_rows)),
    }
    for name, (main, sub, data) in cases.items():
        d = decide(message("See attached.", attachments=[(name, main, sub, data)]))
        finding = next((f for f in d.findings if f.rule.startswith("confidential.")), None)
        assert finding is not None, name
        assert finding.rule == "confidential.pupil_data.bulk", name
        assert finding.location == f"attachment:{name}", name
        assert d.action is Action.QUARANTINE, name


def test_numbers_stored_as_numbers_in_xlsx() -> None:
    r = rng()
    rows: list[list[str | int]] = [["Name", "NHS Number"]] + [[f"P{i}", int(B.nhs(r))] for i in range(6)]
    d = decide(message("x", attachments=[("m.xlsx", "application", "octet-stream", B.xlsx(rows))]))
    assert conf(d) == ["confidential.nhs_number.bulk"]


def _zip(members: dict[str, bytes]) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_hostile_xml_is_refused_quickly() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10 if i > 1 else b"&lol;" * 10) for i in range(1, 10)
        )
        + b']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol9;</t></si></sst>'
    )
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row><c t="inlineStr"><is><t>&e;</t></is></c></row></sheetData></worksheet>'
    )
    bomb = _zip(
        {
            "xl/workbook.xml": b"<workbook/>",
            "xl/worksheets/sheet1.xml": b"<worksheet>" + b" " * 40_000_000 + b"</worksheet>",
        }
    )
    for data in (
        _zip({"xl/workbook.xml": b"<workbook/>", "xl/sharedStrings.xml": laughs}),
        _zip({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": xxe}),
        _zip({"word/document.xml": b"<w:document><unclosed"}),
        bomb,
        b"PK\x03\x04 not really a zip",
        b"%PDF-1.4\n garbage \n%%EOF",
    ):
        started = time.perf_counter()
        d = decide(message("x", attachments=[("a.xlsx", "application", "octet-stream", data)]))
        assert conf(d) == []
        assert time.perf_counter() - started < 3


def test_docx_with_upn_split_across_runs_is_found() -> None:
    upn = B.upn(rng())
    xml = (
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p>'
        f"<w:r><w:t>UPN {upn[:5]}</w:t></w:r><w:r><w:t>{upn[5:]}</w:t></w:r></w:p></w:body></w:document>"
    ).encode()
    d = decide(message("x", attachments=[("a.docx", "application", "octet-stream", _zip({"word/document.xml": xml}))]))
    assert conf(d) == ["confidential.pupil_data.single"]


# --- rules file, limits, options ---------------------------------------------------------------------


def _rules_copy(tmp_path: Path, edit: str = "", replace: tuple[str, str] | None = None) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(shipped_rules_dir(), rules)
    path = rules / "confidential.toml"
    text = path.read_text()
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    path.write_text(text + edit)
    return rules


def _check(rules: Path, options: dict[str, Any] | None = None) -> ConfidentialCheck:
    config = load_config(None)
    check = SPEC.build(config, options or {}, rules_dir=rules)
    assert isinstance(check, ConfidentialCheck)
    return check


def test_unknown_keys_and_bad_values_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"upn\.bulkmin"):
        _check(_rules_copy(tmp_path / "a", replace=("bulk_min = 10", "bulkmin = 10")))
    with pytest.raises(ConfigError, match="frobnicate"):
        _check(_rules_copy(tmp_path / "b", edit="\nfrobnicate = 1\n"))
    with pytest.raises(ConfigError, match=r"upn\.la_codes"):
        _check(_rules_copy(tmp_path / "c", replace=('"001-005"', '"1-5"')))
    with pytest.raises(ConfigError, match=r"card\.brands"):
        _check(_rules_copy(tmp_path / "d", replace=("lengths = [16, 19]", "lengths = [12]")))
    with pytest.raises(ConfigError, match=r"scores\.bulk"):
        _check(_rules_copy(tmp_path / "e", replace=("bulk = 4.0", 'bulk = "four"')))
    with pytest.raises(ConfigError, match=r"checks\.confidential\.threshold: unknown key"):
        _check(shipped_rules_dir(), {"threshold": 3})
    with pytest.raises(ConfigError, match="unknown check"):
        ruleset("\n[checks.confidentail]\nenabled = false\n")


def test_check_can_be_turned_off() -> None:
    rs = ruleset("\n[checks.confidential]\nenabled = false\n")
    assert conf(decide(message("\n".join(B.upn(rng()) for _ in range(20))), rs=rs)) == []


def test_limits_bound_the_work(tmp_path: Path) -> None:
    rules = _rules_copy(tmp_path, replace=("max_distinct = 5_000", "max_distinct = 25"))
    check = _check(rules)
    r = rng()
    raw = message("\n".join(B.upn(r) for _ in range(100)))
    (finding,) = check.run(Envelope(STAFF, ("x@partner.example",), direction=Direction.OUTBOUND), MessageView(raw))
    assert "(x25+)" in finding.evidence
    capped = _check(_rules_copy(tmp_path / "t", replace=("max_text_chars = 4_000_000", "max_text_chars = 60")))
    found = capped.run(Envelope(STAFF, ("x@partner.example",), direction=Direction.OUTBOUND), MessageView(raw))
    assert [f.rule for f in found] == ["confidential.pupil_data.single"] and "scan capped" in found[0].evidence


def test_ignore_list_for_the_trusts_own_published_bank_details(tmp_path: Path) -> None:
    raw = message("Pay for the trip by BACS: sort code 20-45-77, account 31926819.")
    assert [
        f.rule for f in CHECK.run(Envelope(STAFF, ("p@gmail.com",), direction=Direction.OUTBOUND), MessageView(raw))
    ]
    rules = _rules_copy(
        tmp_path, replace=("context_window = 80\nignore = []", 'context_window = 80\nignore = ["20-45-77/31926819"]')
    )
    check = _check(rules)
    assert list(check.run(Envelope(STAFF, ("p@gmail.com",), direction=Direction.OUTBOUND), MessageView(raw))) == []


# --- sealing and per-school policy -------------------------------------------------------------------


def test_a_personal_label_does_not_switch_the_check_off() -> None:
    """Issue 17: 14 UPNs to webmail were refused, and delivered once labelled Personal.  Sealing
    hides mail from people, not from the gateway: labelled mail is stopped like unlabelled mail,
    and its findings carry no UPN (type and count only)."""
    r = rng()
    upns = [B.upn(r) for _ in range(14)]
    body = "\n".join(f"Pupil {i}\t{u}" for i, u in enumerate(upns))
    plain = decide(message(body, subject="Class list", to="me@gmail.com"), to="me@gmail.com")
    assert conf(plain) and plain.action in (Action.BLOCK, Action.QUARANTINE)
    labelled_subject = decide(message(body, subject="[Personal] class list", to="me@gmail.com"), to="me@gmail.com")
    raw = message(body, subject="class list", to="me@gmail.com").replace(
        b"Subject:", b"Sensitivity: Personal\nSubject:", 1
    )
    labelled_header = decide(raw, to="me@gmail.com")
    for d in (labelled_subject, labelled_header):
        assert d.sealed and conf(d) == conf(plain) and d.action is plain.action
        assert not any(u in visible(d) for u in upns)
        assert all(f.evidence.startswith("sealed: ") for f in d.findings if f.rule.startswith("confidential"))


def _school_rows(domain: str, outbound: str) -> str:
    """Override every shipped tier (same match and min_score) for one school's outbound mail."""
    return "".join(
        f'[[schools.action]]\nmatch = "confidential"\nmin_score = {m}\noutbound = "{outbound}"\n' for m in (0, 4, 10)
    )


def _site_with(school_domain: str, outbound: str) -> Ruleset:
    text = SITE
    block = f'domain = "{school_domain}"\n'
    idx = text.index(block)
    end = text.find("[[schools]]", idx + 1)
    end = len(text) if end == -1 else end
    text = text[:end].rstrip("\n") + "\n" + _school_rows(school_domain, outbound) + "\n" + text[end:]
    return build_ruleset(parse_config(tomllib.loads(text), "site.toml"))


@pytest.mark.parametrize(
    ("setting", "single", "bulk"),
    [
        ("accept", Action.ACCEPT, Action.ACCEPT),
        ("tag", Action.TAG, Action.TAG),
        ("block", Action.BLOCK, Action.BLOCK),
    ],
)
def test_per_school_off_tag_block(setting: str, single: Action, bulk: Action) -> None:
    rs = _site_with("birch.example", setting)
    r = rng()
    one = message(f"UPN {B.upn(r)}", sender="t@birch.example")
    many = message("\n".join(B.upn(r) for _ in range(30)), sender="t@birch.example", to="x@gmail.com")
    assert decide(one, sender="t@birch.example", rs=rs).action is single
    assert decide(many, sender="t@birch.example", to="x@gmail.com", rs=rs).action is bulk
    # The other school keeps the shipped tiers.
    assert decide(message(f"UPN {B.upn(r)}"), rs=rs).action is Action.TAG
    assert decide(message("\n".join(B.upn(r) for _ in range(30))), rs=rs).action is Action.QUARANTINE
    if setting == "block":
        reply = decide(one, sender="t@birch.example", rs=rs).smtp_reply
        assert reply is not None and reply.code == "550" and "confidential.pupil_data.single" in str(reply)


# --- the labelled set: freshness, precision and recall ------------------------------------------------

LABELS: dict[str, list[str]] = json.loads((CORPUS / "labels.json").read_text())


def test_committed_set_is_what_the_generator_builds(tmp_path: Path) -> None:
    assert B.build(tmp_path) == LABELS
    stale = [n for n in LABELS if (tmp_path / n).read_bytes() != (CORPUS / n).read_bytes()]
    assert stale == [], "re-run tests/fixtures/confidential/build_corpus.py"
    assert {f"mail/{p.name}" for p in (CORPUS / "mail").glob("*.eml")} == set(LABELS)


def _found(name: str) -> list[str]:
    view = MessageView((CORPUS / name).read_bytes())
    to = tuple(a for _, a in getaddresses([view.header("To") or ""]))
    env = Envelope("j.lewis@oakfield.example", to, direction=Direction.OUTBOUND)
    return sorted(f.rule for f in CHECK.run(env, view))


def measure(names: list[str] | None = None) -> dict[str, float]:
    """Rule-level (message, rule id) and message-level (flagged or not) precision and recall."""
    tp = fp = fn = mtp = mfp = mfn = 0
    chosen = {n: LABELS[n] for n in (names if names is not None else LABELS)}
    for name, expected in chosen.items():
        found = _found(name)
        tp += len(set(found) & set(expected))
        fp += len(set(found) - set(expected))
        fn += len(set(expected) - set(found))
        mtp += bool(found) and bool(expected)
        mfp += bool(found) and not expected
        mfn += not found and bool(expected)
    return {
        "positives": sum(1 for v in chosen.values() if v),
        "negatives": sum(1 for v in chosen.values() if not v),
        "rule_precision": tp / max(1, tp + fp),
        "rule_recall": tp / max(1, tp + fn),
        "message_precision": mtp / max(1, mtp + mfp),
        "message_recall": mtp / max(1, mtp + mfn),
    }


def _line(label: str, m: dict[str, float]) -> str:
    return (
        f"{label}: {m['positives']:.0f} positive, {m['negatives']:.0f} negative messages; "
        f"rule-level precision {m['rule_precision']:.3f} recall {m['rule_recall']:.3f}; "
        f"message-level precision {m['message_precision']:.3f} recall {m['message_recall']:.3f}"
    )


def test_precision_and_recall_on_the_labelled_set() -> None:
    """The whole set, and apart the ``*_hard_*`` batch written after the detector and never tuned on.

    The floors are below the measured numbers (see the printed lines and docs/policy.md), so a
    regression fails the test; they are not a target to tune the hard batch towards.
    """
    m = measure()
    hard = measure([n for n in LABELS if "_hard_" in n])
    print("\n" + _line("confidential set (all)", m) + "\n" + _line("confidential set (hard, untuned)", hard))
    assert m["positives"] >= 30 and m["negatives"] >= 60
    # A false alarm on ordinary mail costs trust in the tag; a miss costs a breach.
    assert m["rule_precision"] >= 0.90 and m["message_precision"] >= 0.90
    assert m["rule_recall"] >= 0.90 and m["message_recall"] >= 0.90
