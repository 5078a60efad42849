"""docs/schema.md is generated from the field dictionary and must stay up to date.

Regenerate with: BLUELAMP_UPDATE_DOCS=1 .venv/bin/pytest tests/feeds/test_docs.py"""

from __future__ import annotations

import os
from pathlib import Path

from bluelamp import taxonomy
from bluelamp.schema import SCHEMAS

DOCS = Path(__file__).resolve().parents[2] / "docs"

HEADER = """# Data model

Generated from `src/bluelamp/schema.py` (the field dictionary) and
`src/bluelamp/taxonomy.py`; do not edit by hand: change the declarations and run
`BLUELAMP_UPDATE_DOCS=1 pytest tests/feeds/test_docs.py`.

Every record kind is declared once; Arrow schemas, JSON Schema, lake columns and API
payloads are derived from these declarations.
"""

EVENT_NOTES = """
#### Event ids, validation and classification

- `id` is the first 32 hex digits of SHA-256 over feed name, classification (taxonomy,
  type, identifier), subject (source ip, port, fqdn, url, asn, network; destination ip,
  port, fqdn) and source time, `|`-separated. Ingesting the same row twice gives the same id.
- Every field is checked by its type and name: `*_ip` IPv4/IPv6 (IPv6 written compressed),
  `*_port` 0..65535, `source_asn` 0..4294967295 (an `AS` prefix is accepted), times ISO 8601
  or Unix seconds (UTC when no zone), `*_fqdn` lower-case A-labels without trailing dot,
  `*_url` absolute URLs, `*_network` CIDR, `*_country` ISO 3166-1 alpha-2, `tlp` a TLP 2.0
  level (`tlp:` prefixes dropped, WHITE read as CLEAR), `confidence` 0..1, and the
  classification pair against the taxonomy below. A row that fails is reported with feed,
  file, line and field and goes to the quarantine; its neighbours are kept.
- An event must name a subject: one of source ip, fqdn, url, asn, network, destination ip
  or fqdn.
"""


def render() -> str:
    parts = [HEADER]
    for schema in SCHEMAS.values():
        parts.append(schema.markdown())
        if schema.name == "event":
            parts.append(EVENT_NOTES)
    parts.append("### ENISA reference incident classification taxonomy\n\n" +
                 taxonomy.markdown())
    return "\n".join(parts)


def test_schema_doc_is_up_to_date() -> None:
    path = DOCS / "schema.md"
    if os.environ.get("BLUELAMP_UPDATE_DOCS"):
        path.write_text(render())
    assert path.read_text() == render(), "docs/schema.md is stale: " + __doc__.splitlines()[-1]
    for name in SCHEMAS:
        assert f"### `{name}`" in path.read_text()
