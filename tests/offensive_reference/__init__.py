"""The offensive check's modules as they were before issue 24's speed-ups (verbatim copies).

``tests/test_offensive_equivalence.py`` runs them beside the shipped modules on every fixture,
the benchmark texts and generated text: the answers must be identical.  (Only the imports
point here instead of at ``aupmilter``.)
"""
