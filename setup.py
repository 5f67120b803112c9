"""Only the package list, which pyproject.toml cannot express: every package under src/,
plus the repository's themes/ directory installed as ``patchdesk.themes``."""

from setuptools import find_packages, setup

setup(packages=[*find_packages("src"), "patchdesk.themes"])
