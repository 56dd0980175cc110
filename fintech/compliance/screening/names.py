"""Name normalisation for matching: one function, idempotent, ASCII out.

Transliteration (anyascii) turns "Владимир" into "Vladimir" and Arabic script into its Latin
reading, so a list's alias in any script meets the customer's Latin spelling. Word order is
left to the scorers (token ratios); here only case, punctuation and legal-form words go.
"""

from __future__ import annotations

import re

from anyascii import anyascii

# Words that say what kind of body a name is, not which: "Acme Ltd" is "Acme Limited".
LEGAL_FORM_WORDS = frozenset(
    {"ltd", "limited", "llc", "inc", "incorporated", "plc", "gmbh", "corp", "corporation"}
)
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def name_normalise(name: str) -> str:
    """Lower-case ASCII words separated by single spaces, legal-form words dropped."""
    ascii_name = _NOT_ALNUM.sub(" ", anyascii(name or "").lower())
    return " ".join(word for word in ascii_name.split() if word not in LEGAL_FORM_WORDS)
