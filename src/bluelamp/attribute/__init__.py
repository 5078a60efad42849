"""Attribution: address → ASN, network, organisation, country, region, sector, abuse contact.

`Attributor` is the entry point (contract 6); `prefixes` holds the vectorised longest-prefix
match, `loaders` the routing and registry file formats, `orgs` the organisation directory and
`geo` the MaxMind-format geolocation lookup.
"""

from bluelamp.attribute.attributor import FILLED, AttributionStats, Attributor
from bluelamp.attribute.orgs import Organisation, OrgDirectory

__all__ = ["FILLED", "AttributionStats", "Attributor", "OrgDirectory", "Organisation"]
