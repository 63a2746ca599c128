"""Shared test fixtures: the third-party test material lives in ../shared/testdata (never copied)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = (ROOT.parent / "shared" / "testdata").resolve()


def testdata_path(*parts: str) -> Path:
    """Path under ../shared/testdata, skipping the calling test when that material is absent."""
    path = TESTDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"test material not found: {path} (expected ../shared/testdata beside the project)")
    return path


@pytest.fixture
def testdata() -> Path:
    return testdata_path()
