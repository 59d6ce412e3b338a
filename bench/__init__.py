"""Benchmarks and load generators: ``python -m bench [NAME ...]`` (``make bench``).

Each benchmark is a sibling module with a ``run(options) -> list[Check]`` function, listed in
``bench.__main__.BENCHMARKS`` (``search``, ``booking``, ``engine``); the parts of one that run
inside Django sit in its ``*_django`` module. The shared machinery lives beside them:

- ``databases``: scratch PostgreSQL databases, seeded once and reused between runs.
- ``project``: the project's own code run against one of them (``manage.py``, Django itself).
- ``processes``: subprocesses started and stopped with their children; CPU time by process.
- ``server``: the production server (gunicorn) as a subprocess, and its workers' memory.
- ``worker``: the Celery worker and beat as subprocesses, and what their logs say of tasks.
- ``broker``: a RabbitMQ virtual host and a Redis database of the benchmark's own.
- ``stripe_server``: localstripe, the fake Stripe server, as a subprocess.
- ``load``: the load generators (a closed loop, or a burst released at once), over HTTP or
  straight against PostgreSQL.
- ``stats``: percentiles, tables and the PASS/FAIL checks the report ends with.
"""
