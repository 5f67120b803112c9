"""The wheel ships everything the package needs: an installed patchdesk migrates a database.

The Alembic migrations under ``store/migrations`` have no ``__init__.py``; a wheel once left
them out and every non-editable install failed with "no migrations found". The repository's
``themes/`` is shipped as ``patchdesk.themes``. This test builds the wheel from a copy of the
project's sources (pip's own build isolation, as any install would: it needs the build
backend from the package index or pip's cache, and skips when it cannot get it), checks that
every file of the package is in it, and migrates a fresh database with the package imported
from the unpacked wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "src", "themes")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


def _package_files() -> set[str]:
    """Every file the wheel must hold, as its path inside the wheel."""
    trees = {ROOT / "src" / "patchdesk": "patchdesk", ROOT / "themes": "patchdesk/themes"}
    return {
        f"{inside}/{path.relative_to(tree).as_posix()}"
        for tree, inside in trees.items()
        for path in tree.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("project")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=IGNORED)
        else:
            shutil.copy2(source, project / name)
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out)]
    built = subprocess.run(
        [*command, str(project)], capture_output=True, text=True, timeout=600, check=False
    )
    unreachable = ("No matching distribution found", "Could not find a version that satisfies")
    if built.returncode != 0 and any(text in built.stderr for text in unreachable):
        pytest.skip("pip could not get the build requirements (no package index, no cache)")
    assert built.returncode == 0, built.stderr[-3000:]
    (found,) = out.glob("patchdesk-*.whl")
    return found


def test_the_wheel_holds_every_file_of_the_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    missing = sorted(_package_files() - names)
    assert not missing, f"not in the wheel: {missing}"
    assert any(name.startswith("patchdesk/store/migrations/versions/") for name in names)


def test_the_package_from_the_wheel_migrates_a_new_database(wheel: Path, tmp_path: Path) -> None:
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    database = tmp_path / "fresh.db"
    script = (
        "import patchdesk, sys\n"
        "from patchdesk.store.db import open_database\n"
        "from patchdesk.store.migrate import current_revision\n"
        f"assert patchdesk.__file__.startswith({str(unpacked)!r}), patchdesk.__file__\n"
        f"db = open_database({'sqlite:///' + str(database)!r})\n"
        "from patchdesk.screens.themes import bundled_themes, themes_folder\n"
        f"assert str(themes_folder()).startswith({str(unpacked)!r}), themes_folder()\n"
        "assert len(bundled_themes()) == 3\n"
        "print(current_revision(db.engine))\n"
    )
    # The unpacked wheel comes first on the path, ahead of the editable install's finder.
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    ran = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    revisions = sorted((ROOT / "src/patchdesk/store/migrations/versions").glob("0*.py"))
    assert ran.stdout.strip() == revisions[-1].name.split("_")[0]
