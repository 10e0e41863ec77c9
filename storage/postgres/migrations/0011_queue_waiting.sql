-- The console's "Fermi da più tempo" sorted by updated_at, which a student's reminder, an
-- internal note or an assignment moves. It now sorts the students the office owes an answer
-- first, from their first message not yet answered in public, then the rest, by how long they
-- have waited on the other side (models.waiting_turn): two columns written with every record,
-- and the same two fields in its summary. The tickets already kept get theirs here, by the
-- same rule.
ALTER TABLE tickets
    ADD COLUMN awaits_office boolean,
    ADD COLUMN waiting_since text COLLATE "C";

-- A record may hold a NUL ("\u0000", which json keeps and 0001 chose json for), and
-- PostgreSQL reads no field of such a document: those few are read without their NULs.
CREATE OR REPLACE FUNCTION pg_temp.readable(doc json) RETURNS json LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN strpos(doc::text, '\u0000') = 0 THEN doc
                ELSE regexp_replace(doc::text, '(?<!\\)((?:\\\\)*)\\u0000', '\1', 'g')::json END
$$;

-- Nobody has answered: the student's turn since the creation.
UPDATE tickets SET awaits_office = status = 'open', waiting_since = created_at;

-- Else the turn began with the latest public message by the other side than the one before it
-- (internal notes and system lines are no one's move).
WITH public AS (
    SELECT t.number, e.i, e.m->>'author' AS author, e.m->>'at' AS at
    FROM tickets t,
        json_array_elements(pg_temp.readable(t.record)->'messages') WITH ORDINALITY e(m, i)
    WHERE e.m->>'author' IN ('student', 'operator')
      AND (e.m->>'internal') IS DISTINCT FROM 'true'
), moves AS (
    SELECT number, i, author, at,
           lag(author, 1, 'student') OVER (PARTITION BY number ORDER BY i) AS before
    FROM public
), turns AS (
    SELECT DISTINCT ON (number) number, author, at
    FROM moves WHERE author <> before
    ORDER BY number, i DESC
)
UPDATE tickets t
SET awaits_office = t.status = 'open' AND turns.author = 'student', waiting_since = turns.at
FROM turns WHERE turns.number = t.number;

-- The summaries (flat objects) get the two fields as text, before their closing brace: a NUL
-- in one stays as it is.
UPDATE tickets SET summary = (
    left(rtrim(summary::text, E' \t\r\n'), -1)
    || CASE WHEN rtrim(left(rtrim(summary::text, E' \t\r\n'), -1), E' \t\r\n') LIKE '%{'
            THEN '' ELSE ',' END
    || '"awaits_office":' || awaits_office::text
    || ',"waiting_since":' || to_json(waiting_since)::text || '}'
)::json;

ALTER TABLE tickets
    ALTER COLUMN awaits_office SET NOT NULL,
    ALTER COLUMN waiting_since SET NOT NULL;
-- The queue in that order (tickets.QUEUE_ORDER["waiting"]): the page of every status at once is
-- read from here, 200 rows, instead of sorting them all (20 ms at 20,000 tickets; 0.4 with it).
-- One status is picked by tickets_status and sorted, as the other orders are.
CREATE INDEX tickets_waiting_order ON tickets (awaits_office DESC, waiting_since, created_at DESC,
    number DESC) WHERE NOT anonymised;
