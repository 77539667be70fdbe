"""Evidence, actions and reports on a case (wired to cordon.app.response and cordon.app.reports)."""

from __future__ import annotations

from fastapi import APIRouter

from cordon.api.schemas import ERRORS

router = APIRouter(prefix="/api/v1", tags=["response"], responses=ERRORS)
