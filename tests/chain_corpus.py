"""The labelled chain-letter corpus (tests/fixtures/chain/), built into messages.

* ``chain_letters.txt``: 44 hand-written chain letters across the families (luck/curse, money
  pyramid, virus/hoax warning, charity/petition hoax, prayer/friendship);
* ``hard_negatives.txt``: hand-written mails that look like the genre but are legitimate (IT
  warning *about* chain letters, newsletter "please share", PTA fundraising, forwarded threads,
  a genuine phishing alert, a DSL letter about online "challenges") plus jokes, broadcast
  appeals and adverts labelled ``junk.*``;
* ordinary school mail: the 25 clean letters in tests/fixtures/text/clean_school_mail plus the
  25 short staff messages in ``school_mail_bodies.txt``, each sent in several realistic
  envelopes (greeting, sign-off, reply/forward prefix) to make 200+ distinct messages.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

HERE = Path(__file__).parent / "fixtures" / "chain"
CLEAN_LETTERS = Path(__file__).parent / "fixtures" / "text" / "clean_school_mail"


@dataclass(frozen=True)
class Sample:
    name: str
    label: str  # chain_letter.<family> | junk.<kind> | clean
    raw: bytes
    hard_negative: bool = False


def _blocks(path: Path) -> list[tuple[str, str, str]]:
    out = []
    head = None
    body: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        if line.startswith("=== "):
            if head:
                out.append((*head, "\n".join(body).strip()))
            label, _, subject = line[4:].partition(": ")
            head = (label.strip(), subject.strip())
            body = []
        else:
            body.append(line)
    if head:
        out.append((*head, "\n".join(body).strip()))
    return out


def _mail(subject: str, body: str, sender: str, to: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    return msg.as_bytes()


GREETINGS = ["Hi all,", "Dear colleagues,", "Hello,", "Morning all,", ""]
SIGNOFFS = [
    "Thanks,\nSam",
    "Kind regards,\nMrs Patel\nSchool Office",
    "Best wishes,\nJo",
    "Many thanks\nD. Evans (Deputy Head)",
]
PREFIXES = ["", "Re: ", "Fwd: ", "RE: RE: "]


def samples() -> list[Sample]:
    out: list[Sample] = []
    for i, (family, subject, body) in enumerate(_blocks(HERE / "chain_letters.txt")):
        out.append(
            Sample(
                f"chain{i:02d}",
                f"chain_letter.{family}",
                _mail(subject, body, "friend@home.test", "t@oakfield.example"),
            )
        )
    for i, (label, subject, body) in enumerate(_blocks(HERE / "hard_negatives.txt")):
        full = "clean" if label == "clean" else f"junk.{label}"
        out.append(
            Sample(
                f"hard{i:02d}",
                full,
                _mail(subject, body, "staff@oakfield.example", "all-staff@oakfield.example"),
                hard_negative=label == "clean",
            )
        )
    bodies = [line.strip() for line in (HERE / "school_mail_bodies.txt").read_text().splitlines() if line.strip()]
    letters = [p.read_text(encoding="utf-8") for p in sorted(CLEAN_LETTERS.glob("*.txt"))]
    combos = itertools.cycle(itertools.product(range(len(GREETINGS)), range(len(SIGNOFFS)), range(len(PREFIXES))))
    for n, body in enumerate((bodies * 6)[:150]):
        g, s, p = next(combos)
        subject = f"{PREFIXES[p]}{body.split('.')[0][:40]}"
        text = "\n\n".join(x for x in (GREETINGS[g], body, SIGNOFFS[s]) if x)
        out.append(
            Sample(
                f"staff{n:03d}",
                "clean",
                _mail(subject, text, "staff@oakfield.example", "colleague@oakfield.example"),
            )
        )
    for k, letter in enumerate(letters * 2):
        subject = ("Fwd: " if k >= len(letters) else "") + letter.strip().splitlines()[0][:50]
        out.append(
            Sample(
                f"letter{k:02d}",
                "clean",
                _mail(subject, letter, "office@oakfield.example", "parents@lists.home.test"),
            )
        )
    return out
