-- The help desk's tables. Records are kept whole as JSON (the models' to_dict), beside the
-- columns the queries filter and sort on. `json`, not `jsonb`: it keeps the text as written
-- (a "\u0000" escape included, which jsonb refuses) and nothing here queries inside a record.

-- Every number a ticket ever had: never deleted, so a number is never given twice.
CREATE TABLE used_numbers (
    number text PRIMARY KEY CHECK (number ~ '^[0-9]{6}$')
);

CREATE TABLE tickets (
    number text PRIMARY KEY REFERENCES used_numbers,
    email_key text NOT NULL,
    -- ISO 8601 UTC text, as in the records: sorted as text, exactly like the data folder
    created_at text NOT NULL,
    updated_at text NOT NULL,
    -- lower-cased number, email, name and messages, capped (storage/ticket_index.search_text)
    search_text text NOT NULL,
    summary json NOT NULL,  -- models.TicketSummary, for the queue without the whole record
    record json NOT NULL    -- models.Ticket without its outbox
);
CREATE INDEX tickets_newest ON tickets (created_at DESC, number DESC);
CREATE INDEX tickets_email ON tickets (email_key);

-- A ticket's mails, written in the same transaction as the ticket change that queued them.
CREATE TABLE outbox (
    number text NOT NULL REFERENCES tickets,
    id text NOT NULL,
    position integer NOT NULL,  -- order in Ticket.outbox
    state text NOT NULL,
    created_at text NOT NULL,
    next_try_at timestamptz NOT NULL,
    -- a worker's claim: nobody else sends the mail until it is settled or this time passes
    leased_by text,
    lease_until timestamptz,
    mail json NOT NULL,  -- models.OutboxMail
    PRIMARY KEY (number, id)
);
CREATE INDEX outbox_queued ON outbox (next_try_at) WHERE state = 'queued';
CREATE INDEX outbox_parked ON outbox (created_at) WHERE state = 'parked';
CREATE INDEX outbox_leased ON outbox (leased_by) WHERE leased_by IS NOT NULL;

CREATE TABLE conversations (
    id text PRIMARY KEY,
    updated_at text NOT NULL,
    record json NOT NULL
);

CREATE TABLE operators (
    username text PRIMARY KEY,
    record json NOT NULL
);

-- Uploads are capped (2 MiB): in the database, so that no process needs a shared disk.
CREATE TABLE attachments (
    id text PRIMARY KEY,
    size integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    bytes bytea NOT NULL
);

CREATE TABLE audit (
    id bigserial PRIMARY KEY,
    target text NOT NULL,
    entry json NOT NULL
);
CREATE INDEX audit_target ON audit (target, id);

CREATE TABLE faq_events (
    id bigserial PRIMARY KEY,
    event json NOT NULL
);

CREATE TABLE operator_sessions (
    key text PRIMARY KEY,  -- SHA-256 of the cookie's id; the id itself is never stored
    username text NOT NULL,
    credential text NOT NULL,
    csrf_token text NOT NULL,
    created double precision NOT NULL,  -- seconds since the epoch
    last_seen double precision NOT NULL
);
CREATE INDEX operator_sessions_username ON operator_sessions (username);
