"""Texts the core makes for people (findings, clock reminders, case titles): an English
template with its parameters, so that each reader gets it in their language.

``str(text)`` is the English sentence the CLI, the API and JSON output give, exactly as the
core always wrote it; the web desk translates the template (``web/texts.py``) and shows each
parameter in the reader's language by its kind:

- ``State(code)``, ``States(codes)``: a State's name (CLDR, six languages), with its code;
- ``FormTitle(title)``: a form of cooperation's title, lower case inside a sentence;
- ``Codes(vocabulary, values)``: codes the web names from its vocabularies (channels ...);
- ``Languages(codes)``: ISO 639-1 language codes, named in the reader's language;
- ``Field(pointer)``: a JSON pointer into a request, shown as the field's label;
- ``Data(text)``: English data kept as it is (a domestic-law profile's offence name, a
  validator's message), marked English on the page;
- a nested ``Text``: a fixed phrase, itself translated;
- anything else (a number, a date, an article key, a value someone typed): as it is.

Templates are marked ``t("...")`` (``N_("...")`` for a bare phrase), so the catalogs' extractor
finds them (``web/catalogs.py``). Pure: no web, no catalogs here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

_INVISIBLE = {
    c: f"\\u{c:04X}"
    for c in (
        *range(0x00, 0x09),
        *range(0x0B, 0x20),
        *range(0x7F, 0xA0),
        0x061C,
        0x200E,
        0x200F,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    )
}
"""Control characters, and those that change the direction of text (bidi embeddings,
overrides, isolates and marks), as visible escapes (``\\u202E``)."""


def visible(value: str) -> str:
    """``value`` with every control character shown as an escape: in a message or a line of
    plain output, a value someone wrote cannot reorder the text around it (a right-to-left
    override), move the cursor or colour a terminal."""
    return value.translate(_INVISIBLE)


def N_(message: str) -> str:
    """Mark an English phrase for the catalogs; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Text:
    template: str
    """English, with ``%(name)s`` placeholders; a catalog's msgid."""
    params: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))

    def __str__(self) -> str:
        if not self.params:
            return self.template
        return self.template % {
            k: str(v) if isinstance(v, Text) else visible(str(v)) for k, v in self.params.items()
        }

    def __hash__(self) -> int:
        return hash((self.template, tuple(sorted((k, str(v)) for k, v in self.params.items()))))


def t(template: str, **params: Any) -> Text:
    """A text to translate where it is shown, with its parameters."""
    return Text(template, MappingProxyType(params))


@dataclass(frozen=True)
class State:
    """A State: its English name, or (``named=False``) its code where the English sentence
    has always given the code; the web gives its name in the reader's language either way."""

    code: str
    named: bool = True

    def __str__(self) -> str:
        from hanoinet.registry.participants import participant

        return participant(self.code).name() if self.named else self.code


@dataclass(frozen=True)
class States:
    """Several States, each "Name (XA)" (or only its name), joined by "and"."""

    codes: tuple[str, ...]
    with_codes: bool = True

    def __str__(self) -> str:
        from hanoinet.registry.participants import participant

        return " and ".join(
            f"{participant(c).name()} ({c})" if self.with_codes else participant(c).name()
            for c in self.codes
        )


@dataclass(frozen=True)
class FormTitle:
    """A form of cooperation's title, in lower case inside a sentence."""

    title: str

    def __str__(self) -> str:
        return self.title.lower()


@dataclass(frozen=True)
class Codes:
    """Codes of one vocabulary (``channel`` ...), joined by commas."""

    vocabulary: str
    values: tuple[str, ...]

    def __str__(self) -> str:
        return ", ".join(self.values)


@dataclass(frozen=True)
class Languages:
    values: tuple[str, ...]

    def __str__(self) -> str:
        return ", ".join(self.values)


@dataclass(frozen=True)
class Field:
    pointer: str

    def __str__(self) -> str:
        return self.pointer or "/"


@dataclass(frozen=True)
class Data:
    text: str

    def __str__(self) -> str:
        return self.text
