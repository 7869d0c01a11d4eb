"""Chain letters and junk: every cue, the labelled corpus, hard negatives, the outbound reply."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from aupmilter.config import load_config
from aupmilter.engine import build_ruleset, evaluate
from aupmilter.message import MessageView
from aupmilter.model import Action, Envelope
from tests.chain_corpus import HERE, _blocks, _mail, samples

RULESET = build_ruleset(load_config(None))
CHECK = next(c for c in RULESET.checks if c.name == "chain_letter")
ENV = Envelope("a@home.test", ("t@oakfield.example",), client_addr="198.51.100.1")

CUE_EXAMPLES = {
    "forward_count": "Send this to 10 people you know",
    "deadline": "do it within 24 hours",
    "break_chain": "please do not break the chain",
    "consequence": "if you ignore this, you will regret it",
    "not_a_joke": "this is not a joke",
    "copy_paste": "copy and paste this message",
    "to_everyone_you_know": "send this to everyone you know",
    "warning_about_chains": "these are hoaxes: please do not forward them",
    "bad_luck": "you will have bad luck for seven years",
    "good_luck_promise": "good luck will come to you",
    "luck_stories": "Tom deleted it and failed his test",
    "report_number": "order REPORT #2 today",
    "list_positions": "send it to the person at number 1, then take number 1 off",
    "remove_top_name": "remove the name at the top of the list",
    "send_money_each": "send £5 to each of the names",
    "earn_promise": "you will earn £50,000",
    "forward_to_everyone": "forward this to everyone in your address book",
    "do_not_open": "do not open it",
    "named_threat": 'an email titled "Life is beautiful"',
    "authority_claim": "Microsoft has confirmed this",
    "destroys_computer": "it erases your hard drive",
    "tell_everyone": "please pass this on",
    "money_per_forward": "they donate 3p for every email forwarded",
    "sick_child": "a little girl with cancer",
    "tracking_forwards": "they are tracking this email",
    "petition_names": "add your name to the list and forward",
    "send_back": "send it back to me",
    "prayer_forward": "an angel is watching, send this on to friends",
    "friends_you_love": "friends you love, send this",
    "dont_stop": "don't stop this blessing",
    "joke_marker": "joke of the day",
    "joke_form": "a man walks into a bar",
    "joke_forward": "too good not to share",
    "sponsor_me": "please sponsor me",
    "appeal_all_staff": "Hi all,",
    "any_donation": "any donation is appreciated",
    "personal_lost_item": "has anyone seen my keys",
    "for_sale": "selling my bike",
    "price_terms": "£40 ono",
    "sales_pitch": "use code SAVE10",
    "own_business": "my little business",
}


def message(text: str, subject: str = "hello") -> MessageView:
    return MessageView(_mail(subject, text, "a@home.test", "t@oakfield.example"))


def test_every_cue_in_the_rules_file_has_an_example() -> None:
    data = tomllib.loads((RULESET.config.rules_dir / "chain_letter.toml").read_text())
    assert {c["id"] for c in data["cue"]} == set(CUE_EXAMPLES)


@pytest.mark.parametrize("cue_id", sorted(CUE_EXAMPLES))
def test_each_cue_fires_on_its_example(cue_id: str) -> None:
    hits = {c.id for c, _ in CHECK.cue_hits(message(CUE_EXAMPLES[cue_id]))}  # type: ignore[attr-defined]
    assert cue_id in hits


def test_one_weak_cue_never_fires_alone() -> None:
    for text in (
        "Please share this newsletter with parents.",
        "Send this to 10 people",
        "Hi all, any donation appreciated",
    ):
        assert list(CHECK.run(ENV, message(text))) == []


def test_structural_cues() -> None:
    many = ", ".join(f"person{i}@home.test" for i in range(8))
    body = f"To: {many}\nsend this to 10 people within 24 hours"
    findings = list(CHECK.run(ENV, message(body, subject="Fw: FW: Fwd: Fwd: lucky")))
    assert findings and "forward_depth" in findings[0].evidence and "recipient_list" in findings[0].evidence


def test_labelled_corpus_recall_and_hard_negatives() -> None:
    data = samples()
    chains = [s for s in data if s.label.startswith("chain_letter")]
    clean = [s for s in data if s.label == "clean"]
    assert len(chains) >= 40 and len(clean) >= 200
    caught = [s for s in chains if any(f.rule.startswith("chain_letter") for f in CHECK.run(ENV, MessageView(s.raw)))]
    assert len(caught) / len(chains) >= 0.95
    hard = [s.name for s in data if s.hard_negative and list(CHECK.run(ENV, MessageView(s.raw)))]
    assert hard == []
    flagged_clean = [s.name for s in clean if list(CHECK.run(ENV, MessageView(s.raw)))]
    assert flagged_clean == []
    for s in (s for s in data if s.label.startswith("junk")):
        assert s.label in {f.rule for f in CHECK.run(ENV, MessageView(s.raw))}, s.name


def test_outbound_chain_letter_is_blocked_naming_the_clause_and_explained() -> None:
    _, subject, body = _blocks(HERE / "chain_letters.txt")[0]
    raw = _mail(subject, body, "t@oakfield.example", "friend@home.test")
    d = evaluate(
        Envelope("t@oakfield.example", ("friend@home.test",), auth_user="t"),
        MessageView(raw),
        RULESET,
    )
    assert d.action is Action.BLOCK
    assert "chain letters is not permitted" in str(d.smtp_reply)
    finding = next(f for f in d.findings if f.category == "chain_letter")
    assert "forward_count" in finding.evidence and "send this to 10 people" in finding.evidence.lower()
    inbound = evaluate(ENV, MessageView(_mail(subject, body, "a@home.test", "t@oakfield.example")), RULESET)
    assert inbound.action is Action.TAG


def test_heldout_files_exist_for_the_benchmark() -> None:
    assert len(_blocks(Path(HERE / "heldout_chain_letters.txt"))) == 8
    assert len(_blocks(Path(HERE / "heldout2_chain_letters.txt"))) == 6
