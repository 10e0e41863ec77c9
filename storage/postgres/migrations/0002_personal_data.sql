-- Personal data kept no longer than needed (CONTRACT.md section 9): what the retention sweep and
-- an erasure ask of the records, as columns beside them, filled from the records already kept.

-- Ticket.conversation_id (NULL once anonymised), the ids of its messages' files, and whether
-- an anonymisation still has files to delete (Ticket.purge set).
ALTER TABLE tickets
    ADD COLUMN conversation_id text,
    ADD COLUMN attachments text[] NOT NULL DEFAULT '{}',
    ADD COLUMN purging boolean NOT NULL DEFAULT false;
UPDATE tickets SET
    conversation_id = record->>'conversation_id',
    attachments = ARRAY(
        SELECT a->>'id'
        FROM json_array_elements(record->'messages') m, json_array_elements(m->'attachments') a
    ),
    purging = coalesce(json_typeof(record->'purge') = 'object', false);
CREATE INDEX tickets_conversation ON tickets (conversation_id) WHERE conversation_id IS NOT NULL;
CREATE INDEX tickets_purging ON tickets (number) WHERE purging;

-- Uploads nobody uses go after 30 days.
CREATE INDEX attachments_created ON attachments (created_at);

-- FaqEvent.at (ISO 8601 UTC text) and .conversation_id: events past the retention go, and an
-- erasure blanks what was typed in the student's chats.
ALTER TABLE faq_events ADD COLUMN at text, ADD COLUMN conversation_id text;
UPDATE faq_events SET at = event->>'at', conversation_id = event->>'conversation_id';
ALTER TABLE faq_events ALTER COLUMN at SET NOT NULL;
CREATE INDEX faq_events_at ON faq_events (at);
CREATE INDEX faq_events_conversation ON faq_events (conversation_id)
    WHERE conversation_id IS NOT NULL;
