"""The decision step's pre-check: a bar it lets skip the order loop really sends nothing.

``step_nb`` calls ``_orders_nb`` only when ``_may_trade_nb`` says an order can come of the
decision; a reason to trade added to one and not the other would silently drop orders. This
property runs both on random account states and decisions: whenever the pre-check says no,
the order loop must send no order and leave the account unchanged.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st_

from quantlab.backtest import step as S

_TARGETS = st_.sampled_from([np.nan, 0.0, 0.5, 1.0, -1.0, -0.5])


@settings(max_examples=300, deadline=None)
@given(signal=st_.booleans(), n=st_.integers(1, 3), data=st_.data())
def test_a_bar_the_precheck_skips_sends_no_order(signal, n, data):
    cfg = S.base_config_nb(signal, False, 1e5, 1.0, 0.001, 1.0, np.nan, np.nan, np.nan, -1.0,
                           np.nan)
    acct, st, ring = S.new_state(n, 1e5)
    bi = np.full((S.B_N, n), np.nan)
    for j in range(n):
        q = data.draw(st_.sampled_from([0.0, 10.0, -10.0]))
        st[S.S_POS, j] = q
        acct[S.A_CASH] -= q * 100.0
        st[S.S_LAST_W, j] = data.draw(_TARGETS)
        # the decision: often the last target again (the common bar), else anything
        same = data.draw(st_.booleans())
        bi[S.B_TARGET, j] = st[S.S_LAST_W, j] if same else data.draw(_TARGETS)
        bi[S.B_FLAGS, j] = data.draw(st_.sampled_from([0, 1, 2, 3])) if signal else 0.0
        if signal and data.draw(st_.booleans()):
            bi[S.B_TARGET, j] = np.nan  # no entry: only the exit flags decide
        bi[S.B_SCALE, j] = 0.0
        bi[S.B_SLIP, j] = 0.0
        bi[S.B_MARK, j] = 100.0
    sizers = np.array([[S.SZ_FIXED, 1.0, 0.0, 0.0, 0.0, 0.0]])
    acfg = np.zeros((2, n))
    if S._may_trade_nb(cfg, st, bi, S.B_TARGET):
        return
    before = (acct.copy(), st.copy())
    orec, erec = np.empty((5 * n + 16, 6)), np.empty((4 * n + 16, 5))
    S._orders_nb(0, cfg, acfg, sizers, acct, st, ring, orec, erec, bi, bi, S.B_TARGET)
    assert acct[S.A_N_ORDERS] == 0
    np.testing.assert_array_equal(acct, before[0])
    np.testing.assert_array_equal(st, before[1])
