"""Reading a display name: the words, the roles it claims, the staff it names, the trust
addresses it shows ("Mrs J Smith (Head)", "head@school.sch.uk")."""

from __future__ import annotations

import regex

from aupmilter.checks.identity.data import DisplayName, Role, RoleClaim, StaffMember
from aupmilter.checks.identity.rules import NAME_WORD, IdentityRules, name_tokens
from aupmilter.config import Config
from aupmilter.normalise import fold, prepare

#: Where a display name splits into segments: "Mrs J Smith (Head)" is ["Mrs J Smith", "Head"].
_SEGMENT_SPLIT = regex.compile(r"[()\[\],;:|/<>\"{}\-–—•·]+")
_ADDRESS_IN_TEXT = regex.compile(r"[\p{L}\p{N}._%+'-]+@((?:[\p{L}\p{N}-]+\.)+[\p{L}\p{N}-]+)")
#: Generic words in school names that do not identify a school ("Oakfield Primary School").
_GENERIC_NAME_WORDS = frozenset(
    {
        "the",
        "of",
        "and",
        "st",
        "saint",
        "primary",
        "secondary",
        "junior",
        "infant",
        "infants",
        "nursery",
        "school",
        "schools",
        "academy",
        "academies",
        "trust",
        "learning",
        "multi",
        "church",
        "england",
        "ce",
        "rc",
        "catholic",
        "high",
        "college",
        "community",
        "federation",
        "foundation",
        "upper",
        "lower",
        "middle",
        "grammar",
        "free",
        "studio",
        "demo",
    }
)


class NameReader:
    """Display names read against one configuration's schools, roles and staff directory."""

    def __init__(self, config: Config, rules: IdentityRules) -> None:
        self.config = config
        self.rules = rules
        self.org_domains = frozenset(self.config.org_domains)
        school_words = set()
        for school in self.config.schools:
            for domain in school.domains:
                school_words.add(fold(domain.split(".", 1)[0]))
            school_words.update(name_tokens(school.name))
        school_words.update(name_tokens(self.config.org_name))
        self.org_cues = frozenset(w for w in school_words if w not in _GENERIC_NAME_WORDS and len(w) > 2) | (
            self.rules.org_cue_words
        )
        # Surnames of staff holding each role: a standalone role word followed by one of them is a
        # title ("Principal Okafor"), not a job noun ("Principal Consultant").
        self.role_surnames = {
            r.name: frozenset(n[-1] for m in self.rules.staff if r.name in m.roles for n in m.names if n)
            for r in self.rules.roles
        }

    def display_name(self, text: str) -> DisplayName:
        rules = self.rules
        shown = []
        for m in _ADDRESS_IN_TEXT.finditer(text):
            domain = m.group(1).lower().rstrip(".")
            if self.config.is_org_domain(domain):
                shown.append(domain)
        lowered = text.lower()
        for domain in self.org_domains:
            if regex.search(rf"(?<![\w.-]){regex.escape(domain)}(?![\w-])", lowered):
                shown.append(domain)
        segments = [
            tuple(t for t in (fold(w) for w in NAME_WORD.findall(prepare(seg))) if t)
            for seg in _SEGMENT_SPLIT.split(text)
        ]
        segments = [s for s in segments if s]
        flat = tuple(t for s in segments for t in s)
        on_behalf = any(_contains(flat, p) for p in rules.on_behalf_phrases)
        roles: list[str] = []
        cued = any(t in self.org_cues for t in flat)
        for seg in segments:
            for claim in self._role_claims(seg, cued):
                if claim.role not in roles:
                    roles.append(claim.role)
        return DisplayName(flat, tuple(roles), on_behalf, tuple(dict.fromkeys(shown)))

    def _role_claims(self, seg: tuple[str, ...], cued: bool) -> list[RoleClaim]:
        """Longest role phrase at each position, kept when it is a claim (see module docstring)."""
        claims: list[RoleClaim] = []
        i = 0
        while i < len(seg):
            best: tuple[int, Role, bool] | None = None
            for role in self.rules.roles:
                for phrase, standalone in [(p, False) for p in role.phrases] + [(p, True) for p in role.standalone]:
                    n = len(phrase)
                    if seg[i : i + n] == phrase and (best is None or n > best[0]):
                        best = (n, role, standalone)
            if best is None:
                i += 1
                continue
            n, role, standalone = best
            if self._is_claim(seg, i, i + n, role, standalone, cued):
                claims.append(RoleClaim(role.name, i, i + n))
            i += n
        return claims

    def _is_claim(self, seg: tuple[str, ...], start: int, end: int, role: Role, standalone: bool, cued: bool) -> bool:
        """``cued``: the display name as a whole names a school or the trust ("CEO, Demo Trust")."""
        before = [t for t in seg[max(0, start - 2) : start] if t != "the"]
        if before and before[-1] in self.rules.subordinate_words:
            return False  # "PA to the Headteacher", "Office of the Bursar"
        after = seg[end:]
        if after and after[0] in ("of", "at"):
            rest = [t for t in after[1:] if t != "the"]
            if not rest or rest[0] not in self.org_cues:
                return False  # "Head of Sales", "Deputy Head of Year 9": somebody else's remit
        elif standalone and after and after[0] not in self.org_cues:
            if after[0] in self.role_surnames.get(role.name, frozenset()):
                return not role.needs_org_cue or cued  # "Principal Okafor": a title before the holder's name
            return False  # "Principal Consultant", "Head Girl"
        return not role.needs_org_cue or cued

    def staff_matches(self, name: DisplayName) -> tuple[list[StaffMember], list[StaffMember]]:
        """(full-name matches, weak matches: initial or title + surname) in the directory."""
        tokens = tuple(t for t in name.tokens if t not in self.rules.honorifics)
        full: list[StaffMember] = []
        weak: list[StaffMember] = []
        titled = any(t in self.rules.honorifics for t in name.tokens)
        for member in self.rules.staff:
            if any(_name_in(tokens, n) for n in member.names):
                full.append(member)
            elif any(_weak_name_in(tokens, n, titled) for n in member.names):
                weak.append(member)
        return full, weak


def _contains(tokens: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tokens[i : i + n] == phrase for i in range(len(tokens) - n + 1))


def _name_in(tokens: tuple[str, ...], name: tuple[str, ...]) -> bool:
    """Full name: all its words in order (one middle initial allowed), or "Surname, First"."""
    if len(name) == 1:
        return _contains(tokens, name)
    first, last = name[0], name[-1]
    if _contains(tokens, name) or _contains(tokens, (last, first)):
        return True
    for i, t in enumerate(tokens):
        if t == first and i + 2 < len(tokens) and len(tokens[i + 1]) == 1 and tokens[i + 2] == last:
            return True
    return False


def _weak_name_in(tokens: tuple[str, ...], name: tuple[str, ...], titled: bool) -> bool:
    """Initial + surname ("J Smith"), or a title + surname ("Mrs Smith"): only counts with a role."""
    if len(name) < 2:
        return False
    first, last = name[0], name[-1]
    if _contains(tokens, (first[0], last)):
        return True
    return titled and last in tokens
