"""The offensive check's modules as they were before issue 24's speed-ups, read from git history.

``tests/test_offensive_equivalence.py`` runs them beside the shipped modules on every fixture,
the benchmark texts and generated text: the answers must be identical.  The source is taken from
:data:`REFERENCE_COMMIT` with ``git show`` (no copy of the old code lives in the tree); only
the imports are pointed here instead of at ``aupmilter``.  A checkout without that commit (a
shallow clone, an archive) skips the comparison and says why.
"""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: The last commit before the offensive check's speed-ups (issue 24, third pass).
REFERENCE_COMMIT = "6f71fd4565c14f4e650e6ea40b8b8e660dddf1bf"
#: Loaded in this order: each imports only the ones before it.
SOURCES = {
    "normalise": "src/aupmilter/normalise.py",
    "hate": "src/aupmilter/checks/offensive/hate.py",
    "model": "src/aupmilter/checks/offensive/model.py",
    "lexicon": "src/aupmilter/checks/offensive/lexicon.py",
}
_IMPORTS = {
    "from aupmilter.normalise import": f"from {__name__}.normalise import",
    "from aupmilter.checks.offensive.hate import": f"from {__name__}.hate import",
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
        modules[name] = module
    return modules


_MODULES = _load()
normalise = _MODULES["normalise"]
hate = _MODULES["hate"]
model = _MODULES["model"]
lexicon = _MODULES["lexicon"]
