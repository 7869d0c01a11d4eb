"""Where the daemons' log lines go: ``[logging] target = "stderr" | "syslog" | "file"``.

stderr is right under systemd (the journal keeps it).  A box without systemd needs somewhere
else: syslog with the mail facility puts our lines beside Postfix's in ``/var/log/mail.log``
(what a mail admin already reads), and a file works with nothing else running.  The file is
created 0640 (whatever the umask) and reopened when logrotate moves it (WatchedFileHandler), so
``logrotate`` needs no signal to the daemon.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from aupmilter.config import LoggingSettings
from aupmilter.fsmodes import FILE_MODE, create_file, make_dirs

FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
#: syslog adds its own time stamp and host; the tag is what `grep aupmilter /var/log/mail.log` finds.
SYSLOG_FORMAT = "aupmilter[%(process)d]: %(name)s %(levelname)s %(message)s"


def handler_for(settings: LoggingSettings) -> logging.Handler:
    """Build the handler; raises OSError naming the path when the target cannot be used."""
    handler: logging.Handler
    if settings.target == "syslog":
        facility = logging.handlers.SysLogHandler.facility_names[settings.facility]
        handler = logging.handlers.SysLogHandler(address=settings.syslog_socket, facility=facility)
        handler.setFormatter(logging.Formatter(SYSLOG_FORMAT))
        return handler
    if settings.target == "file":
        path = Path(settings.file)
        make_dirs(path.parent)
        create_file(path, b"", FILE_MODE, exist_ok=True)
        handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    return handler


def configure(settings: LoggingSettings) -> None:
    """Replace the root logger's handlers with the configured one (called once per daemon)."""
    handler = handler_for(settings)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(settings.level.upper())
