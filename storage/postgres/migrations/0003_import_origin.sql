-- python -m web import-data: where an imported journal line came from (its day file and line
-- number), so that running the import again adds no line twice. NULL for the lines the
-- service itself writes.
ALTER TABLE audit ADD COLUMN origin text UNIQUE;
ALTER TABLE faq_events ADD COLUMN origin text UNIQUE;
