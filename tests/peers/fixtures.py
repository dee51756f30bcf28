"""pytest fixtures for the peers; tests/conftest.py imports them."""

from collections.abc import Iterator

import pytest

from .ingest import Ingest


@pytest.fixture
def ingest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingest]:
    """A started ingest of the test's own; its files stay in pytest's temp dir for debugging."""
    with Ingest(tmp_path_factory.mktemp("ingest")) as server:
        yield server


@pytest.fixture(scope="session")
def ingest_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingest]:
    """One ingest for the whole run, for tests that only need somewhere to publish.

    Its publishes and recordings accumulate across tests, so look only at your own stream
    name; a test that stops it must start it again.
    """
    with Ingest(tmp_path_factory.mktemp("ingest")) as server:
        yield server
