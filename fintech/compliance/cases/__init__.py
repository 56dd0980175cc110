"""Compliance cases: alerts grouped per profile, investigated and closed by a decision.

- `registry`: alert kinds plug in (release, confirm, describe, held transfers) by name, so
  the case code imports no alert module and no alert module needs the case code's insides.
- `services`: attach an alert, assign, notes, attachments, the lifecycle, four-eyes closing.
- `attachments`: what an attachment may be (type, size, name) before it is stored.
- `sar`: the suspicious-activity report of a case, as JSON and CSV.
- `screening`: the "screening_hit" kind (registered by ComplianceConfig.ready).
"""
