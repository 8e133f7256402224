"""Rubrics: the default one is consistent with the suite, and credit is partial and fair."""

import pytest

from prodcon.grading import rubric
from prodcon.verdict import PROPERTIES


def _rec(test, outcome="passed", props=()):
    return {"test": test, "outcome": outcome, "properties": list(props)}


EXPECTED = ["test_fifo_one_producer", "test_conservation_order_capacity[1p1c-max1-even]",
            "test_conservation_order_capacity[4p4c-max1-even]", "test_sequential_model",
            "test_pipeline[1p1c-max1-even]"]


def _small(required=(), caps=None):
    caps = caps or {}
    criteria = {
        "order": {"points": 10, "tests": ["test_fifo_*", "test_conservation_order_capacity"]},
        "conservation": {"points": 6, "tests": ["test_conservation_*", "test_pipeline"]},
    }
    for prop, cap in caps.items():
        criteria[prop]["cap"] = cap
    return rubric.parse({"grading": {"required": list(required)}, "criteria": criteria}, "test")


def test_default_rubric_is_100_points_over_known_properties():
    default = rubric.load()
    assert default.max_score == 100
    assert {c.prop for c in default.criteria} <= set(PROPERTIES)
    assert all(c.hint for c in default.criteria)


def test_everything_passed_is_full_marks():
    score = rubric.score(_small(), [_rec(t) for t in EXPECTED], EXPECTED)
    assert score.total == 16 and not score.gated


def test_a_failure_costs_only_the_properties_it_names():
    records = [_rec(t) for t in EXPECTED]
    records[1] = _rec(EXPECTED[1], "failed", ["order"])
    score = rubric.score(_small(), records, EXPECTED)
    order, conservation = score.credits
    assert (order.held, order.counted, order.points) == (2, 3, 6.67)
    assert conservation.full and conservation.points == 6
    assert order.failures == [records[1]]


def test_strict_linearizability_counts_only_where_a_rubric_adds_it():
    records = [_rec(t) for t in EXPECTED]
    records[2] = _rec(EXPECTED[2], "failed", ["strict-linearizability"])
    assert "strict-linearizability" not in {c.prop for c in rubric.load().criteria}
    assert rubric.score(rubric.load(), records, EXPECTED).total == 100
    strict = rubric.parse({"criteria": {"strict-linearizability": {
        "points": 4, "tests": ["test_conservation_order_capacity"]}}}, "strict.toml")
    assert rubric.score(strict, records, EXPECTED).total == 2


def test_a_failure_outside_its_criterion_s_tests_still_costs_the_property():
    """conservation's patterns omit test_fifo_one_producer; losing an item there counts."""
    records = [_rec(t) for t in EXPECTED]
    records[0] = _rec(EXPECTED[0], "failed", ["conservation"])
    order, conservation = rubric.score(_small(), records, EXPECTED).credits
    assert order.full
    assert (conservation.held, conservation.counted) == (3, 4)
    assert conservation.failures == [records[0]]


def test_missing_tests_count_against_and_skipped_ones_do_not():
    records = [_rec(EXPECTED[0], "skipped"), _rec(EXPECTED[1])]  # the rest never ran
    score = rubric.score(_small(), records, EXPECTED)
    order, conservation = score.credits
    assert (order.held, order.counted) == (1, 2) and order.missing == [EXPECTED[2]]
    assert (conservation.held, conservation.counted) == (1, 3)


def test_a_test_the_kit_itself_failed_in_counts_for_no_criterion():
    records = [_rec(t) for t in EXPECTED]
    records[1] = _rec(EXPECTED[1], "kit-error")
    order, conservation = rubric.score(_small(), records, EXPECTED).credits
    assert (order.held, order.counted) == (2, 2) and not order.failures
    assert (conservation.held, conservation.counted) == (2, 2)


def test_a_failure_naming_no_property_counts_against_every_criterion():
    records = [_rec(t) for t in EXPECTED]
    records[1] = _rec(EXPECTED[1], "failed")
    order, conservation = rubric.score(_small(), records, EXPECTED).credits
    assert not order.full and not conservation.full


def test_required_criterion_gates_the_rest():
    records = [_rec(t) for t in EXPECTED]
    records[4] = _rec(EXPECTED[4], "failed", ["conservation"])
    score = rubric.score(_small(required=["conservation"]), records, EXPECTED)
    assert score.gated and score.total == 4.0  # conservation's 2 of 3, order not counted
    assert rubric.score(_small(required=["order"]), records, EXPECTED).total == 14.0


def test_a_capped_criterion_that_falls_short_caps_the_total():
    records = [_rec(t) for t in EXPECTED]
    records[0] = _rec(EXPECTED[0], "failed", ["order"])
    score = rubric.score(_small(caps={"order": 8}), records, EXPECTED)
    assert score.subtotal == 12.67  # order 2 of 3, conservation full
    assert (score.cap, score.capped_by, score.total) == (8, ["order"], 8)


def test_a_cap_in_force_never_raises_the_total_and_the_lowest_one_holds():
    records = [_rec(t, "failed", ["order", "conservation"]) for t in EXPECTED]
    score = rubric.score(_small(caps={"order": 8, "conservation": 5}), records, EXPECTED)
    assert (score.subtotal, score.cap, score.capped_by, score.total) == (0, 5, ["conservation"],
                                                                          0)


def test_a_cap_is_not_in_force_while_its_criterion_holds():
    records = [_rec(t) for t in EXPECTED]
    records[4] = _rec(EXPECTED[4], "failed", ["conservation"])
    score = rubric.score(_small(caps={"order": 8}), records, EXPECTED)
    assert (score.cap, score.capped_by, score.total) == (None, [], score.subtotal)


# --- the default rubric's two tiers, on synthetic runs ----------------------------------------

DEFAULT = rubric.load()
CAPPED = [c.prop for c in DEFAULT.criteria if c.cap is not None]
UNCAPPED = [c.prop for c in DEFAULT.criteria if c.cap is None]
#: One test name per pattern of the default rubric: a complete run in miniature.
DEFAULT_TESTS = sorted({f"{pattern.replace('*', 'x')}[1]"
                        for c in DEFAULT.criteria for pattern in c.tests})


def _default_score(failing: dict[str, int | None]) -> rubric.Score:
    """The default rubric's score of a run in which each property of `failing` is named
    by the failures of that many of its criterion's tests (None: all of them)."""
    named: dict[str, list[str]] = {}
    for prop, count in failing.items():
        (criterion,) = [c for c in DEFAULT.criteria if c.prop == prop]
        tests = [t for t in DEFAULT_TESTS if criterion.covers(t)]
        for test in tests[:count]:
            named.setdefault(test, []).append(prop)
    records = [_rec(t, "failed", named[t]) if t in named else _rec(t) for t in DEFAULT_TESTS]
    return rubric.score(DEFAULT, records, DEFAULT_TESTS)


def test_the_default_rubric_caps_what_makes_a_queue_unusable_and_nothing_else():
    assert CAPPED == ["conservation", "order", "any-item", "join", "sentinel-shutdown",
                      "deadlock"]
    assert all(c.cap <= 60 for c in DEFAULT.criteria if c.cap is not None)
    assert all(c.points <= 10 for c in DEFAULT.criteria if c.cap is None)


def test_a_correct_queue_scores_100():
    assert _default_score({}).total == 100


@pytest.mark.parametrize("failing", [
    {"order": None, "conservation": 1, "any-item": 1},  # a stack: LIFO, and a lost item
    {"order": 1},  # misorders rarely
    {"conservation": 1},  # loses or duplicates an item, once
    {"deadlock": 1},
    {"join": 1},
    {"sentinel-shutdown": 1},
    {"any-item": 1},  # swallows None
], ids=lambda failing: "+".join(failing))
def test_an_unusable_queue_scores_at_most_60(failing):
    score = _default_score(failing)
    assert score.total <= 60 and score.capped_by == [p for p in CAPPED if p in failing]


@pytest.mark.parametrize("prop", UNCAPPED)
def test_one_api_slip_costs_at_most_10_even_if_every_test_of_its_criterion_fails(prop):
    score = _default_score({prop: None})
    assert score.cap is None and 90 <= score.total < 100


@pytest.mark.parametrize("data, message", [
    ({}, "no [criteria.PROPERTY] tables"),
    ({"criteria": {"speed": {"points": 1, "tests": ["t"]}}}, "unknown property"),
    ({"criteria": {"order": {"points": -1, "tests": ["t"]}}}, "points must be a number"),
    ({"criteria": {"order": {"points": 1, "tests": []}}}, "tests must be a non-empty list"),
    ({"criteria": {"order": {"points": 1, "tests": ["t"], "weight": 2}}}, "unknown key(s) weight"),
    ({"criteria": {"order": {"points": 1, "tests": ["t"], "cap": "60"}}}, "cap must be a number"),
    ({"criteria": {"order": {"points": 1, "tests": ["t"], "cap": -1}}}, "cap must be a number"),
    ({"criteria": {"order": {"points": 1, "tests": ["t"], "cap": True}}}, "cap must be a number"),
    ({"grading": {"required": ["join"]}, "criteria": {"order": {"points": 1, "tests": ["t"]}}},
     "required names 'join'"),
])
def test_bad_rubrics_are_refused_with_the_key(data, message):
    with pytest.raises(rubric.RubricError, match=None) as info:
        rubric.parse(data, "r.toml")
    assert message in str(info.value) and str(info.value).startswith("r.toml")


def test_rubric_file_round_trip(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('[grading]\nrequired = ["order"]\n[criteria.order]\npoints = 3\n'
                    'tests = ["test_fifo_*"]\nhidden = true\ncap = 1.5\n')
    loaded = rubric.load(path)
    assert loaded.required == ("order",) and loaded.criteria[0].hidden
    assert loaded.criteria[0].cap == 1.5
    with pytest.raises(rubric.RubricError, match="not valid TOML"):
        path.write_text("[criteria\n")
        rubric.load(path)
    with pytest.raises(rubric.RubricError, match="No such file"):
        rubric.load(tmp_path / "none.toml")


def test_the_default_async_rubric_is_100_points_over_the_async_suite():
    """`prodcon grade --model asyncio`'s default: 100 points over known properties, and
    every pattern of a criterion names a test of the async suite (a pattern that matches
    nothing would hand out its points untested)."""
    import ast
    import fnmatch
    from pathlib import Path

    import prodcon.suite

    chosen = rubric.load(None, "asyncio")
    assert chosen.max_score == 100 and chosen.source == "default asyncio"
    assert all(c.prop in PROPERTIES for c in chosen.criteria)
    suite = Path(prodcon.suite.__file__).parent
    names = [node.name for path in suite.glob("test_async_*.py")
             for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.FunctionDef)
             and node.name.startswith("test_")]
    for criterion in chosen.criteria:
        for pattern in criterion.tests:
            assert any(fnmatch.fnmatchcase(name, pattern) for name in names), \
                (criterion.prop, pattern)
    capped = {c.prop for c in chosen.criteria if c.cap is not None}
    assert "cancellation" in capped and "event-loop" not in capped
