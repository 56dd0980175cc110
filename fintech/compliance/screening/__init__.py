"""Sanctions screening: lists loaded from their published files, names matched, hits held.

- `parsers`: OFAC SDN XML, UN consolidated XML, OpenSanctions FtM JSON lines -> ListedParty.
- `names`: the name normaliser (transliteration, case, punctuation, legal-form words).
- `matching`: subjects against entries, set-wise (rapidfuzz), with date of birth and country.
- `services`: loading a list version, screening subjects, deciding hits (audited, with events).
- `selectors`: holds, read by the transfer flow.
"""
