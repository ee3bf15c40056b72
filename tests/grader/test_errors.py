"""One error tree: every error a user can see is drawn in grader/errors.py, has a stable kind, and old imports work."""

from __future__ import annotations

import importlib

import pytest

from grader import errors
from grader.errors import WorkshopError

CLASSES = [getattr(errors, name) for name in errors.__all__]

#: Where each error used to live: those import paths keep working (scripts and notebooks use them).
OLD_HOMES = {
    "EngineUnavailable": "grader.engine.daemon",
    "BaseBuildError": "grader.bases.stand_ins",
    "BundleError": "grader.bases.bundle",
    "BuildxInstallError": "grader.bases.buildx",
    "NoDebianMirror": "grader.bases.mirror",
    "CourseError": "grader.course.autograde",
    "CheckNotPassed": "grader.course.autograde",
}


def test_every_error_descends_from_workshop_error_and_has_a_kind() -> None:
    for cls in CLASSES:
        assert issubclass(cls, WorkshopError), cls
        assert cls is WorkshopError or cls.kind != WorkshopError.kind, cls  # each says which branch it is
        assert cls.kind and cls.kind == cls.kind.lower() and " " not in cls.kind, cls


def test_the_docstring_draws_every_error_in_the_tree() -> None:
    tree = errors.__doc__ or ""
    for cls in CLASSES:
        assert f" {cls.__name__} " in tree, cls.__name__


@pytest.mark.parametrize("name, module", sorted(OLD_HOMES.items()))
def test_old_import_paths_give_the_same_class(name: str, module: str) -> None:
    assert getattr(importlib.import_module(module), name) is getattr(errors, name)


def test_errors_still_caught_as_what_they_were_before() -> None:
    """Callers that caught the old bases keep working: RuntimeError, AssertionError, KeyError, ValueError."""
    assert issubclass(errors.EngineUnavailable, RuntimeError) and issubclass(errors.BundleError, RuntimeError)
    assert issubclass(errors.CheckNotPassed, AssertionError)
    assert issubclass(errors.UnknownCheck, KeyError) and issubclass(errors.UnknownFormat, ValueError)
    assert issubclass(errors.NoSubmissions, FileNotFoundError)


def test_message_is_what_str_shows() -> None:
    for cls in CLASSES:
        error = cls("Do this next.")
        assert error.message == "Do this next." and str(error) == "Do this next.", cls
