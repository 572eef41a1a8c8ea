"""办件 exchange and 好差评: a case as the records 政务服务 platforms exchange, its 办件编号, and the applicant's
evaluation with its 整改 follow-up (docs/exchange.md).

- :func:`export_case` (:mod:`.records`): the 办件 records of a case (办件基本信息, 过程信息, 特别程序信息, 补正信息,
  结果信息, 评价信息), Chinese field names or stable English keys, JSON or XML;
- :func:`case_number` and :func:`sequence_in_store` (:mod:`.numbering`): the 办件编号 scheme;
- :func:`evaluate_stored` (:mod:`.rectification`): 好差评 on a stored case; a 差评 opens a 整改 case.
"""

from __future__ import annotations

from .numbering import DEFAULT_TEMPLATE, case_number, check_template, number_of, sequence_in_store
from .records import ENGLISH, ExchangeRecord, export_case, stamp
from .rectification import (
    RECTIFICATION_BPMN,
    RECTIFICATION_DAYS,
    Rated,
    evaluate_stored,
    open_rectification,
    rectification_id,
    rectification_process,
)

__all__ = [
    "DEFAULT_TEMPLATE",
    "ENGLISH",
    "RECTIFICATION_BPMN",
    "RECTIFICATION_DAYS",
    "ExchangeRecord",
    "Rated",
    "case_number",
    "check_template",
    "evaluate_stored",
    "export_case",
    "number_of",
    "open_rectification",
    "rectification_id",
    "rectification_process",
    "sequence_in_store",
    "stamp",
]
