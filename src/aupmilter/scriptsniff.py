"""Recognise Windows script text (batch, VBScript, PowerShell, JScript, HTA) by its content.

libmagic names a batch file only when it starts with ``@echo off`` and calls VBScript and
PowerShell "ASCII text", so a script renamed ``invoice.pdf`` or sent as ``image/png`` looked
like a harmless text file.  The attachment check asks this module only about text that claims
to be something else (a PDF, an image, an Office file): a genuine PDF or JPEG is never text, so
the cues can be few and the question stays cheap (the first 64 KB, one pass of regexes).

Each language has *strong* cues (one is enough: ``@echo off``, ``WScript.Shell``,
``Invoke-Expression``) and *weak* ones (two distinct weak cues are needed: ``Dim x``,
``Set-Item``).  The result names the language for the evidence.
"""

from __future__ import annotations

import re

_SCAN_BYTES = 65536

_Cues = tuple[re.Pattern[str], ...]

_LANGUAGES: tuple[tuple[str, _Cues, _Cues], ...] = (
    (
        "batch",
        (
            re.compile(r"^\s*@?echo\s+off\b", re.I | re.M),
            re.compile(r"%~[dpnxf]+0|%comspec%|%appdata%|%temp%\\", re.I),
            re.compile(
                r"^\s*@?(?:start\s+\S|call\s+:|goto\s+:?\w|powershell(?:\.exe)?\s+-|cmd(?:\.exe)?\s+/[ck]|"
                r"(?:certutil|bitsadmin|mshta|rundll32|regsvr32|schtasks|wscript|cscript)(?:\.exe)?\s)",
                re.I | re.M,
            ),
        ),
        (
            re.compile(r"^\s*@?set\s+(?:/[ap]\s+)?\w+=", re.I | re.M),
            re.compile(r"^\s*@?if\s+(?:not\s+)?(?:exist|errorlevel|defined|/i)\b", re.I | re.M),
            re.compile(r"^\s*@?for\s+/[flrd]\b", re.I | re.M),
            re.compile(r"^\s*@?(?:del|copy|move|xcopy|reg|taskkill|net|attrib|timeout|pause|exit\s+/b)\b", re.I | re.M),
            re.compile(r"^\s*:\w+\s*$", re.M),
        ),
    ),
    (
        "VBScript",
        (
            re.compile(
                r"CreateObject\s*\(\s*\"(?:WScript\.Shell|Scripting\.FileSystemObject|MSXML2|Shell\.Application|ADODB)",
                re.I,
            ),
            re.compile(r"\bWScript\.(?:Shell|CreateObject|Sleep|Echo|Arguments|ScriptFullName)\b", re.I),
            re.compile(r"^\s*On\s+Error\s+Resume\s+Next\b", re.I | re.M),
        ),
        (
            re.compile(r"^\s*Dim\s+\w+", re.I | re.M),
            re.compile(r"^\s*(?:Private\s+|Public\s+)?(?:Sub|Function)\s+\w+\s*\(", re.I | re.M),
            re.compile(r"^\s*Set\s+\w+\s*=\s*\w+", re.I | re.M),
            re.compile(r"\b(?:CreateObject|GetObject|Execute|ExecuteGlobal)\s*\(", re.I),
            re.compile(r"^\s*End\s+(?:Sub|Function|If)\b", re.I | re.M),
        ),
    ),
    (
        "PowerShell",
        (
            re.compile(r"\bInvoke-(?:Expression|WebRequest|RestMethod|Command|Item)\b|\bIEX\s*[(\$]", re.I),
            re.compile(
                r"New-Object\s+(?:-TypeName\s+)?(?:System\.)?Net\.WebClient|\.Download(?:String|File|Data)\s*\(", re.I
            ),
            re.compile(r"\s-(?:EncodedCommand|enc|ExecutionPolicy\s+Bypass|w(?:indowstyle)?\s+hidden|nop)\b", re.I),
            re.compile(r"\[System\.Convert\]::FromBase64String|\[Reflection\.Assembly\]::Load", re.I),
        ),
        (
            re.compile(r"\$env:\w+", re.I),
            re.compile(
                r"\b(?:Start-Process|Set-ExecutionPolicy|Add-Type|Remove-Item|Get-ChildItem|Set-Content|Out-File)\b",
                re.I,
            ),
            re.compile(r"^\s*param\s*\(", re.I | re.M),
            re.compile(r"^\s*function\s+\w+-\w+", re.I | re.M),
            re.compile(r"\$\w+\s*=\s*(?:New-Object|\[\w+(?:\.\w+)*\])", re.I),
        ),
    ),
    (
        "JScript",
        (
            re.compile(r"new\s+ActiveXObject\s*\(", re.I),
            re.compile(r"\bWScript\.(?:Shell|CreateObject|Sleep|Echo|Arguments)\b"),
        ),
        (
            re.compile(r"\bvar\s+\w+\s*=", re.M),
            re.compile(r"\bfunction\s+\w+\s*\(", re.M),
            re.compile(r"\beval\s*\(|String\.fromCharCode\s*\(", re.M),
        ),
    ),
    (
        "HTML application",
        (re.compile(r"<hta:application\b", re.I),),
        (),
    ),
)


def script_language(data: bytes) -> str | None:
    """The script language ``data`` is written in, or None when it does not read as a script."""
    head = data[:_SCAN_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # PowerShell ISE saves UTF-16
        text = head.decode("utf-16", "replace")
    else:
        if b"\x00" in head:
            return None
        text = head.decode("latin-1")
    for language, strong, weak in _LANGUAGES:
        if any(cue.search(text) for cue in strong):
            return language
        if sum(1 for cue in weak if cue.search(text)) >= 2:
            return language
    return None
