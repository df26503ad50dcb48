"""Spending caps: per user per UTC day (``AI_BUDGET_PER_USER_DAILY_USD``) and per workflow run
(``AI_BUDGET_PER_RUN_USD``). A call is refused once the spend recorded so far reaches a cap."""

from __future__ import annotations

from services import errors
from services.ai.usage import CallContext, spent_by_run, spent_today
from services.settings import get_settings


class BudgetExceeded(errors.PermissionDenied):
    """A spending cap is reached; the message names the cap, the spend and the setting."""

    code = "budget_exceeded"


async def over_budget(context: CallContext) -> BudgetExceeded | None:
    """The cap the caller has reached, if any (run first: it is the narrower one)."""
    settings = get_settings()
    if context.run_id is not None and settings.ai_budget_per_run_usd > 0:
        spent = await spent_by_run(context.run_id)
        if spent >= settings.ai_budget_per_run_usd:
            return BudgetExceeded(
                f"This run has spent ${spent:.4f} on AI, reaching its budget of "
                f"${settings.ai_budget_per_run_usd:.2f} (AI_BUDGET_PER_RUN_USD).",
                details=[{"field": "budget", "message": "run budget reached", "spent_usd": round(spent, 6),
                          "limit_usd": settings.ai_budget_per_run_usd}])
    if context.user_id is not None and settings.ai_budget_per_user_daily_usd > 0:
        spent = await spent_today(context.user_id)
        if spent >= settings.ai_budget_per_user_daily_usd:
            return BudgetExceeded(
                f"You have spent ${spent:.4f} on AI today, reaching the daily budget of "
                f"${settings.ai_budget_per_user_daily_usd:.2f} (AI_BUDGET_PER_USER_DAILY_USD); it resets at 00:00 UTC.",
                details=[{"field": "budget", "message": "daily budget reached", "spent_usd": round(spent, 6),
                          "limit_usd": settings.ai_budget_per_user_daily_usd}])
    return None
