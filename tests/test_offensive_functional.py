"""The offensive check on its functional suite, per category (issue 19's measurement).

The suite (tests/fixtures/offensive/functional/) was written by a separate session that never
read the code: ``dev/`` was used to develop the rules and to train the model, ``heldout/`` never.
The targets are ≥ 95% flagged for every must-flag category and ≤ 5% for every must-not one;
the floors and ceilings below are the *measured* held-out figures (see docs/policy.md), kept as
regression guards: a change that loses recall or adds false positives fails here, and a change
that gains should raise them.  The table prints with ``pytest -s``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.offensive_eval import Measure, Rate, table

MEASURE = Measure()
HELDOUT = {r.category: r for r in MEASURE.functional("heldout")}
FINAL = {r.category: r for r in MEASURE.functional("final")}

# Measured on heldout at the commit that introduced them, less a small margin.
FLOOR = {
    "must_flag_dehumanisation": 0.76,
    "must_flag_derogation_attribute": 0.83,
    "must_flag_derogation_emotion": 0.61,
    "must_flag_harassment": 0.27,
    "must_flag_implicit_derogation": 0.48,
    "must_flag_negated_positive": 0.54,
    "must_flag_profane_abuse": 0.97,
    "must_flag_question_opinion": 0.64,
    "must_flag_reference_across_clauses": 0.77,
    "must_flag_slur": 0.65,
    "must_flag_spelling_variants": 0.80,
    "must_flag_threat_direct": 0.60,
    "must_flag_threat_normative": 0.79,
}
CEILING = {
    "must_not_abuse_of_objects": 0.16,
    "must_not_block_mild": 0.11,
    "must_not_counter_speech": 0.09,
    "must_not_homonyms": 0.19,
    "must_not_identity_neutral": 0.04,
    "must_not_identity_positive": 0.11,
    "must_not_negated_hate": 0.24,
    "must_not_ordinary_school_mail": 0.05,
    "must_not_place_and_morphology": 0.04,
    "must_not_technical_senses": 0.09,
}


# final/: a third split written after the rules and the model were frozen, measured once (the
# figures in docs/policy.md); the same margin.
FINAL_BOUND = {
    "must_flag_dehumanisation": 0.64,
    "must_flag_derogation_attribute": 0.81,
    "must_flag_derogation_emotion": 0.66,
    "must_flag_harassment": 0.67,
    "must_flag_implicit_derogation": 0.54,
    "must_flag_negated_positive": 0.55,
    "must_flag_profane_abuse": 0.97,
    "must_flag_question_opinion": 0.81,
    "must_flag_reference_across_clauses": 0.77,
    "must_flag_slur": 0.79,
    "must_flag_spelling_variants": 0.92,
    "must_flag_threat_direct": 0.58,
    "must_flag_threat_normative": 0.78,
    "must_not_abuse_of_objects": 0.13,
    "must_not_block_mild": 0.15,
    "must_not_counter_speech": 0.08,
    "must_not_homonyms": 0.13,
    "must_not_identity_neutral": 0.03,
    "must_not_identity_positive": 0.05,
    "must_not_negated_hate": 0.20,
    "must_not_ordinary_school_mail": 0.03,
    "must_not_place_and_morphology": 0.06,
    "must_not_technical_senses": 0.10,
}


@pytest.mark.parametrize("category", sorted(FINAL_BOUND))
def test_final_split_bounds(category: str) -> None:
    rate: Rate = FINAL[category]
    if rate.must_flag:
        assert rate.rate >= FINAL_BOUND[category], f"{category}: {rate.hits}/{rate.total}"
    else:
        assert rate.rate <= FINAL_BOUND[category], f"{category}: {rate.hits}/{rate.total}"


def test_every_category_has_a_bound() -> None:
    assert set(HELDOUT) == set(FLOOR) | set(CEILING)


@pytest.mark.parametrize("category", sorted(FLOOR))
def test_must_flag_category_recall(category: str) -> None:
    rate: Rate = HELDOUT[category]
    assert rate.rate >= FLOOR[category], f"{category}: {rate.hits}/{rate.total}"


@pytest.mark.parametrize("category", sorted(CEILING))
def test_must_not_category_false_positives(category: str) -> None:
    rate: Rate = HELDOUT[category]
    assert rate.rate <= CEILING[category], f"{category}: {rate.hits}/{rate.total}"


def test_print_table(capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print("\nheld-out split\n" + table(list(HELDOUT.values())))
        print("\nfinal split\n" + table(list(FINAL.values())))


def test_olid_dev_macro_f1(shared_data: Path) -> None:
    """OLID: the 20% of the training split the model never saw (measured 0.721)."""
    f1 = MEASURE.olid_dev_macro_f1()
    assert f1 is not None and f1 >= 0.70


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("I want to kill all immigrants.", "offensive.threat.race"),
        ("Muslims should all be shot.", "offensive.threat.religion"),
        ("Disabled people belong in a zoo.", "offensive.hate.disability"),
        ("I have no respect for any gay people like you.", "offensive.hate.sexual_orientation"),
        ("I met many women and I hate every single one of them.", "offensive.hate.sex"),
        ("Isn't it obvious that trans people are disgusting?", "offensive.hate.gender_reassignment"),
        ("Ihate old people", "offensive.hate.age"),
        ("I h4te refugees", "offensive.hate.race"),
        ("I haet Jews", "offensive.hate.religion"),
        ("I'll kill you", "offensive.threat.individual"),
        ("You make me sick.", "offensive.abuse.personal"),
    ],
)
def test_frames_name_pattern_and_target(text: str, rule: str) -> None:
    from tests.test_offensive import OUT, mail

    findings = list(MEASURE.check.run(OUT, __import__("aupmilter.message").message.MessageView(mail(text))))
    assert rule in {f.rule for f in findings}
    evidence = " ".join(f.evidence for f in findings if f.rule == rule)
    assert " against " in evidence  # the frame and the target category are named


@pytest.mark.parametrize(
    "text",
    [
        "I don't hate Muslims.",
        "I live with two Muslims.",
        "If you say 'women are scum' you are a bigot.",
        "She told me he called her a dyke.",
        "I hate Mondays.",
        "A dyke along the beach protects the village.",
        "Faggots and peas for tea tonight.",
        "New Perl Mongers Web Site",
        "Dumb messages revisited: dumb, dumb, dumb, dumb.",
        "The score for PORN_GALLERIES was lowered in the new rules.",
        "We replaced the dumb terminal in the library.",
        "Scunthorpe and Penistone are on the route; mind the cockpit.",
        "You should kill this process, it's not used anymore.",
        "Aditya Pakki sent the patch.",
    ],
)
def test_mention_homonyms_and_technical_senses_are_not_flagged(text: str) -> None:
    assert not MEASURE.check.lexicon.scan(MEASURE.check.hate.unmentioned(text))  # type: ignore[attr-defined]
    assert not MEASURE.check.hits(text)  # type: ignore[attr-defined]


def test_one_mild_word_never_blocks_and_weak_words_stay_below_review() -> None:
    from tests.test_offensive import mail

    assert not MEASURE.stops(mail("What a crap day, the printer is broken again."))
    assert not MEASURE.stops(mail("dumb dumb dumb dumb dumb crap crap bloody hell porn"))
    assert MEASURE.stops(mail("Those fucking immigrants should all be shot."))
