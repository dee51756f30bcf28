"""The simulation's config that `install.sh --dev` writes (sim/kit.toml, the README's quick
start) is valid and passes the pre-flight's own reading of the stream key."""

from __future__ import annotations

import re
import time
from pathlib import Path

from kit import config
from kit.net.checks import expiry_result, upload_test_url

INSTALL = Path(__file__).resolve().parents[2] / "install.sh"


def sim_toml(here: Path) -> str:
    text = INSTALL.read_text()
    body = re.search(r'cat > "\$SIM/kit\.toml" <<EOF\n(.*?)\nEOF\n', text, re.S)
    assert body, "install.sh writes sim/kit.toml from a here-document"
    return (
        body.group(1)
        .replace("$SIM", str(here))
        .replace("$web_port", "8080")
        .replace("$ingest_port", "1935")
    )


def test_the_simulation_config_is_valid_and_its_key_not_expired(tmp_path: Path) -> None:
    (tmp_path / "kit.toml").write_text(sim_toml(tmp_path))
    cfg = config.load(tmp_path / "kit.toml")
    assert cfg.stream.server.startswith("rtmp://127.0.0.1:1935/")
    assert expiry_result(cfg.stream.key.reveal(), time.time()) is None
    # The simulation streams to this computer: no upload test towards the internet, so the
    # quick start is neither slowed nor warned at by a host it cannot reach.
    assert upload_test_url(cfg) == ""
    assert (cfg.web.host, cfg.web.port) == ("127.0.0.1", 8080)
