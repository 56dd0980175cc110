"""The name normaliser, for any text: ASCII out, idempotent, single spaces, order kept out."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fintech.compliance.screening.names import name_normalise


@given(st.text())
def test_it_is_idempotent_and_ascii(name: str) -> None:
    once = name_normalise(name)
    assert once.isascii()
    assert name_normalise(once) == once
    assert once == once.strip()
    assert "  " not in once
    assert once == once.lower()


@given(st.lists(st.text(alphabet=st.characters(categories=["L"]), min_size=1), min_size=1))
def test_word_order_does_not_change_the_words(words: list[str]) -> None:
    forward = name_normalise(" ".join(words)).split()
    backward = name_normalise(" ".join(reversed(words))).split()
    assert sorted(forward) == sorted(backward)


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126)))
def test_ascii_case_does_not_matter(name: str) -> None:
    assert name_normalise(name.upper()) == name_normalise(name.lower())
