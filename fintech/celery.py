"""The Celery application; settings come from Django's CELERY_* settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fintech.settings")

# Every task retries transient database errors with backoff (fintech/core/task_base.py).
app = Celery("fintech", task_cls="fintech.core.task_base:TransientRetryTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
