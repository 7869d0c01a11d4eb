"""The outbound path's modules as they were before issue 24's fourth pass, read from git history.

``tests/test_outbound_equivalence.py`` runs them beside the shipped modules over every fixture
message, the benchmark corpus and generated edge cases: the message that leaves (disclaimer,
marker MAC, DKIM signature) and the repeat counter's body digest must be identical byte for
byte.  The source is taken from :data:`REFERENCE_COMMIT` with ``git show`` (no copy of the old
code lives in the tree); only the imports of each other are pointed here instead of at
``aupmilter``.  A checkout without that commit (a shallow clone, an archive) skips the comparison
and says why.
"""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: The last commit before the outbound path's speed-ups (issue 24, fourth pass).
REFERENCE_COMMIT = "ff047d0db70b3e0462c80f1b549b55a16135b626"
#: Loaded in this order: each imports only the ones before it (and unchanged modules).
SOURCES = {
    "render": "src/aupmilter/render.py",
    "elision": "src/aupmilter/elision.py",
    "marker": "src/aupmilter/marker.py",
    "dkim": "src/aupmilter/dkim.py",
    "rewrite": "src/aupmilter/rewrite.py",
    "transforms": "src/aupmilter/transforms.py",
    "ratewindow": "src/aupmilter/ratewindow.py",
}
_IMPORTS = {
    "from aupmilter import elision, marker": f"from {__name__} import elision, marker",
    **{f"from aupmilter.{name} import": f"from {__name__}.{name} import" for name in SOURCES},
}


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False)


def _load() -> dict[str, types.ModuleType]:
    if _git("cat-file", "-e", f"{REFERENCE_COMMIT}^{{commit}}").returncode != 0:
        pytest.skip(
            f"git history without {REFERENCE_COMMIT[:7]}: no reference to compare with", allow_module_level=True
        )
    modules: dict[str, types.ModuleType] = {}
    for name, path in SOURCES.items():
        shown = _git("show", f"{REFERENCE_COMMIT}:{path}")
        if shown.returncode != 0:
            raise RuntimeError(f"git show {REFERENCE_COMMIT[:7]}:{path}: {shown.stderr.strip()}")
        source = shown.stdout
        for old, new in _IMPORTS.items():
            source = source.replace(old, new)
        module = types.ModuleType(f"{__name__}.{name}")
        module.__file__ = f"{REFERENCE_COMMIT[:7]}:{path}"
        sys.modules[module.__name__] = module  # dataclasses look their module up while the class is made
        exec(compile(source, module.__file__, "exec"), module.__dict__)  # our own code, from git history
        setattr(sys.modules[__name__], name, module)  # ``from <this package> import elision`` finds it
        modules[name] = module
    return modules


_MODULES = _load()
render = _MODULES["render"]
elision = _MODULES["elision"]
marker = _MODULES["marker"]
dkim = _MODULES["dkim"]
rewrite = _MODULES["rewrite"]
transforms = _MODULES["transforms"]
ratewindow = _MODULES["ratewindow"]
