"""The one dialect layer: the model's comparison conditions, written in DuckDB's SQL, rendered for Spark SQL.

The model specification (``model_spec``) and every saved model file hold the conditions in DuckDB's SQL, so that
one trained model drives either engine and the near-real-time comparisons (always DuckDB, in process) read them
as they are. The Spark engine renders them here, from the text, when it runs: models saved before the Spark engine
existed work on Spark too, and there is never a second copy of the specification to keep in step.

What differs between the two dialects for the functions the conditions use (everything else is common SQL):

============================  =======================================  ==========================================
DuckDB                        Spark (with Splink's similarity jar)     note
============================  =======================================  ==========================================
jaro_winkler_similarity(a,b)  jaro_winkler(a, b)                       Splink's jar
damerau_levenshtein(a, b)     damerau_levenshtein(a, b)                Splink's jar (a double; compared to ints)
len(list)                     size(list)                               Spark's length() reads strings only
list_slice(l, begin, end)     slice(l, begin, end - begin + 1)         Spark: start and length; both 1-based
list_has_any(a, b)            arrays_overlap(a, b)
list_has_all(a, b)            size(array_except(b, a)) = 0             every element of b is in a
============================  =======================================  ==========================================

Pure: text in, text out (sqlglot parses and writes; it is what Splink itself uses for its dialects).
"""

from __future__ import annotations

import copy
from typing import Any, Final

from stayledger.identity.features import FEATURE_SCHEMA
from stayledger.identity.model_spec import ELSE_LEVEL

# Feature columns holding lists: ``len`` of one is Spark's ``size``. Conditions name them with _l / _r.
LIST_COLUMNS: Final = frozenset(
    f"{f.name}_{side}" for f in FEATURE_SCHEMA if str(f.type).startswith("list") for side in ("l", "r")
)


class DialectError(ValueError):
    """A condition uses a construct this layer does not know how to render for Spark."""


def spark_condition(condition: str) -> str:
    """One comparison level's condition (DuckDB SQL) as Spark SQL with the same meaning."""
    if condition.strip().upper() == ELSE_LEVEL:
        return condition
    import sqlglot
    from sqlglot import exp

    def func(name: str, *args: exp.Expression) -> exp.Expression:
        # The arguments are rendered too (a replaced node's children are not visited again).
        return exp.Anonymous(this=name, expressions=[a.transform(render) for a in args])

    def is_list(node: exp.Expression) -> bool:
        return isinstance(node, exp.Column) and node.name in LIST_COLUMNS

    def render(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.JarowinklerSimilarity):
            return func("jaro_winkler", node.this, node.expression)
        if isinstance(node, exp.Length) and is_list(node.this):
            return func("size", node.this)
        if isinstance(node, exp.ArrayOverlaps):
            return func("arrays_overlap", node.this, node.expression)
        if isinstance(node, exp.Anonymous):
            name = str(node.this).lower()
            args = node.expressions
            if name == "list_slice" and len(args) == 3:
                begin, end = args[1], args[2]
                # Spark's slice refuses a start of 0 or a negative length even where the condition's guard is
                # false (DuckDB returns an empty list): clamp both, which changes nothing where the guard holds.
                start = exp.Greatest(this=begin.copy(), expressions=[exp.Literal.number(1)])
                length = exp.Greatest(
                    this=exp.Paren(this=exp.Add(this=exp.Sub(this=exp.Paren(this=end.copy()), expression=exp.Paren(this=begin.copy())), expression=exp.Literal.number(1))),
                    expressions=[exp.Literal.number(0)],
                )
                return func("slice", args[0], start, length)
            if name == "list_has_all" and len(args) == 2:  # NULL when a list is NULL, as in DuckDB
                return exp.EQ(this=func("size", func("array_except", args[1], args[0])), expression=exp.Literal.number(0))
            if name in ("list_slice", "list_has_all", "list_has_any", "list_sort", "len", "array_length"):
                raise DialectError(f"{name} with {len(args)} arguments has no Spark rendering here")
        return node

    try:
        tree = sqlglot.parse_one(condition, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise DialectError(f"cannot read condition {condition!r}: {exc}") from None
    return tree.transform(render).sql(dialect="spark")


def spark_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """A copy of Splink settings (untrained or a saved model's) with every level's condition rendered for Spark.

    Blocking rules are equi-joins on columns, the same in both dialects, and are left as they are."""
    rendered = copy.deepcopy(settings)
    for comparison in rendered.get("comparisons", []):
        for level in comparison.get("comparison_levels", []):
            level["sql_condition"] = spark_condition(level["sql_condition"])
    rendered.pop("sql_dialect", None)
    return rendered


def conditions_of(settings: dict[str, Any]) -> list[list[str]]:
    """Each comparison's level conditions, in order (to put the DuckDB text back on settings trained on Spark)."""
    return [[level["sql_condition"] for level in c["comparison_levels"]] for c in settings.get("comparisons", [])]


def in_model_dialect(trained: dict[str, Any], untrained: dict[str, Any]) -> dict[str, Any]:
    """Settings trained on Spark, with the conditions of ``untrained`` (DuckDB SQL) put back level by level:
    the model file is the same whichever engine trained it."""
    for comparison, conditions in zip(trained.get("comparisons", []), conditions_of(untrained), strict=True):
        for level, condition in zip(comparison["comparison_levels"], conditions, strict=True):
            level["sql_condition"] = condition
    _set_dialect(trained, "duckdb")
    return trained


def _set_dialect(node: Any, dialect: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "sql_dialect" and isinstance(value, str):
                node[key] = dialect
            else:
                _set_dialect(value, dialect)
    elif isinstance(node, list):
        for item in node:
            _set_dialect(item, dialect)
