"""Synthetic county catalogs at the scale the reform produced, deterministic by seed.

A county's power list ran to about 5,700 powers with about 94,000 risk points.
:func:`synthetic_county` writes a handful of BPMN flowchart templates (one per
category and limit variant, each with its ``af:risk`` annotations) into a
folder and returns a catalog whose powers point at them, with limits and risk
rows that agree, so that ``check_catalog`` finds nothing. Used by
``bench/catalog_scale.py`` and by tests.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from ..bpmn.loader import load_process
from ..bpmn.model import Category
from .generate import risk_rows_for
from .limits import Limit, format_limit
from .model import CATEGORY_NAMES, Catalog, PowerRow, RiskPointRow

__all__ = ["TEMPLATES", "Template", "synthetic_county"]


@dataclass(frozen=True)
class Template:
    """A flowchart template: category, limits, stages (steps) and how many risk points."""

    key: str
    category: Category
    abbr: str
    statutory: int | None
    promised: int
    unit: str
    stages: tuple[str, ...]
    risks: int


_PENALTY = ("立案", "调查取证", "审查", "法制审核", "告知", "决定", "送达", "执行", "结案")
_LICENSING = ("收件", "受理", "审查", "现场核查", "决定", "送达", "事后监管")
_GENERIC = ("受理", "审查", "决定", "送达", "事后监管")
TEMPLATES: tuple[Template, ...] = (
    Template("penalty_a", Category.PENALTY, "CF", 90, 60, "day", _PENALTY, 17),
    Template("penalty_b", Category.PENALTY, "CF", 90, 45, "day", _PENALTY, 17),
    Template("licensing_a", Category.LICENSING, "XK", 20, 15, "workday", _LICENSING, 18),
    Template("licensing_b", Category.LICENSING, "XK", 20, 5, "workday", _LICENSING, 16),
    Template("coercion", Category.COERCION, "QZ", 30, 20, "day", _PENALTY[:7], 16),
    Template("levy", Category.LEVY, "ZS", 20, 10, "workday", _GENERIC, 15),
    Template("payment", Category.PAYMENT, "JF", 30, 20, "workday", _GENERIC, 15),
    Template("inspection", Category.INSPECTION, "JC", 15, 10, "workday", ("检查", "告知", "处理", "归档"), 16),
    Template("confirmation_a", Category.CONFIRMATION, "QR", 20, 10, "workday", _GENERIC, 16),
    Template("confirmation_b", Category.CONFIRMATION, "QR", 20, 0, "workday", _GENERIC[:3], 14),
    Template("reward", Category.REWARD, "JL", 30, 20, "workday", _GENERIC, 15),
    Template("adjudication", Category.ADJUDICATION, "CJ", 60, 45, "day", _GENERIC, 16),
    Template("other", Category.OTHER, "QT", 20, 15, "workday", _GENERIC, 16),
    Template("internal", Category.INTERNAL, "NB", 10, 5, "workday", ("提出", "审核", "集体研究", "执行"), 17),
    Template("service", Category.SERVICE, "GG", None, 0, "workday", ("受理", "办结"), 12),
)
# Shares of a county list by category (处罚 dominates, as in published county lists).
_WEIGHTS: dict[Category, int] = {
    Category.PENALTY: 3900, Category.LICENSING: 250, Category.COERCION: 150, Category.LEVY: 40,
    Category.PAYMENT: 60, Category.INSPECTION: 450, Category.CONFIRMATION: 250, Category.REWARD: 60,
    Category.ADJUDICATION: 20, Category.OTHER: 300, Category.INTERNAL: 60, Category.SERVICE: 160,
}  # fmt: skip
_DEPARTMENTS = (
    "县市场监督管理局", "县自然资源局", "县生态环境局", "县住房和城乡建设局", "县交通运输局", "县水利局",
    "县农业农村局", "县文化和旅游局", "县卫生健康委员会", "县应急管理局", "县教育局", "县民政局",
    "县人力资源和社会保障局", "县财政局", "县公安局", "县林业局", "县商务局", "县医疗保障局",
    "县退役军人事务局", "县综合行政执法局", "县发展和改革局", "县工业和信息化局", "县审计局", "县统计局",
)  # fmt: skip
_OFFICES = ("行政审批股", "执法大队", "综合股", "法规股", "监督检查股", "政务服务窗口")
_LAWS = ("行政许可法", "行政处罚法", "食品安全法", "安全生产法", "环境保护法", "道路交通安全法", "城乡规划法",
         "药品管理法", "产品质量法", "土地管理法", "水法", "森林法", "消防法", "价格法", "统计法")  # fmt: skip
_OBJECTS = ("无证经营", "超范围经营", "未按规定公示信息", "拒绝监督检查", "违规排放污染物", "擅自占用道路",
            "未取得许可从事生产", "销售不合格产品", "违规施工", "未落实安全生产责任", "虚假宣传",
            "违规使用特种设备", "擅自改变用途", "未按规定报送资料", "违规收费", "破坏林地")  # fmt: skip
_RISKS = ("违规审批、选择性审批", "故意刁难、吃拿卡要", "滥用自由裁量权", "收受好处、以权谋私",
          "泄露申请人商业秘密", "超期办理、久拖不办", "降低标准、弄虚作假", "与当事人私下接触",
          "不按规定告知权利", "以罚代管、罚缴不分离")  # fmt: skip
_MEASURES = ("全程电子监察留痕", "分管副职审批、主要负责人监管", "岗位分离、交叉审核", "公开办事依据和标准",
             "集体研究决定", "法制审核把关", "定期抽查案卷")  # fmt: skip
_DIGITS = "零一二三四五六七八九"


def _chinese_number(n: int) -> str:
    """1..199 as written in statute citations: 第三十二条."""
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    text = "一百" if hundreds else ""
    if tens:
        text += ("" if tens == 1 and not hundreds else _DIGITS[tens]) + "十"
    elif hundreds and ones:
        text += "零"
    return text + (_DIGITS[ones] if ones else "")


def _bpmn(t: Template) -> str:
    """A linear flowchart: start, one user task per stage, end; risk points spread over the stages."""
    per_stage: list[list[int]] = [[] for _ in t.stages]
    for i in range(t.risks):
        per_stage[i % len(t.stages)].append(i + 1)
    limits = f' promised="{t.promised}" unit="{t.unit}"' + (f' statutory="{t.statutory}"' if t.statutory else "")
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:af="urn:approvalflow:bpmn:1"'
        f' id="defs_{t.key}" targetNamespace="urn:approvalflow:synthetic">',
        f'<bpmn:process id="{t.key}" name={quoteattr(CATEGORY_NAMES[t.category] + "通用流程")} isExecutable="true">',
        f'<bpmn:extensionElements><af:power code="TEMPLATE-{t.key}" name="{t.key}" category="{t.category.value}"/>',
        f"<af:timeLimit{limits}/></bpmn:extensionElements>",
        '<bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>',
    ]
    for i, stage in enumerate(t.stages):
        risks = "".join(
            f'<af:risk id="R-{t.key}-{n}" level="{("high", "medium", "low")[n % 3]}" category="业务流程">'
            f"<af:description>{stage}环节{_RISKS[n % len(_RISKS)]}</af:description>"
            f"<af:measure>{_MEASURES[n % len(_MEASURES)]}</af:measure></af:risk>"
            for n in per_stage[i]
        )
        parts.append(
            f'<bpmn:userTask id="s{i + 1}" name="{stage}"><bpmn:extensionElements><af:step posts="clerk"/>{risks}'
            f"</bpmn:extensionElements><bpmn:incoming>f{i}</bpmn:incoming><bpmn:outgoing>f{i + 1}</bpmn:outgoing>"
            "</bpmn:userTask>"
        )
    n = len(t.stages)
    parts.append(f'<bpmn:endEvent id="end"><bpmn:incoming>f{n}</bpmn:incoming></bpmn:endEvent>')
    ids = ["start", *(f"s{i + 1}" for i in range(n)), "end"]
    pairs = enumerate(itertools.pairwise(ids))
    parts += [f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>' for i, (a, b) in pairs]
    parts.append("</bpmn:process></bpmn:definitions>")
    return "\n".join(parts) + "\n"


def _limit(value: int | None, unit: str) -> Limit | None:
    return None if value is None else format_limit(value, unit)  # type: ignore[arg-type]


def _power(rng: random.Random, t: Template, code: str) -> PowerRow:
    dept = rng.choice(_DEPARTMENTS)
    law = rng.choice(_LAWS)
    thing = rng.choice(_OBJECTS)
    kind = CATEGORY_NAMES[t.category]
    name = f"对{thing}行为的{kind}" if t.category == Category.PENALTY else f"{thing}{kind}"
    duties = "；".join(f"{i + 1}.{s}阶段责任：依法{s}，{rng.choice(_MEASURES)}" for i, s in enumerate(t.stages))
    blames = "；".join(f"{i + 1}.{r}的" for i, r in enumerate(rng.sample(_RISKS, 3)))
    return PowerRow.model_construct(
        row=None,
        extra={},
        code=code,
        name=name,
        category=t.category,
        basis=f"《中华人民共和国{law}》第{_chinese_number(rng.randint(1, 150))}条",
        body=dept,
        office=dept + rng.choice(_OFFICES),
        statutory_limit=_limit(t.statutory, t.unit),
        promised_limit=_limit(t.promised, t.unit),
        fees="不收费",
        flowchart=f"flowcharts/{t.key}.bpmn",
        responsibilities=duties,
        accountability=blames,
        phone=f"0356-{rng.randint(2000000, 8999999)}",
    )


def synthetic_county(folder: str | Path, *, seed: int = 0, powers: int = 5700, region: str = "140521") -> Catalog:
    """Write the templates under ``folder/flowcharts`` and return a county catalog pointing at them.

    The same seed gives the same catalog. Flowchart paths are relative to ``folder``, where the catalog
    should be saved.
    """
    charts = Path(folder) / "flowcharts"
    charts.mkdir(parents=True, exist_ok=True)
    risk_rows: dict[str, list[RiskPointRow]] = {}
    for t in TEMPLATES:
        path = charts / f"{t.key}.bpmn"
        path.write_text(_bpmn(t), encoding="utf-8")
        risk_rows[t.key] = risk_rows_for(load_process(path), t.key)
    rng = random.Random(seed)
    by_category: dict[Category, list[Template]] = {}
    for t in TEMPLATES:
        by_category.setdefault(t.category, []).append(t)
    categories = list(_WEIGHTS)
    serial: dict[str, int] = {}
    catalog = Catalog()
    for cat in rng.choices(categories, weights=[_WEIGHTS[c] for c in categories], k=powers):
        t = rng.choice(by_category[cat])
        serial[t.abbr] = serial.get(t.abbr, 0) + 1
        code = f"{region}-{t.abbr}-{serial[t.abbr]:05d}"
        catalog.powers.append(_power(rng, t, code))
        catalog.risk_points.extend(r.model_copy(update={"power": code}) for r in risk_rows[t.key])
    return catalog
