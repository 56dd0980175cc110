"""The worker's watchdog: a consumer that stopped taking messages is made to reconnect, and a
worker that still does not is ended for its supervisor to start again.

Why: after the Redis broker restarts, a Celery worker can reconnect and then never consume
again, with no error logged (celery/celery#8030, #8091, #10205: closed and reported again
through 2026). Nothing is lost (the database holds the work and beat's scans publish it
again), but nothing runs either until the worker is restarted.

How it tells a stall from a quiet worker: no task message received for WORKER_STALL_SECONDS
while the worker has a free slot and its queues in Redis hold messages, seen by a connection
of the watchdog's own. Then, first, the consumer's event loop is handed a connection error,
so Celery runs its own reconnect (the path that works after most broker losses); a worker
still stalled one window later is stopped (warm shutdown, then exit) so that the supervisor
(systemd, Kubernetes, the fault tests' harness) starts a fresh one.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import redis
import structlog
from celery import bootsteps, signals
from celery.worker import state as worker_state
from django.conf import settings

logger = structlog.get_logger(__name__)

# kombu's Redis transport keeps a queue's messages in one list per priority step.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)
EXIT_GRACE_SECONDS = 20
EX_SOFTWARE = 70


def queue_keys(queue_names: list[str]) -> list[str]:
    """The Redis lists that hold the messages of these queues."""
    keys = []
    for name in queue_names:
        keys.append(name)
        keys.extend(f"{name}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS)
    return keys


class ConsumerStalled(ConnectionError):
    """Raised inside the consumer's event loop: Celery treats it as a lost broker connection."""


class Watchdog:
    def __init__(self, consumer: Any, *, stall_seconds: float) -> None:
        self.consumer = consumer
        self.stall_seconds = stall_seconds
        # The queues the worker was started to consume: what it must keep taking messages from
        # (a queue cancelled over remote control counts too; the platform never cancels one).
        self.queue_names = [queue.name for queue in consumer.task_consumer.queues]
        self.last_received = time.monotonic()
        self.reconnect_asked_at: float | None = None
        self.stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-watchdog", daemon=True)

    # --- wiring -------------------------------------------------------------------------

    def start(self) -> None:
        signals.task_received.connect(self._on_received, weak=False)
        self._thread.start()

    def stop(self) -> None:
        self.stopped.set()
        signals.task_received.disconnect(self._on_received)

    def _on_received(self, **_: Any) -> None:
        self.last_received = time.monotonic()
        self.reconnect_asked_at = None

    # --- checks -------------------------------------------------------------------------

    def _run(self) -> None:
        while not self.stopped.wait(self.stall_seconds / 4):
            try:
                self.check()
            except Exception:  # the watchdog must never take the worker down by mistake
                logger.exception("worker watchdog check failed")

    def has_free_slot(self) -> bool:
        concurrency = getattr(self.consumer.pool, "num_processes", None) or 1
        return len(worker_state.reserved_requests) < concurrency

    def waiting_messages(self) -> int | None:
        """Messages waiting in this worker's queues, or None when Redis cannot be asked (a
        broker that is down is Celery's own reconnect loop's business, not a stall)."""
        client = redis.Redis.from_url(
            self.consumer.app.conf.broker_url, socket_timeout=2, socket_connect_timeout=2
        )
        try:
            with client.pipeline(transaction=False) as pipe:
                for key in queue_keys(self.queue_names):
                    pipe.llen(key)
                return sum(pipe.execute())
        except redis.RedisError:
            return None
        finally:
            client.close()

    def check(self) -> None:
        quiet_for = time.monotonic() - self.last_received
        if quiet_for < self.stall_seconds or self.consumer.task_consumer is None:
            return
        if not self.has_free_slot():
            return
        waiting = self.waiting_messages()
        if not waiting:
            self.last_received = time.monotonic()  # a quiet worker with nothing to do
            return
        if self.reconnect_asked_at is None:
            logger.warning(
                "worker consumer stalled: reconnecting",
                quiet_seconds=round(quiet_for),
                waiting_messages=waiting,
            )
            self.reconnect_asked_at = time.monotonic()
            self.consumer.controller.hub.call_soon(self._raise_stalled)
        elif time.monotonic() - self.reconnect_asked_at >= self.stall_seconds:
            logger.critical(
                "worker consumer still stalled after a reconnect: stopping for the supervisor",
                quiet_seconds=round(quiet_for),
                waiting_messages=waiting,
            )
            self.stopped.set()
            exit_for_supervisor()

    @staticmethod
    def _raise_stalled() -> None:
        raise ConsumerStalled("no message consumed while the broker holds some")


def exit_for_supervisor() -> None:
    """Warm shutdown (SIGTERM to ourselves); a process still here after the grace ends."""
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(EXIT_GRACE_SECONDS)
    os._exit(EX_SOFTWARE)


class WatchdogStep(bootsteps.StartStopStep):
    """Started with the consumer's connection (re-started with it after each reconnect)."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.watchdog: Watchdog | None = None

    def start(self, parent: Any) -> None:
        stall_seconds = settings.WORKER_STALL_SECONDS
        if stall_seconds and self.watchdog is None and parent.controller.hub is not None:
            self.watchdog = Watchdog(parent, stall_seconds=stall_seconds)
            self.watchdog.start()

    def shutdown(self, parent: Any) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()
            self.watchdog = None
