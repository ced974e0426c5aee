"""The human-approval gate: actions that wait for a person, and what happens when nobody answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from schemas import ActionRequest, DecisionRecord

Unattended = Literal["deny", "approve"]


@dataclass
class Approval:
    """An action waiting for a human: approve it, deny it, or let the timeout decide."""

    approval_id: str
    action: ActionRequest
    decision: DecisionRecord
    requested_tick: int
    status: Literal["pending", "approved", "denied"] = "pending"
    by: str = ""

    def summary(self) -> dict[str, object]:
        a = self.action
        return {"id": self.approval_id, "incident": a.incident_id, "tool": a.tool, "target": a.target,
                "requested_tick": self.requested_tick, "status": self.status,
                "confidence": self.decision.confidence, "why": self.decision.explanation}


@dataclass
class ApprovalBook:
    """Pending approvals. A human answers through :meth:`approve`/:meth:`deny`; after
    ``timeout_ticks`` unanswered, ``unattended`` decides."""

    timeout_ticks: int = 30
    unattended: Unattended = "deny"
    _all: dict[str, Approval] = field(default_factory=dict)
    _answered: list[Approval] = field(default_factory=list)

    def request(self, action: ActionRequest, decision: DecisionRecord, tick: int) -> Approval:
        approval = Approval(f"APR-{len(self._all) + 1:04d}", action, decision, tick)
        self._all[approval.approval_id] = approval
        return approval

    def pending(self) -> list[Approval]:
        return [a for a in self._all.values() if a.status == "pending"]

    def all(self) -> list[Approval]:
        """Every request, pending ones first."""
        return sorted(self._all.values(), key=lambda a: (a.status != "pending", a.approval_id))

    def get(self, approval_id: str) -> Approval | None:
        return self._all.get(approval_id)

    def approve(self, approval_id: str, by: str = "a human") -> Approval | None:
        """Approve a pending request; ``None`` when there is no such pending request."""
        return self._answer(approval_id, "approved", by)

    def deny(self, approval_id: str, by: str = "a human") -> Approval | None:
        return self._answer(approval_id, "denied", by)

    def cancel(self, incident_id: str) -> None:
        """The incident closed on its own: its pending requests are moot."""
        for a in self.pending():
            if a.action.incident_id == incident_id:
                a.status, a.by = "denied", "the incident closing first"

    def due(self, tick: int) -> list[Approval]:
        """Requests answered since the last call, and those whose timeout passed at ``tick``."""
        for a in self.pending():
            if tick - a.requested_tick >= self.timeout_ticks:
                a.status = "approved" if self.unattended == "approve" else "denied"
                a.by = f"the unattended default after {self.timeout_ticks} ticks"
                self._answered.append(a)
        out, self._answered = self._answered, []
        return out

    def _answer(self, approval_id: str, status: Literal["approved", "denied"], by: str) -> Approval | None:
        a = self._all.get(approval_id)
        if a is None or a.status != "pending":
            return None
        a.status, a.by = status, by
        self._answered.append(a)
        return a
