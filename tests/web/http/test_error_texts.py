"""The error texts a caller reads: the words agree with the number they carry."""

from __future__ import annotations

import json

import pytest

from web.desk.errors import rate_limited
from web.http.errors import error_response


def _error(retry_after: float, lang: str) -> dict[str, str]:
    response = error_response(rate_limited(retry_after), lang)
    assert response.status == 429 and response.text is not None
    return dict(json.loads(response.text)["error"])


@pytest.mark.parametrize(
    ("lang", "one", "two"),
    [
        ("it", "riprova tra un secondo.", "riprova tra 2 secondi."),
        ("en", "try again in a second.", "try again in 2 seconds."),
    ],
)
def test_a_wait_of_one_second_is_said_in_the_singular(lang: str, one: str, two: str) -> None:
    error = _error(0.6, lang)
    assert error["code"] == "rate_limited"
    assert error["message"].endswith(one)
    assert _error(2, lang)["message"].endswith(two)
    assert _error(2, lang)["code"] == "rate_limited"
