"""The bounds a file's content can exceed while it is parsed, named in one line instead of a traceback.

Python refuses integers longer than ``sys.get_int_max_str_digits()`` digits (4,300 by default) and
nesting deeper than its recursion limit; a stack file, an outputs file or a report never needs either.
"""

from __future__ import annotations

import sys

INT_DIGITS_MAX = sys.get_int_max_str_digits() or 4300


def parse_bound_problem(err: BaseException) -> str | None:
    """Which bound a parser hit (a number too long, nesting too deep), or None for any other error."""
    if isinstance(err, RecursionError):
        return f"it nests deeper than can be read (about {sys.getrecursionlimit():,} levels)"
    if isinstance(err, ValueError) and "integer string conversion" in str(err):
        return f"it holds a number longer than {INT_DIGITS_MAX:,} digits"
    return None
