"""The lookalike verdict in a requested name's automatic context: computed by the desk
when a request is filed (SQLite, no registry server needed) and shown on the case page."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import select

from bluelamp.act.cases import context as ctx
from bluelamp.act.cases.desk import Desk, NewRequest, build_desk
from bluelamp.settings import Settings, SuspensionSettings
from bluelamp.store.db import make_engine, session_factory, transaction, upgrade
from bluelamp.store.models.suspensions import SuspensionItem, SuspensionRequest
from bluelamp.web.routers.suspension_common import request_view

TEMPLATES = Path(__file__).parents[2] / "src" / "bluelamp" / "web" / "templates"
SETTINGS = Settings.model_validate({"detect": {
    "protected_brands": {"examplebank": ["examplebank.uk"]},
    "lookalike_keywords": ["login"]}})


def test_lookalike_context_uses_the_configured_brands() -> None:
    names = ["examp1ebank.uk", "examplebank-login.uk", "examplebank.uk", "www.examplebank.uk",
             "paypa1.uk", "shop.uk"]
    out = ctx.lookalike_context(names, ctx.protected_brands(SETTINGS))
    assert list(out) == names
    assert out["examp1ebank.uk"] == {"lookalike": {
        "brand": "examplebank", "kind": "homoglyph", "score": 0.95, "label": "examp1ebank"}}
    assert out["examplebank-login.uk"]["lookalike"]["kind"] == "combosquat"
    # genuine, under a genuine domain, a brand not configured here, nothing: checked, None
    assert [out[n] for n in names[2:]] == [{"lookalike": None}] * 4
    # without settings: the default brand list (paypal is one of its examples)
    default = ctx.lookalike_context(["paypa1.uk"])
    assert default["paypa1.uk"]["lookalike"]["brand"] == "paypal"
    # a requested name that is not a domain name is not a lookalike either
    assert ctx.lookalike_context(["192.0.2.1", ""], ctx.protected_brands(SETTINGS)) == {
        "192.0.2.1": {"lookalike": None}, "": {"lookalike": None}}


def _file(tmp_path: Path, names: list[str]) -> dict:
    engine = make_engine(f"sqlite:///{tmp_path / 'desk.db'}")
    upgrade(engine)
    try:
        with transaction(session_factory(engine)) as db:
            # no zones: every name is refused before DNS, the context is still computed
            desk = build_desk(db, SETTINGS.model_copy(update={
                "suspensions": SuspensionSettings(zones=[])}))
            agency = desk.create_agency("test", "Fraud Unit", None)
            request = desk.file("officer@fraud.example", agency, NewRequest(
                names=names, category="phishing", legal_basis="Fraud Act 2006 s.7"))
            rid = request.id
        with transaction(session_factory(engine)) as db:
            row = db.get(SuspensionRequest, rid)
            assert row is not None
            return request_view(row, dt.datetime.now(dt.UTC))
    finally:
        engine.dispose()


def test_desk_stores_and_the_case_page_shows_the_verdict(tmp_path: Path) -> None:
    case = _file(tmp_path, ["Examp1eBank.uk.", "shop.uk"])
    items = {i["domain"]: i for i in case["items"]}
    assert items["examp1ebank.uk"]["context"]["lookalike"]["kind"] == "homoglyph"
    assert items["shop.uk"]["context"]["lookalike"] is None
    assert "findings" in items["shop.uk"]["context"]  # the lake context is still there

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined)
    principal = SimpleNamespace(role=SimpleNamespace(value="reviewer"), user=None)
    html = env.get_template("suspensions/case.html").render(
        case=case, principal=principal, csrf="t", message="", error="")
    assert "lookalike: homoglyph of examplebank (examp1ebank, score 0.95)" in html
    assert html.count("lookalike:") == 1  # nothing shown for a name that imitates no brand


def test_a_desk_built_without_brands_uses_the_default_list(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'desk.db'}")
    upgrade(engine)
    try:
        with transaction(session_factory(engine)) as db:
            desk = Desk(db, SuspensionSettings(zones=[]))
            agency = desk.create_agency("test", "Fraud Unit", None)
            desk.file("officer@fraud.example", agency, NewRequest(
                names=["paypa1.uk"], category="phishing", legal_basis="s.7"))
        with transaction(session_factory(engine)) as db:
            item = db.scalars(select(SuspensionItem)).one()
            assert json.loads(item.context)["lookalike"]["brand"] == "paypal"
    finally:
        engine.dispose()
