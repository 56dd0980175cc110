"""A database that is really down, for this process: the default connection is pointed at a
127.0.0.1 port nothing listens on, so every query meets psycopg's own "connection refused"
(django.db.OperationalError), as during a PostgreSQL restart. Needs
django_db(transaction=True): the test's open transaction goes with the connection."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again on return: nothing listens there


@contextmanager
def database_down() -> Iterator[DatabaseSwitch]:
    switch = DatabaseSwitch()
    switch.down()
    try:
        yield switch
    finally:
        switch.up()


class DatabaseSwitch:
    def __init__(self) -> None:
        self.port = connection.settings_dict["PORT"]

    def down(self) -> None:
        connection.close()
        connection.settings_dict["PORT"] = str(closed_port())

    def up(self) -> None:
        connection.close()
        connection.settings_dict["PORT"] = self.port
