"""Writes for ERP payments, by subdomain: vendors, requests (intake and pipeline), approvals,
and following the transfer's events."""
