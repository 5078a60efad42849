"""Live threat feeds for subscribers: subscriptions, vectorised matching, SSE, webhooks,
daily reports. Everything that leaves goes through `tlp.shareable` first."""
