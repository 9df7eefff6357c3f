"""`LIKE` patterns matched without backtracking.

QBO's LIKE knows one wildcard, `%` (any run of characters); everything else is literal
and the comparison ignores case. A pattern `head%m1%m2%...%tail` matches a value that
starts with `head`, ends with `tail` and holds `m1`, `m2`, ... in order in between;
taking the leftmost occurrence of each middle segment is always right (a later one
only leaves less room for the rest), so one pass of `str.find` per segment decides it:
O(len(value) x len(pattern)) at worst, never the exponential blow-up of a regex
`.*a.*a.*...b` on a long value.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["like_matcher"]


def like_matcher(pattern: str) -> Callable[[str], bool]:
    """A case-insensitive test of a string against the LIKE `pattern`."""
    parts = pattern.casefold().split("%")
    if len(parts) == 1:
        whole = parts[0]
        return lambda value: value.casefold() == whole
    head, *middle, tail = parts
    fixed = len(head) + len(tail)
    segments = [part for part in middle if part]

    def match(value: str) -> bool:
        text = value.casefold()
        if len(text) < fixed or not text.startswith(head) or not text.endswith(tail):
            return False
        at, end = len(head), len(text) - len(tail)
        for segment in segments:
            found = text.find(segment, at, end)
            if found < 0:
                return False
            at = found + len(segment)
        return True

    return match
