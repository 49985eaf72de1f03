"""Identifiers: each one checked by its kind, and an IP address that a provider cannot resolve.

An identifier is free text (as ``hanoinet.request/1`` has always allowed) or typed
(``Identifier``: IP address, account, e-mail, telephone, domain, wallet). A typed one is
checked by its kind; these are rules of the request format, not of the Convention, and their
findings say so (``basis``). The one rule of practice: an IP address names a subscriber only
together with the moment it was used and that moment's time zone (addresses are reassigned,
and shared behind one address by port), so an IP address without them is a warning, typed
or written as bare text.

Written here rather than taken from a library: the standard library checks IP addresses
(``ipaddress``), domain names (the ``idna`` codec) and time zones (``zoneinfo``); the
e-mail, telephone and wallet rules are deliberately loose shapes (a provider resolves the
rest), for which a dependency would be more than the rule.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from functools import cache

from hanoinet.law.document import DataPeriod, Identifier, RequestDocument
from hanoinet.law.findings import Finding
from hanoinet.texts import N_, Data, Text, t

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_TELEPHONE = re.compile(r"^\(?\+?\d[\d ().\-/]*$")
"""Digits in any script, with the usual separators and a leading + (or (+); an extension
after it is read apart (``_EXTENSION``)."""
_EXTENSION = re.compile(r"\s*(?:ext\.?|x|#)\s*\d+$", re.IGNORECASE)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_WALLET = re.compile(r"^[A-Za-z0-9:._\-]{8,}$")


def check_identifiers(doc: RequestDocument) -> Iterator[Finding]:
    """Findings on the identifiers of every person and data item, and on the data periods."""
    for i, person in enumerate(doc.persons):
        for j, identifier in enumerate(person.identifiers):
            yield from _check(identifier, f"/persons/{i}/identifiers/{j}")
    for i, item in enumerate(doc.data):
        for j, identifier in enumerate(item.identifiers):
            yield from _check(identifier, f"/data/{i}/identifiers/{j}")
        if item.period is not None:
            yield from _check_period(item.period, f"/data/{i}/period")


def _check(identifier: str | Identifier, where: str) -> Iterator[Finding]:
    if isinstance(identifier, str):
        if _ip(identifier.strip()) is not None:
            yield _ip_needs_time(where, identifier.strip())
        return
    value = (identifier.value or "").strip()
    if not value:
        yield Finding(
            "identifier_value_missing",
            "error",
            None,
            f"{where}/value",
            t("Give the identifier itself: the address, account, number or name"),
            basis="format",
        )
        return
    kind = identifier.kind
    if kind is None or kind == "other":
        return
    problem = _problem(kind, value)
    if problem is not None:
        yield Finding(
            "identifier_invalid", "error", None, f"{where}/value", problem, basis="format"
        )
        return
    if kind == "ip":
        yield from _check_time(identifier, where, value)
    elif kind in ("account", "wallet") and not (identifier.service or "").strip():
        yield Finding(
            "identifier_service_missing",
            "warning",
            None,
            f"{where}/service",
            t(
                "Name the service the account is on, or the network of the wallet: "
                "'%(value)s' alone may exist on many",
                value=Data(value),
            ),
            basis="good practice",
        )


def _problem(kind: str, value: str) -> Text | None:
    """What is wrong with ``value`` as an identifier of ``kind``, in words; None if nothing."""
    if kind == "ip" and _ip(value) is None:
        return t(
            "'%(value)s' is not an IP address; write it as 203.0.113.7 or 2001:db8::7, "
            "and the port apart",
            value=Data(value),
        )
    if kind == "email" and not _EMAIL.match(value):
        return t(
            "'%(value)s' is not an e-mail address; write it as name@example.org",
            value=Data(value),
        )
    number = _EXTENSION.sub("", value)
    if kind == "telephone" and not (
        _TELEPHONE.match(number) and sum(c.isdigit() for c in number) >= 5
    ):
        return t(
            "'%(value)s' is not a telephone number; write it with its country code, "
            "e.g. +84 24 1234 5678",
            value=Data(value),
        )
    if kind == "domain" and not _is_domain(value):
        return t(
            "'%(value)s' is not a domain name; write it as example.org, without http:// or a path",
            value=Data(value),
        )
    if kind == "wallet" and not _WALLET.match(value):
        return t(
            "'%(value)s' is not a wallet address: it should be one word of letters and digits",
            value=Data(value),
        )
    return None


def _check_time(identifier: Identifier, where: str, value: str) -> Iterator[Finding]:
    """An IP address needs the moment it was used, and that moment's time zone."""
    zone = (identifier.time_zone or "").strip()
    if zone and not is_time_zone(zone):
        yield Finding(
            "time_zone_unknown",
            "error",
            None,
            f"{where}/time_zone",
            t(
                "'%(zone)s' is not a time zone; write it as the IANA database names it, "
                "e.g. UTC or Asia/Ho_Chi_Minh",
                zone=Data(zone),
            ),
            basis="format",
        )
        return
    stamp = identifier.timestamp
    if stamp is None:
        yield _ip_needs_time(f"{where}/timestamp", value)
    elif stamp.tzinfo is None and not zone:
        yield Finding(
            "ip_time_zone_missing",
            "warning",
            None,
            f"{where}/time_zone",
            t(
                "Give the time zone of %(time)s, or write the time with its offset "
                "(2026-03-01T14:30:00+07:00): an hour's difference names another subscriber",
                time=Data(stamp.isoformat()),
            ),
            basis="good practice",
        )


def _ip_needs_time(where: str, value: str) -> Finding:
    return Finding(
        "ip_without_time",
        "warning",
        None,
        where,
        t(
            "The IP address %(value)s needs the date and time it was used, with the time "
            "zone (and the port if the address is shared): without them a provider cannot "
            "say who used it",
            value=Data(value),
        ),
        basis="good practice",
    )


def _check_period(period: DataPeriod, where: str) -> Iterator[Finding]:
    if period.start and period.end and period.end < period.start:
        yield Finding(
            "data_period_reversed",
            "error",
            None,
            f"{where}/end",
            t(
                "The data period ends (%(end)s) before it starts (%(start)s)",
                end=period.end,
                start=period.start,
            ),
            basis="format",
        )


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _is_domain(value: str) -> bool:
    name = value.rstrip(".")
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return False
    labels = ascii_name.split(".")
    return len(labels) >= 2 and len(ascii_name) <= 253 and all(_LABEL.match(x) for x in labels)


@cache
def _time_zones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    """A name of the IANA time zone database (a folder such as ``Europe`` is not one)."""
    return name in _time_zones()


def written(identifier: str | Identifier) -> str:
    """An identifier as one line, the same in every language: the value, an IP address with
    its port in the usual notation (``203.0.113.7:443``, ``[2001:db8::7]:443``), the service
    in brackets, and the moment in ISO 8601 with its time zone. Its kind is a word each
    reader's language names (``KIND_NAMES``)."""
    if isinstance(identifier, str):
        return identifier
    text = (identifier.value or "").strip()
    if identifier.port is not None:
        text = f"[{text}]:{identifier.port}" if ":" in text else f"{text}:{identifier.port}"
    service = (identifier.service or "").strip()
    if service:
        text += f" ({service})"
    if identifier.timestamp is not None:
        zone = (identifier.time_zone or "").strip()
        text += f" · {identifier.timestamp.isoformat()}" + (f" {zone}" if zone else "")
    return text


KIND_NAMES = {
    "ip": N_("IP address"),
    "account": N_("Account"),
    "email": N_("E-mail address"),
    "telephone": N_("Telephone number"),
    "domain": N_("Domain name"),
    "wallet": N_("Wallet"),
    "other": N_("Identifier"),
}
"""The name of each kind of identifier (English; each surface says it in its language)."""


def kind_name(identifier: str | Identifier) -> str:
    """The English name of what ``identifier`` is: its kind, or "Identifier" for free text."""
    kind = None if isinstance(identifier, str) else identifier.kind
    return KIND_NAMES[kind or "other"]
