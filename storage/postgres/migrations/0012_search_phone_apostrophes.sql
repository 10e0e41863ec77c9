-- A record may hold a NUL ("\u0000", which json keeps and 0001 chose json for), and
-- PostgreSQL reads no field of such a document: those few are read without their NULs.
CREATE OR REPLACE FUNCTION pg_temp.readable(doc json) RETURNS json LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN strpos(doc::text, '\u0000') = 0 THEN doc
                ELSE regexp_replace(doc::text, '(?<!\\)((?:\\\\)*)\\u0000', '\1', 'g')::json END
$$;

-- The console's search also finds the phone by its digits, and folds typographic apostrophes
-- (’ ‘ ` ʼ) to ' (storage/ticket_index.py searchable, search_text): the phone's digits join the
-- head of the search text (number, email, name), and the apostrophes of the rows written
-- before are folded. An acute accent typed as an apostrophe (´) was written as a space by the
-- code before: those few rows are right again at their ticket's next change.
UPDATE tickets SET search_text = regexp_replace(
    translate(search_text, '’‘`ʼ', ''''''''''),
    '^([^\n]*\n[^\n]*\n[^\n]*\n)',
    '\1' || regexp_replace(coalesce(pg_temp.readable(record)->>'phone', ''), '[^0-9]', '', 'g')
        || E'\n'
);
