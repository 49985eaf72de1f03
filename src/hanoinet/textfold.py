"""Text folded for matching and sorting as a reader expects: case and accents ignored.

"Côte d'Ivoire" sorts with C, and "denonciation" finds "Dénonciation".
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Casefolded, without combining marks, trimmed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).strip()
