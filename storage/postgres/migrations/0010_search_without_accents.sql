-- The console's search ignores accents ("Garcia" finds "García"): the search text is written
-- without them (storage/ticket_index.py `searchable`), and the rows written before are folded
-- the same way here: NFKD splits an accented letter into the letter and its combining mark
-- (U+0300-U+036F), which goes. normalize() needs a UTF8 database, as Debian's are by default;
-- in another encoding the old rows keep their accents and only new ones are folded.
DO $$
BEGIN
    IF current_setting('server_encoding') = 'UTF8' THEN
        UPDATE tickets
        SET search_text = regexp_replace(normalize(search_text, NFKD), '[\u0300-\u036f]', '', 'g')
        WHERE search_text ~ '[^\x01-\x7f]';
    END IF;
END
$$;
