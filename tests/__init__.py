"""The test suite, a package so that test modules, `bench/` and the fixtures share one import
path from the repository root: `from tests.fixtures import submissions as S`."""
