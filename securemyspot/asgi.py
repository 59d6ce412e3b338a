"""HTTP and WebSockets for an ASGI server (docs/live.md): the live sockets under /ws/, the
Django API beside them."""

import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "securemyspot.settings")

http_application = get_asgi_application()

# Named, like the URL includes: the project's wiring, not an import of a higher layer.
from django.utils.module_loading import import_string  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": URLRouter(import_string("live.routing.websocket_urlpatterns")),
    }
)
