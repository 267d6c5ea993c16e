"""The match-weight waterfall of a pair's explanation: as text for the terminal, as a Vega-Lite chart.

Each step starts from the running total before it: the prior, then each comparison's weight, then the result.
"""

from __future__ import annotations

from typing import Any

from stayledger.identity.scoring import PairExplanation


def render_waterfall_text(explanation: PairExplanation) -> str:
    """A text waterfall: the prior, each comparison's weight and the running total, the result."""
    lines = [f"{'step':<16} {'level':<58} {'weight':>8} {'total':>8}"]
    running = explanation.prior_weight
    lines.append(f"{'prior':<16} {f'two random events match: {explanation.prior_probability:.3g}':<58} {explanation.prior_weight:>+8.2f} {running:>+8.2f}")
    for part in explanation.comparisons:
        running += part.match_weight
        level = part.level if not part.tf_adjustment else f"{part.level} (name frequency {part.tf_adjustment:+.2f})"
        values = f"{part.value_a or '∅'} / {part.value_b or '∅'}"
        lines.append(f"{part.name:<16} {level[:58]:<58} {part.match_weight:>+8.2f} {running:>+8.2f}")
        lines.append(f"{'':<16}   {values[:56]}")
    lines.append(f"{'result':<16} {f'match probability {explanation.final_probability:.6f}':<58} {'':>8} {explanation.final_weight:>+8.2f}")
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
