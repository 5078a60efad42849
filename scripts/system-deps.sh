#!/usr/bin/env bash
# Install the real servers the tests run against, from Debian's packages, when we can.
# Idempotent and quiet when everything is present.
set -uo pipefail
PKGS=(unbound fstrm-bin knot knot-dnsutils knot-module-dnstap postgresql chromium)
BINS=(/usr/sbin/unbound /usr/bin/fstrm_capture /usr/sbin/knotd /usr/bin/kdig \
      /usr/lib/x86_64-linux-gnu/knot/modules-3.2/dnstap.so \
      /usr/lib/postgresql /usr/bin/chromium)
missing=0
for b in "${BINS[@]}"; do [ -e "$b" ] || missing=1; done
[ "$missing" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: not root on a Debian-like system; tests needing ${PKGS[*]} will skip" >&2
  exit 0
fi
echo "== installing system packages: ${PKGS[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || echo "system-deps: apt-get update failed" >&2
apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null \
  || echo "system-deps: apt-get install failed; tests needing those servers will skip" >&2
# Debian starts services on install; the tests run their own instances on loopback.
for svc in unbound knot postgresql; do
  (command -v systemctl >/dev/null && systemctl stop "$svc" 2>/dev/null) || \
    service "$svc" stop >/dev/null 2>&1 || true
done
exit 0
