"""The kit's own error type: a message meant for the person at the terminal.

Everything raised as a `BlockgradeError` (bad input, a broken assignment, a sandbox that cannot
start) ends a command with that message and exit status 2, never with a traceback.
"""


class BlockgradeError(Exception):
    """An error whose message tells the user what is wrong and what to do."""
