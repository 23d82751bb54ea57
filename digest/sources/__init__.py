"""Where entries come from: Markdown files today, feeds and pasted texts later."""
