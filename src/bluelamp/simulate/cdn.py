"""Benign names that look random: CDN, cloud and video-cache host names.

CloudFront distributions, Akamai edge hosts, API Gateway ids, S3 buckets, YouTube's video
caches, ad safeframes, Azure endpoints, R2 buckets and the AMP cache all carry hashes or
ids in their labels. A
detector that only measures randomness flags them; these clients are benign.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from bluelamp.simulate.behaviour import Behaviour
from bluelamp.simulate.benign import zipf_weights
from bluelamp.simulate.frame import Draft, names
from bluelamp.simulate.randtext import ALNUM, BASE32, HEX
from bluelamp.simulate.randtext import random_string as _rand
from bluelamp.simulate.world import FORWARDER, MOBILE, WORKSTATION

REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1",
           "eu-north-1")
POOL = 400
#: share of a client's lookups that go to such names
SHARE = 0.06


def _cloudfront(g: np.random.Generator) -> str:
    return f"d{_rand(g, ALNUM, 13)}.cloudfront.net"


def _akamai(g: np.random.Generator) -> str:
    return f"e{int(g.integers(1, 99999))}.{g.choice(['a', 'b', 'd', 'dsca', 'x'])}.akamaiedge.net"


def _apigw(g: np.random.Generator) -> str:
    return f"{_rand(g, ALNUM, 10)}.execute-api.{g.choice(REGIONS)}.amazonaws.com"


def _s3(g: np.random.Generator) -> str:
    return f"assets-{_rand(g, HEX, 12)}.s3.{g.choice(REGIONS)}.amazonaws.com"


def _googlevideo(g: np.random.Generator) -> str:
    return f"rr{int(g.integers(1, 9))}---sn-{_rand(g, ALNUM, 8)}.googlevideo.com"


def _safeframe(g: np.random.Generator) -> str:
    return f"{_rand(g, HEX, 32)}.safeframe.googlesyndication.com"


def _azure(g: np.random.Generator) -> str:
    return f"st{_rand(g, ALNUM, 14)}.blob.core.windows.net"


def _frontdoor(g: np.random.Generator) -> str:
    return f"app-{_rand(g, ALNUM, 16)}.z01.azurefd.net"


def _r2(g: np.random.Generator) -> str:
    return f"pub-{_rand(g, HEX, 32)}.r2.dev"


def _amp(g: np.random.Generator) -> str:
    """The AMP cache names a site it cannot spell by the base32 of a hash (52 chars)."""
    return f"{_rand(g, BASE32, 52)}.cdn.ampproject.org"


GENERATORS = (_cloudfront, _akamai, _apigw, _s3, _googlevideo, _safeframe, _azure, _frontdoor,
              _r2, _amp)


class CdnNames(Behaviour):
    name = "cdn"

    def plan(self, g: np.random.Generator) -> None:
        self.pool = [GENERATORS[i % len(GENERATORS)](g) for i in range(POOL * len(GENERATORS))]
        g.shuffle(self.pool)
        self.weights = zipf_weights(len(self.pool), 0.9)

    def generate(self, lo_us: int, hi_us: int, g: np.random.Generator) -> list[Draft]:
        w = self.world
        people = np.isin(w.kind, (WORKSTATION, MOBILE, FORWARDER))
        count = g.poisson(np.where(people, w.activity(lo_us, hi_us) * SHARE / 2, 0.0))
        client = np.repeat(np.arange(w.n, dtype=np.int32), count)
        ts = g.integers(lo_us, hi_us, size=len(client))
        pick = g.choice(len(self.pool), size=len(client), p=self.weights)
        # an A query and an AAAA query for each lookup
        qnames = names(self.pool).take(pa.array(np.concatenate([pick, pick])))
        both = np.concatenate([ts, np.minimum(ts + g.integers(20, 400, len(ts)), hi_us - 1)])
        qtype = np.concatenate([np.full(len(ts), 1, np.uint16), np.full(len(ts), 28, np.uint16)])
        return [Draft(both, np.concatenate([client, client]), qnames, qtype,
                      np.zeros(len(both), np.uint8))]
