"""The Convention as data: articles, offences, cooperation forms, grounds, periods.

Pure: reads only the packaged YAML files in ``data/``. Use :func:`convention`.
"""

from hanoinet.convention.catalog import (
    AUTHORITATIVE_TEXT,
    UNCONFIRMED,
    UNVERIFIED_ARTICLE,
    Convention,
    KeyInfo,
    SearchHit,
    convention,
)
from hanoinet.convention.model import LANGUAGES

__all__ = [
    "AUTHORITATIVE_TEXT",
    "LANGUAGES",
    "UNCONFIRMED",
    "UNVERIFIED_ARTICLE",
    "Convention",
    "KeyInfo",
    "SearchHit",
    "convention",
]
