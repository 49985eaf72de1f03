"""What render.py gives every template beside gettext: byte counts in the reader's language
(CLDR units through Babel), the article-key check behind the unconfirmed mark."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from babel import Locale

from hanoinet.web.render import WHEN_STYLES, size_of, verified_key, when_text


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


AT = datetime(2026, 12, 6, 15, 26, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lang", "medium"),
    [
        ("en", "December 6, 2026, 3:26:07\u202fPM"),
        ("ar", "6 ديسمبر 2026، 3:26:07 م"),
        ("zh", "2026年12月6日 15:26:07"),
        ("fr", "6 décembre 2026, 15:26:07"),
        ("ru", "6 декабря 2026\u202fг., 15:26:07"),  # noqa: RUF001 (the Russian year mark)
        ("es", "6 de diciembre de 2026, 15:26:07"),
    ],
)
def test_dates_no_one_can_misread_in_every_language(lang: str, medium: str) -> None:
    """ISO 8601 where a date is short, the month in words where it is not: never 12/6/26."""
    locale, utc = Locale.parse(lang), ZoneInfo("UTC")
    assert when_text(AT, "short", utc, locale) == "2026-12-06 15:26 UTC"
    assert when_text(AT, "seconds", utc, locale) == "2026-12-06 15:26:07 UTC"
    assert when_text(AT, "medium", utc, locale) == medium
    long = when_text(AT, "long", utc, locale)  # the same with the zone, as CLDR writes it
    assert long != medium and "2026" in long and ("UTC" in long or "TU" in long)
    for style in WHEN_STYLES:
        assert "/" not in when_text(AT, style, utc, locale), style


def test_dates_are_in_the_readers_zone_and_an_unknown_style_is_refused() -> None:
    hanoi = ZoneInfo("Asia/Ho_Chi_Minh")
    assert when_text(AT, "short", hanoi, Locale.parse("en")) == "2026-12-06 22:26 +07"
    assert when_text(AT, "medium", hanoi, Locale.parse("fr")) == "6 décembre 2026, 22:26:07"
    with pytest.raises(ValueError, match="unknown date style 'full'"):
        when_text(AT, "full", hanoi, Locale.parse("en"))
