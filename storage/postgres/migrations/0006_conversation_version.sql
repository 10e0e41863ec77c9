-- Each save of a chat names the version it changes, so that a copy another process has
-- overtaken (a second tab of the student's on another process) cannot overwrite its save.
-- Rows stored before count as the first version; 0 means a copy never stored.
ALTER TABLE conversations ADD COLUMN version bigint NOT NULL DEFAULT 1;
