"""The Flask app: the editor's preview, the subscriber pages and the public archive."""
