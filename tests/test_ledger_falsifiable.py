"""Every claim of the ledger can fail: for each registered claim id, a table on which it must say ``holds`` and
a table on which it must say ``differs`` (built in tests/ledger_tables.py). A claim added to the registry without
a case fails ``test_every_claim_has_a_case``."""

import pytest
from ledger_tables import CASES, verdict

from grokedge import ledger


def test_every_claim_has_a_case():
    ids = [c.id for c in ledger.CLAIMS]
    assert len(ids) == len(set(ids))
    assert sorted(set(ids) - set(CASES)) == [], "claims without a falsification case"
    assert sorted(set(CASES) - set(ids)) == [], "cases for claims that are not registered"


@pytest.mark.parametrize("cid", [c.id for c in ledger.CLAIMS])
def test_claim_holds_on_its_reference_and_differs_when_contradicted(cid):
    good, bad = CASES[cid]
    assert verdict(cid, good()) == "holds"
    assert verdict(cid, bad()) == "differs"
