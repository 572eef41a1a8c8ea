"""The power list (权力清单) as typed records: powers, risk points, the catalog.

A :class:`PowerRow` is one row of the sheet ``权力清单`` (SPEC section 9) and a
:class:`RiskPointRow` one row of ``廉政风险点``. Where a row came from (the
spreadsheet row, the YAML line) is kept beside the content but is no part of
it: two catalogs are equal when their content is, whatever the format.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..bpmn.model import Category, RiskLevel
from ..errors import InvalidInputError
from .limits import Limit

__all__ = [
    "CATEGORY_NAMES",
    "LEVEL_NAMES",
    "Catalog",
    "PowerRow",
    "RiskPointRow",
    "StageItem",
    "parse_category",
    "parse_level",
    "split_stages",
]

CATEGORY_NAMES: dict[Category, str] = {
    Category.LICENSING: "行政许可",
    Category.PENALTY: "行政处罚",
    Category.COERCION: "行政强制",
    Category.LEVY: "行政征收",
    Category.PAYMENT: "行政给付",
    Category.INSPECTION: "行政检查",
    Category.CONFIRMATION: "行政确认",
    Category.REWARD: "行政奖励",
    Category.ADJUDICATION: "行政裁决",
    Category.OTHER: "其他行政权力",
    Category.INTERNAL: "内部管理",
    Category.SERVICE: "公共服务",
}
_CATEGORY_BY_NAME = {name: cat for cat, name in CATEGORY_NAMES.items()} | {c.value: c for c in Category}
LEVEL_NAMES: dict[RiskLevel, str] = {lv: lv.chinese for lv in RiskLevel}
_LEVEL_BY_NAME = {lv.chinese: lv for lv in RiskLevel} | {lv.value: lv for lv in RiskLevel}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")  # and what XML 1.0 cannot hold
_STAGE = re.compile(
    r"(?:^|(?<=[；;。\n]))\s*(?:[（(]?\d{1,2}[)）.、．]\s*)?"
    r"(?P<stage>[\u4e00-\u9fff]{2,8}?)(?:阶段)?(?:责任|情形)?[：:]"
)


def parse_category(text: str) -> Category:
    """行政许可 … 公共服务 (or the ids of SPEC section 2) to a :class:`Category`."""
    try:
        return _CATEGORY_BY_NAME[text.strip()]
    except KeyError:
        names = "、".join(CATEGORY_NAMES.values())
        raise InvalidInputError(f'"{text}" is not a category; write one of {names}') from None


def parse_level(text: str) -> RiskLevel:
    """高/中/低 (or high/medium/low) to a :class:`RiskLevel`."""
    try:
        return _LEVEL_BY_NAME[text.strip()]
    except KeyError:
        raise InvalidInputError(f'"{text}" is not a risk level; write 高, 中 or 低') from None


def _clean(value: Any) -> Any:
    """Strings lose surrounding blanks and CR; empty strings are absent; control characters are refused."""
    if isinstance(value, str):
        value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
        if _CONTROL.search(value):
            raise ValueError("contains a control character")
        return value or None
    return value


class StageItem(BaseModel):
    """One stage of a responsibility or accountability text: 受理, 审查, 决定, 送达, 事后监管 …"""

    model_config = ConfigDict(frozen=True)

    stage: str
    text: str


def split_stages(text: str | None) -> tuple[StageItem, ...]:
    """Items tagged with a stage (``1.受理阶段责任：…；2.审查阶段责任：…``); empty when none is tagged."""
    if not text:
        return ()
    marks = list(_STAGE.finditer(text))
    items = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        body = text[m.end() : end].strip().rstrip("；;").strip()
        items.append(StageItem(stage=m.group("stage"), text=body))
    return tuple(items)


class _Row(BaseModel):
    """Content fields compare and serialize; ``row`` (where it was read) does neither."""

    model_config = ConfigDict(validate_assignment=False)

    row: int | None = Field(default=None, exclude=True, repr=False)
    extra: dict[str, str] = Field(default_factory=dict)

    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return _clean(value)

    @field_validator("extra", mode="before")
    @classmethod
    def _extra(cls, value: Any) -> Any:
        if value is None:
            return {}
        return {str(k).strip(): v for k, v in ((k, _clean(v)) for k, v in dict(value).items()) if v is not None}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Row) and type(other) is type(self) and self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]


class PowerRow(_Row):
    """A row of 权力清单: one power (职权) with its 责任事项 and 追责情形."""

    code: str  # 职权编码
    name: str  # 职权名称
    category: Category  # 职权类别
    basis: str | None = None  # 实施依据
    body: str | None = None  # 实施主体
    office: str | None = None  # 承办机构
    statutory_limit: Limit | None = None  # 法定办结时限
    promised_limit: Limit | None = None  # 承诺办结时限
    fees: str | None = None  # 收费依据及标准
    flowchart: str | None = None  # 流程图 (relative to the catalog file)
    responsibilities: str | None = None  # 责任事项
    accountability: str | None = None  # 追责情形
    phone: str | None = None  # 监督电话

    @property
    def responsibility_stages(self) -> tuple[StageItem, ...]:
        """责任事项 split by stage, when the text tags its stages."""
        return split_stages(self.responsibilities)

    @property
    def accountability_stages(self) -> tuple[StageItem, ...]:
        """追责情形 split by stage, when the text tags its stages."""
        return split_stages(self.accountability)


class RiskPointRow(_Row):
    """A row of 廉政风险点: one risk point on one step of a power's flowchart."""

    power: str  # 职权编码
    step: str  # 环节: BPMN id or name of the step
    id: str  # 风险点编号
    description: str  # 风险点
    level: RiskLevel  # 风险等级
    measures: tuple[str, ...] = ()  # 防控措施, one a line in a cell
    post: str | None = None  # 责任岗位
    category: str | None = None  # 风险类别 (optional column)

    @field_validator("measures", mode="before")
    @classmethod
    def _measures(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, str):
            value = value.split("\n")
        return tuple(m for m in (_clean(str(v)) for v in value) if m)


class Catalog(BaseModel):
    """A power list: powers and their risk points. ``file`` is where it was read (not content)."""

    powers: list[PowerRow] = Field(default_factory=list)
    risk_points: list[RiskPointRow] = Field(default_factory=list)
    file: str | None = Field(default=None, exclude=True, repr=False)
    row_kind: str = Field(default="row", exclude=True, repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Catalog) and self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]

    def power(self, code: str) -> PowerRow:
        """The power with this 职权编码; ``KeyError`` when there is none."""
        for p in self.powers:
            if p.code == code:
                return p
        raise KeyError(code)

    def risks_of(self, code: str) -> list[RiskPointRow]:
        """The risk points of one power, in table order."""
        return [r for r in self.risk_points if r.power == code]
