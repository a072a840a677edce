"""tests/fuzz/ is collected only when the run selects the `fuzz` marker (`-m fuzz`, as .ci/run does).

Collecting it loads the API's schema and builds every operation's test cases, a few seconds per process that
`make test` (`-m 'not integration and not fuzz'`, in each xdist worker) would pay only to deselect them."""

import re

FUZZ_SELECTED = re.compile(r"(?<!not )\bfuzz\b")


def pytest_ignore_collect(collection_path, config):
    if collection_path.name.startswith("test_") and not FUZZ_SELECTED.search(config.option.markexpr or ""):
        return True
    return None
