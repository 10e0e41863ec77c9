-- The office's figures and the students' queue (storage/README.md, "Figures"): each ticket's
-- moments (models.TicketTimes) as columns written with its record, so that a report counts a
-- window through an index and never reads a record; and the chats that searched the FAQ.

-- Moments are ISO 8601 UTC text, compared as text like the data folder compares them: in byte
-- order ("C"), whatever the database's default collation.
DROP INDEX tickets_newest;  -- tickets_opened below, rather than rebuilt for the new collation
ALTER TABLE tickets
    ALTER COLUMN created_at TYPE text COLLATE "C",
    ADD COLUMN status text,
    ADD COLUMN topic text,
    ADD COLUMN subtopic text,
    -- the first operator message the student could read (an internal note is no answer)
    ADD COLUMN first_response_at text COLLATE "C",
    ADD COLUMN first_response_seconds double precision,
    -- the latest closing, while the ticket stays closed
    ADD COLUMN closed_at text COLLATE "C",
    ADD COLUMN resolution_seconds double precision,
    ADD COLUMN rated_at text COLLATE "C",
    ADD COLUMN rating_score smallint,
    -- the student's data erased (Ticket.anonymised_at): out of the queue
    ADD COLUMN anonymised boolean NOT NULL DEFAULT false;

-- The tickets already kept, as models.TicketTimes.of reads them; from now on the store writes
-- these columns with every record.
CREATE FUNCTION pg_temp.seconds(since text, until text) RETURNS double precision
LANGUAGE plpgsql STRICT AS $$
BEGIN
    RETURN greatest(0, extract(epoch FROM until::timestamptz - since::timestamptz));
EXCEPTION WHEN others THEN
    RETURN NULL;  -- a hand-edited stamp: no duration, rather than no start
END $$;

UPDATE tickets SET
    status = record->>'status',
    topic = record->>'topic',
    subtopic = record->>'subtopic',
    first_response_at = (
        SELECT m->>'at' FROM json_array_elements(record->'messages') WITH ORDINALITY e(m, i)
        WHERE m->>'author' = 'operator' AND (m->>'internal') IS DISTINCT FROM 'true'
        ORDER BY i LIMIT 1
    ),
    closed_at = CASE WHEN record->>'status' = 'closed' THEN coalesce(
        (SELECT h->>'at' FROM json_array_elements(record->'history') WITH ORDINALITY e(h, i)
         WHERE h->>'status' = 'closed' ORDER BY i DESC LIMIT 1),
        record->>'updated_at'
    ) END,
    rated_at = record->'rating'->>'at',
    rating_score = (record->'rating'->>'score')::smallint,
    anonymised = record->>'anonymised_at' IS NOT NULL;
UPDATE tickets SET
    first_response_seconds = pg_temp.seconds(created_at, first_response_at),
    resolution_seconds = pg_temp.seconds(created_at, closed_at);

ALTER TABLE tickets
    ALTER COLUMN status SET NOT NULL,
    ALTER COLUMN topic SET NOT NULL,
    ALTER COLUMN subtopic SET NOT NULL;

-- A window of each moment, with what is counted of it beside it. tickets_opened also serves
-- the console's newest first, read backwards, in place of tickets_newest.
CREATE INDEX tickets_opened ON tickets (created_at, number) INCLUDE (topic, subtopic);
CREATE INDEX tickets_answered ON tickets (first_response_at) INCLUDE (first_response_seconds)
    WHERE first_response_at IS NOT NULL;
CREATE INDEX tickets_closed ON tickets (closed_at) INCLUDE (resolution_seconds)
    WHERE closed_at IS NOT NULL;
CREATE INDEX tickets_rated ON tickets (rated_at) INCLUDE (rating_score)
    WHERE rated_at IS NOT NULL;
-- The queue: the tickets nobody has answered yet, oldest first.
CREATE INDEX tickets_waiting ON tickets (created_at, number)
    WHERE first_response_at IS NULL AND status <> 'closed' AND NOT anonymised;
CREATE INDEX tickets_status ON tickets (status);

-- Each chat that searched the FAQ: when it first did, and whether the student said an FAQ
-- solved the question. Kept by each event's insert, so that the deflection rate counts a
-- window through an index instead of grouping every event ever written.
CREATE TABLE faq_chats (
    conversation_id text PRIMARY KEY,
    first_search text COLLATE "C",  -- NULL while the chat has a `solved` and no search
    solved boolean NOT NULL DEFAULT false
);
INSERT INTO faq_chats (conversation_id, first_search, solved)
SELECT event->>'conversation_id',
       min((event->>'at') COLLATE "C") FILTER (WHERE event->>'kind' IN ('suggested', 'no_match')),
       bool_or(event->>'kind' = 'solved')
FROM faq_events
WHERE event->>'conversation_id' IS NOT NULL
  AND event->>'kind' IN ('suggested', 'no_match', 'solved')
GROUP BY 1;
CREATE INDEX faq_chats_first_search ON faq_chats (first_search) INCLUDE (solved)
    WHERE first_search IS NOT NULL;
