"""Deciding what to do about an incident: policy, guards, digital twin, human approval.

:func:`plan` is the pure policy step (which rule, which workflow, act / hold /
escalate). :class:`Decider` wraps it with the guards, the twin and the
approval gate, and writes a :class:`DecisionRecord` for every decision.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from actuators.approvals import ApprovalBook
from actuators.explain import Evidence, evidence_text, plan_text
from actuators.guards import Guards
from actuators.policy import PolicyTable, Rule
from actuators.twin import Twin
from schemas import (
    ActionRequest,
    DecisionKind,
    DecisionRecord,
    Incident,
    IncidentStatus,
    Record,
    ToolCall,
)

STAGE = "decide"


def action_id(incident: Incident) -> str:
    """One action per incident attempt: ``<incident id>/<attempt>`` (tool servers dedup on it)."""
    return f"{incident.incident_id}/{incident.attempt}"


@dataclass(frozen=True)
class Plan:
    """A decision record, and the action to take when the decision is to act."""

    decision: DecisionRecord
    action: ActionRequest | None
    rule: Rule | None = None


def plan(incident: Incident, policies: PolicyTable, *, act: bool = True,
         evidence: list[Evidence] | None = None) -> Plan:
    """Plan the remediation of ``incident``'s current candidate (``candidates[attempt]``).

    Acts when a rule matches the candidate and the incident's confidence is in
    the rule's range; with ``act=False`` (kill switch) the plan is recorded but
    held. Otherwise the incident is escalated. The evidence cited is the
    candidate's own, from its incident's window (unless ``evidence`` is given).
    """
    cand = incident.candidates[incident.attempt]
    found = policies.match(cand, incident.confidence)
    ev = list(cand.evidence) if evidence is None else evidence
    base = dict(incident_id=incident.incident_id, tick=incident.tick, stage=STAGE,
                fault_type=cand.fault_type, target=cand.entity_id, confidence=incident.confidence,
                evidence=ev, alternatives=[c for c in incident.candidates if c is not cand])
    seen = evidence_text(ev, len(incident.symptoms))
    if found.rule is None and found.refused is None:
        why = f"{seen}; no policy for fault type {cand.fault_type!r} on {cand.entity_id}; needs a human"
        return Plan(DecisionRecord(decision=DecisionKind.ESCALATE, explanation=why, **base), None)
    if found.rule is None:
        r = found.refused
        assert r is not None
        why = (f"{seen}; confidence {incident.confidence:.2f} in {cand.fault_type} on {cand.entity_id} "
               f"is outside the policy's range {r.min_confidence:.2f}–{r.max_confidence:.2f} "
               f"(below the policy minimum); needs a human")
        return Plan(DecisionRecord(decision=DecisionKind.ESCALATE, tool=r.tool or r.workflow,
                                   explanation=why, **base), None)
    rule = found.rule
    wf = policies.workflow_of(rule)
    main = wf.main_call()
    steps = wf.describe(cand.entity_id)
    action = ActionRequest(action_id=action_id(incident), incident_id=incident.incident_id,
                           tick=incident.tick, tool=main.call, target=cand.entity_id,
                           arguments=main.call_arguments(cand.entity_id), workflow=rule.workflow)
    record = dict(tool=main.call, workflow=rule.workflow, plan=steps, action_id=action.action_id, **base)
    if not act:
        why = f"acting is switched off: would run {plan_text(rule.workflow, steps)} ({seen})"
        return Plan(DecisionRecord(decision=DecisionKind.HOLD, explanation=why, **record), None, rule)
    why = (f"{seen}; {cand.fault_type} on {cand.entity_id} explains {cand.explained} of them (confidence "
           f"{incident.confidence:.2f}, candidate {incident.attempt + 1} of {len(incident.candidates)}): "
           f"calling {main.call}")
    return Plan(DecisionRecord(decision=DecisionKind.ACT, explanation=why, **record), action, rule)


@dataclass
class Decider:
    """The decide step with its safety net: guards, the digital twin, the approval gate.

    Parameters
    ----------
    twin_below
        Below this confidence a rule with ``twin: auto`` asks the twin first (it
        always does before an irreversible workflow).
    approval_below
        Below this confidence an action waits for a human (as does any rule with
        ``approval: true``).
    """

    policies: PolicyTable
    act: bool = True
    guards: Guards = field(default_factory=Guards)
    approvals: ApprovalBook = field(default_factory=ApprovalBook)
    twin: Twin | None = None
    twin_below: float = 0.6
    twin_horizon: int = 5
    approval_below: float = 0.0
    _decided: set[tuple[str, int]] = field(default_factory=set)

    def decide(self, incident: Incident) -> list[Record]:
        """Records for an incident update: decisions, and the action if one goes ahead."""
        if incident.status in (IncidentStatus.RESOLVED, IncidentStatus.ESCALATED):
            self.approvals.cancel(incident.incident_id)
            return []
        key = (incident.incident_id, incident.attempt)
        if incident.status is not IncidentStatus.OPEN or key in self._decided:
            return []
        self._decided.add(key)
        p = plan(incident, self.policies, act=self.act)
        if p.action is None or p.rule is None:
            return [p.decision]
        return self._safeguard(incident, p)

    def restore(self, incidents: Iterable[Incident]) -> None:
        """After a restart: every attempt the log has moved past was decided. An open attempt may
        not have been, and is decided again if its record comes back (same action id: the tool
        acts once). Guard history and waiting approvals are not in the log and start empty."""
        for inc in incidents:
            self._decided.update((inc.incident_id, a) for a in range(inc.attempt))
            if inc.status is not IncidentStatus.OPEN:
                self._decided.add((inc.incident_id, inc.attempt))

    def on_tick(self, tick: int) -> list[Record]:
        """Approvals answered by a human or by the unattended default."""
        out: list[Record] = []
        for a in self.approvals.due(tick):
            d = a.decision.model_copy(update={"tick": tick, "approval_id": a.approval_id})
            if a.status == "approved":
                out += self._go(d.model_copy(update={
                    "explanation": f"{a.approval_id} approved by {a.by}; {d.explanation}"}), a.action, tick)
            else:
                out.append(d.model_copy(update={
                    "decision": DecisionKind.DENY, "outcome": "denied",
                    "explanation": f"{a.approval_id} denied by {a.by}; not acting: {d.explanation}"}))
        return out

    def _safeguard(self, incident: Incident, p: Plan) -> list[Record]:
        assert p.action is not None and p.rule is not None
        d, action, rule = p.decision, p.action, p.rule
        verdicts = self.guards.check(action, incident.tick)
        d = d.model_copy(update={"guards": verdicts})
        refused = [v for v in verdicts if not v.allowed]
        if refused:
            why = "; ".join(f"{v.guard}: {v.detail}" for v in refused)
            return [d.model_copy(update={"decision": DecisionKind.BLOCK, "outcome": "blocked",
                                         "explanation": f"guard refused the action ({why}); "
                                                        f"needs a human. {d.explanation}"})]
        wf = self.policies.workflow_of(rule)
        if rule.twin == "always" or (rule.twin == "auto" and (
                not wf.reversible or incident.confidence < self.twin_below)):
            d, vetoed = self._ask_twin(incident, d, action)
            if vetoed:
                return [d]
        if rule.approval or incident.confidence < self.approval_below:
            a = self.approvals.request(action, d, incident.tick)
            why = ("the policy asks for a human's approval" if rule.approval else
                   f"confidence {incident.confidence:.2f} is below {self.approval_below:.2f}")
            return [d.model_copy(update={"decision": DecisionKind.APPROVAL, "approval_id": a.approval_id,
                                         "explanation": f"waiting for approval {a.approval_id} ({why}): "
                                                        f"{d.explanation}"})]
        return self._go(d, action, incident.tick)

    def _ask_twin(self, incident: Incident, d: DecisionRecord, action: ActionRequest
                  ) -> tuple[DecisionRecord, bool]:
        if self.twin is None:
            return d.model_copy(update={"explanation": f"{d.explanation} (no digital twin to ask)"}), False
        call = ToolCall(tool=action.tool, target=action.target, arguments=action.arguments)
        pred = self.twin.predict(call, watch=incident.symptoms, horizon=self.twin_horizon)
        said = (f"the twin predicts {pred.improvement:+.1f} sigma-ticks over {pred.horizon_ticks} ticks on "
                f"{pred.watched} entities")
        if pred.improves:
            return d.model_copy(update={"twin": pred, "explanation": f"{d.explanation}; {said}"}), False
        return d.model_copy(update={
            "twin": pred, "decision": DecisionKind.VETO, "outcome": "vetoed by the twin",
            "explanation": f"not calling {action.tool} on {action.target}: {said}, no improvement. "
                           f"{d.explanation}"}), True

    def _go(self, d: DecisionRecord, action: ActionRequest, tick: int) -> list[Record]:
        self.guards.commit(action, tick)
        return [d.model_copy(update={"decision": DecisionKind.ACT}), action.model_copy(update={"tick": tick})]
