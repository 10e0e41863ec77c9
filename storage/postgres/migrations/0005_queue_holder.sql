-- The console's queue filters on who holds a ticket ("" for nobody) in SQL, instead of
-- reading every ticket's summary at each reload.
ALTER TABLE tickets ADD COLUMN holder text;
UPDATE tickets SET holder = coalesce(summary->>'operator', '');
ALTER TABLE tickets ALTER COLUMN holder SET NOT NULL;
CREATE INDEX tickets_queue ON tickets (status, created_at) WHERE NOT anonymised;
