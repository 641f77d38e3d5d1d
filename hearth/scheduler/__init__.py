"""The calendar: APScheduler 3 triggers say when; one supervised loop fires, in one process.

- `rules`: the `--every` grammar people type, compiled to APScheduler triggers.
- `declarations`: what features declare through the registry (`registry.every`).
- `plan`: the recurring jobs that exist now, and which of their periods are due.
- `firing`: runs one firing in its transaction, recorded once; failures retried, then dead.
- `scheduler`: everything due by the clock's now, in time order (the console drives this).
- `leader`: which process fires (a PostgreSQL advisory lock).
- `runner`: the server's loop: leadership, firing, sleeping, heartbeat and counts.
"""
