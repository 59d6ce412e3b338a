"""Gunicorn's own log lines, the access log above all, masked and formatted as the
application's are (gunicorn.conf.py names this class).

The access log line is gunicorn's combined format, built from the raw request line: a guest
route's path carries the driver's email and a query string may carry a ``?token=``, so the
line goes through the same masking filter as every other record.
"""

from django.conf import settings
from gunicorn import glogging

from securemyspot.log_format import FORMATTERS, MaskAndStampFilter
from securemyspot.log_masking import mask
from securemyspot.request_context import REQUEST_ID_HEADER


class MaskingGunicornLogger(glogging.Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        formatter = FORMATTERS[settings.LOG_FORMAT]()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.addFilter(MaskAndStampFilter())
                handler.setFormatter(formatter)

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
        path = environ.get("RAW_URI") or environ.get("PATH_INFO", "")
        fields = {
            "method": atoms["m"],
            "path": mask(path),
            "status": int(atoms["s"]),
            "duration_ms": atoms["M"],
            "bytes": atoms["B"],
            "remote_addr": atoms["h"],
        }
        request_id = atoms[f"{{{REQUEST_ID_HEADER.lower()}}}o"]
        extra = {"log_fields": fields, "request_id": None if request_id == "-" else request_id}
        self.access_log.info(self.cfg.access_log_format, atoms, extra=extra)
