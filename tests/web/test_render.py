"""What render.py gives every template beside gettext: byte counts in the reader's language
(CLDR units through Babel), the article-key check behind the unconfirmed mark."""

from __future__ import annotations

import pytest
from babel import Locale

from hanoinet.web.render import size_of, verified_key


@pytest.mark.parametrize(
    ("count", "lang", "shown"),
    [
        (0, "en", "0 bytes"),
        (1, "en", "1 byte"),
        (999, "en", "999 bytes"),
        (999, "ar", "999 بايت"),  # Arabic has no long name for a byte: the short one
        (1_000, "en", "1 kB"),
        (999_949, "en", "999.9 kB"),
        (999_999, "en", "1 MB"),  # not "1,000 kB"
        (1_500_000, "en", "1.5 MB"),
        (1_500_000, "fr", "1,5\u202fMo"),
        (1_500_000, "ru", "1,5 МБ"),
        (12_345_678_901, "en", "12.3 GB"),
        (12_345_678_901, "es", "12,3 GB"),
        (2 * 10**12, "zh", "2 TB"),
        (1_234_000 * 10**12, "en", "1,234,000 TB"),
    ],
)
def test_sizes_are_decimal_units_in_the_readers_language(count: int, lang: str, shown: str) -> None:
    assert size_of(count, Locale.parse(lang)) == shown


def test_verified_key_follows_the_convention_data_and_doubts_an_unknown_key() -> None:
    from hanoinet.convention import convention

    verified = [p.key for p in convention().provisions.values() if p.verified]
    unverified = [p.key for p in convention().provisions.values() if not p.verified]
    assert unverified and all(not verified_key(k) for k in unverified[:5])
    assert verified and all(verified_key(k) for k in verified[:5])
    assert verified_key("99(9)") is False
    assert verified_key("not a key") is False
