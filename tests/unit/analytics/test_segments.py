"""RFM scores and segments: hand-checked quintiles, the 11-segment grid, bad input."""

import numpy as np
import pytest

from kehu.analytics import InvalidDataError
from kehu.analytics.segments import SEGMENT_GRID, SEGMENTS, quintile_scores, rfm_scores, segment_of


def test_quintiles_of_distinct_values():
    assert quintile_scores(list(range(10))).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_recency_scores_smaller_days_higher():
    assert quintile_scores([1, 2, 3, 4, 5], higher_is_better=False).tolist() == [5, 4, 3, 2, 1]


def test_ties_share_a_score_and_order_does_not_matter():
    values = [1, 1, 1, 1, 1, 1, 2, 3, 4, 9]
    scores = quintile_scores(values)
    shuffled = np.array(values)[::-1]

    assert scores.tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert quintile_scores(shuffled).tolist() == scores[::-1].tolist()


def test_the_grid_covers_every_cell_with_eleven_segments():
    used = {code for row in SEGMENT_GRID for code in row}

    assert used == set(SEGMENTS)
    assert len(SEGMENTS) == 11
    assert all(len(row) == 5 for row in SEGMENT_GRID)


@pytest.mark.parametrize(
    ("r", "fm", "code", "zh"),
    [
        pytest.param(5, 5, "champions", "冠军客户", id="champions_case"),
        pytest.param(3, 4, "loyal", "忠诚客户", id="loyal_case"),
        pytest.param(5, 1, "new", "新客户", id="new_case"),
        pytest.param(4, 1, "promising", "有潜力", id="promising_case"),
        pytest.param(4, 2, "potential_loyalists", "潜力客户", id="potential_case"),
        pytest.param(3, 3, "need_attention", "需要关注", id="attention_case"),
        pytest.param(3, 1, "about_to_sleep", "即将沉睡", id="sleep_case"),
        pytest.param(2, 4, "at_risk", "流失风险", id="risk_case"),
        pytest.param(1, 5, "cant_lose", "不能失去", id="cant_lose_case"),
        pytest.param(2, 2, "hibernating", "休眠客户", id="hibernating_case"),
        pytest.param(1, 1, "lost", "已流失", id="lost_case"),
    ],
)
def test_named_segments(r, fm, code, zh):
    segment = segment_of(r, fm)

    assert (segment.code, segment.name_zh) == (code, zh)


def test_fm_is_the_mean_of_f_and_m_rounded_up():
    scores = rfm_scores([1, 400, 30, 200, 5], [9, 1, 3, 2, 1], [900.0, 10.0, 300.0, 50.0, 20.0])

    assert scores.r.tolist() == [5, 1, 3, 2, 4]
    assert scores.fm.tolist() == [5, 1, 4, 3, 2]
    assert scores.segment.tolist() == [
        "champions",
        "lost",
        "loyal",
        "at_risk",
        "potential_loyalists",
    ]


def test_bad_input_is_refused():
    with pytest.raises(InvalidDataError, match="finite"):
        quintile_scores([1.0, float("nan")])
    with pytest.raises(InvalidDataError, match="one value per customer"):
        rfm_scores([1, 2], [1], [1.0, 2.0])
    with pytest.raises(InvalidDataError, match="between 1 and 5"):
        segment_of(0, 3)
    assert rfm_scores([], [], []).segment.tolist() == []
