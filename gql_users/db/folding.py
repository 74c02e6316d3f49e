"""ASCII folding used by the name searches: the models fill the ``query_field`` column with it
and the core folds filter values the same way."""

from __future__ import annotations

import unicodedata


def fold_ascii(text: str) -> str:
    """NFKD-decompose, then drop what is not ASCII: "François Jürimäe" -> "Francois Jurimae"."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
