"""`make run`: migrate, load demo data, make the operator login, then start web, worker and beat.

The processes are the Procfile's: web is gunicorn (fintech/gunicorn_conf.py), worker and beat
Celery's. FINTECH_DEVSERVER=1 (`make run-dev`) runs Django's development server as web instead.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections
from honcho.environ import parse_procfile
from honcho.manager import Manager
from honcho.printer import Printer

from fintech.env import env_bool

OPERATOR_USERNAME = "ops"
# Django's development server: one process, a listen backlog of 10; for code changes, not load.
DEVSERVER_COMMAND = ".venv/bin/python manage.py runserver 127.0.0.1:${PORT:-8000} --noreload"


def platform_processes(*, devserver: bool) -> dict[str, str]:
    """Name -> shell command of each process `make run` starts (the Procfile's)."""
    procfile = parse_procfile((settings.BASE_DIR / "Procfile").read_text())
    processes = dict(procfile.processes)
    if devserver:
        processes["web"] = DEVSERVER_COMMAND
    return processes


def _operator_password() -> str:
    """The local operator password: from OPERATOR_PASSWORD, else generated once into .data/."""
    if os.environ.get("OPERATOR_PASSWORD"):
        return os.environ["OPERATOR_PASSWORD"]
    path = settings.DATA_DIR / "operator-login.json"
    if path.exists():
        return str(json.loads(path.read_text())["password"])
    password = secrets.token_urlsafe(12)
    path.write_text(json.dumps({"username": OPERATOR_USERNAME, "password": password}))
    path.chmod(0o600)
    return password


class Command(BaseCommand):
    help = "Prepare the database and demo data, then run web, worker and beat together."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-start", action="store_true", help="prepare only")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args: Any, no_start: bool, port: int, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        call_command("demo_data")
        password = _operator_password()
        user_model = get_user_model()
        operator, _ = user_model.objects.get_or_create(
            username=OPERATOR_USERNAME,
            defaults={"is_staff": True, "is_superuser": True, "email": "ops@example.com"},
        )
        if settings.PRODUCTION:
            raise SystemExit("platform_run is for local runs; use gunicorn/celery in production")
        operator.set_password(password)
        operator.is_staff = operator.is_superuser = True
        operator.save()
        operator.groups.add(*Group.objects.filter(name="admin"))
        devserver = env_bool("FINTECH_DEVSERVER", False)
        web = "Django's development server" if devserver else "gunicorn"
        banner = (
            "\n" + "=" * 64 + "\n"
            f"  Operator console: http://127.0.0.1:{port}/admin/\n"
            f"  Login:            {OPERATOR_USERNAME} / {password}\n"
            f"  API docs:         http://127.0.0.1:{port}/api/v1/docs/\n"
            f"  Health:           http://127.0.0.1:{port}/health/\n"
            f"  Web server:       {web}\n"
            "  Stop with Ctrl-C (stops web, worker, beat and the embedded servers)\n"
            + "=" * 64
            + "\n"
        )
        self.stdout.write(banner)
        if no_start:
            return
        sys.stdout.flush()
        # The children open their own; this process only watches them from here on.
        connections.close_all()
        env = dict(os.environ, PORT=str(port), PYTHONUNBUFFERED="1")
        # The demo's books: the worker connects the platform to the Xero sandbox once the web
        # server answers (integrations/connectors/accounting/xero/demo.py).
        env.setdefault("XERO_SANDBOX_AUTOCONNECT", "1")
        # And its CRM: connected to the CRM sandbox, which then shows the customers' lifecycle
        # (integrations/connectors/crm/hubspot/demo.py).
        env.setdefault("HUBSPOT_SANDBOX_AUTOCONNECT", "1")
        # And a demo business customer's books to the QuickBooks sandbox
        # (integrations/connectors/accounting/quickbooks/demo.py).
        env.setdefault("QUICKBOOKS_SANDBOX_AUTOCONNECT", "1")
        # honcho's manager, as `honcho start` would run the Procfile: Ctrl-C (or SIGTERM) stops
        # every process, and so does any one of them exiting.
        manager = Manager(Printer(sys.stdout))
        for name, command in platform_processes(devserver=devserver).items():
            manager.add_process(name, command, env=env, cwd=str(settings.BASE_DIR))
        manager.loop()
        sys.exit(manager.returncode)
