"""Getting messages to inboxes: MIME bytes, transports, and the send loop."""
