"""One explored atlas for the docs tests: the default bound is explored once per session."""

from __future__ import annotations

import pytest

from runlife.spec.diagram import Atlas


@pytest.fixture(scope="session")
def atlas() -> Atlas:
    return Atlas()
