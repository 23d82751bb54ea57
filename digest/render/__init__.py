"""Turning an Issue into email HTML and text: Jinja2 for data, MJML for layout."""
