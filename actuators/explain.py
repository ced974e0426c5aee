"""Explanations a human can read: the evidence and the plan of a decision, in a sentence."""

from __future__ import annotations

from schemas import Evidence, TwinPrediction


def evidence_text(evidence: list[Evidence], symptoms: int) -> str:
    """'latency_ms on cell-0003-1 at 41.2 vs baseline 12.0 (3.4×) from tick 412, and 3 more
    anomalous KPIs; 9 anomalous entities'."""
    if not evidence:
        return f"{symptoms} anomalous entities"
    e = evidence[0]
    ratio = f" ({e.value / e.expected:.1f}×)" if e.expected and e.value / e.expected > 0 else ""
    first = min(x.tick for x in evidence)
    more = f", and {len(evidence) - 1} more anomalous KPIs" if len(evidence) > 1 else ""
    return (f"{e.kpi} on {e.entity_id} at {e.value:.3g} vs baseline {e.expected:.3g}{ratio} from tick "
            f"{first}{more}; {symptoms} anomalous entities")


def plan_text(workflow: str | None, steps: list[str]) -> str:
    name = f"workflow {workflow}" if workflow else "a single call"
    return f"{name}: {'; '.join(s.strip() for s in steps)}"


def twin_text(pred: TwinPrediction) -> str:
    """The twin's prediction in a sentence, for a decision's explanation."""
    chance = pred.p_improves if pred.p_improves is not None else float(pred.improves)
    spread = ("" if pred.improvement_low is None else
              f" (10–90%: {pred.improvement_low:+.1f} to {pred.improvement_high:+.1f})")
    params = "".join(f", {k}={v}" for k, v in pred.parameters.items())
    return (f"the twin gives {chance:.2f} that it helps: {pred.improvement:+.1f} sigma-ticks{spread} over "
            f"{pred.horizon_ticks} ticks on {pred.watched} entities{params}")
