"""Sanctions name matching (fintech.compliance.screening.matching), in process, no database:
N subjects against M list entries (three names each: a primary and two aliases, one of them
in Cyrillic), beside a plain exact-match join (a dict of normalised names) of the same data
in the same run. `python -m bench.sanctions_match [N] [M]` (default 3,000 x 3,000, the size
of a rescreen after a list load today; issue 19's full benchmark is 100,000 x 20,000).

Target: the rescreen of the default size within 10 s on one core.
"""

from __future__ import annotations

import random
import sys
import tracemalloc

from bench.common import clock

# Names from syllables: common given names recur (as on real lists), family names vary.
GIVEN = ["ivan", "maria", "ahmed", "li", "john", "fatima", "olga", "pedro", "anna", "yusuf"]
SYLLABLES = ["ka", "ri", "mo", "ta", "ne", "lo", "vi", "sa", "du", "pe", "ro", "an", "el", "ov"]
# Latin letters to the Cyrillic ones that read alike (escaped: they look the same in code).
CYRILLIC = str.maketrans(
    "aeioptkmnrsl", "\u0430\u0435\u0438\u043e\u043f\u0442\u043a\u043c\u043d\u0440\u0441\u043b"
)


def _name(rng: random.Random) -> str:
    family = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 5)))
    middle = "".join(rng.choice(SYLLABLES) for _ in range(3))
    return (
        f"{rng.choice(GIVEN)} {middle} {family}"
        if rng.random() < 0.3
        else (f"{rng.choice(GIVEN)} {family}")
    )


def main() -> int:
    from fintech.compliance.screening.matching import EntryView, Matcher, Subject
    from fintech.compliance.screening.names import name_normalise

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    m = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    rng = random.Random(19)
    entries = []
    for i in range(m):
        names = [_name(rng), _name(rng)]
        names.append(names[0].translate(CYRILLIC))
        entries.append(
            EntryView(i, str(i), names, [name_normalise(x) for x in names], ["1960"], ["RU"])
        )
    # One subject in 100 is a listed name with a typo; the rest are random.
    subjects = []
    for i in range(n):
        name = entries[i % m].names[0][:-1] + "x" if i % 100 == 0 else _name(rng)
        subjects.append(Subject("beneficiary", i, i, name))

    tracemalloc.start()
    t0 = clock()
    index = {x: e.id for e in entries for x in e.names_normalised}
    exact = sum(1 for s in subjects if name_normalise(s.name) in index)
    t1 = clock()
    matcher = Matcher(entries, threshold=88)
    t2 = clock()
    matches = matcher.match(subjects)
    t3 = clock()
    exact_s, build_s, match_s = t1 - t0, t2 - t1, t3 - t2
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"sanctions match {n:,} subjects x {m:,} entries ({3 * m:,} names): "
        f"fuzzy {match_s:.2f} s ({n / match_s:,.0f} names/s, build "
        f"{build_s:.2f} s), {len(matches)} matches; exact join {exact_s:.3f} s, "
        f"{exact} matches; peak Python memory {peak / 2**20:.1f} MiB"
    )
    return 0 if match_s < 10 else 1


if __name__ == "__main__":
    sys.exit(main())
