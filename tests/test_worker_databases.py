"""The test suite's own PostgreSQL set-up: under pytest-xdist each worker empties a database
of its own (``tests.conftest.postgres_url``). Were two workers given one database, each
would drop the other's tables mid-test, and the failures would come and go."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.conftest import POSTGRES_URL, postgres_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="PATCHDESK_TEST_POSTGRES_URL is not set"),
]


def test_each_worker_gets_a_database_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    assert POSTGRES_URL
    given = make_url(POSTGRES_URL)
    # Worker names of this process's own (so that two runs on one server never meet).
    workers = [f"gwmeta{os.getpid()}x{n}" for n in range(2)]
    try:
        for worker in workers:
            monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
            url = make_url(postgres_url.__wrapped__())  # (not the process's cached answer)
            assert url.database == f"{given.database}_{worker}"
            assert url.set(database=given.database) == given  # only the name differs
            engine = create_engine(url)
            try:
                with engine.connect() as connection:  # it exists, and is the one connected to
                    assert connection.scalar(text("SELECT current_database()")) == url.database
            finally:
                engine.dispose()
            assert make_url(postgres_url.__wrapped__()) == url  # found again, not re-made
        monkeypatch.delenv("PYTEST_XDIST_WORKER")
        assert postgres_url.__wrapped__() == POSTGRES_URL  # one process: the given database
    finally:
        admin = create_engine(given, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for worker in workers:
                name = f"{given.database}_{worker}"
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
