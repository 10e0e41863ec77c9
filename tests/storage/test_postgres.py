"""What only the database has: several processes on one database, the schema's migrations,
and a clear refusal when the database cannot be reached."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import asdict

import psycopg
import pytest

from storage import (
    Attachment,
    Conversation,
    ConversationChanged,
    FaqEvent,
    Message,
    Operator,
    OutboxMail,
    Purge,
    StorageError,
    Ticket,
    TicketSummary,
)
from storage.postgres import PostgresStorage, database
from storage.postgres.database import dumps, migrations
from storage.postgres.tickets import INSERT, ticket_row
from storage.queue import QueueQuery
from tests.servers import PG_USER, PostgresServer, free_port

from .conftest import build, run_python

NOW = "2026-01-01T01:00:00.000+00:00"


@pytest.fixture
async def two(database_url: str) -> AsyncIterator[tuple[PostgresStorage, PostgresStorage]]:
    """Two storages on one database, each with its own pool: two server processes."""
    a = await PostgresStorage.open(database_url)
    b = await PostgresStorage.open(database_url)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_two_processes_share_tickets_and_never_share_a_number(
    two: tuple[PostgresStorage, PostgresStorage],
) -> None:
    a, b = two
    made = await asyncio.gather(*(s.tickets.create(build()) for s in (a, b) * 40))
    assert len({t.number for t in made}) == 80
    assert await b.tickets.get(made[0].number) == made[0]

    async def append(store: PostgresStorage, i: int) -> None:
        message = Message(id=f"r{i}", author="operator", name="Op", body=f"risposta {i}")
        await store.tickets.update(made[0].number, lambda t: t.messages.append(message))

    await asyncio.gather(*(append(s, i) for i, s in enumerate((a, b) * 20)))
    stored = await a.tickets.get(made[0].number)
    assert stored is not None and len(stored.messages) == 41  # no update lost another


async def test_a_ticket_opened_again_with_its_key_is_the_same_ticket(
    two: tuple[PostgresStorage, PostgresStorage],
) -> None:
    a, b = two
    first = await a.tickets.create(build(), idempotency_key="chat@3")

    def never(number: str) -> Ticket:
        raise AssertionError(f"built a second ticket, {number}")

    assert await b.tickets.create(never, idempotency_key="chat@3") == first
    other = await b.tickets.create(build(), idempotency_key="chat@4")
    assert other.number != first.number


async def test_a_ticket_opening_with_a_key_another_process_is_using_waits_for_its_ticket(
    database_url: str, two: tuple[PostgresStorage, PostgresStorage]
) -> None:
    """The other process's transaction is under way: the key is inserted, not yet committed."""
    _, b = two
    ticket = build()("000001")
    with psycopg.connect(database_url) as other:
        other.execute(
            "INSERT INTO used_numbers (number, idempotency_key) VALUES (%s, %s)",
            (ticket.number, "chat@7"),
        )
        opening = asyncio.create_task(b.tickets.create(build(), idempotency_key="chat@7"))
        await asyncio.sleep(0.3)
        assert not opening.done()  # an insert that did not wait would have opened a second
        row = ticket_row(ticket)
        other.execute(INSERT, row)
        other.commit()
        assert await asyncio.wait_for(opening, 10) == ticket


async def test_a_chat_copy_another_process_overtook_cannot_overwrite_its_save(
    two: tuple[PostgresStorage, PostgresStorage],
) -> None:
    a, b = two
    chat = Conversation(id=secrets.token_urlsafe(16), step="topic")
    await a.conversations.save(chat)
    on_b = await b.conversations.get(chat.id)
    assert on_b is not None
    on_b.step = "describe"  # the student's other tab, on the other process
    await b.conversations.save(on_b)
    # a's own copy is a round trip cheaper, and behind: its save changes nothing
    behind = await a.conversations.working_copy(chat.id)
    assert behind is not None and behind.step == "topic"
    behind.step = "contact"
    with pytest.raises(ConversationChanged):
        await a.conversations.save(behind)
    stored = await a.conversations.working_copy(chat.id)  # read again after the refusal
    assert stored is not None and stored.step == "describe"
    stored.step = "contact"
    await a.conversations.save(stored)
    assert (await b.conversations.get(chat.id)) == stored
    # a chat another process deleted (erasure) is not brought back by an old copy
    await b.conversations.delete(chat.id)
    with pytest.raises(ConversationChanged):
        await a.conversations.save(stored)
    assert await b.conversations.get(chat.id) is None
    # and a new chat never overwrites a stored one that has its id
    await a.conversations.save(Conversation(id=chat.id, step="topic"))
    with pytest.raises(ConversationChanged):
        await b.conversations.save(Conversation(id=chat.id, step="other"))


async def test_a_chat_resumed_on_another_process_is_shared_from_the_next_save_on(
    two: tuple[PostgresStorage, PostgresStorage],
) -> None:
    """Until a hello resumes a chat, its steps' answers are not published to the other
    processes: the save of a copy read before the resume must still learn of it."""
    a, b = two
    chat = Conversation(id=secrets.token_urlsafe(16), step="topic")
    await a.conversations.save(chat)
    assert chat.shared is False
    mine = await a.conversations.working_copy(chat.id)
    assert mine is not None and mine.shared is False
    mine.step = "describe"
    await a.conversations.save(mine)
    assert mine.shared is False  # a's own steps: nobody else follows the chat
    resumed = await b.conversations.resume(chat.id)  # the other tab says hello on b
    assert resumed is not None and resumed.shared and resumed.step == "describe"
    behind = await a.conversations.working_copy(chat.id)
    assert behind is not None and behind.shared is False  # a's copy has not heard of it
    behind.step = "contact"
    await a.conversations.save(behind)
    assert behind.shared is True
    assert (await a.conversations.get(chat.id)).shared is True  # type: ignore[union-attr]


async def test_a_resume_waits_for_a_save_under_way_and_reads_what_it_saved(
    two: tuple[PostgresStorage, PostgresStorage], database_url: str
) -> None:
    """The other order of the race: the save holds the row when the hello comes, so the
    resumed copy has its step (and the save, which did not publish, needed not)."""
    a, b = two
    chat = Conversation(id=secrets.token_urlsafe(16), step="topic")
    await a.conversations.save(chat)
    with psycopg.connect(database_url) as other:
        other.execute("UPDATE conversations SET version = version WHERE id = %s", (chat.id,))
        resuming = asyncio.ensure_future(b.conversations.resume(chat.id))
        await asyncio.sleep(0.2)
        assert not resuming.done()  # waits on the row, as it would behind a's save
        other.execute(
            "UPDATE conversations SET record = jsonb_set(record::jsonb, '{step}', '\"describe\"')"
            "::json, version = version + 1 WHERE id = %s",
            (chat.id,),
        )
        other.commit()
    resumed = await asyncio.wait_for(resuming, 10)
    assert resumed is not None and resumed.step == "describe" and resumed.shared


async def test_an_account_or_session_made_on_one_works_on_the_other(
    two: tuple[PostgresStorage, PostgresStorage],
) -> None:
    a, b = two
    await a.operators.put(Operator(username="nuovo", name="N", role="editor", password_hash="h"))
    got = await b.operators.get("nuovo")
    assert got is not None and got.role == "editor"
    async with a.attachments.receive() as upload:
        await upload.write(b"%PDF-1.7 bytes")
        attachment_id = await upload.commit()
    assert await b.attachments.read(attachment_id) == b"%PDF-1.7 bytes"


async def test_workers_in_two_processes_claim_each_mail_once(
    two: tuple[PostgresStorage, PostgresStorage], database_url: str
) -> None:
    a, b = two
    for i in range(30):
        mail = OutboxMail(
            id=f"m{i}", to="s@example.org", subject="s", text="t", html="h", kind="opened",
            next_try_at="2026-01-01T00:00:00.000+00:00",
        )
        await a.tickets.create(build(outbox=[mail]))
    # Each worker claims one mail at a time and "sends" it for 10 ms, so the claims interleave.
    child = asyncio.create_task(
        asyncio.to_thread(
            run_python,
            "import asyncio, sys\n"
            "from storage.postgres import PostgresStorage\n"
            "async def main():\n"
            "    s = await PostgresStorage.open(sys.argv[1])\n"
            "    got = []\n"
            "    while batch := await s.outbox.claim('child', sys.argv[2], 1, 600):\n"
            "        got += [m.id for _, m in batch]\n"
            "        await asyncio.sleep(0.01)\n"
            "    print(' '.join(got))\n"
            "    await s.close()\n"
            "asyncio.run(main())\n",
            database_url,
            NOW,
        )
    )
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        while not child.done():
            cur = await conn.execute("SELECT count(*) FROM outbox WHERE leased_by = 'child'")
            if (await cur.fetchone()) != (0,):
                break
            await asyncio.sleep(0.01)
    here: list[str] = []
    while batch := await (a, b)[len(here) % 2].outbox.claim(f"w{len(here) % 2}", NOW, 1, 600):
        here += [m.id for _, m in batch]
        await asyncio.sleep(0.01)
    done = await child
    assert done.returncode == 0, done.stderr
    there = done.stdout.split()
    assert here and there
    assert sorted(here + there, key=lambda m: int(m[1:])) == [f"m{i}" for i in range(30)]


async def test_a_change_that_raises_leaves_no_trace_and_no_lock(database_url: str) -> None:
    async with await PostgresStorage.open(database_url) as storage:
        ticket = await storage.tickets.create(build())

        def broken(t: Ticket) -> None:
            t.outbox.append(OutboxMail(id="x", to="a@b.c", subject="", text="", html="", kind="k"))
            raise RuntimeError("guard refused")

        with pytest.raises(RuntimeError):
            await storage.tickets.update(ticket.number, broken)
        assert await storage.outbox.next_due() is None
        # The row lock went with the rollback: the next update does not wait.
        await asyncio.wait_for(storage.tickets.update(ticket.number, lambda t: None), 5)


async def test_a_fresh_database_is_migrated_once_even_by_two_at_once(
    postgres: PostgresServer,
) -> None:
    url = postgres.url(postgres.new_database())
    try:
        first, second = await asyncio.gather(PostgresStorage.open(url), PostgresStorage.open(url))
        await first.close()
        await second.close()
        async with await PostgresStorage.open(url) as again:
            await again.tickets.create(build())
        with psycopg.connect(url) as conn:
            versions = conn.execute("SELECT version, name FROM schema_version").fetchall()
        assert versions == [(v, name) for v, name, _ in migrations()]
        assert versions[0] == (1, "0001_initial.sql")
    finally:
        postgres.drop_database(url.rsplit("/", 1)[1])


async def test_the_personal_data_migration_fills_its_columns_from_the_records(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0002 adds what the retention sweep filters on; rows written before it get theirs."""
    name = postgres.new_database()
    url = postgres.url(name)
    known = migrations()
    try:
        monkeypatch.setattr(database, "migrations", lambda: known[:1])
        await (await PostgresStorage.open(url)).close()
        monkeypatch.undo()
        files = [Attachment("a" * 32, "a.pdf", 1, "x"), Attachment("b" * 32, "b.pdf", 1, "x")]
        used = build(conversation_id="chat-of-a-ticket-1",
                     messages=[Message("m1", "student", "Mario", "vedi allegati",
                                       attachments=files)])("111111")
        halfway = build(conversation_id=None, anonymised_at=NOW,
                        purge=Purge(attachments=["c" * 32]))("222222")
        event = FaqEvent("no_match", "isee", "it", conversation_id="chat-of-a-ticket-1",
                         at="2028-05-31T10:00:00.000+00:00")
        with psycopg.connect(url, autocommit=True) as conn:
            for ticket in (used, halfway):
                conn.execute("INSERT INTO used_numbers VALUES (%s)", (ticket.number,))
                # the columns of 0001 only
                first = ("email_key", "created_at", "updated_at", "search_text", "summary",
                         "record", "number")
                row = ticket_row(ticket)
                conn.execute(
                    f"INSERT INTO tickets ({', '.join(first)}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    tuple(row[c] for c in first),
                )
            conn.execute("INSERT INTO faq_events (event) VALUES (%s)", (dumps(asdict(event)),))

        async with await PostgresStorage.open(url) as storage:
            assert await storage.tickets.conversations_in_use() == {"chat-of-a-ticket-1"}
            assert await storage.tickets.attachments_in_use() == {"a" * 32, "b" * 32}
            assert await storage.tickets.purging() == ["222222"]
            assert await storage.faq_events.forget_conversations(["chat-of-a-ticket-1"]) == 1
            assert await storage.faq_events.drop_before("2028-06-01") == 1
            assert await storage.faq_events.recent() == []
    finally:
        postgres.drop_database(name)


async def test_a_role_that_may_not_create_extensions_still_searches(
    postgres: PostgresServer,
) -> None:
    """Migration 0009's trigram index needs CREATE on the database; a role that may only create
    tables gets the schema without it, and the console's search scans instead."""
    name = postgres.new_database()
    role = f"limited_{name}"
    try:
        postgres.execute(f'CREATE ROLE "{role}" LOGIN')
        with psycopg.connect(postgres.url(name), autocommit=True) as conn:
            conn.execute(f'GRANT CREATE, USAGE ON SCHEMA public TO "{role}"')  # type: ignore[arg-type]
        url = postgres.url(name).replace(f"//{PG_USER}@", f"//{role}@")
        async with await PostgresStorage.open(url) as storage:
            created = await storage.tickets.create(build())
            found = await storage.tickets.queue(QueueQuery(text="rossi"))
            assert [s.number for s in found.tickets] == [created.number]
        with psycopg.connect(url) as conn:
            indexes = conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'tickets'")
            assert "tickets_search" not in {row[0] for row in indexes}
    finally:
        postgres.drop_database(name)
        postgres.execute(f'DROP ROLE IF EXISTS "{role}"')


async def test_a_role_that_may_not_create_tables_is_told_what_to_grant(
    postgres: PostgresServer,
) -> None:
    """PostgreSQL 15 no longer lets every role create in schema public: only the database's
    owner may, so a role made for the help desk but not its owner cannot build the schema."""
    name = postgres.new_database()
    role = f"limited_{name}"
    try:
        postgres.execute(f'CREATE ROLE "{role}" LOGIN PASSWORD \'s3cret\'')
        url = postgres.url(name).replace(f"//{PG_USER}@", f"//{role}:s3cret@")
        with pytest.raises(StorageError) as refused:
            await PostgresStorage.open(url)
        message = str(refused.value)
        assert message.startswith(f"the role {role} may not create tables in the database ")
        assert database.shown(url) in message and "s3cret" not in message
        assert f"createdb --owner {role}" in message
        assert f"GRANT CREATE ON SCHEMA public TO {role}" in message
    finally:
        postgres.drop_database(name)
        postgres.execute(f'DROP ROLE IF EXISTS "{role}"')


def insert_before_0011(conn: psycopg.Connection, ticket: Ticket, search_text: str) -> None:
    """A ticket's row as the code before migration 0011 wrote it: without the columns of the
    waiting order, nor their fields in the summary; `search_text` as that code wrote it."""
    row = ticket_row(ticket)
    del row["awaits_office"], row["waiting_since"]
    summary = asdict(TicketSummary.of(ticket))
    del summary["awaits_office"], summary["waiting_since"]
    conn.execute("INSERT INTO used_numbers VALUES (%s)", (ticket.number,))
    conn.execute(
        INSERT.replace(", awaits_office, waiting_since", "")
        .replace(", %(awaits_office)s, %(waiting_since)s", ""),
        {**row, "summary": dumps(summary), "search_text": search_text},
    )


async def test_tickets_written_before_0010_are_found_without_their_accents(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = postgres.new_database()
    url = postgres.url(name)
    known = migrations()
    try:
        monkeypatch.setattr(database, "migrations", lambda: [m for m in known if m[0] < 10])
        await (await PostgresStorage.open(url)).close()
        created = build(name="García Lucía")("123456")
        with psycopg.connect(url, autocommit=True) as conn:  # as the code before 0010 wrote it
            insert_before_0011(
                conn, created, f"{created.number}\nlg@example.org\ngarcía lucía\n"
            )
        monkeypatch.undo()
        async with await PostgresStorage.open(url) as after:
            found = await after.tickets.queue(QueueQuery(text="garcia lucia"))
            assert [s.number for s in found.tickets] == [created.number]
    finally:
        postgres.drop_database(name)


async def test_a_database_of_newer_code_is_refused(postgres: PostgresServer) -> None:
    name = postgres.new_database()
    url = postgres.url(name)
    try:
        await (await PostgresStorage.open(url)).close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO schema_version (version, name) VALUES (999, 'future')")
        with pytest.raises(StorageError, match="schema version 999, newer than this code"):
            await PostgresStorage.open(url)
    finally:
        postgres.drop_database(name)


async def test_an_unreachable_database_says_what_to_check_without_the_password() -> None:
    password = secrets.token_hex(8)
    url = f"postgresql://helpdesk:{password}@127.0.0.1:{free_port()}/helpdesk"
    with pytest.raises(StorageError) as refused:
        await PostgresStorage.open(url)
    message = str(refused.value)
    assert password not in message
    assert message.startswith("cannot reach the database postgresql://helpdesk@127.0.0.1:")
    assert "Check that PostgreSQL is running" in message and "HELPDESK_DATABASE_URL" in message


async def test_a_missing_database_and_a_malformed_url(postgres: PostgresServer) -> None:
    with pytest.raises(StorageError, match=r"helpdesk@127\.0\.0\.1:\d+/nope: .*does not exist"):
        await PostgresStorage.open(postgres.url("nope"))
    with pytest.raises(StorageError, match="is not a PostgreSQL URL") as refused:
        # libpq's own message would quote the password: "invalid percent-encoded token"
        await PostgresStorage.open("postgresql://helpdesk:s3cr%zzt@db/helpdesk")
    assert "s3cr" not in str(refused.value)


async def test_faq_events_queued_while_the_database_is_away_land_when_it_is_back() -> None:
    server = PostgresServer()
    server.start()
    try:
        storage = await PostgresStorage.open(server.url(server.new_database()))
        try:
            server.halt()
            # The chat does not wait for the figures: queued, no error.
            for n in range(3):
                await storage.faq_events.append(FaqEvent("no_match", f"q{n}", "it"))
            await asyncio.sleep(1.5)  # tried, failed, waiting to try again
            server.start()
            await asyncio.wait_for(storage.faq_events.flush(), 30)
            assert [e.query for e in await storage.faq_events.recent()] == ["q2", "q1", "q0"]
        finally:
            await storage.close()
        with pytest.raises(StorageError, match="closed"):
            await storage.faq_events.append(FaqEvent("no_match", "late", "it"))
    finally:
        server.stop()


async def test_tickets_written_before_0011_keep_their_place_in_the_waiting_order(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0011 gives the tickets already kept their place in the waiting order, from the public
    thread as models.waiting_turn reads it: the same as the code writes for a new ticket."""
    name = postgres.new_database()
    url = postgres.url(name)
    known = migrations()

    def said(author: str, minute: int, internal: bool = False) -> Message:
        return Message(f"{author}{minute}", author, "X", "...",  # type: ignore[arg-type]
                       at=f"2026-03-02T10:{minute:02d}:00.000+00:00", internal=internal)

    created = "2026-03-02T10:00:00.000+00:00"
    made = [
        # never answered, an internal note and a reminder since
        build(created_at=created, messages=[said("student", 0), said("operator", 1, True),
                                            said("student", 2)])("111111"),
        # answered, then the student wrote again, twice
        build(created_at=created, messages=[said("student", 0), said("operator", 3),
                                            said("student", 4), said("student", 5)])("222222"),
        # answered last
        build(created_at=created, messages=[said("student", 0), said("operator", 6)])("333333"),
        # nothing said at all, and awaiting the student
        build(created_at=created, status="awaiting_user", messages=[])("444444"),
        # a NUL in its record and summary, which no JSON function of PostgreSQL reads
        build(created_at=created, name="Nul \x00 Name", messages=[said("student", 7)])("555555"),
    ]
    try:
        monkeypatch.setattr(database, "migrations", lambda: [m for m in known if m[0] < 11])
        await (await PostgresStorage.open(url)).close()
        monkeypatch.undo()
        with psycopg.connect(url, autocommit=True) as conn:  # as the code before 0011 wrote it
            for ticket in made:
                insert_before_0011(conn, ticket, ticket_row(ticket)["search_text"])
        async with await PostgresStorage.open(url) as storage:
            assert await storage.tickets.summaries() == sorted(
                (TicketSummary.of(t) for t in made), key=lambda s: s.number, reverse=True
            )
            # never answered first (a reminder and a note do not move them; ties: newest
            # created, then highest number, first), then the one answered and written to again
            # from the student's new message; then those that wait on nobody in the office
            page = await storage.tickets.queue(QueueQuery(sort="waiting"))
            assert [s.number for s in page.tickets] == [
                "555555", "111111", "222222", "444444", "333333"
            ]
    finally:
        postgres.drop_database(name)


async def test_tickets_written_before_0012_are_found_by_phone_and_any_apostrophe(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = postgres.new_database()
    url = postgres.url(name)
    known = migrations()
    made = [
        build(name="D’Angelo Maria", phone="+393331000019", email="d@example.org",
              messages=[Message("m", "student", "M", "l’iscrizione")]),
        build(name="Nul \x00 Name", messages=[Message("m", "student", "N", "l‘iscrizione")]),
        build(name="Rossi Mario"),
    ]
    try:
        monkeypatch.setattr(database, "migrations", lambda: [m for m in known if m[0] < 12])
        async with await PostgresStorage.open(url) as before:
            created = [await before.tickets.create(ticket) for ticket in made]
        with psycopg.connect(url, autocommit=True) as conn:  # as the code before 0012 wrote it
            for ticket in created:
                conn.execute(
                    "UPDATE tickets SET search_text = %s WHERE number = %s",
                    ((f"{ticket.number}\n{ticket.email}\n{ticket.name}\n"
                      + "\n".join(m.body for m in ticket.messages)).lower().replace("\x00", ""),
                     ticket.number),
                )
        monkeypatch.undo()
        async with await PostgresStorage.open(url) as after:

            async def search(text: str) -> list[str]:
                page = await after.tickets.queue(QueueQuery(text=text))
                return [s.number for s in page.tickets]

            dangelo, nul, _ = (t.number for t in created)
            assert await search("3331000019") == [dangelo]
            assert await search("+39 333 1000019") == [dangelo]
            assert await search("maria d'angelo") == [dangelo]
            assert sorted(await search("l'iscrizione")) == sorted([dangelo, nul])
            with psycopg.connect(url) as conn:
                for ticket in created:
                    row = conn.execute(
                        "SELECT search_text FROM tickets WHERE number = %s", (ticket.number,)
                    ).fetchone()
                    # what the code writes now
                    assert row is not None
                    assert row[0] == ticket_row(ticket)["search_text"], ticket.name
    finally:
        postgres.drop_database(name)
