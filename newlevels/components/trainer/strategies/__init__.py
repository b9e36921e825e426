"""Embedding strategies behind one interface, picked by name from a registry."""

from __future__ import annotations

from newlevels.components.trainer.strategies.base import (
    EmbeddingStrategy,
    EmbeddingTable,
    FrozenRowsError,
)
from newlevels.components.trainer.strategies.constrained import ConstrainedStrategy
from newlevels.components.trainer.strategies.full import FullStrategy
from newlevels.components.trainer.strategies.masked import MaskedStrategy
from newlevels.components.trainer.strategies.split import SplitStrategy
from newlevels.components.trainer.strategies.two_tables import TwoTablesStrategy

REGISTRY: dict[str, type[EmbeddingStrategy]] = {
    cls.name: cls
    for cls in (SplitStrategy, ConstrainedStrategy, TwoTablesStrategy, MaskedStrategy, FullStrategy)
}
#: strategies a user may pick for the incremental model.
INCREMENTAL = tuple(name for name, cls in REGISTRY.items() if cls.freezes_parent)
#: the incremental model's strategy unless told otherwise (`--strategy`).
DEFAULT = SplitStrategy.name


class UnknownStrategyError(ValueError):
    """Raised for a strategy name that is not in the registry."""


def get_strategy(name: str) -> EmbeddingStrategy:
    """Returns the strategy registered under `name`.

    Raises:
        UnknownStrategyError: naming the valid choices.
    """
    try:
        return REGISTRY[name]()
    except KeyError:
        raise UnknownStrategyError(
            f"unknown strategy {name!r}: choose one of {', '.join(sorted(REGISTRY))}"
        ) from None


__all__ = [
    "EmbeddingStrategy",
    "EmbeddingTable",
    "FrozenRowsError",
    "DEFAULT",
    "INCREMENTAL",
    "get_strategy",
    "REGISTRY",
]
