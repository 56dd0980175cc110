"""What production installs holds no development tool; both lock files are pinned with hashes
and agree with their one declared source (`make lock`)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)")
DEV_TOOLS = {
    "pytest",
    "pytest-django",
    "pytest-xdist",
    "hypothesis",
    "schemathesis",
    "ruff",
    "mypy",
    "django-stubs",
    "djangorestframework-stubs",
    "celery-types",
    "import-linter",
    "time-machine",
    "uv",
    "playwright",
}


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(filename: str) -> dict[str, str]:
    """name -> version of each requirement in a lock file; asserts each has its hashes."""
    pins: dict[str, str] = {}
    text = (ROOT / filename).read_text()
    for block in re.split(r"\n(?=\S)", text):
        line = block.strip()
        if not line or line.startswith(("#", "-")):
            continue
        match = PIN.match(line)
        assert match, f"{filename}: not pinned with ==: {line.splitlines()[0]}"
        assert "--hash=sha256:" in block, f"{filename}: no hash for {match.group(1)}"
        pins[normal(match.group(1))] = match.group(2)
    return pins


def declared(filename: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / filename).read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[normal(match.group(1))] = match.group(2)
    return pins


def test_production_installs_no_development_tool() -> None:
    runtime = locked("requirements.txt")
    assert not DEV_TOOLS & set(runtime)
    assert {"django", "gunicorn", "django-axes", "django-csp"} <= set(runtime)


def test_the_tools_are_in_the_development_lock() -> None:
    assert set(locked("requirements-dev.txt")) >= DEV_TOOLS


def test_each_lock_pins_what_its_source_declares() -> None:
    for source, lock in (
        ("requirements.in", "requirements.txt"),
        ("requirements-dev.in", "requirements-dev.txt"),
    ):
        pins = locked(lock)
        for name, version in declared(source).items():
            assert pins.get(name) == version, f"{lock}: {name} is not {version} as {source} says"


def test_both_locks_agree_where_they_overlap() -> None:
    runtime, dev = locked("requirements.txt"), locked("requirements-dev.txt")
    assert {n: v for n, v in dev.items() if n in runtime} == {
        n: runtime[n] for n in dev if n in runtime
    }


def test_make_installs_both_locks_checking_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements.txt -r requirements-dev.txt" in makefile
    assert "$(VENV)/.installed: requirements.txt requirements-dev.txt" in makefile
