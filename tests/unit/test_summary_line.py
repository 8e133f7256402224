"""conftest.parse: what the e2e tests read from a kit run's output."""

from conftest import parse


def test_parse_reads_the_summary_line():
    class Fake:
        outlines = ["prodcon violated: join (2), order (1)", "FAILED a.py::test_x - boom"]
        errlines = []
        ret = 1

    parsed = parse(Fake())
    assert parsed.violated == {"join", "order"}
    assert parsed.outcomes == {"test_x": "failed"}
