"""Chain letters and junk: every cue on an example, thresholds, structure, the outbound reply."""

from __future__ import annotations

import tomllib
from email.message import EmailMessage
from pathlib import Path

import pytest

from aupmilter.checks.chain_letter import SPEC as CHAIN_SPEC
from aupmilter.checks.chain_letter import ChainLetterCheck
from aupmilter.config import load_config
from aupmilter.engine import evaluate
from aupmilter.errors import ConfigError
from aupmilter.message import MessageView
from aupmilter.model import Action, Envelope
from aupmilter.ruleset import build_ruleset

RULESET = build_ruleset(load_config(None))
CHECK = next(c for c in RULESET.checks if c.name == "chain_letter")
assert isinstance(CHECK, ChainLetterCheck)
RULES_FILE = RULESET.config.rules_dir / "chain_letter.toml"
ENV = Envelope("a@home.test", ("t@oakfield.example",), client_addr="198.51.100.1")

# One example per cue: the words that should trigger it, and a near miss from ordinary school
# mail that must not.
CUE_EXAMPLES: dict[str, tuple[str, str]] = {
    "forward_count": ("Send this to 10 people you know", "Please send the 10 reading books back to the library"),
    "deadline": ("do it within 24 hours", "reports are due on Friday"),
    "break_chain": ("please do not break the chain", "the chain of command on the trip"),
    "keep_it_moving": ("don't let it stop with you", "please stop running in the corridor"),
    "consequence": ("if you ignore this, you will regret it", "if you are unsure, ask the office"),
    "not_a_joke": ("this is not a joke", "the joke fell flat"),
    "copy_paste": ("copy and paste this message", "copy the homework into your planner"),
    "to_everyone_you_know": ("send this to everyone you know", "let me know if you can come"),
    "mass_forward": ("send it to every group you're in", "please send this to every parent in your class"),
    "obligation": ("whoever receives this must send it on", "whoever receives the parcel must sign for it"),
    "only_takes_seconds": ("it only takes a second", "the survey takes ten minutes"),
    "threat_if_you": (
        "if you accept he will get all your bank details",
        "if you accept the offer we will send a contract",
    ),
    "warning_about_chains": ("these are hoaxes: please do not forward them", "please forward to your TAs"),
    "bad_luck": ("you will have bad luck for seven years", "good luck in the match"),
    "good_luck_promise": ("good luck will come to you", "good luck to Year 11"),
    "luck_stories": ("Tom deleted it and failed his test", "Tom deleted the old files"),
    "travelled_world": ("this letter has been round the world nine times", "our world map display"),
    "report_number": ("order REPORT #2 today", "Report 2 opens on SIMS"),
    "remove_top_name": ("remove the name at the top of the list", "remove your coat at the door"),
    "add_name_bottom": ("add your name to the bottom of the list", "add your name to the sign-up sheet"),
    "list_positions": ("send it to the person at number 1, then take number 1 off", "Year 5 are in position"),
    "send_money_each": ("send £5 to each of the names", "send £5 for the trip"),
    "earn_promise": ("you will earn £50,000", "you will earn points for your house"),
    "scheme_words": ("join our gifting circle", "sit in a circle on the carpet"),
    "forward_to_everyone": ("forward this to everyone in your address book", "forward this to your department"),
    "do_not_open": ("do not open it", "do not open the fire door"),
    "named_threat": ('an email titled "Life is beautiful"', "a book called Wonder"),
    "authority_claim": ("Microsoft has confirmed this", "Microsoft Teams is down"),
    "destroys_computer": ("it erases your hard drive", "save your work to the hard drive"),
    "privacy_statement": ("I do not give Facebook permission to use my photos", "photo permission forms"),
    "tell_everyone": ("please pass this on", "please pass the salt"),
    "money_per_forward": ("they donate 3p for every email forwarded", "for every cake sold we raise £1"),
    "sick_child": ("a little girl with cancer", "Macmillan Cancer Support coffee morning"),
    "tracking_forwards": ("they are tracking this email", "we are tracking attendance"),
    "petition_names": ("add your name to the list and forward", "names on the register"),
    "petition_target": ("it will be sent to Parliament", "the letter will be sent to parents"),
    "send_back": ("send it back to me", "send the slip back by Friday"),
    "prayer_forward": ("an angel is watching, send this on to friends", "the prayer group meets on Wednesday"),
    "friends_you_love": ("friends you love, send this", "I love this class"),
    "dont_stop": ("don't stop this blessing", "don't stop at the gate"),
    "joke_marker": ("joke of the day", "the joke shop"),
    "joke_form": ("a man walks into a bar", "a man walked into reception"),
    "joke_forward": ("too good not to share", "please share the minutes"),
    "sponsor_me": ("please sponsor me", "sponsor forms are due"),
    "appeal_all_staff": ("Hi all,", "Hi Dan,"),
    "any_donation": ("any donation is appreciated", "donations of tins for harvest"),
    "personal_lost_item": ("has anyone seen my keys", "lost property is in the hall"),
    "for_sale": ("selling my bike", "the sale of tickets opens Monday"),
    "price_terms": ("£40 ono", "tickets are £3"),
    "sales_pitch": ("use code SAVE10", "the code for the door is on the board"),
    "own_business": ("my little business", "school business manager"),
}


def message(
    text: str, subject: str = "hello", sender: str = "a@home.test", to: str = "t@oakfield.example"
) -> MessageView:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg.set_content(text)
    return MessageView(msg.as_bytes())


def cue_ids(view: MessageView) -> set[str]:
    assert isinstance(CHECK, ChainLetterCheck)
    return {h.cue.id for h in CHECK.cue_hits(view)}


def test_every_cue_in_the_rules_file_has_an_example() -> None:
    data = tomllib.loads(RULES_FILE.read_text())
    assert {c["id"] for c in data["cue"]} == set(CUE_EXAMPLES)


@pytest.mark.parametrize("cue_id", sorted(CUE_EXAMPLES))
def test_each_cue_fires_on_its_example_and_not_on_its_near_miss(cue_id: str) -> None:
    example, near_miss = CUE_EXAMPLES[cue_id]
    assert cue_id in cue_ids(message(example))
    assert cue_id not in cue_ids(message(near_miss))


def test_every_cue_example_passes_its_prefilter() -> None:
    """``needs`` skips a cue's pattern when none of its words occur: it must never hide a hit."""
    data = tomllib.loads(RULES_FILE.read_text())
    for cue in data["cue"]:
        example = CUE_EXAMPLES[cue["id"]][0].lower().replace("\u2019", "'")
        assert any(n in example for n in cue.get("needs", [""])), cue["id"]


def test_one_cue_never_fires_alone() -> None:
    for text in (
        "Please share this newsletter with parents.",
        "Send this to 10 people",
        "Hi all, any donation appreciated",
        "Please do not break the chain of paper links",
    ):
        assert list(CHECK.run(ENV, message(text))) == []


def test_structural_cues_add_to_a_chain_and_are_explained() -> None:
    many = ", ".join(f"person{i}@home.test" for i in range(8))
    body = f"To: {many}\nsend this to 10 people within 24 hours, it really works"
    findings = list(CHECK.run(ENV, message(body, subject="Fw: FW: Fwd: Fwd: lucky")))
    assert [f.rule for f in findings] == ["chain_letter.luck"]
    assert "4 forward prefixes in subject (cue forward_depth)" in findings[0].evidence
    assert "quoted list of 8 addresses (cue recipient_list)" in findings[0].evidence


def test_structure_alone_is_not_a_chain_letter() -> None:
    thread = "\n".join(f"From: Person {i}\nSent: Monday\n\nSee below.\n" for i in range(5))
    assert list(CHECK.run(ENV, message(thread, subject="Fwd: FW: Fwd: RE: minutes"))) == []


def test_a_warning_about_chain_letters_outweighs_the_example_it_quotes() -> None:
    body = (
        "Dear all, the message below is a hoax: please do not forward it.\n\n"
        "---------- Forwarded message ---------\nFrom: someone\n\n"
        'If you receive an email titled "Holiday" do not open it. It erases your hard drive. '
        "Forward this to everyone in your address book!"
    )
    assert list(CHECK.run(ENV, message(body))) == []
    assert list(CHECK.run(ENV, message(body.split("\n\n", 1)[1])))  # the example alone is caught


def test_evidence_names_each_cue_and_where_it_was_found() -> None:
    body = (
        "Saw this and thought of you x\n\n---------- Forwarded message ---------\nFrom: a friend\n\n"
        "Send this to 10 people within 24 hours or you will have bad luck for 7 years."
    )
    (finding,) = CHECK.run(ENV, message(body))
    assert finding.rule == "chain_letter.luck" and finding.category == "chain_letter"
    assert finding.location == "body:forwarded"
    assert '"Send this to 10 people" (cue forward_count, forwarded)' in finding.evidence
    assert '"bad luck" (cue bad_luck, forwarded)' in finding.evidence
    assert len(finding.evidence) <= 400


def test_quoted_chain_letter_matches_across_quote_markers() -> None:
    body = "FYI\n\nKaren wrote:\n> Send this to 10\n> people within 24\n> hours or bad luck will follow"
    assert "forward_count" in cue_ids(message(body))


def test_junk_categories_are_separate_from_chain_letters() -> None:
    advert = message("Hi all, selling my bike, £40 ono, collection only.")
    assert [(f.rule, f.category) for f in CHECK.run(ENV, advert)] == [("junk.advertising", "junk.advertising")]


def test_outbound_chain_letter_is_blocked_naming_the_clause_inbound_is_tagged() -> None:
    body = "This is not a joke. Send this to 10 people within 24 hours or bad luck will follow. Don't break the chain!"
    staff = Envelope("t@oakfield.example", ("friend@home.test",), auth_user="t")
    out = evaluate(staff, message(body, sender="t@oakfield.example", to="friend@home.test"), RULESET)
    assert out.action is Action.BLOCK
    reply = str(out.smtp_reply)
    assert reply.startswith("550") and "chain letters" in reply and "chain mail, junk mail" in reply
    internal = Envelope("t@oakfield.example", ("u@oakfield.example",), auth_user="t")
    assert (
        evaluate(internal, message(body, sender="t@oakfield.example", to="u@oakfield.example"), RULESET).action
        is Action.BLOCK
    )
    assert evaluate(ENV, message(body), RULESET).action is Action.TAG


def test_junk_is_only_ever_tagged() -> None:
    advert = "Hi all, selling my bike, £40 ono, collection only."
    staff = Envelope("t@oakfield.example", ("friend@home.test",), auth_user="t")
    assert (
        evaluate(staff, message(advert, sender="t@oakfield.example", to="friend@home.test"), RULESET).action
        is Action.TAG
    )


def test_rules_file_errors_name_the_problem(tmp_path: Path) -> None:
    good = RULES_FILE.read_text()
    cases = {
        "bogus = 1\n" + good: "bogus",
        good + '\n[[cue]]\nid = "x"\nfamily = "chain_letter.nope"\nweight = 1.0\npattern = "x"\n': "family",
        good + '\n[[cue]]\nid = "x"\nfamily = "chain_letter.luck"\nweight = 1.0\npattern = "("\n': "pattern",
        good + '\n[[cue]]\nid = "deadline"\nfamily = "chain_letter.luck"\nweight = 1.0\npattern = "x"\n': "id",
        good.replace("[structure]", "[structure]\nmoon_phase = { weight = 1.0, min = 1 }"): "moon_phase",
    }
    for text, key in cases.items():
        (tmp_path / "chain_letter.toml").write_text(text)
        with pytest.raises(ConfigError, match=key):
            CHAIN_SPEC.build(RULESET.config, {}, rules_dir=tmp_path)
    with pytest.raises(ConfigError, match="unknown"):
        CHAIN_SPEC.build(RULESET.config, {"threshold": 1})
