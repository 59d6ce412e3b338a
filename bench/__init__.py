"""Benchmarks and load generators: ``python -m bench [NAME ...]`` (``make bench``).

Each benchmark is a sibling module with a ``run(options) -> list[Check]`` function, listed in
``bench.__main__.BENCHMARKS``; the shared machinery lives beside it:

- ``databases``: scratch PostgreSQL databases, seeded once and reused between runs.
- ``project``: the project's own code run against one of them (``manage.py``, Django itself).
- ``server``: the production server (gunicorn) as a subprocess, and its workers' memory.
- ``load``: the load generator, over HTTP or straight against PostgreSQL.
- ``stats``: percentiles, tables and the PASS/FAIL checks the report ends with.
"""
