"""The chain-letter model (issue 21): each named mechanic on fixed cases in five languages, the
gate that keeps lone phrases from scoring, the model file, and the check's learned finding."""

from __future__ import annotations

import json
import shutil
from email.message import EmailMessage
from pathlib import Path

import pytest

from aupmilter.checks import chain_features as cf
from aupmilter.checks.chain_letter import SPEC as CHAIN_SPEC
from aupmilter.checks.chain_letter import ChainLetterCheck
from aupmilter.config import load_config
from aupmilter.errors import ConfigError
from aupmilter.featmodel import MODELS_DIR, FeatureModel, export, hashed_words
from aupmilter.message import MessageView
from aupmilter.model import Envelope
from aupmilter.ruleset import build_ruleset

CONFIG = load_config(None)
CHECK = next(c for c in build_ruleset(CONFIG).checks if c.name == "chain_letter")
assert isinstance(CHECK, ChainLetterCheck)
ENV = Envelope("a@home.test", ("t@oakfield.example",), client_addr="198.51.100.1")
REPO = Path(__file__).resolve().parents[1]


def message(body: str, subject: str = "hello") -> MessageView:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@home.test", "t@oakfield.example", subject
    msg.set_content(body)
    return MessageView(msg.as_bytes())


def named(text: str, subject: str = "hello") -> dict[str, float]:
    return cf.features(subject, text)


# feature -> texts that must fire it (EN, DE, PT, FR, ES where the words are cheap)
FIRES = {
    "pass_to_count": [
        "Send this to 10 people.",
        "Schick das an 7 Freunde.",
        "Envie para 12 pessoas.",
        "Envoyez-le à 10 personnes.",
        "Envíalo a 9 amigos.",
        "Post copies to 200 people.",
    ],
    "pass_to_everyone": [
        "Forward it to everyone you know.",
        "Repasse para todos os seus contatos.",
        "Faites suivre à tous vos contacts.",
        "Send this to as many people as you can.",
    ],
    "pass_instruction": [
        "Please forward this.",
        "Copy and paste this to your friends.",
        "Hand it on.",
        "envoyez-les dans les 4 jours",
        "Schick das weiter.",
    ],
    "pass_on_phrase": [
        "Don't break it!",
        "Keep it going.",
        "Não quebre a corrente.",
        "No rompas la cadena.",
        "Ne brisez pas la chaîne.",
        "TELL EVERYONE!",
    ],
    "deadline": [
        "within 24 hours",
        "before midnight",
        "em até 2 horas",
        "innerhalb von 72 Stunden",
        "dans les 48 heures",
    ],
    "promise_luck": ["good luck will come", "your wish will come true", "muita sorte", "viel Glück", "buena suerte"],
    "threat": ["seven years of bad luck", "he died", "azar por 5 anos", "Pech", "mala suerte"],
    "conditional_consequence": [
        "If you don't forward it",
        "se não enviar",
        "si no lo envías",
        "wenn du es nicht weiterleitest",
        "si vous ne l'envoyez",
    ],
    "testimonial": ["Two days later she won the lottery", "dias depois", "tage später", "won $5,000"],
    "list_move": [
        "remove the top name",
        "move each name down",
        "add your name at the bottom",
        "coloque o seu nome",
        "streiche den ersten Namen",
    ],
    "report_list": ["REPORT #1", "report # 3"],
    "money_earn": ["you will receive $50,000", "ganhar R$ 40.000", "gagner 400 euros"],
    "charity_per_forward": [
        "for every person this is forwarded to",
        "por cada pessoa",
        "für jede Weiterleitung",
        "pour chaque personne",
    ],
    "tracking_claim": ["they are tracking the e-mails", "counting how many times"],
    "religious": ["Amen", "Deus", "Gott", "prière", "oración"],
    "authority": ["It was on the news", "confirmed by the police", "a friend who works at the bank"],
    "you_are_special": ["you are special", "você é especial"],
    "comes_back": ["if it comes back to you", "including me"],
    "legal_claim": ["100% legal", "this is not a joke", "não é brincadeira"],
    "petition": [
        "Add your name to the end of this list",
        "Assine a lista e repasse",
        "when it reaches 5,000 signatures",
        "it will be presented to Parliament",
    ],
}


@pytest.mark.parametrize(("feature", "texts"), sorted(FIRES.items()))
def test_each_mechanic_fires_on_its_cases(feature: str, texts: list[str]) -> None:
    for text in texts:
        assert named(text)[feature] > 0, (feature, text)


def test_ordinary_school_sentences_fire_no_chain_mechanic() -> None:
    quiet = "Dear parents, the trip to the museum is on Thursday. Please bring a packed lunch and a coat."
    fired = {k for k, v in named(quiet).items() if v and k not in ("short_text",)}
    assert not fired & set(cf.GATE), fired


def test_structure_features_read_the_forwarding_history() -> None:
    text = "> Send this to 10\n> people now!\n\nFrom: a@x.test\nFrom: b@x.test\nFrom: c@x.test\n" + "\n".join(
        f"{i}. name{i}" for i in range(1, 5)
    )
    f = named(text, "Fwd: Fw: FW: luck")
    assert f["pass_to_count"] == 1.0, "quote markers must not break a sentence"
    assert f["forward_depth"] == 0.75 and f["header_blocks"] == 0.75 and f["numbered_lines"] == 1.0
    assert f["quoted_share"] > 0


def test_the_model_is_asked_only_about_an_instruction_with_a_reason() -> None:
    assert not cf.eligible(named("Send this to 10 people"))  # a lone instruction is a cue, not a chain
    assert not cf.eligible(named("Our prayer for the week. Good luck in the exams before midnight."))  # no instruction
    assert cf.eligible(named("Send this to 10 people or you will have bad luck."))


def test_model_catches_fresh_wording_with_evidence() -> None:
    # Wording none of the cue patterns name (the cues see at most one phrase).
    text = (
        "Esta mensagem é abençoada. Mande para 9 amigas hoje e amanhã terá uma surpresa. "
        "Quem ignorou perdeu o emprego. Amém."
    )
    findings = list(CHECK.run(ENV, message(text, "Fwd: bênção")))
    assert [f.category for f in findings] == ["chain_letter"]
    assert findings[0].rule.startswith("chain_letter.") and findings[0].evidence.startswith("learned model")
    assert findings[0].score >= 7.5


def test_model_leaves_legitimate_forwards_and_appeals_alone() -> None:
    for text in (
        "Hi all, forwarding the coach times below. Please forward this to the Year 8 tutors. Thanks, Sam.",
        "Thank you to everyone who gave to the harvest appeal: 312 tins for the food bank. Please share with families.",
        "Good luck to Year 6 in their SATs next week. We are praying for sunshine for sports day!",
    ):
        assert [f for f in CHECK.run(ENV, message(text)) if f.category == "chain_letter"] == [], text


def test_model_file_is_small_loads_and_names_only_known_features() -> None:
    path = MODELS_DIR / "chain_letter.json"
    assert path.stat().st_size < 2_000_000
    model = FeatureModel.load(path)
    assert model.classes[0] == "clean" and set(model.named) <= set(cf.NAMES)
    assert "trained_on" in model.meta and "chain_blind" not in str(model.meta["trained_on"])


def test_training_never_reads_the_blind_set() -> None:
    source = (REPO / "train" / "chain_letter.py").read_text()
    assert "chain_blind" not in source and "phishing_blind" not in (REPO / "train" / "phishing.py").read_text()


def test_shipped_model_is_what_the_training_script_builds() -> None:
    pytest.importorskip("sklearn")
    from train import chain_letter

    built = chain_letter.build(verbose=False)
    shipped = json.loads((MODELS_DIR / "chain_letter.json").read_text())
    assert built == shipped, "run make train-chain and commit the model"


def test_model_can_be_turned_off_and_threshold_is_strict(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(CONFIG.rules_dir, rules)
    path = rules / "chain_letter.toml"
    original = path.read_text()
    path.write_text(original.replace("enabled = true\nthreshold = 0.5", "enabled = false\nthreshold = 0.5"))
    off = CHAIN_SPEC.build(CONFIG, {}, rules_dir=rules)
    assert isinstance(off, ChainLetterCheck)
    assert off.model is None
    text = "Mande para 9 amigas hoje e amanhã terá uma surpresa. Quem ignorou perdeu o emprego. Amém."
    assert [f for f in off.run(ENV, message(text)) if f.category == "chain_letter"] == []
    for bad, key in (("threshold = 1.5", "model.threshold"), ("treshold = 0.5", "model.treshold")):
        path.write_text(original.replace("threshold = 0.5", bad, 1))
        with pytest.raises(ConfigError) as err:
            CHAIN_SPEC.build(CONFIG, {}, rules_dir=rules)
        assert key in str(err.value)


# --- the model file format -------------------------------------------------------------------


def test_feature_model_scores_binary_and_multiclass_by_hand() -> None:
    binary = FeatureModel({"classes": ["no", "yes"], "bias": [-1.0], "named": {"a": [2.0], "b": [-0.5]}})
    s = binary.score({"a": 1.0, "b": 1.0})
    assert s.probabilities["yes"] == pytest.approx(1 / (1 + 2.718281828**-0.5), rel=1e-6)
    assert s.contributions == [("a", 2.0)]
    multi = FeatureModel({"classes": ["x", "y", "z"], "bias": [0.0, 0.0, 0.0], "named": {"a": [0.0, 1.0, 0.0]}})
    assert multi.score({"a": 1.0}).best()[0] == "y"


def test_feature_model_rejects_malformed_files(tmp_path: Path) -> None:
    for data in ({"classes": ["a", "b"]}, {"classes": ["a", "b"], "bias": [0.0], "named": {"f": [1.0, 2.0]}}):
        with pytest.raises(ValueError):
            FeatureModel(data)
    broken = tmp_path / "m.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="cannot load model"):
        FeatureModel.load(broken)


def test_export_drops_zero_weights_and_hashes_are_stable() -> None:
    data = export(["n", "p"], [[1.0, 0.0, 0.5]], [0.1], ["a", "b"], 1, {"m": 1})
    assert data["named"] == {"a": [1.0]} and data["hashed"] == {"0": [0.5]}
    assert hashed_words("Send this on", 4096) == hashed_words("send THIS on", 4096)


def test_every_example_of_a_triggered_pattern_contains_a_trigger() -> None:
    """Triggered patterns are searched only near their trigger words (aupmilter.triggers): an
    example without one would be missed, so every example must carry one."""
    for feature, words in cf.TRIGGERS.items():
        for text in FIRES.get(feature, []):
            assert any(w in text.lower() for w in words), (feature, text)


def test_triggered_search_finds_what_a_full_search_finds() -> None:
    long_text = (
        ("The trip is on Thursday, please bring a coat. " * 200)
        + "Send this to 10 people or bad luck follows. "
        + ("Thank you. " * 300)
    )
    fast = cf.features("x", long_text)
    for name, pattern in cf.PATTERNS.items():
        hits = min(3, sum(1 for _ in zip(range(3), pattern.finditer(" ".join(long_text.split())), strict=False)))
        expected = hits / 3 if name in cf._COUNTED else float(hits > 0)
        assert fast[name] == expected, name
