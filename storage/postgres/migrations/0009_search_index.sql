-- The console's search looks for the operator's text anywhere in each ticket's search text: a
-- scan of every ticket's text (a third of a second at 20,000 tickets) at each reload of every
-- console with a search open. pg_trgm's trigram index answers the same LIKE '%text%' from the
-- index. pg_trgm ships with Debian's postgresql and is a trusted extension, which the
-- database's owner may create; where the role may not, or the extension is missing, the
-- search stays a scan and keeps working.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX tickets_search ON tickets USING gin (search_text gin_trgm_ops)
        WHERE NOT anonymised;
EXCEPTION WHEN insufficient_privilege OR undefined_file THEN
    RAISE WARNING 'pg_trgm is not available (%): the console search scans every ticket', SQLERRM;
END
$$;
