"""Errors a user can fix: the CLI prints them as one line and exits with status 2."""


class UserError(Exception):
    """Bad input or usage: a missing folder, no images, unreadable weights or model files."""


class Cancelled(Exception):
    """Long work stopped because the user asked for it (Escape, Ctrl+C); finished work is kept."""
