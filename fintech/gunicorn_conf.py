"""gunicorn's settings for the web process of `make run` (Procfile: `web`).

Workers sized to the machine, the usual 2 x cores + 1 (WEB_CONCURRENCY overrides it). Sync
workers: each holds one persistent database connection (settings.DATABASES' CONN_MAX_AGE).
Connections beyond the busy workers wait in the listen backlog instead of being reset, as
Django's development server (a backlog of 10) did under 100 concurrent clients.
"""

from __future__ import annotations

import os

from fintech.core.logs import default_log_format, gunicorn_logging_config
from fintech.env import env_choice, env_int, env_str


def default_workers() -> int:
    # The CPUs this process may run on (a container's or taskset's share), not the host's.
    return 2 * len(os.sched_getaffinity(0)) + 1


workers = env_int("WEB_CONCURRENCY", default_workers(), minimum=1)
worker_class = "sync"
backlog = 2048
timeout = 60
graceful_timeout = 10
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
# gunicorn's own lines (errors, the access line) through the app's formatter: JSON in
# production, with the request id and redaction (fintech/core/logs.py).
logconfig_dict = gunicorn_logging_config(
    log_format=env_choice(
        "LOG_FORMAT",
        default_log_format(env_choice("FINTECH_ENV", "local", ("local", "test", "production"))),
        ("json", "console"),
    ),
    level=env_str("LOG_LEVEL", "INFO"),
)
# gunicorn's runtime control socket is one path per user (~/.gunicorn/gunicorn.ctl): two runs on
# one machine would fight over it, and nothing here uses it.
control_socket_disable = True
