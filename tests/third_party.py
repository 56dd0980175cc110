"""Where the vendors' own files are: `../shared/third_party/` beside the repository (read from
tests only, never copied into the project). THIRD_PARTY_DIR overrides it."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THIRD_PARTY = Path(os.environ.get("THIRD_PARTY_DIR", ROOT.parent / "shared" / "third_party"))
XERO_ACCOUNTING_SPEC = THIRD_PARTY / "xero" / "xero_accounting.yaml"
QUICKBOOKS_XSD = THIRD_PARTY / "quickbooks" / "xsd" / "IntuitRestServiceDef.xsd"
