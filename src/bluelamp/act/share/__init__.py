"""Sharing in the formats CERT and police tooling reads: STIX 2.1, TAXII 2.1, MISP feeds and
RPZ zones for protective resolvers."""
