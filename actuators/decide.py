"""Deciding what to do about an incident: pure planning over the policy table."""

from __future__ import annotations

from dataclasses import dataclass

from actuators.policy import PolicyTable
from schemas import ActionRequest, DecisionKind, DecisionRecord, Incident

STAGE = "decide"


@dataclass(frozen=True)
class Plan:
    """A decision record, and the action to take when the decision is to act."""

    decision: DecisionRecord
    action: ActionRequest | None


def plan(incident: Incident, policies: PolicyTable, *, act: bool = True) -> Plan:
    """Plan the remediation of ``incident``'s current candidate (``candidates[attempt]``).

    Acts when a rule exists for the candidate's fault type and the incident's
    confidence reaches the rule's minimum; with ``act=False`` (kill switch) the
    plan is recorded but held. Otherwise the incident is escalated.
    """
    cand = incident.candidates[incident.attempt]
    rule = policies.lookup(cand.fault_type)
    base = dict(incident_id=incident.incident_id, tick=incident.tick, stage=STAGE,
                fault_type=cand.fault_type, target=cand.entity_id, confidence=incident.confidence)
    if rule is None:
        why = f"no policy for fault type {cand.fault_type!r} on {cand.entity_id}; needs a human"
        return Plan(DecisionRecord(decision=DecisionKind.ESCALATE, explanation=why, **base), None)
    if incident.confidence < rule.min_confidence:
        why = (f"confidence {incident.confidence:.2f} in {cand.fault_type} on {cand.entity_id} is "
               f"below the policy minimum {rule.min_confidence:.2f}; needs a human")
        return Plan(DecisionRecord(decision=DecisionKind.ESCALATE, tool=rule.tool, explanation=why,
                                   **base), None)
    evidence = f"{len(incident.symptoms)} anomalous entities"
    if not act:
        why = f"acting is switched off: would call {rule.tool} on {cand.entity_id} ({evidence})"
        return Plan(DecisionRecord(decision=DecisionKind.HOLD, tool=rule.tool, explanation=why, **base),
                    None)
    action = ActionRequest(action_id=action_id(incident),
                           incident_id=incident.incident_id, tick=incident.tick, tool=rule.tool,
                           target=cand.entity_id, arguments=rule.call_arguments(cand.entity_id))
    why = (f"{cand.fault_type} on {cand.entity_id} explains {evidence} (confidence "
           f"{incident.confidence:.2f}, candidate {incident.attempt + 1} of "
           f"{len(incident.candidates)}): calling {rule.tool}")
    return Plan(DecisionRecord(decision=DecisionKind.ACT, tool=rule.tool, explanation=why, **base),
                action)


def action_id(incident: Incident) -> str:
    """The id of the action for ``incident``'s current attempt: the same whoever plans it.

    >>> from schemas import Candidate
    >>> c = Candidate(entity_id="upf-2", score=1.0, fault_type="upf_overload", explained=3)
    >>> action_id(Incident(incident_id="INC-000340-upf-2", status="open", opened_tick=340, tick=352,
    ...                    fault_type="upf_overload", confidence=0.9, candidates=[c, c], attempt=1,
    ...                    symptoms=["upf-2"]))
    'INC-000340-upf-2/1'
    """
    return f"{incident.incident_id}/{incident.attempt}"
