"""The one dialect layer: the model's comparison conditions, written in DuckDB's SQL, rendered for Spark SQL.

The model specification (``model_spec``) and every saved model file hold the conditions in DuckDB's SQL, so that
one trained model drives either engine and the near-real-time comparisons (always DuckDB, in process) read them
as they are. The Spark engine renders them here, from the text, when it runs: models saved before the Spark engine
existed work on Spark too, and there is never a second copy of the specification to keep in step.

What differs between the two dialects for the functions the conditions use (everything else is common SQL):

============================  =======================================  ==========================================
DuckDB                        Spark (with Splink's similarity jar)     note
============================  =======================================  ==========================================
jaro_winkler_similarity(a,b)  DuckDB's algorithm in Spark SQL          see ``JARO_WINKLER_SQL``
damerau_levenshtein(a, b)     damerau_levenshtein(a, b)                Splink's jar (a double; compared to ints)
len(list)                     size(list)                               Spark's length() reads strings only
list_slice(l, begin, end)     slice(l, begin, end - begin + 1)         Spark: start and length; both 1-based
list_has_any(a, b)            arrays_overlap(a, b)
list_has_all(a, b)            size(array_except(b, a)) = 0             every element of b is in a
============================  =======================================  ==========================================

Jaro-Winkler is not taken from Splink's jar: its ``jaro_winkler`` counts half a transposition where DuckDB's (rapidfuzz's
algorithm) rounds the transpositions down, and gives 1.0 for two empty strings where DuckDB gives 0.0. KYOUKO and
YOKO score 0.764 there and 0.806 in DuckDB: on one side of the 0.8 level, a different level, 4.9 bits of weight.
``JARO_WINKLER_SQL`` is DuckDB's algorithm written in Spark SQL, the same value to the last bit.

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


# DuckDB's jaro_winkler_similarity(a, b) in Spark SQL, to the last bit: for each character of b in turn, the first
# unmatched equal character of a within max(|a|, |b|) // 2 - 1 positions matches; t is the number of matched
# characters out of order, halved and rounded down; jaro = (m/|a| + m/|b| + (m - t)/m) / 3, 0 without a match;
# above 0.7 the common prefix (up to 4 characters) adds prefix * 0.1 * (1 - jaro) in one rounding (a fused
# multiply-add, as DuckDB's compiled code does: Java's Math.fma through reflect). Empty strings give 0; one
# character each gives 1 or 0. {a} and {b} are the arguments; jw_* are lambda variables.
JARO_WINKLER_SQL: Final = """CASE WHEN {a} IS NULL OR {b} IS NULL THEN CAST(NULL AS DOUBLE)
WHEN length({a}) = 0 OR length({b}) = 0 THEN CAST(0 AS DOUBLE)
WHEN length({a}) = 1 AND length({b}) = 1 THEN IF({a} = {b}, CAST(1 AS DOUBLE), CAST(0 AS DOUBLE))
ELSE element_at(transform(array(named_struct('p', {a}, 't', {b}, 'lp', length({a}), 'lt', length({b}),
    'w', CAST(greatest(length({a}), length({b})) DIV 2 AS INT) - 1)), jw_s ->
  element_at(transform(array(aggregate(sequence(0, jw_s.lt - 1),
      named_struct('pf', array_repeat(FALSE, jw_s.lp), 'tf', array_repeat(FALSE, 0)),
      (jw_acc, jw_j) -> element_at(transform(array(array_min(filter(
            sequence(greatest(0, jw_j - jw_s.w), greatest(0, jw_j - jw_s.w, least(jw_s.lp - 1, jw_j + jw_s.w))),
            jw_k -> jw_k <= least(jw_s.lp - 1, jw_j + jw_s.w) AND NOT jw_acc.pf[jw_k]
              AND substring(jw_s.p, jw_k + 1, 1) = substring(jw_s.t, jw_j + 1, 1)))),
          jw_k -> named_struct('pf', IF(jw_k IS NULL, jw_acc.pf, transform(jw_acc.pf, (jw_f, jw_i) -> jw_f OR jw_i = jw_k)),
                               'tf', concat(jw_acc.tf, array(jw_k IS NOT NULL)))), 1))),
    jw_st -> element_at(transform(array(named_struct(
        'm', CAST(size(filter(jw_st.tf, jw_x -> jw_x)) AS DOUBLE),
        'tr', size(filter(zip_with(
            filter(transform(sequence(0, jw_s.lp - 1), jw_i -> IF(jw_st.pf[jw_i], substring(jw_s.p, jw_i + 1, 1), NULL)), jw_x -> jw_x IS NOT NULL),
            filter(transform(sequence(0, jw_s.lt - 1), jw_i -> IF(jw_st.tf[jw_i], substring(jw_s.t, jw_i + 1, 1), NULL)), jw_x -> jw_x IS NOT NULL),
            (jw_x, jw_y) -> jw_x <> jw_y), jw_x -> jw_x)) DIV 2,
        'prefix', aggregate(sequence(1, least(jw_s.lp, jw_s.lt, 4)), 0,
            (jw_n, jw_i) -> IF(jw_n = jw_i - 1 AND substring(jw_s.p, jw_i, 1) = substring(jw_s.t, jw_i, 1), jw_i, jw_n)))),
      jw_r -> element_at(transform(array(IF(jw_r.m = 0, CAST(0 AS DOUBLE),
            ((jw_r.m / CAST(jw_s.lp AS DOUBLE) + jw_r.m / CAST(jw_s.lt AS DOUBLE)) + (jw_r.m - CAST(jw_r.tr AS DOUBLE)) / jw_r.m)
            / CAST(3 AS DOUBLE))),
          jw_jaro -> IF(jw_jaro > CAST(0.7 AS DOUBLE), CAST(reflect('java.lang.Math', 'fma',
            CAST(jw_r.prefix AS DOUBLE) * CAST(0.1 AS DOUBLE), CAST(1 AS DOUBLE) - jw_jaro, jw_jaro) AS DOUBLE), jw_jaro)), 1)), 1)), 1)), 1)
END"""


def spark_jaro_winkler(a: str, b: str) -> str:
    """``jaro_winkler_similarity(a, b)`` as DuckDB computes it, in Spark SQL (``a``, ``b``: Spark SQL expressions)."""
    return JARO_WINKLER_SQL.format(a=f"({a})", b=f"({b})")


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
            a, b = (side.transform(render).sql(dialect="spark") for side in (node.this, node.expression))
            return exp.Paren(this=sqlglot.parse_one(spark_jaro_winkler(a, b), read="spark"))
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
