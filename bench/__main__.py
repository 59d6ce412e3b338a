"""``python -m bench [NAME ...]``: run the named benchmarks, or all of them; the exit status is 1
when any target of the report is missed."""

import argparse
import importlib
import signal
import sys

from bench.options import Options
from bench.stats import Check, checks_table, heading, machine_load

# Name -> module with ``run(options: Options) -> list[Check]``; new benchmarks go here.
BENCHMARKS = {
    "search": "bench.search",
    "booking": "bench.booking",
    "booking-cpu": "bench.booking_cpu",
    "engine": "bench.engine",
    "page": "bench.page",
    "live": "bench.live",
}


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    unknown = set(arguments.benchmarks) - set(BENCHMARKS)
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    options = Options(
        requests=arguments.requests,
        clients=arguments.clients,
        reseed=arguments.reseed,
        sockets=arguments.sockets,
        seconds=arguments.seconds,
        rate=arguments.rate,
    )
    checks: list[Check] = []
    # A `kill` stops the run as Ctrl-C does, so the servers and workers it started are stopped
    # by the `with` blocks that own them instead of being left running.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        for name in arguments.benchmarks or BENCHMARKS:
            checks += importlib.import_module(BENCHMARKS[name]).run(options)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    heading("Summary")
    print(checks_table(checks))
    failed = [check for check in checks if not check.passed]
    print(f"\n  {len(checks) - len(failed)} of {len(checks)} targets met; {machine_load()}.")
    return 1 if failed else 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmarks of Secure-My-Spot (make bench)."
    )
    parser.add_argument(
        "benchmarks",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)",
    )
    parser.add_argument(
        "--requests",
        type=_positive,
        default=2000,
        help="recorded requests per measured run (default: %(default)s)",
    )
    parser.add_argument(
        "--clients",
        type=_positive,
        default=4,
        help="concurrent clients, one process each (default: %(default)s)",
    )
    parser.add_argument(
        "--reseed",
        action="store_true",
        help="recreate and reseed the scratch databases even if they hold the right spots",
    )
    parser.add_argument(
        "--sockets",
        type=_positive,
        default=5000,
        help="live: concurrent map sockets (default: %(default)s)",
    )
    parser.add_argument(
        "--seconds",
        type=_positive,
        default=60,
        help="live: seconds of changes (default: %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=_positive,
        default=100,
        help="live: changes a second, half bookings, half ends (default: %(default)s)",
    )
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


if __name__ == "__main__":
    sys.exit(main())
