"""Who is asking: addresses behind the university's proxies, and one key per mailbox."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from web.config import Config, ConfigError
from web.desk.limits import email_key
from web.http.clients import client_ip, sender


def request(peer: str, *forwarded: str) -> web.Request:
    headers = CIMultiDict(("X-Forwarded-For", line) for line in forwarded)
    req = make_mocked_request("GET", "/", headers=headers)
    # the peer as the socket reports it
    req._transport_peername = (peer, 12345)
    return req


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_ip(request("10.0.0.5", "1.2.3.4"), ()) == "10.0.0.5"


def test_behind_a_trusted_proxy_the_forwarded_address_counts() -> None:
    proxies = ("10.0.0.0/24",)
    assert client_ip(request("10.0.0.5", "151.1.2.3"), proxies) == "151.1.2.3"
    # what the client wrote further left is not believed
    spoofed = request("10.0.0.5", "6.6.6.6, 151.1.2.3, 10.0.0.7")
    assert client_ip(spoofed, proxies) == "151.1.2.3"
    # a proxy that adds its own line after the client's: the last line is the truth
    two_lines = request("10.0.0.5", "6.6.6.6", "203.0.113.7")
    assert client_ip(two_lines, proxies) == "203.0.113.7"
    # a peer that is not our proxy cannot pretend to forward
    assert client_ip(request("151.9.9.9", "1.1.1.1"), proxies) == "151.9.9.9"


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("151.1.2.3", "151.1.2.3"),
        # an IPv4 client as a dual-stack socket reports it: the IPv4 address, not a /64 that
        # would put every IPv4 client under one limit
        ("::ffff:151.1.2.3", "151.1.2.3"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("unknown", "unknown"),
    ],
)
def test_an_ipv6_client_is_limited_as_its_whole_64(address: str, key: str) -> None:
    assert sender(address) == key


def test_chat_limits_per_address_are_settings() -> None:
    config = Config.from_env(
        {"HELPDESK_CHATS_PER_IP_PER_HOUR": "0", "HELPDESK_UPLOADS_PER_IP_PER_HOUR": "500"}
    )
    assert (config.chats_per_ip_per_hour, config.uploads_per_ip_per_hour) == (0, 500)
    assert Config.from_env({}).chats_per_ip_per_hour == 600
    looked_up = Config.from_env({"HELPDESK_LOOKUP_FAILURES_PER_IP_PER_HOUR": "0"})
    assert looked_up.lookup_failures_per_ip_per_hour == 0


def test_a_bad_proxy_setting_is_named() -> None:
    with pytest.raises(ConfigError, match="HELPDESK_TRUSTED_PROXIES"):
        Config.from_env({"HELPDESK_TRUSTED_PROXIES": "10.0.0.0/24, proxy.unipg.it"})
    assert Config.from_env({"HELPDESK_TRUSTED_PROXIES": "10.0.0.1"}).trusted_proxies == (
        "10.0.0.1",
    )


@pytest.mark.parametrize(
    ("email", "key"),
    [
        ("Mario.Rossi+unipg@Example.com", "mario.rossi@example.com"),
        ("mario.rossi+1@gmail.com", "mariorossi@gmail.com"),
        ("m.a.r.i.o@googlemail.com", "mario@googlemail.com"),
        ("studente@studenti.unipg.it", "studente@studenti.unipg.it"),
    ],
)
def test_one_key_per_mailbox(email: str, key: str) -> None:
    assert email_key(email) == key
