"""The QuickBooks query language's parser and matcher (pure): any string quoted as Intuit
escapes it reads back as itself, and finds exactly the objects holding it."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from integrations.simulators.quickbooks.faults import Fault
from integrations.simulators.quickbooks.query import matches, query_parse

names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)


def quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@given(name=names, other=names)
@example(name="a\\b'c", other="a\\\\b'c")
def test_a_quoted_name_reads_back_as_itself_and_matches_only_itself(name: str, other: str) -> None:
    query = query_parse(f"select * from Customer where DisplayName = {quoted(name)} maxresults 5")
    assert query.entity == "Customer"
    assert query.where == [("DisplayName", "=", name)]
    assert query.max_results == 5
    assert matches({"DisplayName": name}, query.where)
    assert matches({"DisplayName": other}, query.where) == (other == name)


@given(prefix=st.text("ab%", max_size=4), value=st.text("ab", max_size=6))
def test_like_is_a_wildcard_match(prefix: str, value: str) -> None:
    import re

    query = query_parse(f"SELECT * FROM Vendor WHERE DisplayName LIKE {quoted(prefix)}")
    expected = re.fullmatch(".*".join(map(re.escape, prefix.split("%"))), value) is not None
    assert matches({"DisplayName": value}, query.where) == expected


def test_references_numbers_and_booleans() -> None:
    query = query_parse(
        "select * from Bill where VendorRef = '201' and TotalAmt >= 10.5 and Active = true "
        "and Id in ('1', '2') orderby TxnDate desc startposition 3"
    )
    bill = {"VendorRef": {"value": "201"}, "TotalAmt": 12, "Active": True, "Id": "2"}
    assert matches(bill, query.where)
    assert not matches({**bill, "TotalAmt": 10}, query.where)
    assert query.order_by == ("TxnDate", True)
    assert query.start == 3


@pytest.mark.parametrize(
    "statement",
    [
        "delete from Customer",
        "select Id from Customer",
        "select * from Customer where A = 1 or B = 2",
        "select * from Customer where A != 1",
        "select * from Customer where A = 'unterminated",
        "select * from Customer maxresults 1001",
        "select * from Customer where DisplayName = Name",
    ],
)
def test_anything_else_is_a_query_parser_error(statement: str) -> None:
    with pytest.raises(Fault) as refused:
        query_parse(statement)
    assert refused.value.code == "4000"
