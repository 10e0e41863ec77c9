-- Whether a hello resumed the chat (a second tab, a reconnect): until then the only socket
-- following it is the one that started it, on the process that takes its steps, and a step's
-- answer is not published to the other processes. The chats stored before, and any row
-- inserted without saying, count as shared: published as before.
ALTER TABLE conversations ADD COLUMN shared boolean NOT NULL DEFAULT true;
