"""HTTP and WebSockets for an ASGI server (docs/live.md): the live sockets under /ws/, the
Django API beside them."""

import gc
import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "securemyspot.settings")

http_application = get_asgi_application()

# A socket server holds thousands of sockets, hundreds of thousands of long-lived objects, and
# each message it sends makes a few short-lived ones. With CPython's default thresholds
# (700, 10, 10) the collector ran hundreds of times a second, promoting objects that were about
# to die anyway, and its full collections walked every socket's objects again and again. Fewer,
# larger young collections let those objects die young (docs/live.md, "Serving": socket-server
# CPU a message 0.09 -> 0.05 ms at 5,000 maps). What start-up loaded is never walked again.
gc.freeze()
gc.set_threshold(50_000, 20, 100)

# Named, like the URL includes: the project's wiring, not an import of a higher layer.
from django.utils.module_loading import import_string  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": URLRouter(import_string("live.routing.websocket_urlpatterns")),
    }
)
