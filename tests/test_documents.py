"""Documents are documents (issue 20): the generated corpora under the shipped policy.

Benign documents (python-docx, python-pptx, openpyxl, odfpy, LibreOffice conversions, plus the
parts real Office writes: printer settings, media, fonts, thumbnails, custom XML, embedded
workbooks and packages) are never stopped; every dangerous sample (macros, OLE packages with
executables, Equation Editor, ActiveX, remote templates, DDE, disguised scripts, EICAR in every
carrier) is held inbound and held or refused outbound.  ``python -m tests.document_corpus``
prints the same table.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from aupmilter.extraction.archives import Budget, Limits
from aupmilter.extraction.documents import inspect
from aupmilter.model import Action
from tests import attachment_builders as b
from tests import document_corpus as corpus
from tests.harness.gateway import Gateway
from tests.test_attachments import INBOUND, OUTBOUND, decide

BENIGN = functools.lru_cache(maxsize=1)(corpus.benign)
DANGEROUS = functools.lru_cache(maxsize=1)(corpus.dangerous)


def _both(attachments: list[corpus.Sample]) -> tuple[Action, Action, set[str]]:
    inbound = decide(b.message_with(attachments, sender="x@outside.test", to="t@oakfield.example"), INBOUND)
    outbound = decide(b.message_with(attachments, sender="t@oakfield.example", to="x@outside.test"), OUTBOUND)
    return inbound.action, outbound.action, set(inbound.rule_ids) | set(outbound.rule_ids)


def test_benign_corpus_is_never_stopped() -> None:
    samples = BENIGN()
    assert len(samples) >= 40, "LibreOffice conversions missing: is libreoffice-*-nogui installed (make setup)?"
    assert any(name.startswith("libreoffice-") and name.endswith(".pptx") for name in samples)
    stopped = {}
    for name, attachments in samples.items():
        inbound, outbound, found = _both(attachments)
        if max(inbound, outbound) >= Action.QUARANTINE:
            stopped[name] = sorted(found)
    assert stopped == {}


@pytest.mark.parametrize("name", sorted(corpus.dangerous().keys()))
def test_dangerous_sample_is_caught_both_ways(name: str) -> None:
    inbound, outbound, found = _both(DANGEROUS()[name])
    assert inbound >= Action.QUARANTINE, (name, found)
    assert outbound >= Action.QUARANTINE, (name, found)


def test_printer_settings_and_media_are_not_walked_as_archive_members() -> None:
    deck = corpus.inject(
        corpus.make_pptx(1),
        {"ppt/printerSettings/printerSettings1.bin": corpus.devmode(), "ppt/media/media1.mp4": corpus.mp4()},
    )
    inbound, outbound, found = _both([("deck.pptx", deck, corpus.PPTX)])
    assert (inbound, outbound) == (Action.ACCEPT, Action.ACCEPT), found
    assert not any(r.startswith(("attachment.executable", "attachment.media")) for r in found)


def test_embedded_executable_evidence_names_the_path_inside_the_document() -> None:
    docx = DANGEROUS()["docx-ole-package-exe"]
    d = decide(b.message_with(docx))
    evidence = [f.evidence for f in d.findings if f.rule == "attachment.executable.windows"]
    assert any("report.docx/word/embeddings/oleObject1.bin/invoice.exe" in e for e in evidence), evidence


def test_inspect_is_none_for_plain_archives_and_other_files() -> None:
    limits = Limits()
    assert inspect(b.zip_of({"a.txt": b"x"}), "a.zip", limits, Budget(limits)) is None
    assert inspect(b.pdf(), "a.pdf", limits, Budget(limits)) is None
    found = inspect(corpus.make_docx(), "a.docx", limits, Budget(limits))
    assert found is not None and found.kind == "ooxml" and found.flags == []


def test_damaged_ole_with_vba_stream_names_is_still_a_macro() -> None:
    limits = Limits()
    whole = b.ole_doc(macro=True)
    damaged = whole[:0x2C] + b"\xff\xff\xff\x7f" + whole[0x30:]  # absurd FAT sector count
    found = inspect(damaged, "x.doc", limits, Budget(limits))
    assert found is not None
    assert [f.rule for f in found.flags] == ["attachment.macro"]


@pytest.mark.postfix
def test_e2e_office_deck_delivered_macro_held_dde_refused(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway()
    deck = b.message_with(
        [("Assembly.pptx", corpus._office_extras_pptx(corpus.make_pptx(3)), corpus.PPTX)],
        sender="head@partner.test",
        to="t@oakfield.example",
    )
    assert gw.send(deck, "head@partner.test", ["t@oakfield.example"])[0] == 250
    [delivered] = gw.wait_delivered(1)
    assert b"X-AUP-Verdict: accept" in delivered
    macro = b.message_with(DANGEROUS()["docm-vba"], sender="x@outside.test", to="t@oakfield.example")
    assert gw.send(macro, "x@outside.test", ["t@oakfield.example"])[0] == 250  # taken, then held
    dde = b.message_with(DANGEROUS()["docx-ddeauto-split-runs"], sender="teacher@oakfield.example", to="x@outside.test")
    code, text = gw.send(dde, "teacher@oakfield.example", ["x@outside.test"], auth_user="teacher")
    assert code == 550 and "attachment.document.dde" in text
    marker = b.message_with([], sender="x@outside.test", to="t@oakfield.example")
    assert gw.send(marker, "x@outside.test", ["t@oakfield.example"])[0] == 250
    assert len(gw.wait_delivered(2)) == 2  # the deck and the marker; the macro document was held
    from aupmilter.config import load_config
    from aupmilter.quarantine import open_store

    items = open_store(load_config(str(gw.config_path)).quarantine).list()
    assert [sorted({f.rule for f in item.record.findings}) for item in items] == [["attachment.macro"]]
