"""The command-line options every benchmark shares."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    requests: int  # recorded requests per measured run, split over the clients
    clients: int  # concurrent clients, each in its own process
    reseed: bool  # recreate the scratch databases even when they hold the right spots
