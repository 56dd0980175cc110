"""Subjects against list entries: fuzzy names, then date of birth and country.

Set-wise: every entry name is normalised once (at load) and its words sorted once (here), so
`token_sort_ratio` becomes a plain `ratio` over prepared strings; each subject is then one
`rapidfuzz.process.extract` over all entry names, run in C with a score cutoff that lets it
skip hopeless pairs early, and one token-set `extract` over only the names that share a word
with it (a word index built with the matcher). The Python loop is over subjects, never over
subject x entry.

A pair scores max(token sort ratio, token set ratio): the first forgives word order and small
typos ("Petrov Ivan" ~ "Ivan Petrof"), the second a missing middle name ("Ivan Petrov" ~
"Ivan Sergeyevich Petrov"). The set ratio is taken only when both names have two words or
more, or a lone "Ali" would fully match every "Ali ..." on the list.

A name match is discarded when both sides know a date of birth and none agree (an entry's
"1965" agrees with any day in 1965), or both know countries and none is shared. Unknown on
either side never discards: missing a sanctioned party is worse than an extra review.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from fintech.compliance.screening.names import name_normalise


@dataclass(frozen=True, slots=True)
class Subject:
    type: str  # ScreeningHit.SubjectType
    id: int
    profile_id: int
    name: str
    birth_date: str = ""  # ISO "YYYY-MM-DD" when known
    country: str = ""  # ISO 3166-1 alpha-2 when known


@dataclass(frozen=True, slots=True)
class EntryView:
    id: int
    content_hash: str
    names: Sequence[str]
    names_normalised: Sequence[str]
    birth_dates: Sequence[str]
    countries: Sequence[str]


@dataclass(frozen=True, slots=True)
class Match:
    subject: Subject
    entry: EntryView
    score: int
    matched_name: str


def _sorted_words(normalised: str) -> str:
    return " ".join(sorted(normalised.split()))


def dates_agree(subject_date: str, entry_dates: Sequence[str]) -> bool:
    if not subject_date or not entry_dates:
        return True
    return any(subject_date.startswith(d) or d.startswith(subject_date) for d in entry_dates)


def countries_agree(subject_country: str, entry_countries: Sequence[str]) -> bool:
    if not subject_country or not entry_countries:
        return True
    return subject_country.upper() in entry_countries


class Matcher:
    """Built once per set of entries (a list load changes it), used for many subjects."""

    def __init__(self, entries: Iterable[EntryView], *, threshold: int) -> None:
        self.threshold = threshold
        self.entries: list[EntryView] = []
        self._choices: list[str] = []  # sorted-word names, one per (entry, name)
        self._owners: list[tuple[int, int]] = []  # (index in entries, index in its names)
        for entry in entries:
            index = len(self.entries)
            self.entries.append(entry)
            for name_index, normalised in enumerate(entry.names_normalised):
                if normalised:
                    self._choices.append(_sorted_words(normalised))
                    self._owners.append((index, name_index))
        # Blocking key for the set ratio: names of two words or more, by each of their words.
        # Exact, not a heuristic: with no word in common the set ratio is the sort ratio,
        # which the first pass already computed over every name.
        self._by_word: dict[str, list[int]] = {}
        for index, choice in enumerate(self._choices):
            words = choice.split()
            if len(words) > 1:
                for word in set(words):
                    self._by_word.setdefault(word, []).append(index)

    def __len__(self) -> int:
        return len(self.entries)

    def _scores(self, query: str) -> dict[int, int]:
        """Best score per choice index at or above the threshold."""
        best: dict[int, int] = {}
        for _, score, index in process.extract(
            query, self._choices, scorer=fuzz.ratio, score_cutoff=self.threshold, limit=None
        ):
            best[index] = int(score)
        if " " in query:
            sharing = sorted({i for word in query.split() for i in self._by_word.get(word, ())})
            for _, score, sub_index in process.extract(
                query,
                [self._choices[i] for i in sharing],
                scorer=fuzz.token_set_ratio,
                score_cutoff=self.threshold,
                limit=None,
            ):
                index = sharing[sub_index]
                best[index] = max(best.get(index, 0), int(score))
        return best

    def match(self, subjects: Iterable[Subject]) -> list[Match]:
        matches: list[Match] = []
        for subject in subjects:
            query = _sorted_words(name_normalise(subject.name))
            if not query or not self._choices:
                continue
            per_entry: dict[int, tuple[int, int]] = {}  # entry index -> (score, name index)
            for choice_index, score in self._scores(query).items():
                entry_index, name_index = self._owners[choice_index]
                if score > per_entry.get(entry_index, (-1, 0))[0]:
                    per_entry[entry_index] = (score, name_index)
            for entry_index, (score, name_index) in per_entry.items():
                entry = self.entries[entry_index]
                if not dates_agree(subject.birth_date, entry.birth_dates):
                    continue
                if not countries_agree(subject.country, entry.countries):
                    continue
                matches.append(Match(subject, entry, score, entry.names[name_index]))
        return matches
