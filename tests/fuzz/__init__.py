"""The fuzz suite (issue 14, item 9): every kind of input approvalflow reads from other people's systems.

See :mod:`tests.fuzz.harness` for what counts as a crash, the profiles and the corpus of found crashes.
"""
