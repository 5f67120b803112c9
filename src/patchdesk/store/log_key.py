"""The remediation log's key: a secret kept outside the database.

A chain of hashes inside the database cannot prove itself to someone who can write the
database: they rewrite the records and recompute every hash. Each record therefore also
carries an HMAC-SHA256 chained over the records before it (``store.remediation_log``),
keyed with a secret that lives in a file, never in the database: ``audit.key`` in the user state
directory (``~/.local/state/patchdesk/audit.key`` on Linux), or the file the
``audit_key_file`` setting or ``PATCHDESK_AUDIT_KEY_FILE`` names.

The file holds 32 random bytes as 64 hexadecimal digits (lines starting with ``#`` are
comments) and must not be readable or writable by group or others. It is created, 0600, when
a log is first keyed, atomically and never over an existing file. The database keeps only
the key's fingerprint, so that a host whose key file is missing or holds another key is told
so plainly, and its appends are refused rather than fork the chain under a second key.

An open database carries its ``Keyring`` (``Database.keyring``, and in ``Session.info`` of
every session it makes): the key file is read once, when the database is opened.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
from sqlalchemy.orm import Session

APP_NAME = "patchdesk"
KEY_FILE_ENV = "PATCHDESK_AUDIT_KEY_FILE"
KEY_BYTES = 32
KEYRING_INFO = "patchdesk.audit_keyring"  # key of the Keyring in Session.info
_HEX_KEY = re.compile(r"[0-9a-f]{64}")
_HEADER = (
    "# patchdesk remediation-log key: keep it secret, keep a copy offline, and give every\n"
    "# host that writes this log the same file (0600). Losing it leaves the log unverifiable.\n"
)


class AuditKeyError(Exception):
    """The key file is unusable, missing, or holds another key than the log's; ``str()`` is
    one line for a person."""


@dataclass(frozen=True)
class AuditKey:
    """A key and its fingerprint (what the database and messages show instead of it)."""

    secret: bytes = field(repr=False)
    fingerprint: str


def fingerprint_of(secret: bytes) -> str:
    """16 hexadecimal digits that name a key without revealing it."""
    return hashlib.sha256(b"patchdesk audit key fingerprint\x00" + secret).hexdigest()[:16]


def key_of(secret: bytes) -> AuditKey:
    return AuditKey(secret, fingerprint_of(secret))


def default_key_path() -> Path:
    """``$PATCHDESK_AUDIT_KEY_FILE``, else ``audit.key`` in the user state directory."""
    named = os.environ.get(KEY_FILE_ENV, "").strip()
    if named:
        return Path(named).expanduser()
    return platformdirs.user_state_path(APP_NAME) / "audit.key"


def read_key_file(path: Path) -> AuditKey | None:
    """The key in ``path``; None when there is no file. AuditKeyError when the file is not
    a regular file, is open to group or others, or does not hold one key."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditKeyError(f"audit key file {path}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(status.st_mode):
        raise AuditKeyError(f"audit key file {path} is not a regular file")
    mode = stat.S_IMODE(status.st_mode)
    if mode & 0o077:
        raise AuditKeyError(
            f"audit key file {path} is open to group or others (mode {mode:04o}): chmod 600 {path}"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuditKeyError(f"audit key file {path}: {exc.strerror or exc}") from exc
    return key_of(_parse(data, path))


def _parse(data: bytes, path: Path) -> bytes:
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    lines = [line.strip() for line in text.splitlines()]
    values = [line for line in lines if line and not line.startswith("#")]
    if len(values) != 1 or not _HEX_KEY.fullmatch(values[0]):
        raise AuditKeyError(
            f"audit key file {path} is malformed: it must hold one key, 64 hexadecimal digits "
            "(lines starting with # aside)"
        )
    return bytes.fromhex(values[0])


def create_key_file(path: Path) -> tuple[AuditKey, bool]:
    """A new key written to ``path`` (0600, its directory created 0700 when missing),
    atomically and never over an existing file: when ``path`` appeared meanwhile, its key.
    The bool: whether this call created the file."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise AuditKeyError(
            f"cannot create the audit key file {path}: {exc.strerror or exc}"
        ) from exc
    secret = secrets.token_bytes(KEY_BYTES)
    content = (_HEADER + secret.hex() + "\n").encode("ascii")
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".audit-key-")
    except OSError as exc:
        raise AuditKeyError(
            f"cannot create the audit key file {path}: {exc.strerror or exc}"
        ) from exc
    try:
        with os.fdopen(descriptor, "wb") as handle:  # mkstemp: 0600
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # fails when path exists: never overwrites
        except FileExistsError:
            existing = read_key_file(path)
            if existing is None:  # pragma: no cover - removed between link and read
                raise AuditKeyError(f"audit key file {path} vanished while being created") from None
            return existing, False
        except OSError as exc:
            raise AuditKeyError(
                f"cannot create the audit key file {path}: {exc.strerror or exc}"
            ) from exc
    finally:
        Path(temporary).unlink(missing_ok=True)
    _sync_directory(path.parent)
    return key_of(secret), True


def _sync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - a platform without directory descriptors
        return
    try:
        os.fsync(descriptor)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(descriptor)


class Keyring:
    """The key file of one open database: read once when the database is opened; created
    only when a log not yet keyed is keyed (``for_keying``), never to replace another."""

    def __init__(self, path: Path, key: AuditKey | None) -> None:
        self.path = path
        self._key = key
        self._lock = threading.Lock()
        # Set once the log's fingerprint was read as this key's in a committed state: appends
        # then skip reading it again (see audit._signing_key).
        self.confirmed = False
        # Why this process does not key the log (its chain is broken), once it found out.
        self.refused: str | None = None
        self.created = False  # this process created the key file

    @classmethod
    def open(cls, path: Path) -> Keyring:
        """Read ``path`` (AuditKeyError when it is unusable; a missing file is no error)."""
        return cls(path, read_key_file(path))

    @property
    def key(self) -> AuditKey | None:
        return self._key

    def for_keying(self) -> AuditKey:
        """The key, created in the key file when there is none yet."""
        with self._lock:
            if self._key is None:
                self._key, self.created = create_key_file(self.path)
            return self._key

    def check(self, fingerprint: str) -> AuditKey:
        """This key when it is the one ``fingerprint`` names; else AuditKeyError, plainly."""
        key = self._key
        if key is None:
            with self._lock:  # another process may have keyed the log since we opened it
                if self._key is None:
                    self._key = read_key_file(self.path)
                key = self._key
        if key is None:
            raise AuditKeyError(
                f"this log is keyed with key {fingerprint}; the key file {self.path} is missing "
                "(copy it from a host that writes this log)"
            )
        if key.fingerprint != fingerprint:
            raise AuditKeyError(
                f"this log is keyed with key {fingerprint}; the key file {self.path} holds "
                f"another (key {key.fingerprint})"
            )
        return key


def keyring_of(session: Session) -> Keyring:
    """The keyring of the database that made ``session``."""
    keyring = session.info.get(KEYRING_INFO)
    if not isinstance(keyring, Keyring):
        raise RuntimeError("this session carries no audit key: open it through a Database")
    return keyring
