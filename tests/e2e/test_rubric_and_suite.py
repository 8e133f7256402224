"""The default rubric against the suite as collected: every pattern it names matches a test."""

from prodcon.grading import rubric


def test_default_rubric_names_only_tests_the_suite_has(pytester):
    """A pattern matching nothing would make its criterion free points."""
    result = pytester.runpytest_subprocess("--prodcon-impl=reference", "--collect-only", "-q",
                                           "-p", "no:cacheprovider")
    names = [line.split("::")[-1] for line in result.outlines if "::" in line]
    assert len(names) > 50
    for criterion in rubric.load().criteria:
        for pattern in criterion.tests:
            probe = rubric.Criterion(criterion.prop, 1, (pattern,))
            assert any(probe.covers(n) for n in names), f"{criterion.prop}: {pattern} is unused"
