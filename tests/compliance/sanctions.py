"""Helpers for the sanctions screening tests: the sample lists and how to load them."""

from __future__ import annotations

from pathlib import Path

from fintech.compliance.screening.services import LoadResult, sanctions_list_load
from fintech.core.services import Actor

DATA = Path(__file__).parent / "data"
OFAC_V1 = DATA / "ofac_sdn_v1.xml"
OFAC_V2 = DATA / "ofac_sdn_v2.xml"
UN = DATA / "un_consolidated.xml"
OPENSANCTIONS = DATA / "opensanctions.ftm.jsonl"

LOADER = Actor(label="user:carla", request_id="req-carla")  # carla, compliance officer


def load(source: str, path: Path) -> LoadResult:
    return sanctions_list_load(actor=LOADER, source=source, path=path)
