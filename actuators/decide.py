"""Deciding what to do about an incident: announcements, policy, guards, digital twin, human approval.

:func:`plan` is the pure policy step (which rule, which workflow, act / hold /
escalate). :class:`Decider` first asks what the network announced (a hardware
alarm escalates at once; planned maintenance holds), then wraps the plan with
the guards, the twin's prediction and its uncertainty (nothing to fix: hold;
unlikely to help: veto; uncertain: ask a person; likely: act) and the
approval gate, and writes a :class:`DecisionRecord` for every decision.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from actuators.approvals import ApprovalBook
from actuators.awareness import (
    BURST_TICKS,
    CONCURRENT_TICKS,
    ESCALATED_TICKS,
    Reaches,
    burst,
    explained,
    part_of_another,
    shared_upstream,
)
from actuators.explain import Evidence, evidence_text, plan_text, twin_text
from actuators.guards import Guards
from actuators.inventory import Inventory
from actuators.policy import PolicyTable, Rule
from actuators.twin import Twin
from schemas import (
    ActionRequest,
    AnomalyEvent,
    DecisionKind,
    DecisionRecord,
    Incident,
    IncidentStatus,
    Record,
    ToolCall,
    TwinPrediction,
)

STAGE = "decide"
SETTLE_TICKS = 2  # how long a sizing decision waits for a rising load to settle


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
    """The decide step with its safety net: announcements, guards, the digital twin, the approval gate.

    Parameters
    ----------
    act_above, veto_below
        The twin's probability that an action helps: at or above ``act_above`` it goes
        ahead, below ``veto_below`` it is vetoed, in between a person decides.
    approval_below
        Below this confidence an action waits for a human (as does any rule with
        ``approval: true``).
    recheck_ticks
        How long an incident held because nothing needs fixing waits before it is looked at again.
    stale_ticks
        An incident held this long because nothing needs fixing is escalated instead of acted on
        later: its evidence is that old.
    reaches
        What each fault type does to the entities behind its root (the localizer's learned
        profiles, wired in by the runtime): a lone cell showing what an NF or link fault in play
        does to its cells waits for that fix. None: that rule is off.
    """

    policies: PolicyTable
    act: bool = True
    guards: Guards = field(default_factory=Guards)
    approvals: ApprovalBook = field(default_factory=ApprovalBook)
    twin: Twin | None = None
    inventory: Inventory = field(default_factory=Inventory)
    twin_horizon: int = 10
    act_above: float = 0.5
    veto_below: float = 0.2
    approval_below: float = 0.0
    recheck_ticks: int = 10
    stale_ticks: int = 60
    reaches: Reaches | None = None
    _decided: set[tuple[str, int]] = field(default_factory=set)
    _held: dict[str, tuple[Incident, int, str]] = field(default_factory=dict)  # id -> (incident, until, why)
    _live: dict[str, Incident] = field(default_factory=dict)  # open or mitigating incidents, latest version
    _recent: dict[str, Incident] = field(default_factory=dict)  # closed lately (see awareness._in_play)
    _seen: dict[str, dict[str, int]] = field(default_factory=dict)  # entity -> KPI -> last tick anomalous
    _typed: dict[str, str] = field(default_factory=dict)  # open, not yet acted on: id -> the type judged

    def observe(self, event: AnomalyEvent) -> None:
        """Remember when each KPI was last anomalous: look-alike checks between incidents use it.
        (The evidence a decision cites is its candidate's own, from the localizer.)"""
        kpis = self._seen.setdefault(event.entity_id, {})
        kpis[event.kpi] = max(event.tick, kpis.get(event.kpi, -1))

    def note(self, incident: Incident) -> None:
        """Know of an incident before deciding it (a stage that decides a tick's incidents together
        notes them all first, so each decision sees the others)."""
        if incident.status in (IncidentStatus.OPEN, IncidentStatus.MITIGATING):
            self._live[incident.incident_id] = incident

    def decide(self, incident: Incident) -> list[Record]:
        """Records for an incident update: decisions, and the action if one goes ahead."""
        iid = incident.incident_id
        if incident.status in (IncidentStatus.RESOLVED, IncidentStatus.ESCALATED):
            self.approvals.cancel(iid)
            self._held.pop(iid, None)
            self._typed.pop(iid, None)
            if self._live.pop(iid, None) is not None:
                self._recent[iid] = incident
            return []
        self._live[iid] = incident
        key = (iid, incident.attempt)
        if incident.status is IncidentStatus.OPEN and key in self._decided and self._typed.get(iid) not in (
                None, incident.fault_type):
            return self._again(incident)
        if incident.status is not IncidentStatus.OPEN or key in self._decided:
            return []
        self._decided.add(key)
        self._typed[iid] = incident.fault_type
        self._held.pop(iid, None)
        return self._judge(incident)

    def _again(self, incident: Incident) -> list[Record]:
        """An open incident typed again before anything was done about it: what was held or asked
        for the old type is dropped, and the incident is judged again as what it now looks like."""
        iid = incident.incident_id
        self._typed[iid] = incident.fault_type
        self.approvals.cancel(iid)
        self._held.pop(iid, None)
        out = self._judge(incident)
        if out and isinstance(out[0], DecisionRecord):
            out[0] = out[0].model_copy(update={"explanation": f"{incident.reason}. {out[0].explanation}"})
        return out

    def restore(self, incidents: Iterable[Incident]) -> None:
        """After a restart: every attempt the log has moved past was decided. An open attempt may
        not have been, and is decided again if its record comes back (same action id: the tool
        acts once). Guard history, holds and waiting approvals are not in the log and start empty."""
        for inc in incidents:
            self._decided.update((inc.incident_id, a) for a in range(inc.attempt))
            if inc.status is not IncidentStatus.OPEN:
                self._decided.add((inc.incident_id, inc.attempt))

    def on_tick(self, tick: int) -> list[Record]:
        """Approvals answered by a human or by the unattended default; held incidents looked at
        again; old sightings forgotten."""
        self._seen = {e: fresh for e, kpis in self._seen.items()
                      if (fresh := {k: t for k, t in kpis.items() if tick - t <= 120})}
        self._recent = {k: i for k, i in self._recent.items() if tick - i.tick <= ESCALATED_TICKS}
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
        for iid, (inc, until, why) in list(self._held.items()):
            if tick >= until:
                del self._held[iid]
                if why == "nothing to fix" and tick - inc.opened_tick >= self.stale_ticks:
                    out.append(self._give_up(inc, tick))
                    continue
                again = self._judge(inc.model_copy(update={"tick": tick}), quiet_hold=why)
                out += again
        return out

    def _give_up(self, incident: Incident, tick: int) -> DecisionRecord:
        """An incident the twin found nothing to fix in for ``stale_ticks``: its evidence is that old,
        and whatever it is, it is not what the loop's tools restore; a person may look."""
        d = plan(incident, self.policies, act=False).decision
        return d.model_copy(update={
            "tick": tick, "decision": DecisionKind.ESCALATE, "outcome": "escalated: nothing to fix",
            "explanation": f"held since tick {incident.opened_tick} with nothing the tools restore off "
                           f"its baseline: not acting on evidence {tick - incident.opened_tick} ticks old; a "
                           f"person may look. {d.explanation}"})

    def _judge(self, incident: Incident, *, quiet_hold: str = "") -> list[Record]:
        """What to do now about an open incident. A hold that repeats ``quiet_hold`` writes no record."""
        said = explained(incident, self.inventory, incident.tick)
        p = plan(incident, self.policies)
        if said is not None and said.verdict == "escalate":
            return [p.decision.model_copy(update={
                "decision": DecisionKind.ESCALATE, "outcome": "escalated: unfixable",
                "explanation": f"{said.explanation}. {p.decision.explanation}"})]
        if said is not None:
            return self._hold(incident, p.decision, said.explanation, said.until, said.reason, quiet_hold)
        burst = self._burst(incident) if quiet_hold != "burst" else 0
        if burst:
            why = (f"{burst} other incidents with the same symptoms opened within {BURST_TICKS} ticks: "
                   f"likely one fault further up; waiting {BURST_TICKS} ticks for it to be localized")
            return self._hold(incident, p.decision, why, incident.tick + BURST_TICKS, "burst", quiet_hold)
        why = self._part_of_another(incident)
        if why:
            return self._hold(incident, p.decision, f"{why}; fixing that first, looking again in "
                              f"{self.recheck_ticks} ticks", incident.tick + self.recheck_ticks,
                              "another incident", quiet_hold)
        why = shared_upstream(incident, self._live, self.inventory, self._kpis_of)
        if why and incident.tick - incident.opened_tick <= CONCURRENT_TICKS:
            return self._hold(incident, p.decision, f"{why}; looking again in {BURST_TICKS} ticks",
                              incident.tick + BURST_TICKS, "shared upstream", quiet_hold)
        if why:  # it never showed itself: not a cell's fault to fix cell by cell
            return [p.decision.model_copy(update={
                "decision": DecisionKind.ESCALATE, "outcome": "escalated: likely further up",
                "explanation": f"{why}, and nothing there was localized in {CONCURRENT_TICKS} ticks: not "
                               f"acting cell by cell; a person should look. {p.decision.explanation}"})]
        if p.action is None or p.rule is None:
            return [p.decision]
        return self._safeguard(incident, p, quiet_hold)

    def _part_of_another(self, incident: Incident) -> str:
        return part_of_another(incident, self._live, self.inventory, self._kpis_of, recent=self._recent,
                               reaches=self.reaches)

    def _burst(self, incident: Incident) -> int:
        return burst(incident, self._live, self._kpis_of)

    def _kpis_of(self, entity: str, tick: int, within: int) -> set[str]:
        return {k for k, t in self._seen.get(entity, {}).items() if tick - t <= within}

    def _hold(self, incident: Incident, d: DecisionRecord, why: str, until: int, reason: str,
              quiet_hold: str) -> list[Record]:
        self._held[incident.incident_id] = (incident, until, reason)
        if quiet_hold == reason:
            return []
        return [d.model_copy(update={"decision": DecisionKind.HOLD, "outcome": f"held: {reason}",
                                     "explanation": f"{why}. {d.explanation}"})]

    def _safeguard(self, incident: Incident, p: Plan, quiet_hold: str) -> list[Record]:
        assert p.action is not None and p.rule is not None
        d, action, rule = p.decision, p.action, p.rule
        pred: TwinPrediction | None = None
        if self.twin is not None and rule.twin != "never":
            call = ToolCall(tool=action.tool, target=action.target, arguments=action.arguments)
            pred = self.twin.predict(call, incident=incident, horizon=self.twin_horizon)
            chosen = {k: v for k, v in pred.parameters.items() if k not in action.arguments}
            action = action.model_copy(update={"arguments": {**action.arguments, **chosen}})
            d = d.model_copy(update={"twin": pred})
            if not pred.degraded:
                why = (f"the twin sees nothing {action.tool} would restore off its baseline on "
                       f"{action.target} (load may be up, quality holds): nothing to fix")
                return self._hold(incident, d, why, incident.tick + self.recheck_ticks, "nothing to fix",
                                  quiet_hold)
            if not pred.settled:
                why = (f"the load {action.tool} is sized from is still rising on {action.target}: "
                       f"the twin looks again in {SETTLE_TICKS} ticks")
                return self._hold(incident, d, why, incident.tick + SETTLE_TICKS, "sizing", quiet_hold)
        if not self.act:
            held = plan(incident, self.policies, act=False, evidence=d.evidence).decision
            return [held.model_copy(update={"twin": pred})]
        verdicts = self.guards.check(action, incident.tick)
        d = d.model_copy(update={"guards": verdicts})
        refused = [v for v in verdicts if not v.allowed]
        if refused:
            why = "; ".join(f"{v.guard}: {v.detail}" for v in refused)
            return [d.model_copy(update={"decision": DecisionKind.BLOCK, "outcome": "blocked",
                                         "explanation": f"guard refused the action ({why}); "
                                                        f"needs a human. {d.explanation}"})]
        ask = ""
        if pred is not None:
            said = twin_text(pred)
            chance = pred.p_improves if pred.p_improves is not None else float(pred.improves)
            if chance < self.veto_below:
                return [d.model_copy(update={
                    "decision": DecisionKind.VETO, "outcome": "vetoed by the twin",
                    "explanation": f"not calling {action.tool} on {action.target}: {said}, below "
                                   f"{self.veto_below:.2f}. {d.explanation}"})]
            d = d.model_copy(update={"explanation": f"{d.explanation}; {said}"})
            if chance < self.act_above:
                ask = f"the twin is unsure: {chance:.2f} that it helps is below {self.act_above:.2f}"
        if rule.approval or incident.confidence < self.approval_below or ask:
            a = self.approvals.request(action, d, incident.tick)
            why = ask or ("the policy asks for a human's approval" if rule.approval else
                          f"confidence {incident.confidence:.2f} is below {self.approval_below:.2f}")
            return [d.model_copy(update={"decision": DecisionKind.APPROVAL, "approval_id": a.approval_id,
                                         "explanation": f"waiting for approval {a.approval_id} ({why}): "
                                                        f"{d.explanation}"})]
        return self._go(d, action, incident.tick)

    def _go(self, d: DecisionRecord, action: ActionRequest, tick: int) -> list[Record]:
        self.guards.commit(action, tick)
        self._typed.pop(d.incident_id, None)  # acted on: a later type is the next attempt's business
        acted = getattr(self.twin, "acted", None)
        if acted is not None and d.twin is not None:
            call = ToolCall(tool=action.tool, target=action.target, arguments=action.arguments)
            acted(action.action_id, call, d.twin, tick=tick)
        d = d.model_copy(update={"decision": DecisionKind.ACT, "tool": action.tool})
        return [d, action.model_copy(update={"tick": tick})]

