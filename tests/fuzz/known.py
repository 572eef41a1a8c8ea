"""Crashes the fuzz suite found that are not fixed yet.

Each entry names a corpus file (``tests/fuzz/corpus/<kind>/<name>``), the exception that escapes and the
approvalflow function it escapes from. While an entry is here:

- the fuzz tests tolerate a crash with the same exception escaping from the same function (so the suite stays
  green while the fix is routed), and
- the corpus replay of that file is ``xfail(strict=True)``: the moment someone fixes the crash the replay passes,
  the strict xfail fails, and the entry must be removed from this list (which also makes the fuzz tests strict
  about that crash again).

A crash that matches no entry fails the fuzz test that found it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KNOWN", "KnownCrash", "known_for_corpus", "known_signature"]


@dataclass(frozen=True)
class KnownCrash:
    """One crash found by fuzzing and not fixed yet."""

    corpus: str  #: the corpus file, relative to tests/fuzz/corpus, e.g. ``"org/alias-list.yaml"``
    exception: str  #: the exception's class name, e.g. ``"TypeError"`` (``"Timeout"`` for an unbounded run)
    #: the approvalflow function it escapes from, e.g. ``"approvalflow/org/organisation.py:_build"`` (for a ``"Timeout"``, the
    #: command or API function that ran on); a folder ending in ``/`` matches any function below it
    where: str
    reason: str  #: one line for the xfail mark and the lead's routing


#: Empty: every crash the fuzzers found in this session was fixed (see the corpus README). Add an entry when a
#: new crash is found and not fixed at once.
KNOWN: tuple[KnownCrash, ...] = ()


def known_signature(exception: str, where: str) -> KnownCrash | None:
    """The known crash with this exception escaping from this function, if any."""
    return next((k for k in KNOWN if k.exception == exception and _within(where, k.where)), None)


def _within(where: str, known: str) -> bool:
    return where == known or (known.endswith("/") and where.startswith(known))


def known_for_corpus(corpus: str) -> KnownCrash | None:
    """The known crash whose corpus file is ``corpus`` (relative to tests/fuzz/corpus), if any."""
    return next((k for k in KNOWN if k.corpus == corpus), None)
