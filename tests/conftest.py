from __future__ import annotations

from dataclasses import dataclass

import pytest

from gongzhi.places.models import Place

from . import factories

# A small tree shaped like the paper's places: Zhejiang → Hangzhou → Shangcheng district with two streets.
PROVINCE = "330000000000"
CITY = "330100000000"
DISTRICT = "330102000000"
STREET_A = "330102001000"
STREET_B = "330102002000"
COMM_A1 = "330102001001"
COMM_A2 = "330102001002"
COMM_B1 = "330102002001"
OTHER_DISTRICT = "330103000000"
OTHER_STREET = "330103001000"
OTHER_COMM = "330103001001"


@dataclass
class Tree:
    province: Place
    city: Place
    district: Place
    street_a: Place
    street_b: Place
    comm_a1: Place
    comm_a2: Place
    comm_b1: Place
    other_district: Place
    other_street: Place
    other_comm: Place


@pytest.fixture
def tree(db) -> Tree:
    return Tree(
        *(
            factories.place_chain(c)
            for c in (
                PROVINCE,
                CITY,
                DISTRICT,
                STREET_A,
                STREET_B,
                COMM_A1,
                COMM_A2,
                COMM_B1,
                OTHER_DISTRICT,
                OTHER_STREET,
                OTHER_COMM,
            )
        )
    )


# Valid GB 11643 numbers (check digits computed) for tests.
ID_A = "33010219800101123X"
ID_B = "11010519491231002X"
