"""The CLI frame: exit codes, the global --db option, db upgrade."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchdesk.cli import main


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


def test_db_upgrade_then_no_op(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert run(["--db", url, "db", "upgrade"]) == 0
    assert "from empty to" in capsys.readouterr().out
    assert run(["--db", url, "db", "upgrade"]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_unknown_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["frobnicate"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_unsupported_database_url_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--db", "mysql://x/y", "audit", "verify"]) == 2
    err = capsys.readouterr().err
    assert "unsupported database 'mysql'" in err
    assert "Traceback" not in err


def test_unreachable_postgres_is_a_runtime_failure(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    assert run(["--db", url, "audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("patchdesk: cannot open postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert "Traceback" not in err


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("db", "policy", "inventory", "audit", "demo"):
        assert command in out
