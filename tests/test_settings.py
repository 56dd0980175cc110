"""Configuration comes from the environment; a bad value stops start-up naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def start_django(**overrides: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://root@127.0.0.1/x"),
        ("DATABASE_URL", "postgres://127.0.0.1:notaport/x"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("DJANGO_DEBUG", "maybe"),
        ("DATABASE_CONN_MAX_AGE", "-5"),
        ("FINTECH_ENV", "staging"),
        ("QUOTE_TTL_SECONDS", "soon"),
    ],
)
def test_a_bad_setting_stops_startup_naming_the_variable(variable: str, value: str) -> None:
    result = start_django(**{variable: value})
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert variable in result.stderr


def test_production_mode_requires_real_secrets() -> None:
    env = {"FINTECH_ENV": "production", "DJANGO_SECRET_KEY": ""}
    result = start_django(**env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr

    result = start_django(FINTECH_ENV="production", DJANGO_SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr


def test_production_mode_starts_with_its_secrets() -> None:
    result = start_django(
        FINTECH_ENV="production", DJANGO_SECRET_KEY="s" * 50, FIELD_ENCRYPTION_KEYS="k" * 32
    )
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "required"),
    [
        ({"FINTECH_ENV": "production"}, "True"),
        ({"FINTECH_ENV": "production", "STAFF_2FA_REQUIRED": "off"}, "False"),
        ({"FINTECH_ENV": "local"}, "False"),
        ({"FINTECH_ENV": "local", "STAFF_2FA_REQUIRED": "on"}, "True"),
    ],
)
def test_staff_two_factor_is_required_in_production_unless_switched_off(
    overrides: dict[str, str], required: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.pop("STAFF_2FA_REQUIRED", None)
    env.update(DJANGO_SECRET_KEY="s" * 50, FIELD_ENCRYPTION_KEYS="k" * 32, **overrides)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.STAFF_2FA_REQUIRED)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == required
