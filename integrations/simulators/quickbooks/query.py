"""The QuickBooks query language, the part the connector uses, parsed by a fixed grammar and
evaluated over the stored objects (never executed as SQL):

    SELECT * | COUNT(*) FROM <Entity>
      [WHERE <field> <op> <value> [AND ...]]      op: = < > <= >= LIKE IN
      [ORDERBY <field> [ASC|DESC]] [STARTPOSITION n] [MAXRESULTS n]

Fields are the entity's own (`DisplayName`, `DocNumber`, `Active`, `Id`, a reference's id as
`CustomerRef`, `MetaData.LastUpdatedTime`); values 'quoted strings' (\\' escapes a quote),
numbers, true/false; LIKE takes % wildcards. Keywords are case-insensitive. Name lists
(Customer, Vendor, Account, Item) answer only active objects unless the WHERE names Active,
as QuickBooks does. MAXRESULTS at most 1000 (default 100); STARTPOSITION from 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.simulators.quickbooks import faults

TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:\\.|''|[^'\\])*')|(?P<op><=|>=|!=|=|<|>)|(?P<punct>[(),*])"
    r"|(?P<word>[A-Za-z_][\w.]*)|(?P<num>-?\d+(?:\.\d+)?))"
)
# In a quoted string: \<c> is <c>, '' is '.
UNESCAPE = re.compile(r"\\(.)|''", re.DOTALL)
MAX_RESULTS = 1000
DEFAULT_RESULTS = 100


@dataclass
class Query:
    entity: str
    count: bool = False
    where: list[tuple[str, str, Any]] = field(default_factory=list)
    order_by: tuple[str, bool] | None = None  # (field, descending)
    start: int = 1
    max_results: int = DEFAULT_RESULTS


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.strip().rstrip(";")
    while position < len(text):
        found = TOKEN.match(text, position)
        if found is None or found.end() == position:
            raise faults.query_error(f"unexpected text at {position}: {text[position:][:20]!r}")
        kind = found.lastgroup or ""
        tokens.append((kind, found.group(kind)))
        position = found.end()
    return tokens


class _Reader:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.at = tokens, 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def next(self) -> tuple[str, str]:
        token = self.peek()
        self.at += 1
        return token

    def keyword(self, *words: str) -> str | None:
        kind, text = self.peek()
        if kind == "word" and text.upper() in words:
            self.at += 1
            return text.upper()
        return None

    def expect(self, *words: str) -> str:
        found = self.keyword(*words)
        if found is None:
            raise faults.query_error(f"expected {' or '.join(words)} near {self.peek()[1]!r}")
        return found

    def value(self) -> Any:
        kind, text = self.next()
        if kind == "str":
            return UNESCAPE.sub(lambda m: m.group(1) or "'", text[1:-1])
        if kind == "num":
            try:
                return Decimal(text)
            except InvalidOperation:
                raise faults.query_error(f"bad number {text}") from None
        if kind == "word" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise faults.query_error(f"a value is expected, not {text!r}")

    def integer(self) -> int:
        kind, text = self.next()
        if kind != "num" or not text.isdigit():
            raise faults.query_error(f"a whole number is expected, not {text!r}")
        return int(text)


def query_parse(text: str) -> Query:
    reader = _Reader(_tokens(text))
    reader.expect("SELECT")
    count = False
    if reader.keyword("COUNT"):
        for expected in ("(", "*", ")"):
            if reader.next()[1] != expected:
                raise faults.query_error("COUNT(*) is the only aggregate")
        count = True
    elif reader.peek()[1] == "*":
        reader.next()
    else:
        raise faults.query_error("only SELECT * and SELECT COUNT(*) are supported")
    reader.expect("FROM")
    kind, entity = reader.next()
    if kind != "word":
        raise faults.query_error("an entity name is expected after FROM")
    query = Query(entity=entity, count=count)
    if reader.keyword("WHERE"):
        while True:
            query.where.append(_condition(reader))
            if not reader.keyword("AND"):
                break
    if reader.keyword("ORDERBY", "ORDER"):
        reader.keyword("BY")
        kind, name = reader.next()
        if kind != "word":
            raise faults.query_error("a field is expected after ORDERBY")
        descending = reader.keyword("DESC", "ASC") == "DESC"
        query.order_by = (name, descending)
    if reader.keyword("STARTPOSITION"):
        query.start = max(reader.integer(), 1)
    if reader.keyword("MAXRESULTS"):
        query.max_results = reader.integer()
        if not 1 <= query.max_results <= MAX_RESULTS:
            raise faults.query_error(f"MAXRESULTS must be between 1 and {MAX_RESULTS}")
    if reader.peek()[0] != "end":
        raise faults.query_error(f"unexpected {reader.peek()[1]!r} (OR is not supported)")
    return query


def _condition(reader: _Reader) -> tuple[str, str, Any]:
    kind, name = reader.next()
    if kind != "word":
        raise faults.query_error(f"a field is expected, not {name!r}")
    if reader.keyword("LIKE"):
        value = reader.value()
        if not isinstance(value, str):
            raise faults.query_error("LIKE takes a quoted string")
        return name, "like", value
    if reader.keyword("IN"):
        if reader.next()[1] != "(":
            raise faults.query_error("IN takes a list in parentheses")
        values = [reader.value()]
        while reader.peek()[1] == ",":
            reader.next()
            values.append(reader.value())
        if reader.next()[1] != ")":
            raise faults.query_error("IN's list must end with )")
        return name, "in", values
    op_kind, op = reader.next()
    if op_kind != "op" or op == "!=":
        raise faults.query_error(f"an operator (= < > <= >= LIKE IN) is expected, not {op!r}")
    return name, op, reader.value()


def field_value(data: dict[str, Any], name: str) -> Any:
    value: Any = data
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if isinstance(value, dict) and "value" in value:  # a reference: its id
        return value["value"]
    return value


def _comparable(stored: Any, wanted: Any) -> tuple[Any, Any]:
    if isinstance(wanted, bool):
        return stored is True if stored is not None else None, wanted
    if isinstance(wanted, Decimal):
        try:
            return Decimal(str(stored)), wanted
        except InvalidOperation:
            return None, wanted
    return (None if stored is None else str(stored)), str(wanted)


def _like(stored: Any, pattern: str) -> bool:
    if stored is None:
        return False
    regex = "^" + ".*".join(re.escape(part) for part in pattern.split("%")) + "$"
    return re.match(regex, str(stored), re.IGNORECASE | re.DOTALL) is not None


def matches(data: dict[str, Any], where: list[tuple[str, str, Any]]) -> bool:
    for name, op, wanted in where:
        stored = field_value(data, name)
        if op == "like":
            if not _like(stored, wanted):
                return False
            continue
        if op == "in":
            if not any(_comparable(stored, w)[0] == _comparable(stored, w)[1] for w in wanted):
                return False
            continue
        left, right = _comparable(stored, wanted)
        if left is None:
            return False
        if not {
            "=": left == right,
            "<": left < right,
            ">": left > right,
            "<=": left <= right,
            ">=": left >= right,
        }[op]:
            return False
    return True
