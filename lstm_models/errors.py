"""The project's one exception root: every error it raises for its users (bad data, config,
bundle or registry) derives from UserError, which the CLI prints as one line with exit code 2
(a traceback only with --debug). Everything else is a bug and keeps its traceback."""
from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; its message names the file, row or setting and the rule."""
