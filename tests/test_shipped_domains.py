"""Every registered domain passes ``check_domain`` (the LM ones in ``tests/lm``).

The table below gives each registered name small options; a domain registered in
``pyproject.toml`` without a row here fails the first test, so none goes unchecked.
"""

from __future__ import annotations

import pytest

from qd.registry import load_domain_class, registered_domains
from qd.testing import check_domain

SMALL: dict[str, dict] = {
    "symbolic_regression": {"max_depth": 5, "max_size": 20},
    "science_birds": {"letter": "L", "trials": 1},
    "creative_writing": {"max_tokens": 24, "min_chars": 10},  # tests/lm/test_check_lm_domains.py
    "poetry": {"max_tokens": 24, "min_chars": 10},  # tests/lm/test_check_lm_domains.py
}


def test_every_registered_domain_has_small_options_here() -> None:
    assert set(registered_domains()) <= set(SMALL), "add the new domain to SMALL"


@pytest.mark.parametrize("name", sorted(n for n in SMALL if n in registered_domains()))
def test_registered_domain_keeps_the_contract(name: str) -> None:
    domain = load_domain_class(name)(**SMALL[name])
    if domain.uses_lm:
        pytest.skip("checked with the real embedded model in tests/lm/test_check_lm_domains.py")
    check_domain(domain, iterations=2, batch_size=6)
