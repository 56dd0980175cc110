"""Reconciliation: bank statements in (camt.053/054, MT940, CSV), normalised to one table.

Matching, checks, runs and mismatches build on these tables (issue 17); they are not here yet.
"""
