"""Benchmarks (not tests): bounded in count and time, each printing its figure beside its
baseline from the same run on the same PostgreSQL server (DATABASE_URL). Run all with
`python -m bench`, or one with `python -m bench.ledger_postings`."""
