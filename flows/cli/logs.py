"""Console log records without tracebacks (the Prefect API and UI still get the full record)."""
from __future__ import annotations

import logging


class NoTracebacks(logging.Filter):
    """Keep the console readable for user errors: the message stays, the traceback goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        if isinstance(record.msg, str) and "Traceback" in record.msg:
            record.msg = record.msg.split("Traceback")[0].rstrip()
        return True


def quiet_console_tracebacks() -> None:
    """Add NoTracebacks to every Prefect console handler (call after Prefect set up logging)."""
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger()] + [l for l in logging.Logger.manager.loggerDict.values() if isinstance(l, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.addFilter(NoTracebacks())
