"""World parameters: scale to posts, sizes that follow the world's size, refused values named."""

from __future__ import annotations

import pytest

from cordon.errors import ConfigError
from cordon.sim.params import POSTS_PER_SCALE, derive_params, param_names


def test_scale_is_a_multiple_of_100k_posts_and_posts_overrides_it() -> None:
    assert derive_params(seed=1, scale=1.0).posts == POSTS_PER_SCALE == 100_000
    assert derive_params(seed=1, scale=0.1).posts == 10_000
    assert derive_params(seed=1, scale=5.0, posts=7_000).posts == 7_000
    assert derive_params(seed=1, posts=7_000).scale == 0.07


def test_sizes_grow_with_the_world_and_stay_bounded() -> None:
    small, big, huge = (derive_params(seed=1, posts=n) for n in (10_000, 1_000_000, 10_000_000))
    assert small.accounts < big.accounts < huge.accounts
    assert small.network_originals < big.network_originals
    assert 0.01 <= big.network_size / big.accounts <= 0.02  # ~1-2% of accounts, as in the public reports
    assert huge.background_media <= 3_000 and huge.avatar_pool <= 4_000  # a bounded pool of files
    assert huge.bank_items + huge.novel_media <= 5_000
    assert derive_params(seed=1, posts=10_000, network_size=60).network_size == 60


def test_every_knob_is_recorded() -> None:
    record = derive_params(seed=3, posts=20_000, vary=True).record()
    assert set(record) == set(param_names())
    assert record["vary"] == 1 and record["seed"] == 3


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"scale": 0.0}, "--scale"),
        ({"posts": 500}, "--posts"),
        ({"posts": 10_000, "days": 2}, "--days"),
        ({"posts": 10_000, "network_size": 5}, "--network-size"),
        ({"posts": 10_000, "network_size": 10_000}, "--network-size"),
        ({"posts": 10_000, "accounts": 50}, "--accounts"),
    ],
)
def test_bad_values_are_refused_naming_the_option(kwargs: dict[str, float], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        derive_params(seed=1, **kwargs)  # type: ignore[arg-type]
