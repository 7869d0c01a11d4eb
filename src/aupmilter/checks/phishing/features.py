"""Phishing tells that need no DNS, no reputation feed and no wording anybody wrote down.

Issue 21: the harvest cue list caught 7.9% of real honeypot phishing (German, Portuguese,
invoices, parcels, brands).  What real phishing shares is not its sentences but its *shape*:
a sender name that claims a brand the sending domain does not belong to, a Reply-To elsewhere,
links to IP addresses, punycode, shorteners, free page hosts or ``data:``/``javascript:``
targets, forms in the body, hidden text, an image with a link and hardly any words, an HTML or
SVG file to open, and a lure (credentials, payment, parcel, prize, a locked account) with an
urgency.  Each is measured here as a named number in ``[0, 1]``; the learned model
(:mod:`aupmilter.featmodel`, ``models/phishing.json``) weighs them, and the finding lists the
ones that counted, so a reviewer sees *why*.

Lure words are in English, German, Portuguese, French and Spanish.  Brands and their real
domains, URL shorteners, free page hosts and suspicious TLDs are maintained lists in
``rules/phishing.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import parseaddr

import regex

from aupmilter.htmltext import TokenReader, read_html, replay
from aupmilter.message import MessageView
from aupmilter.triggers import AnchoredSearch

_F = regex.IGNORECASE

#: Lure and urgency wording per category (EN, DE, PT, FR, ES).
LURES: dict[str, regex.Pattern[str]] = {
    "lure_credential": regex.compile(
        r"\b(?:password|passcode|log-?in\s+details|credentials|sign[\s-]?in|log\s?in\s+(?:to|now)|re-?enter|verify\s+your\s+(?:identity|account|e-?mail|details|information)"
        r"|confirm\s+your\s+(?:identity|account|e-?mail|details|information)|update\s+your\s+(?:details|information|account)"
        r"|passwort|kennwort|zugangsdaten|anmelde(?:daten|n)|einloggen|best[aä]tigen\s+sie\s+ihre|verifizieren|identit[aä]t\s+best[aä]tigen|ihre\s+daten\s+(?:aktualisieren|best[aä]tigen)"
        r"|senha|credenciais|fa[cç]a\s+login|entre\s+na\s+sua\s+conta|confirme\s+seus\s+dados|atualize\s+seus\s+dados|verificar\s+(?:sua\s+)?conta|validar\s+(?:sua\s+)?conta|recadastramento"
        r"|mot\s+de\s+passe|identifiants|connectez-vous|v[eé]rifiez\s+votre|confirmez\s+votre|mettre\s+[aà]\s+jour\s+vos"
        r"|contrase[ñn]a|credenciales|inicie\s+sesi[oó]n|verifique\s+su|confirme\s+su|actualice\s+sus\s+datos)\b",
        _F,
    ),
    "lure_account": regex.compile(
        r"\b(?:(?:account|mailbox|card|access)\s+(?:has\s+been\s+|will\s+be\s+|is\s+)?(?:suspended|locked|limited|restricted|blocked|disabled|deactivated|closed|on\s+hold)"
        r"|unusual\s+(?:activity|sign-?in)|suspicious\s+(?:activity|login)|security\s+(?:alert|notice|check)|mailbox\s+(?:is\s+)?full|storage\s+(?:is\s+)?full"
        r"|konto\s+(?:wurde\s+|wird\s+)?(?:gesperrt|eingeschr[aä]nkt|deaktiviert|blockiert)|ungew[oö]hnliche\s+aktivit[aä]t|sicherheitshinweis|postfach\s+(?:ist\s+)?voll"
        r"|conta\s+(?:foi\s+|ser[aá]\s+)?(?:bloqueada|suspensa|limitada|desativada|encerrada)|atividade\s+(?:suspeita|incomum)|acesso\s+bloqueado|cart[aã]o\s+bloqueado"
        r"|(?:evit(?:e|ar)|avoid|vermeiden|[eé]viter)\s+(?:o\s+|a\s+|el\s+|le\s+|la\s+|eine\s+)?(?:bloqueio|bloqueo|blocage|sperrung|suspension|suspens[aã]o|cancelamento|suspensi[oó]n)"
        r"|desatualizad[oa]|desactualizad[oa]|veraltet|obsol[eè]te|out\s+of\s+date\s+(?:details|information)"
        r"|compte\s+(?:a\s+[eé]t[eé]\s+|sera\s+)?(?:suspendu|bloqu[eé]|limit[eé]|d[eé]sactiv[eé])|activit[eé]\s+(?:suspecte|inhabituelle)"
        r"|cuenta\s+(?:ha\s+sido\s+|ser[aá]\s+)?(?:suspendida|bloqueada|limitada|desactivada)|actividad\s+(?:sospechosa|inusual))\b",
        _F,
    ),
    "lure_document": regex.compile(
        r"\b(?:shared\s+(?:a|an|the)?\s*(?:file|document|folder)|(?:new|pending)\s+(?:voice\s*mail|voice\s+message|fax|secure\s+message|encrypted\s+message)|voice\s*mail|e-?fax|secure\s+(?:document|file|message)|files?\s+(?:were|was|have\s+been)\s+sent\s+to\s+you|review\s+and\s+sign|please\s+docusign"
        r"|dokument\s+(?:freigegeben|geteilt)|neue\s+sprachnachricht|sichere\s+nachricht|dateien\s+erhalten"
        r"|compartilhou\s+(?:um|o)\s+(?:arquivo|documento)|documento\s+compartilhado|nova\s+mensagem\s+de\s+voz|mensagem\s+segura"
        r"|a\s+partag[eé]\s+(?:un|le)\s+(?:document|fichier)|nouveau\s+message\s+vocal|message\s+s[eé]curis[eé]"
        r"|ha\s+compartido\s+(?:un|el)\s+(?:documento|archivo)|nuevo\s+mensaje\s+de\s+voz|mensaje\s+seguro)\b",
        _F,
    ),
    "lure_payment": regex.compile(
        r"\b(?:invoice|payment\s+(?:failed|declined|overdue|due|required|details)|unpaid|outstanding\s+(?:balance|amount)|refund|billing\s+(?:information|details|problem)|card\s+(?:expired|declined)|direct\s+debit|bank\s+details"
        r"|rechnung|zahlung\s+(?:fehlgeschlagen|ausstehend|erforderlich)|offener\s+betrag|mahnung|r[uü]ckerstattung|lastschrift|zahlungsdaten|bankverbindung"
        r"|fatura|boleto|pagamento\s+(?:pendente|recusado|em\s+atraso)|reembolso|d[eé]bito\s+pendente|segunda\s+via|cobran[cç]a|pix"
        r"|facture|paiement\s+(?:refus[eé]|en\s+attente|[eé]chou[eé])|remboursement|impay[eé]e?|pr[eé]l[eè]vement"
        r"|factura|pago\s+(?:pendiente|rechazado|fallido)|reembolso|impagad[oa]|domiciliaci[oó]n)\b",
        _F,
    ),
    "lure_parcel": regex.compile(
        r"\b(?:parcel|package|shipment|delivery\s+(?:failed|attempt|fee|address)|customs\s+(?:fee|duty|charge)|redelivery|tracking\s+number|could\s+not\s+be\s+delivered"
        r"|paket|sendung|zustellung|zollgeb[uü]hr|lieferung\s+(?:fehlgeschlagen|ausstehend)|sendungsverfolgung"
        r"|encomenda|pacote|entrega\s+(?:pendente|falhou|n[aã]o\s+realizada)|taxa\s+(?:de\s+)?(?:entrega|alf[aâ]ndega|importa[cç][aã]o)|objeto\s+(?:retido|aguardando)|rastreio"
        r"|colis|livraison\s+(?:[eé]chou[eé]e|en\s+attente)|frais\s+de\s+(?:douane|livraison)"
        r"|paquete|env[ií]o\s+(?:pendiente|retenido)|entrega\s+fallida|aduana)\b",
        _F,
    ),
    "lure_prize": regex.compile(
        r"\b(?:congratulations|you\s+(?:have\s+)?won|winner|prize|reward|gift\s+card|claim\s+your|free\s+iphone|selected\s+to\s+receive|loyalty\s+(?:program|reward)"
        r"|gewonnen|gewinner|gl[uü]ckwunsch|pr[aä]mie|gutschein|belohnung"
        r"|parab[eé]ns|voc[eê]\s+ganhou|pr[eê]mio|sorteado|resgate|recompensa|pontos\s+(?:expiram|a\s+vencer)"
        r"|f[eé]licitations|vous\s+avez\s+gagn[eé]|gagnant|r[eé]compense|cadeau"
        r"|felicidades|ha\s+ganado|ganador|premio|recompensa)\b",
        _F,
    ),
    "lure_urgency": regex.compile(
        r"\b(?:urgent(?:ly)?|immediately|as\s+soon\s+as\s+possible|within\s+(?:\d{1,2}|twenty[- ]four|forty[- ]eight)\s*(?:hours?|hrs?|h|days?)|final\s+(?:notice|reminder|warning)|last\s+(?:chance|warning|reminder)|expires?\s+(?:today|soon)|action\s+required|failure\s+to"
        r"|dringend|sofort|umgehend|innerhalb\s+von\s+\d+\s*(?:stunden|tagen)|letzte\s+(?:mahnung|warnung|erinnerung)|frist"
        r"|urgente|imediatamente|em\s+at[eé]\s+\d+\s*(?:horas|dias)|[uú]ltimo\s+aviso|prazo|evite\s+o\s+bloqueio"
        r"|imm[eé]diatement|sous\s+\d+\s*(?:heures|h|jours)|dernier\s+(?:avis|rappel)|d[eé]lai"
        r"|urgente|inmediatamente|en\s+(?:las\s+pr[oó]ximas\s+)?\d+\s*(?:horas|d[ií]as)|[uú]ltimo\s+aviso|plazo)\b",
        _F,
    ),
    "lure_click": regex.compile(
        r"\b(?:click\s+(?:here|below|the\s+(?:link|button))|tap\s+(?:here|below)|follow\s+the\s+link|open\s+the\s+(?:attached|document)|view\s+(?:document|invoice|message|pdf)"
        r"|hier\s+klicken|klicken\s+sie\s+(?:hier|auf)|jetzt\s+(?:best[aä]tigen|aktualisieren|anmelden)|folgenden\s+link"
        r"|clique\s+(?:aqui|no\s+(?:link|bot[aã]o)|abaixo)|acesse\s+(?:o\s+link|agora|aqui)|baixe\s+(?:o|a)"
        r"|cliquez\s+(?:ici|sur)|acc[eé]dez|suivez\s+le\s+lien"
        r"|haga\s+clic|pulse\s+aqu[ií]|haz\s+clic|acceda\s+(?:aqu[ií]|al\s+enlace))\b",
        _F,
    ),
    "generic_greeting": regex.compile(
        r"\b(?:dear\s+(?:customer|client|user|member|account\s+holder|valued\s+(?:customer|member)|sir(?:/madam)?|e-?mail\s+user|beneficiary)|hello\s+(?:customer|user)"
        r"|sehr\s+geehrte[rs]?\s+(?:kunde|kundin|nutzer(?:in)?|damen\s+und\s+herren)|lieber\s+kunde|liebe\s+kundin|hallo\s+kunde"
        r"|prezad[oa]s?\s+(?:cliente|usu[aá]rio|senhor)|caro\s+cliente|querido\s+cliente|ol[aá]\s+cliente"
        r"|cher\s+client|ch[eè]re\s+cliente|cher\s+utilisateur|madame,\s+monsieur"
        r"|estimad[oa]\s+(?:cliente|usuario)|querido\s+cliente|apreciado\s+cliente)\b",
        _F,
    ),
}

#: Lures are read in the subject and the first screenful of text: a phishing lure is where it is
#: seen at once, and a 12 KB newsletter then costs a third of the pattern work.
LURE_CHARS = 4000
#: The lures searched in one pass, each only where a word it starts with occurs.
_LURE_SEARCH = AnchoredSearch(LURES.values())
_FREE_WORDS = re.compile(r"\w+")  # Unicode: "itaú" is one word


@dataclass(frozen=True)
class LinkInfo:
    """One link as the features see it: the href, its host (``None`` for non-http), its text."""

    href: str
    host: str | None
    text: str


@dataclass(frozen=True)
class Lists:
    """The maintained lists from ``rules/phishing.toml`` the features read."""

    brands: dict[str, tuple[str, ...]]  # brand word -> its real registrable domains
    shorteners: frozenset[str]
    free_hosts: frozenset[str]
    suspicious_tlds: frozenset[str]
    webmail: frozenset[str]


class HtmlScan(TokenReader):
    """Counts the HTML tricks: hidden or tiny text, forms, scripts, iframes, ``<base>``,
    ``<meta refresh>``, images, and visible words, from the tokens of a part read once
    (:func:`aupmilter.htmltext.replay`).  Subclasses that handle tags too call these handlers
    first."""

    HIDDEN = re.compile(
        r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*[0-2](?:\.\d+)?(?:px|pt)?\s*(?:;|$)|max-height\s*:\s*0|opacity\s*:\s*0(?:\.0+)?\s*(?:;|$)",
        re.I,
    )
    TINY = re.compile(r"font-size\s*:\s*[0-3](?:\.\d+)?(?:px|pt)", re.I)

    def __init__(self) -> None:
        self.stack: list[bool] = []
        self.hidden_chars = 0
        self.visible_words = 0
        self.forms = 0
        self.scripts = 0
        self.iframes = 0
        self.base = 0
        self.refresh = 0
        self.images = 0
        self.tiny = 0
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        style = values.get("style", "")
        hidden = bool(self.HIDDEN.search(style)) or "hidden" in values or (self.stack[-1] if self.stack else False)
        if self.TINY.search(style):
            self.tiny += 1
        if tag in ("script", "style", "title", "head"):
            self._skip += 1
            if tag == "script":
                self.scripts += 1
        elif tag == "form":
            self.forms += 1
        elif tag == "iframe":
            self.iframes += 1
        elif tag == "base" and values.get("href"):
            self.base += 1
        elif tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.refresh += 1
        elif tag == "img":
            self.images += 1
        if tag not in ("br", "img", "hr", "meta", "base", "input", "link", "area", "col", "wbr"):
            self.stack.append(hidden)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title", "head"):
            self._skip = max(0, self._skip - 1)
        if self.stack and tag not in ("br", "img", "hr", "meta", "base", "input", "link", "area", "col", "wbr"):
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self.stack and self.stack[-1]:
            self.hidden_chars += len(data.strip())
        else:
            self.visible_words += len(data.split())


@dataclass
class HtmlCounts:
    """What :class:`HtmlScan` counted over a message's HTML parts (summed over the parts)."""

    present: bool = False
    hidden_chars: int = 0
    visible_words: int = 0
    forms: int = 0
    scripts: int = 0
    iframes: int = 0
    base: int = 0
    refresh: int = 0
    images: int = 0
    tiny: int = 0

    def add(self, scan: HtmlScan) -> None:
        self.present = True
        for name in (
            "hidden_chars",
            "visible_words",
            "forms",
            "scripts",
            "iframes",
            "base",
            "refresh",
            "images",
            "tiny",
        ):
            setattr(self, name, getattr(self, name) + getattr(scan, name))


def scan_html(sources: Iterable[str]) -> HtmlCounts:
    """Count the tricks in ``sources`` (the link reader in :mod:`.phishing` counts them in the
    same parse as it reads the links; this is for callers without it)."""
    counts = HtmlCounts()
    for html in sources:
        scan = HtmlScan()
        replay(read_html(html), scan)
        counts.add(scan)
    return counts


NAMES = [
    *sorted(LURES),
    "display_brand_mismatch",
    "display_address_mismatch",
    "reply_to_differs",
    "reply_to_webmail",
    "from_webmail",
    "list_mail",
    "recipient_in_text",
    "brand_offsite_links",
    "link_mismatch",
    "link_ip_host",
    "link_punycode",
    "link_shortener",
    "link_data_js",
    "link_at_sign",
    "link_port",
    "link_deep_subdomains",
    "link_suspicious_tld",
    "link_free_host",
    "link_credential_path",
    "links_few",
    "links_none",
    "links_offsite_share",
    "links_all_sender",
    "sender_brand_domain",
    "html_form",
    "html_hidden_text",
    "html_tiny_font",
    "html_script",
    "html_base",
    "html_refresh",
    "image_only_link",
    "attach_html",
    "attach_pdf_form",
    "lookalike_trust",
    "harvest_cues",
    "short_text",
    "lure_count",
]

_IP = re.compile(r"^(?:\d{1,3}\.){3}\d{1,3}$|^\[?[0-9a-f:]+\]?$", re.I)
_CRED_PATH = re.compile(
    r"(?:log-?in|sign-?in|signon|verif|account|secure|update|webscr|auth|wallet|banking|confirm|unlock|validate|recover|billing|password|senha|konto|compte|cuenta)",
    re.I,
)
_PDF_FORM = re.compile(rb"/AcroForm|/URI\s*\(|/Launch|/JavaScript|/JS\s", re.I)


def brands_named(text: str, brands: dict[str, tuple[str, ...]]) -> list[str]:
    """Brand words that appear as words in ``text`` (lower-case, accents kept)."""
    words = _FREE_WORDS.findall(text.lower())
    low = " " + " ".join(words) + " "
    present = set(words)
    # A one-word brand is " brand " in ``low`` exactly when it is one of the words: a set lookup,
    # not a scan of the text per brand.  A brand with a space (or none at all) is looked for as before.
    return [b for b in brands if (f" {b} " in low if (" " in b or not b) else b in present)]


def _brand_domain(reg: str, brand: str, brands: dict[str, tuple[str, ...]]) -> bool:
    return reg in brands[brand] or any(reg.endswith("." + d) for d in brands[brand])


def same_org(a: str, b: str, brands: dict[str, tuple[str, ...]]) -> bool:
    """Same registrable domain, or two domains of one listed brand (microsoft.com / live.com)."""
    return a == b or any(a in domains and b in domains for domains in brands.values())


def features(
    message: MessageView,
    links: list[LinkInfo],
    recipients: Iterable[str],
    registrable: Callable[[str], str],
    is_redirector: Callable[[str], bool],
    mismatches: int,
    lookalike: bool,
    harvest_total: float,
    html: HtmlCounts,
    lists: Lists,
    sender: str | None = None,
    bulk: bool | None = None,
) -> tuple[dict[str, float], dict[str, str]]:
    """``(named features, notes)``: a note says, for the evidence, which brand / host / trick
    made a feature fire (keyed by feature name).  ``sender`` (the From header) and ``bulk``
    (list mail) are read from the message unless the caller has them already."""
    out: dict[str, float] = dict.fromkeys(NAMES, 0.0)
    notes: dict[str, str] = {}
    subject = message.subject
    text = " ".join(p.text for p in message.text_parts)[:100_000]
    flat = " ".join(f"{subject} {text}".split())
    screen = flat[:LURE_CHARS]
    for name, first in zip(LURES, _LURE_SEARCH.search([screen]), strict=True):
        if first is not None:
            out[name] = 1.0
            notes[name] = first[1].group()[:60]
    out["lure_count"] = min(4, sum(out[n] for n in LURES if n.startswith("lure_"))) / 4

    display, address = parseaddr((message.header("From") if sender is None else sender) or "")
    from_domain = address.rpartition("@")[2].lower().strip(".>")
    from_reg = registrable(from_domain) if from_domain else ""
    named_in_display = brands_named(f"{display} {address.partition('@')[0]}", lists.brands)
    for brand in named_in_display:
        if from_reg and not _brand_domain(from_reg, brand, lists.brands):
            out["display_brand_mismatch"] = 1.0
            notes["display_brand_mismatch"] = f"sender name says {brand}, sent from {from_reg}"
            break
    in_display = re.search(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)", display or "")
    if in_display and from_reg and registrable(in_display.group(1).lower()) != from_reg:
        out["display_address_mismatch"] = 1.0
        notes["display_address_mismatch"] = f"sender name shows {in_display.group(1).lower()}, sent from {from_reg}"
    for _, reply in message.addresses("Reply-To"):
        domain = reply.rpartition("@")[2].lower()
        if domain and from_reg and registrable(domain) != from_reg:
            out["reply_to_differs"] = 1.0
            notes["reply_to_differs"] = f"replies go to {registrable(domain)}"
            if domain in lists.webmail:
                out["reply_to_webmail"] = 1.0
    out["from_webmail"] = float(from_domain in lists.webmail)
    if bulk is None:
        bulk = bool(message.header("List-Unsubscribe") or message.header("List-Id"))
    out["list_mail"] = float(bulk)
    low = flat.lower()
    for rcpt in recipients:
        local = rcpt.partition("@")[0].lower()
        if rcpt.lower() in low or (len(local) >= 5 and re.search(rf"\b{re.escape(local)}\b", low)):
            out["recipient_in_text"] = 1.0
            break

    web = [link for link in links if link.host]
    regs = [registrable(link.host) for link in web if link.host and not is_redirector(link.host)]
    named_in_text = brands_named(f"{display} {screen}", lists.brands)
    if regs:
        for brand in named_in_text:
            if not _brand_domain(from_reg, brand, lists.brands) and not any(
                _brand_domain(r, brand, lists.brands) for r in regs
            ):
                out["brand_offsite_links"] = 1.0
                notes["brand_offsite_links"] = f"names {brand}, links go to {regs[0]}"
                break
    out["link_mismatch"] = float(mismatches > 0)
    for link in links:
        href = link.href.strip().lower()
        if href.startswith(("data:", "javascript:", "vbscript:")):
            out["link_data_js"] = 1.0
            notes.setdefault("link_data_js", href.split(":", 1)[0] + ": link")
        if not link.host:
            continue
        host = link.host
        reg = registrable(host)
        if _IP.match(host):
            out["link_ip_host"] = 1.0
            notes.setdefault("link_ip_host", f"link to IP address {host}")
        if "xn--" in host or not host.isascii():
            out["link_punycode"] = 1.0
            notes.setdefault("link_punycode", f"link to international name {host}")
        if reg in lists.shorteners or host in lists.shorteners:
            out["link_shortener"] = 1.0
            notes.setdefault("link_shortener", f"shortened link ({host})")
        authority = href.split("//", 1)[1].split("/", 1)[0] if "//" in href else ""
        if "@" in authority:
            out["link_at_sign"] = 1.0
            notes.setdefault("link_at_sign", "user@host trick in a link")
        if re.search(r":\d{2,5}$", authority) and not authority.endswith((":80", ":443")):
            out["link_port"] = 1.0
        if host.count(".") - reg.count(".") >= 3:
            out["link_deep_subdomains"] = 1.0
            notes.setdefault("link_deep_subdomains", f"deeply nested host {host}")
        if host.rsplit(".", 1)[-1] in lists.suspicious_tlds:
            out["link_suspicious_tld"] = 1.0
            notes.setdefault("link_suspicious_tld", f"link to .{host.rsplit('.', 1)[-1]} domain {reg}")
        if reg in lists.free_hosts or any(host.endswith("." + f) or host == f for f in lists.free_hosts):
            out["link_free_host"] = 1.0
            notes.setdefault("link_free_host", f"link to a free page host ({host})")
        if (
            not same_org(reg, from_reg, lists.brands)
            and not is_redirector(host)
            and _CRED_PATH.search(href.split(reg, 1)[-1] + host.removesuffix(reg))
        ):
            out["link_credential_path"] = 1.0
            notes.setdefault("link_credential_path", f"login-like link on {reg}")
    n_web = len(web)
    out["links_none"] = float(n_web == 0)
    out["links_few"] = float(1 <= n_web <= 3)
    if regs:
        out["links_offsite_share"] = sum(1 for r in regs if not same_org(r, from_reg, lists.brands)) / len(regs)
        out["links_all_sender"] = float(all(same_org(r, from_reg, lists.brands) for r in regs))
    out["sender_brand_domain"] = float(
        from_domain not in lists.webmail and any(from_reg in domains for domains in lists.brands.values())
    )

    scan = html
    out["html_form"] = float(scan.forms > 0)
    out["html_hidden_text"] = float(scan.hidden_chars >= 30)
    out["html_tiny_font"] = float(scan.tiny > 0)
    out["html_script"] = float(scan.scripts > 0 or scan.iframes > 0)
    out["html_base"] = float(scan.base > 0)
    out["html_refresh"] = float(scan.refresh > 0)
    if scan.present and scan.images and n_web and scan.visible_words < 25:
        out["image_only_link"] = 1.0
        notes["image_only_link"] = "an image with a link and hardly any text"
    for att in message.attachments:
        name = (att.filename or "").lower()
        if name.endswith((".htm", ".html", ".shtml", ".xhtml", ".svg", ".hta", ".mht")) or att.declared_type in (
            "text/html",
            "image/svg+xml",
        ):
            out["attach_html"] = 1.0
            notes.setdefault("attach_html", f"attached web page {name or att.declared_type}")
        elif (name.endswith(".pdf") or att.declared_type == "application/pdf") and _PDF_FORM.search(
            att.data[:2_000_000]
        ):
            out["attach_pdf_form"] = 1.0
            notes.setdefault("attach_pdf_form", f"PDF with a form or link {name}")
    out["lookalike_trust"] = float(lookalike)
    out["harvest_cues"] = min(1.0, max(0.0, harvest_total) / 6)
    # ``flat`` is words joined by single spaces: its word count without splitting it again.
    out["short_text"] = float((flat.count(" ") + 1 if flat else 0) < 120)
    return out, {n: notes[n] for n in NAMES if out[n] and n in notes}


DESCRIPTIONS = {
    "lure_credential": "asks for a password or to confirm details",
    "lure_account": "account locked / unusual activity",
    "lure_document": "shared document / voicemail lure",
    "lure_payment": "payment or invoice lure",
    "lure_parcel": "parcel or delivery lure",
    "lure_prize": "prize or reward lure",
    "lure_urgency": "urgency",
    "lure_click": "click-here instruction",
    "generic_greeting": "generic greeting",
    "display_brand_mismatch": "sender name claims a brand",
    "display_address_mismatch": "address in the sender name differs",
    "reply_to_differs": "replies go elsewhere",
    "reply_to_webmail": "replies go to webmail",
    "from_webmail": "sent from webmail",
    "recipient_in_text": "your address quoted back to you",
    "brand_offsite_links": "names a brand, links elsewhere",
    "link_mismatch": "link text shows another domain",
    "link_ip_host": "link to an IP address",
    "link_punycode": "link to an international (punycode) name",
    "link_shortener": "shortened link",
    "link_data_js": "data:/javascript: link",
    "link_at_sign": "user@host link",
    "link_port": "link to an unusual port",
    "link_deep_subdomains": "deeply nested link host",
    "link_suspicious_tld": "link to a cheap throwaway domain",
    "link_free_host": "link to a free page host",
    "link_credential_path": "login-like link",
    "links_few": "one to three links",
    "links_offsite_share": "links go elsewhere than the sender",
    "html_form": "a form in the message",
    "html_hidden_text": "hidden text",
    "html_tiny_font": "tiny text",
    "html_script": "script or frame in the message",
    "html_base": "<base> tag",
    "html_refresh": "automatic redirect",
    "image_only_link": "image with a link, no text",
    "attach_html": "attached web page",
    "attach_pdf_form": "PDF with a form or link",
    "lookalike_trust": "look-alike of a trust domain",
    "harvest_cues": "credential-harvest wording",
    "short_text": "short text",
    "lure_count": "several lures",
}
