"""grader/waste.py: one rule for wasted bytes, read by the `layer-waste` check and by the layer explorer."""

from __future__ import annotations

from facts_factory import GCC_FACTS, facts, layer

from grader.notebook.views import layer_rows
from grader.waste import BASE_WASTE_LABEL, wasted_bytes, wasted_bytes_per_layer

#: A 50 MB base file that a later *base* layer replaces: the base's own churn.
BASE_CHURN = facts(layer({"usr/lib/big.so": 50_000_000}, "base 1", base=True),
                   layer({"usr/lib/big.so": 50_000_000}, "base 2", base=True),
                   layer({"app/main.js": 1_000}, "COPY main.js"))


def test_a_base_file_replaced_by_a_later_base_layer_is_not_waste_for_the_check_or_the_explorer() -> None:
    assert wasted_bytes_per_layer(BASE_CHURN) == (0, 0, 0)
    assert wasted_bytes(BASE_CHURN) == {}
    assert [row.wasted_bytes for row in layer_rows(BASE_CHURN)] == [0, 0, 0]


def test_a_base_file_replaced_by_a_learner_layer_is_waste_for_both() -> None:
    replaced = facts(layer({"usr/lib/big.so": 50_000_000}, "base", base=True),
                     layer({"usr/lib/big.so": 1_000}, "RUN strip big.so"))
    assert wasted_bytes(replaced) == {BASE_WASTE_LABEL: 50_000_000}
    assert [row.wasted_bytes for row in layer_rows(replaced)] == [50_000_000, 0]


def test_a_file_deleted_in_a_later_learner_layer_is_waste() -> None:
    assert wasted_bytes_per_layer(GCC_FACTS) == (0, 180_000_000, 0)
    assert wasted_bytes(GCC_FACTS) == {"RUN apt-get install gcc": 180_000_000}


def test_the_explorer_total_equals_the_checks_total() -> None:
    for image in (BASE_CHURN, GCC_FACTS):
        assert sum(row.wasted_bytes for row in layer_rows(image)) == sum(wasted_bytes(image).values())
