"""The remediation log's key file: where it is, how it is made, what is refused."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from patchdesk.cli import main
from patchdesk.settings import load_settings
from patchdesk.store.log_key import (
    AuditKeyError,
    Keyring,
    create_key_file,
    default_key_path,
    fingerprint_of,
    read_key_file,
)

HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


def _key_file(path: Path, content: str, mode: int = 0o600) -> Path:
    path.write_text(content)
    path.chmod(mode)
    return path


def test_a_new_key_file_is_0600_in_a_0700_directory(tmp_path: Path) -> None:
    path = tmp_path / "state" / "patchdesk" / "audit.key"
    key, created = create_key_file(path)
    assert created
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert read_key_file(path) == key
    assert len(key.secret) == 32
    assert key.fingerprint == fingerprint_of(key.secret)
    assert key.secret.hex() not in key.fingerprint
    assert key.secret.hex() not in repr(key)
    assert [name for name in os.listdir(path.parent)] == ["audit.key"]  # no temporary left


def test_an_existing_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = _key_file(tmp_path / "audit.key", HEX + "\n")
    key, created = create_key_file(path)
    assert not created
    assert key.secret == bytes.fromhex(HEX)
    assert path.read_text() == HEX + "\n"


def test_concurrent_creators_share_one_key(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    keys = []
    barrier = threading.Barrier(6)

    def create() -> None:
        barrier.wait()
        keys.append(create_key_file(path))

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({key for key, _created in keys}) == 1
    assert [created for _key, created in keys].count(True) == 1
    assert read_key_file(path) == keys[0][0]


def test_comments_and_blank_lines_are_allowed(tmp_path: Path) -> None:
    path = _key_file(tmp_path / "audit.key", f"# ours\n\n  {HEX}  \n# end\n")
    key = read_key_file(path)
    assert key is not None
    assert key.secret == bytes.fromhex(HEX)


def test_a_missing_key_file_is_none(tmp_path: Path) -> None:
    assert read_key_file(tmp_path / "audit.key") is None


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o620, 0o644])
def test_a_key_file_open_to_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = _key_file(tmp_path / "audit.key", HEX + "\n", mode)
    with pytest.raises(AuditKeyError) as refused:
        read_key_file(path)
    assert str(refused.value) == (
        f"audit key file {path} is open to group or others (mode {mode:04o}): chmod 600 {path}"
    )


@pytest.mark.parametrize(
    "content",
    ["", "\n# only a comment\n", HEX[:-2], HEX + "00", HEX.upper(), f"{HEX}\n{HEX}\n", "zz" * 32],
)
def test_a_malformed_key_file_is_refused(tmp_path: Path, content: str) -> None:
    path = _key_file(tmp_path / "audit.key", content)
    with pytest.raises(AuditKeyError) as refused:
        read_key_file(path)
    assert str(refused.value) == (
        f"audit key file {path} is malformed: it must hold one key, 64 hexadecimal digits "
        "(lines starting with # aside)"
    )


def test_a_binary_key_file_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    path.write_bytes(os.urandom(32) + b"\xff")
    path.chmod(0o600)
    with pytest.raises(AuditKeyError, match="is malformed"):
        read_key_file(path)


def test_a_directory_is_no_key_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    path.mkdir(mode=0o700)
    with pytest.raises(AuditKeyError, match="is not a regular file"):
        read_key_file(path)


def test_a_keyring_makes_its_key_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    keyring = Keyring.open(path)
    assert keyring.key is None
    assert not path.exists()
    key = keyring.for_keying()
    assert keyring.created
    assert keyring.key == key == read_key_file(path)
    assert keyring.for_keying() == key


def test_the_default_key_file_is_in_the_user_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PATCHDESK_AUDIT_KEY_FILE")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_key_path() == tmp_path / "state" / "patchdesk" / "audit.key"
    assert load_settings().audit_key_file == tmp_path / "state" / "patchdesk" / "audit.key"
    monkeypatch.setenv("PATCHDESK_AUDIT_KEY_FILE", "~/keys/audit.key")
    assert default_key_path() == Path.home() / "keys" / "audit.key"
    assert load_settings().audit_key_file == Path.home() / "keys" / "audit.key"


def test_the_key_file_setting_in_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PATCHDESK_AUDIT_KEY_FILE")
    config = tmp_path / "config.toml"
    config.write_text(f'audit_key_file = "{tmp_path / "shared.key"}"\n')
    assert load_settings(config).audit_key_file == tmp_path / "shared.key"


def test_a_bad_key_file_stops_a_command_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _key_file(tmp_path / "audit.key", HEX + "\n", 0o644)
    monkeypatch.setenv("PATCHDESK_AUDIT_KEY_FILE", str(path))
    db = tmp_path / "p.db"
    with pytest.raises(SystemExit):
        main(["--db", str(db), "db", "upgrade"])  # (needs no key)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", str(db), "exceptions"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        f"patchdesk: audit key file {path} is open to group or others (mode 0644): "
        f"chmod 600 {path}\n"
    )
