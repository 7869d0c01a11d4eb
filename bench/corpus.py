"""A realistic, generated message mix for benchmarks (nothing copied from elsewhere).

plain 3 KB, HTML + alternative 12 KB, PDF attachment ~100 KB, DOCX attachment ~40 KB, zipped
attachments ~200 KB, a 2 MB PDF, an adversarial body (a long run of "xxxx"), an offensive
message and a chain letter, each as an .eml file; ``weights`` is how often each occurs.

Apart from the mix, :func:`letter`: the plain outbound letter (a 6 KB termly letter from a
member of staff to a parent, written from the project's own clean school mail fixtures), the
message a school sends most and the one the disclaimer + DKIM figures are quoted for.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from tests import attachment_builders as b

WORDS = [
    "the",
    "children",
    "will",
    "need",
    "a",
    "packed",
    "lunch",
    "and",
    "a",
    "coat",
    "for",
    "the",
    "trip",
    "on",
    "thursday",
    "please",
    "return",
    "the",
    "consent",
    "form",
    "to",
    "the",
    "office",
    "by",
    "friday",
    "thank",
    "you",
    "for",
    "your",
    "support",
    "with",
    "homework",
    "and",
    "reading",
]


def _text(n_bytes: int, seed: int) -> str:
    rng = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < n_bytes:
        line = " ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "."
        out.append(line)
        size += len(line) + 1
    return "\n".join(out) + "\n"


def _msg(
    subject: str, body: str, sender: str = "teacher@oakfield.example", to: str = "parent@home.test"
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"] = f"<{subject.replace(' ', '.')}@bench>"
    msg.set_content(body)
    return msg


def build(directory: Path) -> dict[str, tuple[Path, int]]:
    """Write the mix; returns name -> (path, weight)."""
    directory.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[Path, int]] = {}

    def save(name: str, msg: EmailMessage, weight: int) -> None:
        path = directory / f"{name}.eml"
        path.write_bytes(msg.as_bytes())
        out[name] = (path, weight)

    save("plain_3k", _msg("Trip reminder", _text(3000, 1)), 40)
    html = _msg("Newsletter", _text(6000, 2))
    html.add_alternative(
        "<html><body>" + "".join(f"<p>{p}</p>" for p in _text(6000, 3).splitlines()) + "</body></html>", subtype="html"
    )
    save("html_alt_12k", html, 25)
    pdf = _msg("Minutes attached", _text(1500, 4))
    pdf.add_attachment(b.pdf() + os.urandom(100_000), maintype="application", subtype="pdf", filename="minutes.pdf")
    save("pdf_100k", pdf, 10)
    docx = _msg("Report attached", _text(1500, 5))
    docx.add_attachment(
        b.docx() + b"",
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="report.docx",
    )
    save("docx_40k", docx, 10)
    zipped = _msg("Photos", _text(800, 6))
    zipped.add_attachment(
        b.zip_of({f"photo{i}.png": b.png() + os.urandom(20_000) for i in range(10)}),
        maintype="application",
        subtype="zip",
        filename="photos.zip",
    )
    save("zip_200k", zipped, 8)
    big = _msg("Big scan", _text(800, 7))
    big.add_attachment(b.pdf() + os.urandom(2_000_000), maintype="application", subtype="pdf", filename="scan.pdf")
    save("pdf_2m", big, 2)
    save("adversarial_xxx_50k", _msg("xxx", "x" * 50_000 + "\n" + "xxxxxxx " * 2000), 2)
    save("offensive", _msg("hi", "You are a f*cking idiot.\n" + _text(1000, 8)), 2)
    save(
        "chain_letter",
        _msg(
            "FW: FW: luck",
            "Send this to 10 people within 24 hours or you will have bad luck for 7 years. "
            "Do not break the chain!\n" + _text(500, 9),
        ),
        1,
    )
    return out


#: Parent-facing items of tests/fixtures/text/clean_school_mail, in the order a letter has them.
#: Left out: the items with a Scunthorpe word ("Dick Whittington", "blue tits"), which the Rspamd
#: peer's plain word map rejects; the letter is clean mail that both must deliver and sign.
_LETTER_ITEMS = (
    "01_trip_letter", "05_sports_fixture", "06_leavers_event", "07_sen_review", "13_attendance",
    "15_pshe_letter", "17_music_concert", "21_exam_results", "22_lost_property", "25_farm_trip",
)  # fmt: skip


def letter(directory: Path, size: int = 6000, html: bool = False) -> Path:
    """The plain outbound letter (see module docstring): about ``size`` bytes, text/plain, the
    headers a mail client writes (Date, Message-ID, MIME-Version).  ``html``: the same letter as
    an HTML mail client sends it, the same words as text/plain and text/html (multipart/alternative,
    14 KB), which ``bench.percheck`` times beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    source = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "text" / "clean_school_mail"
    items = [(source / f"{name}.txt").read_text(encoding="utf-8").strip() for name in _LETTER_ITEMS]
    body = "Dear Mrs Patel,\n\nHere is our news for the end of term.\n"
    k = 0
    while len(body.encode()) < size:
        body += "\n" + items[k % len(items)] + "\n"
        k += 1
    body += "\nWith best wishes,\nMs J. Hartley\nClass 4 Teacher, Oakfield Primary School\n"
    msg = _msg("End of term news", body, "Ms J. Hartley <teacher@oakfield.example>", "Mrs Patel <parent@home.test>")
    msg["Date"] = format_datetime(dt.datetime(2026, 12, 2, 15, 30, tzinfo=dt.UTC))
    if html:
        msg.add_alternative(b.html_form(body), subtype="html")
    path = directory / ("letter_html_14k.eml" if html else "letter_6k.eml")
    path.write_bytes(msg.as_bytes())
    return path
