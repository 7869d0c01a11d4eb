"""Build ``rules/lexicon/realwords.txt``: the English words the offensive check must take as written.

    python -m train.offensive_realwords [--out PATH] [--dict /usr/share/dict/british-english ...]

The offensive check resolves a token *towards* its vocabulary: a swapped or missing letter
(``haet`` → hate), words run together (``ihate`` → i hate) and listed stems with a suffix
(``wankers`` → wank).  Each would misfire on a real word — ``hat``, ``therapist`` (the rapist),
``Mongers`` (mong + ers), ``dumbbell`` — so the check needs to know which real words collide.
Shipping a whole dictionary would cost ~1 MB and a second of start-up; instead this script
keeps only the dictionary words that *collide* with a variant, a split or a stem.

Data: Debian's ``wbritish`` and ``wamerican`` word lists (SCOWL, permissive licence: see
/usr/share/doc/wbritish/copyright), installed by ``make train``.  Deterministic: sorted output.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aupmilter.checks.offensive.hate import _JOINABLE, HateDetector
from aupmilter.checks.offensive.lexicon import SUFFIX_SET, Lexicon
from aupmilter.checks.offensive.spelling import Speller, misspellings

REPO = Path(__file__).resolve().parents[1]
LEXICON = REPO / "src" / "aupmilter" / "rules" / "lexicon"
DICTIONARIES = [Path("/usr/share/dict/british-english"), Path("/usr/share/dict/american-english")]
#: Words in the lists that are not dictionary words but are common in mail (names, places, jargon).
EXTRA = ["mongers", "monger", "scunthorpe", "penistone", "cockermouth", "shitterton", "clitheroe", "hancock"]


def dictionary(paths: list[Path]) -> set[str]:
    words: set[str] = set(EXTRA)
    for path in paths:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            word = line.strip().lower().replace("'", "")
            if word.isalpha() and word.isascii():
                words.add(word)
    return words


def collisions(words: set[str], lexicon_dir: Path) -> list[str]:
    detector = HateDetector(lexicon_dir)
    lexicon = Lexicon(lexicon_dir)
    vocabulary = detector.speller.vocabulary
    listed = set(lexicon.words)
    keep: set[str] = set()
    # 1. a variant of a vocabulary word that is itself a word ("hat", "ate" for hate)
    for word in vocabulary:
        keep |= misspellings(word) & words
    # 2. a word that would split into vocabulary pieces ("therapist" → the rapist)
    unguarded = Speller(vocabulary, _JOINABLE, ())
    for word in words:
        if len(word) >= 5 and word not in vocabulary and unguarded.split(word) is not None:
            keep.add(word)
    # 3. a word read as a listed stem + suffix that is really another word + inflection:
    #    "mongers" = monger + s, not mong + ers.  ("fucking" has no such second reading.)
    compounds: set[str] = set()
    second_readings: set[str] = set()
    for word in words:
        if word in listed:
            continue
        for cut in range(4, len(word)):
            if word[:cut] in lexicon.stems and word[cut:] in SUFFIX_SET:
                compounds.add(word)
                if any(
                    word[:k] in words and word[:k] not in listed and word[k:] in SUFFIX_SET
                    for k in range(cut + 1, len(word))
                ):
                    second_readings.add(word)
                break
    # A listed stem + suffix is what the list means ("fucking"), unless it has a second reading.
    keep = (keep - compounds) | second_readings
    return sorted(keep - listed - vocabulary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=LEXICON / "realwords.txt")
    parser.add_argument("--dict", type=Path, action="append", dest="dicts")
    args = parser.parse_args()
    paths = args.dicts or DICTIONARIES
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise SystemExit(f"word lists missing: {', '.join(missing)} (apt-get install wbritish wamerican)")
    kept = collisions(dictionary(paths), LEXICON)
    header = (
        "# Real English words the offensive check takes as written (see train/offensive_realwords.py).\n"
        "# Generated from Debian's wbritish + wamerican (SCOWL); do not edit by hand: make train.\n"
    )
    args.out.write_text(header + "\n".join(kept) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(kept)} words")


if __name__ == "__main__":
    main()
