"""Shared fixtures: the real peers (nginx RTMP ingest) and the kit run as a process."""

from tests.integration.kitproc import kit_process  # noqa: F401
from tests.peers.fixtures import ingest, ingest_session  # noqa: F401
