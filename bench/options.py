"""The command-line options every benchmark shares."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    requests: int  # recorded requests per measured run, split over the clients
    clients: int  # concurrent clients, each in its own process
    reseed: bool  # recreate the scratch databases even when they hold the right spots
    sockets: int = 5000  # the live benchmark's open maps
    seconds: int = 60  # how long the live benchmark changes availability
    rate: float = 100.0  # the live benchmark's changes a second
