"""Owner notifications through regional units, with clean-up tracking.

collect (events → drafts per owner) → store (notices, sending rules) → compose (text, HTML,
CSV, MIME) → deliver (SMTP, fallback, throttle) → bounces (DSN) → track (delivered,
acknowledged, remediated) → stats. `service.run` is one round of all of it."""

from bluelamp.act.notify.service import RunReport, run

__all__ = ["RunReport", "run"]
