"""The operators' side: one module per job (the socket namespace, access, sign-in, the page,
tickets, ready answers, accounts, parked mail, reports, students' privacy requests)."""

from __future__ import annotations

from web.console import accounts, answers, mail, page, privacy, reports, signin, tickets

ROUTES = (
    signin.routes,
    page.routes,
    tickets.routes,
    answers.routes,
    reports.routes,
    accounts.routes,
    mail.routes,
    privacy.routes,
)
