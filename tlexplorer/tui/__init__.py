"""The terminal explorer (Textual): screens, widgets, messages and one stylesheet."""
