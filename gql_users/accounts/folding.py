"""ASCII folding used by the name searches (the ``query_field`` column and its filters)."""

from __future__ import annotations

import unicodedata


def fold_ascii(text: str) -> str:
    """NFKD-decompose, then drop what is not ASCII: "François Jürimäe" -> "Francois Jurimae"."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
