"""The keys under which a test's findings ride on its pytest report (so they survive
pytest-xdist's trip from worker to controller)."""

REPORT_KEY = "prodcon_properties"
KIT_ERROR_KEY = "prodcon_kit_error"  # what the kit was doing when it failed in a test
HTML_KEY = "prodcon_timeline"  # (path, page) of a failing scenario's picture
#: The user property a systematic test records what it covered under (the JSON report's
#: "coverage", the summary's "prodcon systematic" line).
COVERAGE_KEY = "prodcon_coverage"
