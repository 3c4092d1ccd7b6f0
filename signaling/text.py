"""What text the desk accepts, decided once for every edge.

WebSocket message fields (:mod:`signaling.messages`), REST bodies
(``server/api/body.py``) and tokens all pass through :func:`text_problem`:

* only Unicode scalar values: a lone surrogate (``"\\ud800"``, which JSON can
  spell) cannot be encoded as UTF-8, so it would fail later in Redis, a log or
  a JWT library — it is refused here instead;
* no control characters: C0 (U+0000–U+001F), DEL and C1 (U+007F–U+009F);
* single-line fields (names, reasons, codes) also refuse the Unicode line and
  paragraph separators (U+2028, U+2029), since some viewers break lines there;
* multi-line fields (chat, notes, comments, SDP) accept tab, line feed and
  carriage return, and nothing else from the list above.

docs/protocol.md states the same rule for client authors.
"""

from __future__ import annotations

import re

_REFUSED_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_REFUSED_IN_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(value: str, *, lines: bool = False) -> str | None:
    """Why ``value`` is not acceptable text (a short phrase), or None when it is."""
    found = (_REFUSED_IN_LINES if lines else _REFUSED_IN_LINE).search(value)
    if found is None:
        return None
    if "\ud800" <= found.group() <= "\udfff":
        return "is not valid Unicode text"
    return "contains control characters"
