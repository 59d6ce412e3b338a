import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from securemyspot.log_format import JsonFormatter, MaskAndStampFilter


@contextmanager
def capture_log_lines(level: int | None = None) -> Iterator[Callable[[], list[dict]]]:
    """Every record reaching the root logger meanwhile, as the production handler writes it
    (masked, one JSON object per line); ``level`` lowers the root's level for the while."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.addFilter(MaskAndStampFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    if level is not None:
        root.setLevel(level)
    try:
        yield lambda: [json.loads(line) for line in output.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
