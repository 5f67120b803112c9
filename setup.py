"""Only the package list, which pyproject.toml cannot express: every package under src/, the
migrations, plus the repository's themes/ directory installed as ``patchdesk.themes``."""

from setuptools import find_packages, setup

# The Alembic migrations are packages without an __init__.py (Alembic loads them by path):
# named here so that setuptools ships their modules.
MIGRATIONS = ["patchdesk.store.migrations", "patchdesk.store.migrations.versions"]

setup(packages=[*find_packages("src"), *MIGRATIONS, "patchdesk.themes"])
