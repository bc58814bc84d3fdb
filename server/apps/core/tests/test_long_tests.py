"""The root conftest.py's list of the suite's longest tests, which xdist hands out first (docs/testing.md)."""

from pathlib import Path

from conftest import LONG_TESTS, long_test_rank

REPO_ROOT = Path(__file__).resolve().parents[4]


def test_every_long_test_names_a_file_or_a_test_in_it():
    for prefix in LONG_TESTS:
        path, separator, name = prefix.partition("::")
        assert separator, prefix
        source = (REPO_ROOT / path).read_text()
        assert not name or f"def {name}(" in source, prefix


def test_long_tests_rank_in_the_lists_order_before_every_other_test():
    for rank, prefix in enumerate(LONG_TESTS):
        assert long_test_rank(prefix + ("test_a[0]" if prefix.endswith("::") else "[0]")) == rank
    assert long_test_rank("server/apps/core/tests/test_databases.py::test_both_aliases_are_configured") == len(
        LONG_TESTS
    )
