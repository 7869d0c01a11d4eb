"""MIME surgery (aupmilter.rewrite) case by case: where the disclaimer goes, what is kept."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import shutil
from email.message import EmailMessage, Message

import pytest

from aupmilter.render import apply_effects
from aupmilter.rewrite import (
    MARKER_HEADER,
    Disclaimer,
    Undecodable,
    insert_html,
    render_disclaimer,
    rewrite,
    skip_reason,
)

D = Disclaimer("--\nSent from Oakfield.\n", '<div class="aup-disclaimer">Sent from Oakfield.</div>')
HEAD = b"From: t@oakfield.example\r\nTo: p@home.test\r\nSubject: s\r\nMIME-Version: 1.0\r\n"


def apply(raw: bytes, disclaimer: Disclaimer = D) -> bytes:
    result = rewrite(raw, disclaimer, "oakfield.example")
    assert result is not None
    return apply_effects(raw, result.effects)


def parts(raw: bytes) -> list[Message]:
    return [p for p in email.message_from_bytes(raw, policy=email.policy.compat32).walk() if not p.is_multipart()]


def decoded(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return data


def test_undeclared_8bit_bytes_are_carried_through_not_replaced() -> None:
    # Latin-1 bytes in a part labelled us-ascii: decoding "as UTF-8 with replacement" would turn
    # the pound sign into U+FFFD; the bytes must come out exactly as they went in.
    raw = HEAD + b"Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 8bit\r\n\r\nCost: \xa35\r\n"
    [part] = parts(apply(raw))
    assert decoded(part).startswith(b"Cost: \xa35\r\n") and b"Sent from Oakfield." in decoded(part)
    assert b"\xef\xbf\xbd" not in decoded(part)


def test_undecodable_text_and_non_ascii_disclaimer_is_skipped_with_reason() -> None:
    raw = HEAD + b"Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 8bit\r\n\r\nCost: \xa35\r\n"
    welsh = Disclaimer("Anfonwyd o Ysgol Derwen \u0175\n", "<p>\u0175</p>")
    with pytest.raises(Undecodable):
        rewrite(raw, welsh, "oakfield.example")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    reason = skip_reason(msg, welsh)
    assert isinstance(reason, Undecodable) and "us-ascii" in str(reason)


def test_non_ascii_disclaimer_into_clean_latin1_becomes_utf8_and_text_is_kept() -> None:
    raw = HEAD + b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nCaf\xe9\r\n"
    out = apply(raw, Disclaimer("\u2014 Oakfield \u2603\n", "<p>x</p>"))
    [part] = parts(out)
    assert part.get_content_charset() == "utf-8"
    assert decoded(part).decode("utf-8").startswith("Caf\u00e9\r\n") and "\u2603" in decoded(part).decode("utf-8")


def test_seven_bit_part_gaining_non_ascii_becomes_quoted_printable() -> None:
    raw = HEAD + b"Content-Type: text/plain\r\n\r\nHello\r\n"
    out = apply(raw, Disclaimer("Ysgol \u0175\n", "<p>x</p>"))
    [part] = parts(out)
    assert part["Content-Transfer-Encoding"] == "quoted-printable" and part.get_content_charset() == "utf-8"
    assert max(out) < 128  # still 7-bit on the wire


def test_uuencoded_text_is_re_encoded_as_quoted_printable() -> None:
    import binascii

    line = binascii.b2a_uu(b"Hello there\n")
    raw = HEAD + b"Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 m.txt\r\n"
    raw += line.replace(b"\n", b"\r\n") + b"`\r\nend\r\n"
    [part] = parts(apply(raw))
    assert part["Content-Transfer-Encoding"] == "quoted-printable"
    assert decoded(part).startswith(b"Hello there") and b"Sent from Oakfield." in decoded(part)


def test_format_flowed_disclaimer_lines_are_stuffed_and_never_end_in_space() -> None:
    raw = HEAD + b"Content-Type: text/plain; format=flowed; delsp=yes\r\n\r\nA long line that \r\nflows on.\r\n"
    out = apply(raw, Disclaimer("From the school office \n> not a quote\n", "<p>x</p>"))
    text = decoded(parts(out)[0]).decode()
    assert text.startswith("A long line that \r\nflows on.\r\n")
    assert "\r\n From the school office\r\n" in text and "\r\n > not a quote\r\n" in text


def test_base64_stays_base64_with_short_lines() -> None:
    body = base64.encodebytes("Grüße\n".encode()).replace(b"\n", b"\r\n")
    raw = HEAD + b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body
    out = apply(raw)
    [part] = parts(out)
    assert part["Content-Transfer-Encoding"] == "base64"
    assert all(len(line) <= 76 for line in out.split(b"\r\n\r\n", 1)[1].split(b"\r\n"))
    assert decoded(part).decode().startswith("Grüße\n")


def test_mixed_with_attachment_first_is_wrapped_not_the_attachment_edited() -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "t@oakfield.example", "p@home.test", "fwd"
    msg.make_mixed()
    notes = EmailMessage()
    notes.set_content("attached notes\n", disposition="attachment", filename="notes.txt")
    msg.attach(notes)
    raw = msg.as_bytes().replace(b"\n", b"\r\n")
    out = apply(raw)
    leaves = parts(out)
    assert b"Sent from Oakfield." in decoded(leaves[0])
    assert [decoded(p) for p in leaves[1:]] == [decoded(p) for p in parts(raw)]


def test_related_html_root_gets_it_and_inline_image_is_untouched() -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "t@oakfield.example", "p@home.test", "pic"
    msg.set_content("plain")
    msg.add_alternative('<html><body><p>see</p><img src="cid:logo"></body></html>', subtype="html")
    payload = msg.get_payload()
    assert isinstance(payload, list)
    html_part = payload[1]
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(b"\x89PNG\r\n\x1a\n\x00\x01", maintype="image", subtype="png", cid="<logo>")
    raw = msg.as_bytes()
    out = apply(raw)
    found = {p.get_content_type(): decoded(p) for p in parts(out)}
    assert b"Sent from Oakfield." in found["text/plain"] and b"aup-disclaimer" in found["text/html"]
    assert found["image/png"] == b"\x89PNG\r\n\x1a\n\x00\x01"


def test_second_pass_is_a_no_op_and_marker_is_added() -> None:
    raw = HEAD + b"Content-Type: text/plain\r\n\r\nHello\r\n"
    out = apply(raw)
    assert f"{MARKER_HEADER}: oakfield.example".encode() in out
    assert rewrite(out, D, "oakfield.example") is None


def test_placeholders_are_escaped_in_html_only_and_never_formatted() -> None:
    d = render_disclaimer(
        "{school_name} {sender}", "<p>{school_name} {sender}</p>", school_name="A&B", sender="<x>{sender}"
    )
    assert d.text == "A&B <x>{sender}" and d.html == "<p>A&amp;B &lt;x&gt;{sender}</p>"


HTML_CASES = {
    "plain": "<html><body><p>Hi</p></body></html>",
    "unclosed_pre": "<html><body><p>Hi</p><pre>&gt; quoted\n&gt; reply</body></html>",
    "unclosed_blockquote_no_body": "<div>Hi</div><blockquote type=cite><div>earlier mail",
    "body_in_comment": "<html><body><p>Hi</p><!-- </body> --><pre>quote</body></html>",
    "unclosed_table_and_link": "<body><table><tr><td><a href='https://x.test/'>link</body>",
    "nested_quoted_document": "<html><body>Reply<blockquote><html><body>old</body></html></blockquote></body></html>",
    "script_mentions_body": "<html><body><script>var s='</body>';</script><p>x</p></body></html>",
}


def test_html_insertion_text_level() -> None:
    snippet = '<div class="aup-disclaimer">D</div>'
    assert insert_html(HTML_CASES["plain"], snippet) == "<html><body><p>Hi</p>" + snippet + "</body></html>"
    out = insert_html(HTML_CASES["body_in_comment"], snippet)
    assert out.index(snippet) > out.index("-->") and "quote</pre>" + snippet in out
    out = insert_html(HTML_CASES["script_mentions_body"], snippet)
    assert out.endswith("<p>x</p>" + snippet + "</body></html>")


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian chromium")
def test_html_disclaimer_is_never_rendered_inside_a_quote_block() -> None:
    """A real HTML parser (Chromium's DOMParser) decides where the disclaimer ends up."""
    from playwright.sync_api import sync_playwright

    snippet = '<div class="aup-disclaimer">D</div>'
    docs = {name: insert_html(text, snippet) for name, text in HTML_CASES.items()}
    script = """docs => Object.fromEntries(Object.entries(docs).map(([name, html]) => {
        const doc = new DOMParser().parseFromString(html, "text/html");
        const found = doc.querySelectorAll(".aup-disclaimer");
        const d = found[0];
        const trapped = d ? !!d.parentElement.closest("pre,blockquote,table,a,textarea,select") : null;
        const last = d ? !d.nextElementSibling || d.nextElementSibling.tagName === "SCRIPT" : null;
        return [name, {count: found.length, trapped, parent: d ? d.parentElement.tagName : null, last}];
    }))"""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless=new"])
        try:
            page = browser.new_page()
            result = page.evaluate(script, docs)
        finally:
            browser.close()
    for name, seen in result.items():
        assert seen["count"] == 1, (name, seen, json.dumps(docs[name]))
        assert seen["trapped"] is False, (name, seen, docs[name])
        assert seen["parent"] == "BODY", (name, seen, docs[name])
