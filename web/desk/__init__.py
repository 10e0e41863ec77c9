"""The application layer: what happens to tickets, conversations, accounts and mail, whoever
asks. Both sides (web/student, web/console) call it; it knows nothing of HTTP or Socket.IO."""
