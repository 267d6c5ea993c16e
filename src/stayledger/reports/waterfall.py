"""The match-weight waterfall of a pair's explanation: as text for the terminal, as a Vega-Lite chart.

Each step starts from the running total before it: the prior, then each comparison's weight, then the result.
"""

from __future__ import annotations

from typing import Any

from stayledger.identity.scoring import PairExplanation


def render_waterfall_text(explanation: PairExplanation) -> str:
    """A text waterfall of a pair explanation: the prior, each comparison's level and weight with the running
    total, the result. Columns are as wide as their longest entry: no level name or value is cut."""
    rows: list[tuple[str, str, str, str, str | None]] = [("prior", f"two random events match: {explanation.prior_probability:.3g}",
             f"{explanation.prior_weight:+.2f}", f"{explanation.prior_weight:+.2f}", None)]
    running = explanation.prior_weight
    for part in explanation.comparisons:
        running += part.match_weight
        level = part.level if not part.tf_adjustment else f"{part.level} (name frequency {part.tf_adjustment:+.2f})"
        values = f"{part.value_a or '∅'} / {part.value_b or '∅'}"
        rows.append((part.name, level, f"{part.match_weight:+.2f}", f"{running:+.2f}", values))
    rows.append(("result", f"match probability {explanation.final_probability:.6f}", "",
                 f"{explanation.final_weight:+.2f}", None))
    step = max(16, *(len(r[0]) for r in rows))
    level_width = max(len(r[1]) for r in rows)
    lines = [f"{'step':<{step}} {'level':<{level_width}} {'weight':>8} {'total':>8}"]
    for name, level, weight, total, compared in rows:
        lines.append(f"{name:<{step}} {level:<{level_width}} {weight:>8} {total:>8}")
        if compared is not None:
            lines.append(f"{'':<{step}}   {compared}")
    return "\n".join(lines)


def waterfall_chart_spec(explanation: PairExplanation) -> dict[str, Any]:
    """A Vega-Lite bar chart of the waterfall (each step from the running total before it)."""
    rows = []
    running = 0.0
    steps = [("prior", explanation.prior_weight, "prior")] + [(c.name, c.match_weight, c.level) for c in explanation.comparisons]
    for order, (name, weight, label) in enumerate(steps):
        rows.append({"order": order, "step": name, "level": label, "weight": weight, "start": running, "end": running + weight})
        running += weight
    rows.append({"order": len(steps), "step": "final", "level": f"p = {explanation.final_probability:.4f}", "weight": running, "start": 0.0, "end": running})
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": "Match weight waterfall (log2 Bayes factors)",
        "data": {"values": rows},
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "step", "type": "nominal", "sort": {"field": "order"}, "title": None},
            "y": {"field": "start", "type": "quantitative", "title": "match weight"},
            "y2": {"field": "end"},
            "color": {"condition": {"test": "datum.weight < 0", "value": "#d62728"}, "value": "#2ca02c"},
            "tooltip": [{"field": "step"}, {"field": "level"}, {"field": "weight", "format": "+.2f"}],
        },
    }
