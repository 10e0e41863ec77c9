-- The chat step that opened a ticket, so that the same step taken at once by a second process
-- (the student's other tab, confirming in the same moment) finds that ticket instead of opening
-- another. On used_numbers, which keeps every number forever and holds no personal data; NULL
-- for the tickets opened otherwise and for those opened before.
ALTER TABLE used_numbers ADD COLUMN idempotency_key text UNIQUE;
