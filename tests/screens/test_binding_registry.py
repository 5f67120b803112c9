"""The binding registry (``screens.bindings.KEYED``) names every class of ours that declares
key bindings: a screen or widget added without registering it would have keys ``?`` does
not order and ids the config file's ``[keys]`` table could not be checked against."""

from __future__ import annotations

import importlib
import pkgutil

from textual.dom import DOMNode

import patchdesk.screens
from patchdesk.app import PatchdeskApp
from patchdesk.screens.bindings import APP_BINDINGS, KEYED


def _subclasses(cls: type[DOMNode]) -> set[type[DOMNode]]:
    found: set[type[DOMNode]] = set()
    for sub in cls.__subclasses__():
        found.add(sub)
        found |= _subclasses(sub)
    return found


def test_every_class_declaring_bindings_is_registered() -> None:
    for module in pkgutil.walk_packages(patchdesk.screens.__path__, "patchdesk.screens."):
        importlib.import_module(module.name)
    declaring = {
        cls
        for cls in _subclasses(DOMNode)
        if cls.__module__.startswith("patchdesk.") and cls.__dict__.get("BINDINGS")
    }
    assert declaring, "the walk found no screens"
    missing = sorted(c.__qualname__ for c in declaring - set(KEYED) - {PatchdeskApp})
    assert missing == []
    assert len(KEYED) == len(set(KEYED))


def test_the_app_binds_the_registered_app_keys() -> None:
    assert PatchdeskApp.BINDINGS is APP_BINDINGS
