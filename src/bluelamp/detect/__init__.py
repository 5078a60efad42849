"""Detectors and the engine that runs them. Each module here that defines `DETECTORS`
(a list of detector factories) is registered automatically."""
