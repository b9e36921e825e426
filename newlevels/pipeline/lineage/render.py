"""Lineage as a table, JSON, Graphviz dot or Mermaid."""

from __future__ import annotations

import json

from newlevels.components.evaluation.metrics import COHORT_SLICES
from newlevels.pipeline.lineage.ancestry import Step
from newlevels.pipeline.lineage.records import ModelRecord, RunRecord

FORMATS = ("table", "json", "dot", "mermaid")


def _levels(model: ModelRecord | None) -> str:
    if model is None:
        return "-"
    return " ".join(
        f"{name} {c['old_levels']}/+{c['new_levels']}" for name, c in sorted(model.levels.items())
    )


def _family(model: ModelRecord | None) -> str:
    """`additive`, or `mf (user x item)` with the columns."""
    if model is None:
        return "-"
    family = model.model
    if "user_column" in family and "item_column" in family:
        return f"{family['name']} ({family['user_column']} x {family['item_column']})"
    return family["name"]


def _auc(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _moved(record: RunRecord) -> str:
    """On a rebase, the largest |change| of a parent token's row in the full retrain."""
    if not record.rebase_movement:
        return "-"
    return f"max {max(m['max_abs'] for m in record.rebase_movement.values()):.4f}"


#: the cohort columns of the table: (header, slice name).
COHORT_COLUMNS = tuple((f"{cohort} cand/base", name) for name, cohort in COHORT_SLICES.items())


def _pair(record: RunRecord, name: str) -> str:
    """The candidate's and the full retrain's AUC on one cohort (`-` without rows, or for a
    run recorded before the cohorts were)."""
    cand, base = record.auc["candidate"].get(name), record.auc["baseline"].get(name)
    return "-" if cand is None and base is None else f"{_auc(cand)}/{_auc(base)}"


def _baseline(record: RunRecord) -> str:
    """`trained`, or the recorded full retrain a skipped span was gated against."""
    plan = record.baseline_plan
    if record.baseline is not None or record.decision is None:
        return "trained" if record.baseline is not None else "-"
    if plan is None or plan.get("trained", True):
        return "-"
    reference = plan.get("reference")
    used = f"span {reference['span']} (model {reference['model_id']})" if reference else "none"
    return f"skipped: {used}" + (", asked for one" if plan.get("requested") else "")


def table(records: list[RunRecord]) -> str:
    """One row per run: the models, the levels, the AUCs (overall and per cohort), the decision."""
    header = (
        "span",
        "model",
        "parent",
        "strategy",
        "family",
        "frozen/+added",
        "rows",
        "AUC cand",
        "AUC base",
        *(title for title, _ in COHORT_COLUMNS),
        "decision",
        "baseline",
        "blessed",
        "pushed",
        "old rows moved",
        "pushed path",
        "time",
    )
    rows = [header]
    for r in records:
        model = r.candidate
        rows.append(
            (
                str(r.span),
                str(model.id) if model else "-",
                str(model.parent_id) if model and model.parent_id is not None else "-",
                model.strategy if model else "-",
                _family(model),
                _levels(model),
                str(model.rows_trained) if model else "-",
                _auc(r.auc["candidate"]["overall"]),
                _auc(r.auc["baseline"]["overall"]),
                *(_pair(r, name) for _, name in COHORT_COLUMNS),
                r.decision or "-",
                _baseline(r),
                "yes" if r.blessed else "no",
                (
                    f"yes ({r.pushed_model} {r.baseline.id})"
                    if r.pushed_model == "baseline" and r.baseline
                    else "yes"
                    if r.pushed
                    else "no"
                ),
                _moved(r),
                r.pushed_path or "-",
                r.time,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def next_parent(model_id: int | None, pipeline_name: str) -> str:
    """The line saying which model the pipeline's next run extends."""
    if model_id is None:
        return f"next run of {pipeline_name}: no model pushed yet, it trains every level"
    return f"next run of {pipeline_name} extends model {model_id} (the last it pushed)"


def to_json(records: list[RunRecord]) -> str:
    return json.dumps([r.to_dict() for r in records], indent=2, sort_keys=True)


def _nodes_and_edges(records: list[RunRecord]):
    """Nodes, and (parent, child, label) edges: `extends`, or a rebase starting a new line."""
    nodes, edges = [], []
    for r in records:
        for model, kind in ((r.candidate, "candidate"), (r.baseline, "baseline")):
            if model is None:
                continue
            pushed = r.pushed and r.pushed_model == kind
            label = f"model {model.id}\\nspan {r.span} {model.strategy}\\n{_levels(model)}"
            nodes.append((model.id, label, kind, pushed))
            if model.parent_id is not None:
                edges.append((model.parent_id, model.id, "extends"))
        if r.rebased_from is not None and r.baseline is not None:
            edges.append((r.rebased_from, r.baseline.id, f"rebase, old rows moved {_moved(r)}"))
    return nodes, edges


def dot(records: list[RunRecord]) -> str:
    nodes, edges = _nodes_and_edges(records)
    lines = ["digraph newlevels {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
    for node_id, label, kind, pushed in nodes:
        style = ["filled" if pushed else "solid"] + (["dashed"] if kind == "baseline" else [])
        fill = ', fillcolor="#c8e6c9"' if pushed else ""
        lines.append(f'  m{node_id} [label="{label}", style="{",".join(style)}"{fill}];')
    lines += [f'  m{parent} -> m{child} [label="{label}"];' for parent, child, label in edges]
    lines.append("}")
    return "\n".join(lines)


def mermaid(records: list[RunRecord]) -> str:
    nodes, edges = _nodes_and_edges(records)
    lines = ["graph LR"]
    for node_id, label, kind, pushed in nodes:
        text = label.replace("\\n", "<br/>")
        lines.append(f'  m{node_id}["{text}"]')
        if pushed:
            lines.append(f"  class m{node_id} pushed")
        elif kind == "baseline":
            lines.append(f"  class m{node_id} baseline")
    lines += [f"  m{parent} -->|{label}| m{child}" for parent, child, label in edges]
    lines += ["  classDef pushed fill:#c8e6c9", "  classDef baseline stroke-dasharray: 4 4"]
    return "\n".join(lines)


def _spans(spans: list[int]) -> str:
    if not spans:
        return "span ?"
    return f"span {spans[0]}" if len(spans) == 1 else f"spans {spans[0]}..{spans[-1]}"


def ancestry_table(chain: list[Step]) -> str:
    lines = []
    for depth, step in enumerate(chain):
        m = step.model
        ex = step.examples
        lines.append(
            f"{'  ' * depth}model {m.id} ({m.role}, {_family(m)}, {m.strategy}, "
            f"dim {m.embedding_dim}) "
            f"{_levels(m)}; rows trained {m.rows_trained}; "
            + (f"extends model {m.parent_id}" if m.parent_id is not None else "first full model")
        )
        lines.append(
            f"{'  ' * depth}  examples {ex.id if ex else '-'} ({_spans(step.spans)}), "
            f"transform graph {step.transform_graph.id if step.transform_graph else '-'}, "
            f"schema {step.schema.id if step.schema else '-'}"
        )
    return "\n".join(lines)


RENDERERS = {"table": table, "json": to_json, "dot": dot, "mermaid": mermaid}
