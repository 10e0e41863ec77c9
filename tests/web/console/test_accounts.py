"""The admins' account management over a season, against the real server: accounts created
together, colleagues away with tickets in hand, what the audit tells the head of the office."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import Server
from tests.web.conftest import ANNA, Account, Console, Factory
from web.desk.accounts import verify_password
from web.http.keys import SERVICES


@pytest.fixture
def server(either_server: Server) -> Server:
    # The folder and the database each settle a taken username their own way.
    return either_server


async def test_two_admins_creating_one_username_together_get_one_account_and_one_409(
    server: Server, signed_in: Factory
) -> None:
    anna, other_tab = await signed_in(ANNA), await signed_in(ANNA)
    answers = await asyncio.gather(
        *(
            console.post(
                "/api/console/operators",
                {"username": "gferri", "name": name, "password": f"password-di-{first}"},
            )
            for console, name, first in (
                (anna, "Giorgio Ferri", "giorgio"),
                (other_tab, "Gianna Ferri", "gianna"),
            )
        )
    )
    assert sorted(status for status, _ in answers) == [201, 409]
    created = next(body["operator"] for status, body in answers if status == 201)
    refused = next(body for status, body in answers if status == 409)
    assert refused["error"]["code"] == "username_taken"
    stored = await server.app[SERVICES].storage.operators.get("gferri")
    # whoever was told "created" has the account: their name, their password
    assert stored is not None and stored.name == created["name"]
    first = "giorgio" if created["name"] == "Giorgio Ferri" else "gianna"
    assert verify_password(stored.password_hash, f"password-di-{first}")
    entries = await server.app[SERVICES].storage.audit.recent(target="gferri")
    assert [e.action for e in entries] == ["operator.added"]
    newcomer = Console(server)
    try:
        account = Account("gferri", created["name"], "operator", f"password-di-{first}")
        assert (await newcomer.login(account))[0] == 200
    finally:
        await newcomer.close()
