"""The Celery application; settings come from Django's CELERY_* settings."""

import os

from celery import Celery, signals

from fintech.core import logs
from fintech.core.worker_watchdog import WatchdogStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fintech.settings")

# Every task retries transient database errors with backoff (fintech/core/task_base.py).
app = Celery("fintech", task_cls="fintech.core.task_base:TransientRetryTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# A consumer that stops taking messages after a broker restart is made to reconnect, or the
# worker ends for its supervisor to restart (fintech/core/worker_watchdog.py).
app.steps["consumer"].add(WatchdogStep)

# Logs (fintech/core/logs.py): structlog over the standard library in every process that
# imports fintech; the worker keeps Django's LOGGING instead of Celery's own handlers; the
# request id rides in each message's headers from the publisher into the task's log lines.
logs.configure_structlog()
signals.setup_logging.connect(logs.celery_setup_logging, weak=False)
signals.before_task_publish.connect(logs.celery_before_task_publish, weak=False)
signals.task_prerun.connect(logs.celery_task_prerun, weak=False)
signals.task_postrun.connect(logs.celery_task_postrun, weak=False)
