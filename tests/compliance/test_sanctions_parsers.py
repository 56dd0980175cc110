"""Each published format read from its sample file; broken and foreign files refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from fintech.compliance.screening.parsers import (
    ListedParty,
    ListFileInvalid,
    parse_ofac_sdn,
    parse_opensanctions_ftm,
    parse_un_consolidated,
)
from tests.compliance.sanctions import OFAC_V1, OPENSANCTIONS, UN


def read(parser, path: Path) -> tuple[str, dict[str, ListedParty]]:
    with path.open("rb") as stream:
        parsed = parser(stream)
        parties = {p.external_id: p for p in parsed.parties}
    return parsed.published, parties


def test_ofac_sdn_individuals_and_entities_with_aliases_dates_and_countries() -> None:
    published, parties = read(parse_ofac_sdn, OFAC_V1)

    assert published == "11/28/2026"
    assert sorted(parties) == ["90001", "90002", "90003", "90005"]  # the vessel is not a party
    petrov = parties["90001"]
    assert petrov.kind == "person"
    assert petrov.names == ["Ivan Sergeyevich PETROV", "Иван Петров", "John PETROFF"]
    assert petrov.birth_dates == ["1965-03-12"]
    assert petrov.countries == ["RU"]
    horizon = parties["90002"]
    assert horizon.kind == "entity"
    assert horizon.names == ["BLUE HORIZON GENERAL TRADING LLC", "BLUE HORIZON TRADING FZE"]
    assert horizon.countries == ["AE"]
    rashid = parties["90003"]
    assert rashid.names == ["Mohammed AL-RASHID", "محمد الرشيد"]
    assert (rashid.birth_dates, rashid.countries) == (["1970"], ["SY"])


def test_un_consolidated_individuals_and_entities() -> None:
    published, parties = read(parse_un_consolidated, UN)

    assert published == "2026-12-01T18:00:03.79Z"
    karim = parties["6908001"]
    assert karim.kind == "person"
    assert karim.names == [
        "ABDUL KARIM HASSAN",
        "عبد الكريم حسن",
        "Abdul Karim Hasan",
        "Haji Karim",
    ]
    assert (karim.birth_dates, karim.countries) == (["1962"], ["AF"])
    volkova = parties["6908002"]
    # The approximate year is not kept: it must not discard a hit.
    assert (volkova.birth_dates, volkova.countries) == (["1975-06-15"], ["RU"])
    assert "Елена Волкова" in volkova.names
    ship = parties["6908100"]
    assert (ship.kind, ship.names, ship.countries) == (
        "entity",
        ["NORTHERN STAR SHIPPING COMPANY", "NSSC"],
        ["KP"],
    )


def test_opensanctions_ftm_keeps_parties_and_skips_other_schemas() -> None:
    _, parties = read(parse_opensanctions_ftm, OPENSANCTIONS)

    assert sorted(parties) == ["NK-7Qb3vSokolov", "NK-GcExports", "NK-LeCorp", "NK-RedRiverFound"]
    sokolov = parties["NK-7Qb3vSokolov"]
    assert sokolov.kind == "person"
    assert sokolov.names == ["Viktor Sokolov", "Виктор Соколов", "Victor Sokolof"]
    assert (sokolov.birth_dates, sokolov.countries) == (["1968-02-29"], ["RU"])
    assert parties["NK-GcExports"].kind == "entity"
    assert parties["NK-GcExports"].countries == ["IR"]


def test_the_content_hash_ignores_alias_order_but_not_content() -> None:
    a = ListedParty("1", "person", ["Ivan Petrov", "Vanya"], ["1965"], ["RU"])
    b = ListedParty("1", "person", ["Vanya", "Ivan Petrov"], ["1965"], ["RU"])
    c = ListedParty("1", "person", ["Ivan Petrov", "Vanya"], ["1966"], ["RU"])
    assert a.content_hash() == b.content_hash() != c.content_hash()


@pytest.mark.parametrize(
    ("parser", "path"), [(parse_ofac_sdn, OFAC_V1), (parse_un_consolidated, UN)]
)
def test_a_truncated_xml_file_is_refused(parser, path: Path) -> None:
    data = path.read_bytes()
    with pytest.raises(ListFileInvalid, match="broken or truncated"):
        list(parser(io.BytesIO(data[: len(data) * 2 // 3])).parties)


def test_a_truncated_jsonl_file_is_refused() -> None:
    data = OPENSANCTIONS.read_bytes()
    with pytest.raises(ListFileInvalid, match="line 2"):
        list(parse_opensanctions_ftm(io.BytesIO(data[: data.index(b"\n") + 40])).parties)


def test_a_file_of_another_format_is_refused() -> None:
    with pytest.raises(ListFileInvalid, match="root is <CONSOLIDATED_LIST>, not <sdnList>"):
        parse_ofac_sdn(io.BytesIO(UN.read_bytes()))
    with pytest.raises(ListFileInvalid, match="not an entity"):
        list(parse_opensanctions_ftm(io.BytesIO(OFAC_V1.read_bytes())).parties)


def test_xml_entity_expansion_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><sdnList>&a;</sdnList>'
    with pytest.raises(Exception, match=r"(?i)entit"):
        list(parse_ofac_sdn(io.BytesIO(bomb)).parties)
