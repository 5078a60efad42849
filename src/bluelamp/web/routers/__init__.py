"""One router per resource. The app factory includes every router listed here."""

from fastapi import APIRouter

from bluelamp.web.routers import admin, auth, dashboard, myorg, records, site

ROUTERS: list[APIRouter] = [site.router, auth.router, records.router, dashboard.router,
                            myorg.router, admin.router]
