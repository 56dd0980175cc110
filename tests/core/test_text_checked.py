"""text_checked: the one check of free-text notes, reasons and descriptions."""

import pytest

from fintech.core.errors import ValidationFailed
from fintech.core.safe_input import text_checked


def test_text_is_stripped_and_kept() -> None:
    assert text_checked("  payroll  ", field="note", max_length=10) == "payroll"
    assert text_checked(None, field="note", max_length=10, required=False) == ""


@pytest.mark.parametrize(
    ("value", "required", "code"),
    [
        ("   ", True, "required"),
        ("x" * 11, True, "too_long"),
        ("a\x00b", False, "invalid_characters"),
    ],
)
def test_bad_text_is_refused_naming_the_field(value: str, required: bool, code: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        text_checked(value, field="reason", max_length=10, required=required, missing="say why")
    assert [(f.field, f.code) for f in refused.value.fields] == [("reason", code)]
