"""Mail settings that would make every notification useless are caught when the server starts:
a link students cannot open, a sender no server takes."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from storage import Storage
from web.config import Config, ConfigError
from web.desk.mail import OutboxWorker


@pytest.mark.parametrize("url", ["helpdesk.unipg.it", "/ticket", "ftp://helpdesk.unipg.it"])
def test_a_public_url_without_scheme_or_host_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="HELPDESK_PUBLIC_URL"):
        Config.from_env({"HELPDESK_PUBLIC_URL": url})


@pytest.mark.parametrize("sender", ["helpdesk", "Assistenza UniPG", "noreply@"])
def test_a_sender_that_is_not_an_address_is_refused(sender: str) -> None:
    with pytest.raises(ConfigError, match="HELPDESK_MAIL_FROM"):
        Config.from_env({"HELPDESK_MAIL_FROM": sender})


def test_real_settings_and_the_defaults_are_taken() -> None:
    config = Config.from_env(
        {
            "HELPDESK_PUBLIC_URL": "https://helpdesk.unipg.it/",
            "HELPDESK_MAIL_FROM": "Università di Perugia <noreply@unipg.it>",
        }
    )
    assert config.public_url == "https://helpdesk.unipg.it"
    assert config.mail_from == "Università di Perugia <noreply@unipg.it>"
    defaults = Config.from_env({"HELPDESK_PORT": "8099"})
    assert defaults.public_url == "http://127.0.0.1:8099"
    assert defaults.mail_from == "noreply@localhost"


async def test_an_smtp_server_with_the_developer_defaults_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = await Storage.open(tmp_path / "data")
    try:
        for smtp_host, warned in ((None, False), ("127.0.0.1", True)):
            caplog.clear()
            config = Config.from_env({"HELPDESK_DATA_DIR": str(tmp_path / "data")})
            worker = OutboxWorker(storage, replace(config, smtp_host=smtp_host))
            with caplog.at_level(logging.WARNING, logger="web.desk.mail"):
                await worker.start()
                await worker.stop()
            text = caplog.text
            assert ("HELPDESK_PUBLIC_URL" in text and "HELPDESK_MAIL_FROM" in text) == warned
    finally:
        await storage.close()
