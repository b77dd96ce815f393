"""Hypothesis settings for the property tests (a small reproducible run by default, a long one
on demand), and the empty directory they run in.

`ci` (the default) runs each property on 60 examples drawn from a fixed seed (`derandomize`),
so a CI failure reproduces on any machine; `HYPOTHESIS_PROFILE=long` runs 2000 random examples
per property, for a fuzzing session. Neither keeps an example database: nothing is written
beside the tests (a failure prints the example, and `print_blob` the seed to replay it).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

# Hypothesis caches (and, on failure, patch suggestions) go to the temporary directory, not
# to a .hypothesis/ directory in the working tree.
set_hypothesis_home_dir(
    os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY")
    or Path(tempfile.gettempdir()) / "reviewtool-hypothesis"
)

# Generated messages and rule files are large, and the CLI runs a whole audit per example.
_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=_SLOW_IS_FINE,
)
settings.register_profile(
    "long",
    max_examples=2000,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=_SLOW_IS_FINE,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module", autouse=True)
def outside_any_repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Run in an empty directory: the CLI reads git config where it runs, and then sees only
    the (hermetic) global configuration, not this checkout's."""
    where = tmp_path_factory.mktemp("cwd")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(where)
        yield where
