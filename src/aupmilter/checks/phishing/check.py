"""Inbound phishing cues: what 000 4.6 asks staff to look for, pointed out at the gateway.

000 4.6: "Staff should be cautious ... clicking on any links which ask to re-enter your password
or look suspicious."  The gateway cannot tell a genuine login page from a fake one and never
fetches a link (no network in the engine).  It can see the three tells that give most credential
phishing away, each a finding in category ``phishing`` that the policy tags on inbound mail:

* ``phishing.link_mismatch``: a link whose visible text shows one domain and whose target is
  another registrable domain.  Read from the raw HTML (the text view has lost the hrefs) and
  from Outlook-style plain text (``www.bank.example <https://elsewhere/>``).  Text that is not a
  domain ("click here", "Read more") is never judged, so newsletters with tracking redirects
  stay clean; a known click-tracking/link-protection host is consistent when the shown domain
  is in its wrapped target, and not judged when that target cannot be read.
* ``phishing.credential_harvest``: named, weighted wording cues (``rules/phishing.toml``,
  like the chain-letter cues) reaching a threshold, *and* a link to somewhere outside the trust:
  wording alone is how IT's own "your password expires on Friday" reminder reads.
* ``phishing.lookalike_domain``: a From / Reply-To / link host that imitates one of the trust's
  own domains (homoglyphs and IDN/punycode that decode to them, digit for letter, one letter
  changed/added/missing, swapped letters, a hyphen or dot moved, the real domain embedded in
  another).  The real domains and their subdomains are never look-alikes, and the typo rules
  need a name of ``min_label_length`` letters, so short names do not match half the internet.

Registrable domains come from a small public-suffix subset in the rules file (``co.uk``,
``sch.uk`` as a wildcard, ...): a full list needs a download, and a gateway must not fetch one.

Only inbound mail is read by default (``[checks.phishing] directions``): an internal password
reminder from IT is the genuine article.  ``banner_schools`` turns on the visible warning banner
for those schools (:mod:`aupmilter.banner`, applied by the transforms after the verdict).
"""

from __future__ import annotations

from collections.abc import Iterable
from email.utils import parseaddr
from typing import ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

import regex

from aupmilter.checks import CheckSettings
from aupmilter.checks.phishing import features as pf
from aupmilter.checks.phishing.domains import (
    ascii_host,
    display_host,
    host_of,
    lookalike_reason,
    related,
    to_unicode,
)
from aupmilter.checks.phishing.links import MAX_TEXT, Link, extract_links, html_sources
from aupmilter.checks.phishing.rules import Cue, PhishingSettings, load_rules, resolve_options
from aupmilter.evidence import excerpt, flatten
from aupmilter.featmodel import FeatureModel
from aupmilter.message import MessageView
from aupmilter.model import Envelope, Finding
from aupmilter.triggers import AnchoredSearch
from aupmilter.webmail import load_webmail_domains

CATEGORY = "phishing"
#: phishing.suspicious scores this x P(phishing): P >= 0.9 alone reaches the shipped quarantine
#: tier (18, rules/policy.d/phishing.toml) and no cue finding alone comes near it.
SUSPICIOUS_SCALE = 20.0

#: A host shown in link text: optional scheme, optional user@, labels (Unicode letters allowed).
_SHOWN = regex.compile(
    r"(?<![\w.@/-])(?P<scheme>https?://)?(?:[\w.+-]+@)?(?P<host>(?:\w(?:[\w-]{0,61}\w)?\.)+\w[\w-]{0,62})(?![\w-])"
)
_IP_HOST = regex.compile(r"^(?:\d{1,3}\.){3}\d{1,3}$|^\[?[0-9a-f:]+\]?$", regex.IGNORECASE)
#: First labels of bulk-mail click-tracking hosts (``click.news.example.org``).
_TRACKER_LABELS = frozenset(
    {
        "click",
        "clicks",
        "links",
        "link",
        "track",
        "tracking",
        "trk",
        "t",
        "e",
        "em",
        "email",
        "emails",
        "go",
        "r",
        "l",
        "url",
        "ablink",
        "mail",
        "news",
        "newsletter",
        "lnk",
        "ct",
        "cl",
        "mailing",
        "info",
        "m",
        "s",
        "u",
        "redirect",
    }
)
#: An opaque path segment (a tracking token): 20+ characters of base64url/hex.
_TOKEN = regex.compile(r"/[A-Za-z0-9_=-]{20,}")


# --- the check ---------------------------------------------------------------------------------


class PhishingCheck:
    name: ClassVar[str] = "phishing"

    def __init__(self, settings: CheckSettings) -> None:
        self.options = resolve_options(settings.parsed or PhishingSettings(), settings.config)
        self.rules = load_rules(settings.rules_dir)
        self.config = settings.config
        self.trust = tuple(sorted({to_unicode(d) for d in settings.config.org_domains}))
        self.lists = pf.Lists(
            self.rules.brands,
            self.rules.shorteners,
            self.rules.free_hosts,
            self.rules.suspicious_tlds,
            load_webmail_domains(settings.config.rules_dir),
        )
        self.model = FeatureModel.shipped("phishing") if self.rules.model_enabled else None
        # Every cue searched in one automaton pass, each only where a literal it starts with occurs.
        self._cue_search = AnchoredSearch(cue.pattern for cue in self.rules.cues)

    def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]:
        if envelope.direction not in self.options.directions:
            return []
        html = pf.HtmlCounts()
        # The model's question (is this a delivery report?) and the link reader's first one (what
        # is the message's own type?) are one header parse, asked once.
        root_type = message.msg.get_content_type() if self.model is not None else None
        links = extract_links(message, self.rules.max_links, html, root_type)
        findings: list[Finding] = []
        sender = message.header("From") or ""
        bulk = bool(message.header("List-Unsubscribe") or message.header("List-Id"))
        mismatch = self.link_mismatch(links, message, sender, bulk)
        # The whole text when a harvest finding is possible (an outside link); otherwise the cues
        # only feed the model, which reads the first screenful like the lure words.
        hits = self.cue_hits(message, None if self.outside_link(links) else pf.LURE_CHARS)
        harvest_total = sum(cue.weight for cue, _, _ in hits)
        for finding in (mismatch, self.credential_harvest(message, links, hits), self.lookalike(message, links)):
            if finding is not None:
                findings.append(finding)
        if self.model is not None and root_type != "multipart/report":
            # A delivery report quotes someone else's message: its words are not the sender's.
            named, notes = self.feature_vector(envelope, message, links, findings, harvest_total, html, sender, bulk)
            suspicious = self.suspicious(named, notes)
            if suspicious is not None:
                findings.append(suspicious)
        return findings

    # -- the learned model over language-independent tells ---------------------------------------

    def feature_vector(
        self,
        envelope: Envelope,
        message: MessageView,
        links: list[Link],
        findings: list[Finding],
        harvest_total: float,
        html: pf.HtmlCounts | None = None,
        sender: str | None = None,
        bulk: bool | None = None,
    ) -> tuple[dict[str, float], dict[str, str]]:
        """Named features (:mod:`aupmilter.checks.phishing.features`) and their notes."""
        infos = [pf.LinkInfo(link.href, host_of(link.href), link.text) for link in links]
        rules = {f.rule for f in findings}
        return pf.features(
            message,
            infos,
            envelope.recipients,
            self.rules.domains.registrable,
            self.rules.domains.is_redirector,
            int("phishing.link_mismatch" in rules),
            "phishing.lookalike_domain" in rules,
            harvest_total,
            html if html is not None else pf.scan_html(text for _, text in html_sources(message)),
            self.lists,
            sender,
            bulk,
        )

    def probability(self, named: dict[str, float]) -> tuple[float, list[str]]:
        """P(phishing) and the descriptions of the features that pushed it up, largest first."""
        if self.model is None:
            return 0.0, []
        scored = self.model.score(named)
        return scored.probabilities[self.model.classes[1]], [name for name, _ in scored.contributions]

    def suspicious(self, named: dict[str, float], notes: dict[str, str]) -> Finding | None:
        """``phishing.suspicious`` when the model, given :meth:`feature_vector`'s output, is sure enough."""
        p, top = self.probability(named)
        if p < self.rules.model_threshold:
            return None
        reasons = [pf.DESCRIPTIONS.get(name, name) for name in top[:4]]
        evidence = f"learned model {p:.2f}: " + "; ".join(reasons)
        # The particulars (which brand, which host, which words) of the features that counted most.
        particulars = [notes[n] for n in top if n in notes] + [v for n, v in notes.items() if n not in top]
        if particulars:
            evidence += " (" + "; ".join(particulars[:4]) + ")"
        return Finding("phishing.suspicious", CATEGORY, round(SUSPICIOUS_SCALE * p, 1), evidence[:400], "message")

    # -- link text vs target --------------------------------------------------------------------

    def shown_hosts(self, text: str) -> list[str]:
        """Hosts that link text displays as a domain (``"click here"`` shows none)."""
        found: list[str] = []
        for m in _SHOWN.finditer(text.lower()):
            host = to_unicode(m.group("host"))
            tld = host.rsplit(".", 1)[-1]
            if (
                m.group("scheme")
                or host.startswith("www.")
                or tld in self.rules.domains.text_tlds
                or self._is_trust(host)
            ) and not tld.isdigit():
                found.append(host)
        return found

    def mismatch_of(self, link: Link, sender_reg: str = "", bulk: bool = False) -> tuple[str, str] | None:
        """``(shown, actual)`` registrable domains when the link text and target disagree.

        ``sender_reg`` is the From domain's registrable domain: a link to the sender's own
        domain (its own click tracker) is consistent.  ``bulk`` says the message is list mail
        (List-Unsubscribe / List-Id): there, a link through an unlisted but ordinary-looking
        click-tracking host (a tracking-style host name or an opaque token path) is opaque, not
        a mismatch, unless the text shows one of the brands phishing imitates."""
        shown = self.shown_hosts(link.text)
        target = host_of(link.href)
        if not shown or target is None:
            return None
        d = self.rules.domains
        shown_reg = [d.registrable(s) for s in shown]
        target_reg = d.registrable(target)
        if target_reg in shown_reg or any(related(target, s) for s in shown):
            return None
        if (
            sender_reg
            and target_reg == sender_reg
            and all(r.split(".")[0] == sender_reg.split(".")[0] for r in shown_reg)
            and not self._brand_shown(shown_reg)
        ):
            return None  # news@brand.com showing "www.brand.co.uk", linking to click.brand.com
        if bulk and self._opaque_tracker(link.href, target) and not self._brand_shown(shown_reg):
            return None
        if d.is_redirector(target):
            decoded = unquote(unquote(link.href)).lower()
            if any(s in decoded or ascii_host(s) in decoded for s in shown_reg):
                return None
            wrapped = [h for h in (host_of(v) for _, v in _query(link.href)) if h]
            if not wrapped:
                return None  # opaque tracking link: cannot be judged offline
            if any(d.registrable(h) in shown_reg for h in wrapped):
                return None
            target = wrapped[0]
        return shown_reg[0], d.registrable(target)

    def _brand_shown(self, shown_reg: list[str]) -> bool:
        """Is a shown domain the trust's own or a listed brand's (``paypal.com``...)?  Those
        are what phishing shows, so they are always judged."""
        return any(self._is_trust(reg) for reg in shown_reg) or any(
            reg in domains for domains in self.rules.brands.values() for reg in shown_reg
        )

    def _opaque_tracker(self, href: str, host: str) -> bool:
        """A click-tracking link of a bulk sender: ordinary host, tracking-style name or token."""
        d = self.rules.domains
        reg = d.registrable(host)
        tld = host.rsplit(".", 1)[-1]
        if (
            _IP_HOST.match(host)
            or not host.isascii()
            or "xn--" in host
            or reg in self.rules.shorteners
            or tld in self.rules.suspicious_tlds
            or reg in self.rules.free_hosts
        ):
            return False
        first = host.split(".")[0]
        path = urlsplit(href).path if "//" in href else ""
        low = path.lower()
        return first in _TRACKER_LABELS or bool(_TOKEN.search(path)) or "/click" in low or "/track" in low

    def link_mismatch(
        self, links: list[Link], message: MessageView | None = None, sender: str | None = None, bulk: bool | None = None
    ) -> Finding | None:
        sender_reg = ""
        if message is not None:
            sender = message.header("From") if sender is None else sender
            domain = parseaddr(sender or "")[1].rpartition("@")[2].lower().strip(".")
            sender_reg = self.rules.domains.registrable(domain) if domain else ""
            if bulk is None:
                bulk = bool(message.header("List-Unsubscribe") or message.header("List-Id"))
        seen: dict[tuple[str, str], str] = {}
        for link in links:
            pair = self.mismatch_of(link, sender_reg, bool(bulk))
            if pair and pair not in seen:
                seen[pair] = link.location
        if not seen:
            return None
        evidence = "; ".join(f"text shows {s}, link goes to {t}" for s, t in list(seen)[:3])
        return Finding(
            "phishing.link_mismatch", CATEGORY, self.rules.mismatch_score, evidence, next(iter(seen.values()))
        )

    # -- credential-harvest wording -------------------------------------------------------------

    def cue_hits(self, message: MessageView, limit: int | None = None) -> list[tuple[Cue, str, str]]:
        """``(cue, excerpt, location)`` for every cue that matched (first place it matched);
        ``limit``: read only the first ``limit`` characters of each segment."""
        segments = [(where, text[:limit]) for where, text in _segments(message)] if limit else _segments(message)
        found = self._cue_search.search([text for _, text in segments])
        return [
            (cue, excerpt(m.group()), segments[k][0])
            for cue, first in zip(self.rules.cues, found, strict=True)
            if first is not None
            for k, m in [first]
        ]

    def outside_link(self, links: list[Link]) -> str | None:
        """The first link host outside the trust and outside the real sign-in providers."""
        for link in links:
            host = host_of(link.href)
            if host is None or self._is_trust(host):
                continue
            if any(host == s or host.endswith("." + s) for s in self.rules.sign_in_domains):
                continue
            return host
        return None

    def credential_harvest(
        self, message: MessageView, links: list[Link], hits: list[tuple[Cue, str, str]] | None = None
    ) -> Finding | None:
        outside = self.outside_link(links)
        if outside is None:
            return None  # no way to hand over a password: wording alone is IT's own reminder
        hits = self.cue_hits(message) if hits is None else hits
        total = sum(cue.weight for cue, _, _ in hits)
        positive = [h for h in hits if h[0].weight > 0]
        if total < self.rules.threshold or len(positive) < self.rules.min_cues:
            return None
        ordered = sorted(hits, key=lambda h: -h[0].weight)
        parts = [f'"{excerpt}" (cue {cue.id})' for cue, excerpt, _ in ordered]
        parts.append(f"link to {self.rules.domains.registrable(outside)}")
        return Finding("phishing.credential_harvest", CATEGORY, round(total, 1), "; ".join(parts)[:400], positive[0][2])

    # -- look-alike trust domains ---------------------------------------------------------------

    def lookalike_of(self, host: str) -> tuple[str, str] | None:
        """``(imitated trust domain, how)`` when ``host`` imitates one, else ``None``."""
        host = to_unicode(host)
        if not host or self._is_trust(host) or host in self.options.lookalike_allow:
            return None
        if self.rules.domains.registrable(host) in self.options.lookalike_allow:
            return None
        for real in self.trust:
            reason = lookalike_reason(host, real, self.rules.domains, self.rules.min_label_length)
            if reason:
                return real, reason
        return None

    def lookalike(self, message: MessageView, links: list[Link]) -> Finding | None:
        candidates: list[tuple[str, str]] = []  # (where, host)
        for name in ("From", "Reply-To", "Sender"):
            for _, address in message.addresses(name):
                _, at, domain = address.rpartition("@")
                if at and domain:
                    candidates.append((f"header:{name}", domain))
        candidates += [(link.location, h) for link in links if (h := host_of(link.href))]
        hits: dict[str, tuple[str, str, str]] = {}
        for where, host in candidates:
            shown = to_unicode(host)
            if shown in hits:
                continue
            found = self.lookalike_of(shown)
            if found:
                hits[shown] = (where, *found)
        if not hits:
            return None
        items = list(hits.items())
        evidence = "; ".join(
            f"{where.removeprefix('header:')}: {display_host(host)} looks like {real} ({how})"
            for host, (where, real, how) in items[:3]
        )
        return Finding(
            "phishing.lookalike_domain", CATEGORY, self.rules.lookalike_score, evidence[:400], items[0][1][0]
        )

    def _is_trust(self, host: str) -> bool:
        return any(host == d or host.endswith("." + d) for d in self.trust)


def _query(url: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(urlsplit(url).query, keep_blank_values=False)
    except ValueError:
        return []


def _segments(message: MessageView) -> list[tuple[str, str]]:
    out = [("subject", flatten(message.subject))]
    seen: set[str] = set()
    budget = MAX_TEXT
    for part in message.text_parts:
        if budget <= 0:
            break
        flat = flatten(part.text[:budget])
        budget -= len(flat)
        if flat and flat not in seen:
            seen.add(flat)
            out.append((part.location, flat))
    return out
