"""Attachment names, for any text: a safe base name that a header and a file system accept."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from fintech.compliance.cases.attachments import MAX_NAME, filename_sanitise


@given(st.text())
def test_any_name_becomes_a_safe_base_name(name: str) -> None:
    safe = filename_sanitise(name)
    assert 0 < len(safe) <= MAX_NAME
    assert re.fullmatch(r"[A-Za-z0-9._ -]+", safe)
    assert not safe.startswith((".", " "))
    assert filename_sanitise(safe) == safe


@given(st.text(alphabet="abcxyz_-", min_size=1, max_size=300), st.sampled_from(["pdf", "csv"]))
def test_the_extension_survives_shortening(stem: str, ext: str) -> None:
    assert filename_sanitise(f"{stem}.{ext}").endswith(f".{ext}")
