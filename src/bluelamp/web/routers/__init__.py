"""One router per resource. The app factory includes every router listed here."""

from fastapi import APIRouter

from bluelamp.web.routers import (
    admin,
    agencies,
    auth,
    dashboard,
    healthcheck,
    myorg,
    notices,
    records,
    reports,
    site,
    suspension_pages,
    suspensions,
)

ROUTERS: list[APIRouter] = [site.router, auth.router, records.router, dashboard.router,
                            myorg.router, admin.router, suspensions.router,
                            suspension_pages.router, agencies.router,
                            reports.router, healthcheck.router, notices.router]
