"""Sanctions list files in their published formats, read as a stream of ListedParty.

- OFAC SDN XML (`sdnList/sdnEntry`, https://ofac.treasury.gov/sdn-list-data-formats-data-schemas):
  individuals and entities; vessels and aircraft are not parties we screen names against.
- UN Security Council consolidated list XML (`CONSOLIDATED_LIST/INDIVIDUALS/INDIVIDUAL`,
  `ENTITIES/ENTITY`).
- OpenSanctions FollowTheMoney JSON lines (one entity a line; Person, Company, Organization
  and LegalEntity are kept, every other schema - addresses, sanctions, ownership - skipped).

XML is read with iterparse (defusedxml's, so entity expansion and external entities are
refused) and each entry is cleared once read: a 100 MB list never sits whole in memory.
A file that is truncated, of another format or empty raises ListFileInvalid.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml.ElementTree import iterparse

from fintech.compliance.screening.names import name_normalise
from fintech.core.errors import FieldError, ValidationFailed


class ListFileInvalid(ValidationFailed):
    def __init__(self, message: str) -> None:
        super().__init__([FieldError("file", "list_file_invalid", message)], message=message)


@dataclass(slots=True)
class ListedParty:
    external_id: str
    kind: str  # "person" | "entity" (SanctionsEntry.Kind)
    names: list[str] = field(default_factory=list)
    birth_dates: list[str] = field(default_factory=list)  # "YYYY", "YYYY-MM" or "YYYY-MM-DD"
    countries: list[str] = field(default_factory=list)  # ISO 3166-1 alpha-2

    def tidy(self) -> ListedParty:
        """Drop blanks and repeats, keeping the primary name first."""
        self.names = _unique(" ".join(n.split()) for n in self.names)
        self.birth_dates = _unique(self.birth_dates)
        self.countries = _unique(self.countries)
        return self

    def content_hash(self) -> str:
        """Changes when anything screening uses changes; not when aliases are reordered."""
        body = {
            "kind": self.kind,
            "names": sorted(self.names),
            "birth_dates": sorted(self.birth_dates),
            "countries": sorted(self.countries),
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()

    def names_normalised(self) -> list[str]:
        return [name_normalise(n) for n in self.names]


@dataclass(slots=True)
class ParsedList:
    published: str
    parties: Iterator[ListedParty]


_PUBLISHED_FORMATS = (
    re.compile(r"^(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})$"),  # OFAC: 12/02/2026
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"),  # UN, FtM: ISO date or datetime
)


def published_date(label: str) -> date | None:
    """The day a list says it was published, from the label its format carries; None when the
    label is absent or unreadable (then no age comparison is made, never a guess)."""
    for pattern in _PUBLISHED_FORMATS:
        found = pattern.match(label.strip())
        if found:
            try:
                return date(int(found["y"]), int(found["m"]), int(found["d"]))
            except ValueError:
                return None
    return None


def _unique(values: Any) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if value and value not in seen:
            seen[value] = None
    return list(seen)


# Lists name countries in English; our records hold ISO codes. A name not in this table is
# dropped (so it cannot discard a hit), never guessed.
COUNTRY_CODES = {
    "afghanistan": "AF",
    "belarus": "BY",
    "china": "CN",
    "cuba": "CU",
    "democratic people s republic of korea": "KP",
    "france": "FR",
    "germany": "DE",
    "iran": "IR",
    "iran islamic republic of": "IR",
    "iraq": "IQ",
    "korea north": "KP",
    "lebanon": "LB",
    "libya": "LY",
    "myanmar": "MM",
    "north korea": "KP",
    "russia": "RU",
    "russian federation": "RU",
    "somalia": "SO",
    "sudan": "SD",
    "syria": "SY",
    "syrian arab republic": "SY",
    "turkey": "TR",
    "turkiye": "TR",
    "united arab emirates": "AE",
    "united kingdom": "GB",
    "united kingdom of great britain and northern ireland": "GB",
    "united states": "US",
    "united states of america": "US",
    "venezuela": "VE",
    "yemen": "YE",
}


def country_code(value: str | None) -> str:
    value = (value or "").strip()
    if re.fullmatch(r"[A-Za-z]{2}", value):
        return value.upper()
    return COUNTRY_CODES.get(" ".join(re.sub(r"[^a-z]+", " ", value.lower()).split()), "")


def birth_date(value: str | None) -> str:
    """ISO prefixes as they are; OFAC's "07 Oct 1952" / "Oct 1952" / "1952". Anything
    approximate ("circa 1952", "1950 to 1952") is dropped: it must not discard a hit."""
    value = (value or "").strip()
    if re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value):
        return value
    for fmt, keep in (("%d %b %Y", "%Y-%m-%d"), ("%b %Y", "%Y-%m")):
        try:
            return time.strftime(keep, time.strptime(value, fmt))  # a date: no time zone
        except ValueError:
            continue
    return ""


# ---------------------------------------------------------------------------------------------
# XML


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(elem: Element, name: str) -> str:
    for child in elem:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def _descendants(elem: Element, *path: str) -> Iterator[Element]:
    """Elements under `elem` along local tag names, namespaces ignored."""
    if not path:
        yield elem
        return
    for child in elem:
        if _local(child.tag) == path[0]:
            yield from _descendants(child, *path[1:])


def _stream(
    stream: IO[bytes],
    *,
    label: str,
    root: str,
    record_tags: set[str],
    read: Callable[[Element], ListedParty | None],
    published_tag: str = "",
) -> ParsedList:
    events = iterparse(stream, events=("start", "end"))
    try:
        _, first = next(events)
    except (ParseError, StopIteration) as exc:
        raise ListFileInvalid(f"not a {label} file: {exc or 'empty'}") from exc
    if _local(first.tag) != root:
        raise ListFileInvalid(
            f"not a {label} file: the root is <{_local(first.tag)}>, not <{root}>"
        )

    # The UN's date is an attribute of the root; OFAC's is an element (publshInformation/
    # Publish_Date, sic) read as the stream passes it, so it is known once the entries are.
    parsed = ParsedList(published=first.get("dateGenerated", ""), parties=iter(()))

    def parties() -> Iterator[ListedParty]:
        count = 0
        try:
            for event, elem in events:
                if event != "end":
                    continue
                if published_tag and _local(elem.tag) == published_tag:
                    parsed.published = (elem.text or "").strip()
                if _local(elem.tag) not in record_tags:
                    continue
                party = read(elem)
                elem.clear()  # streaming: what is read is let go
                if party is not None and party.tidy().names:
                    count += 1
                    yield party
        except ParseError as exc:
            raise ListFileInvalid(f"{label} file is broken or truncated: {exc}") from exc
        if count == 0:
            raise ListFileInvalid(f"{label} file has no entries")

    parsed.parties = parties()
    return parsed


def _ofac_read(elem: Element) -> ListedParty | None:
    sdn_type = _text(elem, "sdnType")
    if sdn_type not in ("Individual", "Entity"):
        return None
    person = sdn_type == "Individual"

    def full(node: Element) -> str:
        return " ".join(p for p in (_text(node, "firstName"), _text(node, "lastName")) if p)

    return ListedParty(
        external_id=_text(elem, "uid"),
        kind="person" if person else "entity",
        names=[full(elem), *(full(a) for a in _descendants(elem, "akaList", "aka"))],
        birth_dates=[
            birth_date(_text(d, "dateOfBirth"))
            for d in _descendants(elem, "dateOfBirthList", "dateOfBirthItem")
        ],
        countries=[
            country_code(_text(a, "country")) for a in _descendants(elem, "addressList", "address")
        ]
        + [
            country_code(_text(n, "country"))
            for n in _descendants(elem, "nationalityList", "nationality")
        ],
    )


def parse_ofac_sdn(stream: IO[bytes]) -> ParsedList:
    return _stream(
        stream,
        label="OFAC SDN XML",
        root="sdnList",
        record_tags={"sdnEntry"},
        read=_ofac_read,
        published_tag="Publish_Date",
    )


def _un_read(elem: Element) -> ListedParty | None:
    person = _local(elem.tag) == "INDIVIDUAL"
    prefix = "INDIVIDUAL" if person else "ENTITY"
    parts = (
        ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME") if person else ("FIRST_NAME",)
    )
    dates = []
    for dob in _descendants(elem, "INDIVIDUAL_DATE_OF_BIRTH"):
        if _text(dob, "TYPE_OF_DATE") not in ("", "EXACT"):
            continue  # APPROXIMATELY / BETWEEN: too loose to discard a hit with
        dates.append(birth_date(_text(dob, "DATE")[:10] or _text(dob, "YEAR")))
    return ListedParty(
        external_id=_text(elem, "DATAID"),
        kind="person" if person else "entity",
        names=[
            " ".join(p for p in (_text(elem, part) for part in parts) if p),
            _text(elem, "NAME_ORIGINAL_SCRIPT"),
            *(_text(a, "ALIAS_NAME") for a in _descendants(elem, f"{prefix}_ALIAS")),
        ],
        birth_dates=dates,
        countries=[country_code(v.text) for v in _descendants(elem, "NATIONALITY", "VALUE")]
        + [country_code(_text(a, "COUNTRY")) for a in _descendants(elem, f"{prefix}_ADDRESS")],
    )


def parse_un_consolidated(stream: IO[bytes]) -> ParsedList:
    return _stream(
        stream,
        label="UN consolidated list XML",
        root="CONSOLIDATED_LIST",
        record_tags={"INDIVIDUAL", "ENTITY"},
        read=_un_read,
    )


# ---------------------------------------------------------------------------------------------
# OpenSanctions FollowTheMoney JSON lines

FTM_KINDS = {
    "Person": "person",
    "Company": "entity",
    "Organization": "entity",
    "LegalEntity": "entity",
}


def parse_opensanctions_ftm(stream: IO[bytes]) -> ParsedList:
    # FtM has no file header; an export's date is the newest `last_seen` (or `last_change`)
    # of its entities, known once the stream is read.
    parsed = ParsedList(published="", parties=iter(()))

    def parties() -> Iterator[ListedParty]:
        count = 0
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
                schema, props = record["schema"], record.get("properties") or {}
                external_id = str(record["id"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ListFileInvalid(
                    f"OpenSanctions FtM line {number} is not an entity (truncated?): {exc}"
                ) from exc
            for stamp in (record.get("last_seen"), record.get("last_change")):
                if isinstance(stamp, str) and stamp[:19] > parsed.published:
                    parsed.published = stamp[:19]
            if schema not in FTM_KINDS:
                continue
            party = ListedParty(
                external_id=external_id,
                kind=FTM_KINDS[schema],
                names=[*props.get("name", []), *props.get("alias", [])],
                birth_dates=[birth_date(d) for d in props.get("birthDate", [])],
                countries=[
                    country_code(c)
                    for c in [*props.get("nationality", []), *props.get("country", [])]
                ],
            ).tidy()
            if party.names:
                count += 1
                yield party
        if count == 0:
            raise ListFileInvalid("OpenSanctions FtM file has no Person or organisation entities")

    parsed.parties = parties()
    return parsed


PARSERS: dict[str, Callable[[IO[bytes]], ParsedList]] = {
    "ofac": parse_ofac_sdn,
    "un": parse_un_consolidated,
    "opensanctions": parse_opensanctions_ftm,
}
