"""HELPDESK_ALLOWED_ORIGINS against the Origin header browsers send."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.conftest import make_config, start_server
from web.config import Config


async def test_an_origin_written_in_capitals_or_with_its_default_port_still_matches(
    tmp_path: Path,
) -> None:
    # Browsers send the host in lower case and leave the default port out, and the CORS check
    # compares the header as text: the widget on www.unipg.it must connect all the same.
    written = "HTTPS://WWW.UniPG.it:443, http://Example.org:8080"
    origins = Config.from_env({"HELPDESK_ALLOWED_ORIGINS": written}).allowed_origins
    assert origins == ("https://www.unipg.it", "http://example.org:8080")
    server = await start_server(make_config(tmp_path, allowed_origins=origins))
    try:
        async with aiohttp.ClientSession() as http:
            response = await http.get(
                f"{server.url}/readyz", headers={"Origin": "https://www.unipg.it"}
            )
            await response.read()
        assert response.headers.get("Access-Control-Allow-Origin") == "https://www.unipg.it"
    finally:
        await server.stop()
