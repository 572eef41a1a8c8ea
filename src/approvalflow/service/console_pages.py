"""The HTML of the 电子监察 console: one self-contained page per view (inline CSS and SVG, a few lines of inline
script for the live card wall; no framework, no external asset, works offline).

Every text that comes from a store, an organisation, a catalog or a request is escaped (:func:`esc`, :func:`attr`);
links carry ids through :func:`urllib.parse.quote`. Labels are Chinese first, English in small type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from ..render.chartkit import Bar, attr, bar_rows, esc
from ..render.text import FONT_STACK
from ..store.base import IndexProblem
from ..supervision.efficiency import Evaluation
from ..supervision.report_html import COLOURS, METRIC_LABELS
from ..time.periods import SHANGHAI
from .auth import Principal
from .console_data import CaseView, Hit, Wall, WallCard
from .console_flow import STATE_LABELS, STATE_STYLE

__all__ = ["case_page", "efficiency_page", "error_page", "live_fragment", "moment", "search_page", "wall_page"]

MAX_CARDS = 200
"""Most cards the wall draws (the most urgent; the counts and the tables count them all)."""
LEVELS = {"red": ("红牌", "red card"), "yellow": ("黄牌", "yellow card")}
LIMITS = {"promised": ("承诺时限", "promised"), "statutory": ("法定时限", "statutory"), "step": ("环节时限", "step")}
STATUSES = {
    "running": ("在办", "running"),
    "open": ("在办", "open"),
    "suspended": ("中止", "suspended"),
    "completed": ("办结", "completed"),
    "withdrawn": ("撤回", "withdrawn"),
    "terminated": ("终止", "terminated"),
}
OUTCOMES = {
    "approved": "准予",
    "denied": "不予许可",
    "not-accepted": "不予受理",
    "withdrawn": "撤回",
    "terminated": "终止",
}
ACTIONS = {
    "start": "启动",
    "complete": "办理",
    "notify-missing": "一次性告知补正",
    "supplement": "补正",
    "add-signer": "加签",
    "remove-signer": "减签",
    "take-back": "收回",
    "return": "退回",
    "withdraw": "撤回",
    "terminate": "终止",
    "suspend": "中止",
    "resume": "恢复",
    "outcome": "记录结果",
    "claim": "签收",
    "unclaim": "取消签收",
    "transfer": "转办",
    "delegate": "委派",
    "resolve": "委派办毕",
    "cc": "抄送",
    "urge": "催办",
    "message": "消息",
    "signal": "信号",
    "timer": "定时",
    "change-parties": "变更当事人",
    "calendar-update": "日历更新",
    "migrate": "迁移版本",
}
TRAIL_OUTCOMES = {"completed": "完成", "refused": "拒绝", "started": "启动", "recorded": "已记录", "returned": "已退回"}

STYLE = f"""
*{{box-sizing:border-box}}
body{{font-family:{FONT_STACK};margin:0;background:#eef1f5;color:#1f2937;font-size:16px;line-height:1.45}}
a{{color:#0b57b0;text-decoration:none}} a:hover{{text-decoration:underline}}
small,.en{{font-size:.72em;color:#5b6472;font-weight:normal}}
header.top{{display:flex;flex-wrap:wrap;align-items:center;gap:.4em 1.4em;background:#17324d;color:#fff;
  padding:.55em 1.2em}}
header.top h1{{font-size:1.35em;margin:0;white-space:nowrap}} header.top .en{{color:#b9c7d6}}
header.top nav{{display:flex;gap:1em;flex-wrap:wrap}}
header.top nav a{{color:#fff;padding:.15em .4em;border-radius:4px}}
header.top nav a.on{{background:#2f5b86}}
header.top form{{margin-left:auto;display:flex;gap:.3em}}
header.top input{{font:inherit;padding:.2em .5em;width:16em;border-radius:4px;border:0}}
header.top button{{font:inherit;padding:.2em .8em;border-radius:4px;border:0;background:#f0b429;cursor:pointer}}
header.top .who{{font-size:.85em;color:#d8e2ec;white-space:nowrap}}
main{{padding:1em 1.2em}}
.counts{{display:grid;grid-template-columns:repeat(auto-fit,minmax(11em,1fr));gap:.8em;margin-bottom:1em}}
.count{{background:#fff;border-radius:8px;padding:.5em 1em;border-top:6px solid #90a4ae}}
.count b{{display:block;font-size:2.6em;line-height:1.1}}
.count.red{{border-color:#c62828}} .count.red b{{color:#c62828}}
.count.yellow{{border-color:#e0a800}} .count.yellow b{{color:#9a7000}}
.layout{{display:grid;grid-template-columns:minmax(0,1fr) 24em;gap:1em;align-items:start}}
.cards{{display:grid;grid-template-columns:repeat(auto-fill,minmax(21em,1fr));gap:.8em}}
.card{{background:#fff;border-radius:8px;border-left:10px solid #e0a800;padding:.6em .9em;
  box-shadow:0 1px 2px rgba(0,0,0,.08)}}
.card.red{{border-left-color:#c62828}}
.card .head{{display:flex;align-items:baseline;gap:.6em;flex-wrap:wrap}}
.badge{{display:inline-block;padding:.05em .5em;border-radius:4px;font-weight:bold;color:#fff;background:#e0a800}}
.badge.red{{background:#c62828}} .badge.grey{{background:#607d8b}} .badge.green{{background:#2e7d32}}
.card .case{{font-size:1.3em;font-weight:bold;word-break:break-all}}
.card .late{{margin-left:auto;font-weight:bold;color:#c62828}}
.card dl{{display:grid;grid-template-columns:auto 1fr;gap:.1em .7em;margin:.4em 0 0}}
.card dt{{color:#5b6472}} .card dd{{margin:0;word-break:break-word}}
details summary{{cursor:pointer;color:#0b57b0}}
.clause{{font-size:.88em;display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden}}
aside section,.panel{{background:#fff;border-radius:8px;padding:.6em .9em;margin-bottom:1em}}
h2{{font-size:1.15em;margin:.2em 0 .5em}}
table{{border-collapse:collapse;width:100%}} th,td{{padding:.25em .45em;border-bottom:1px solid #e3e7ec;
  text-align:left;vertical-align:top}}
td.n,th.n{{text-align:right;font-variant-numeric:tabular-nums}}
td.red{{color:#c62828;font-weight:bold}} td.yellow{{color:#9a7000;font-weight:bold}}
.empty{{background:#fff;border-radius:8px;padding:2em;text-align:center;font-size:1.4em;color:#2e7d32}}
.problems{{background:#fff3e0;border-left:6px solid #e65100;padding:.5em 1em;margin-bottom:1em}}
.casegrid{{display:grid;grid-template-columns:minmax(0,2.3fr) minmax(26em,1fr);gap:1em;align-items:start}}
.flow svg{{width:100%;height:auto;display:block;background:#fff}}
.legend{{display:flex;flex-wrap:wrap;gap:.4em 1em;margin:.3em 0 .6em}}
.legend span i{{display:inline-block;width:1.1em;height:.9em;border:2px solid;vertical-align:middle;margin-right:.3em}}
.trail{{max-height:85vh;overflow:auto}} .trail table{{font-size:.84em}} .trail td{{white-space:nowrap}}
.trail td.f{{white-space:normal;min-width:7em;word-break:break-word}}
tr.refused td{{background:#fff0e6}}
.facts{{display:grid;grid-template-columns:repeat(auto-fit,minmax(15em,1fr));gap:.2em 1.2em}}
.facts div b{{display:block;font-size:.8em;color:#5b6472;font-weight:normal}}
.charts{{display:grid;grid-template-columns:repeat(auto-fit,minmax(34em,1fr));gap:1em}}
.charts svg{{width:100%;height:auto}} h3{{font-size:1em;margin:.8em 0 .2em}}
.af-state-refused>:first-child{{stroke-dasharray:7 4}}
#status{{color:#ffcc80}} main a.on{{font-weight:bold;text-decoration:underline}}
@media (min-width:1800px){{body{{font-size:20px}} .cards{{grid-template-columns:repeat(auto-fill,minmax(22em,1fr))}}}}
@media (max-width:1100px){{.layout,.casegrid{{grid-template-columns:1fr}}}}
"""

_POLL = """
(function(){
  var el=document.getElementById('live'); if(!el||!window.fetch) return;
  var every=Math.max(1,parseInt(el.dataset.every,10)||5)*1000;
  function show(text){var s=document.getElementById('status'); if(s) s.textContent=text;}
  function poll(){
    var url=el.dataset.src+(el.dataset.src.indexOf('?')<0?'?':'&')+'since='+encodeURIComponent(el.dataset.signature);
    fetch(url,{credentials:'same-origin',headers:{'Accept':'application/json'}})
      .then(function(r){if(!r.ok) throw new Error('HTTP '+r.status); return r.json();})
      .then(function(j){
        if(j.html!==null&&j.signature!==el.dataset.signature){el.innerHTML=j.html; el.dataset.signature=j.signature;}
        var u=document.getElementById('updated'); if(u) u.textContent=j.at; show('');
      })
      .catch(function(e){show('连接中断 offline: '+e.message);})
      .then(function(){setTimeout(poll,every);});
  }
  setTimeout(poll,every);
})();
"""


def _bi(zh: str, en: str) -> str:
    """A Chinese label with its English in small type."""
    return f'{esc(zh)} <span class="en">{esc(en)}</span>'


def moment(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def case_link(case_id: str) -> str:
    """A link to the case page."""
    return f'<a href="/console/cases/{quote(case_id, safe="")}">{esc(case_id)}</a>'


def _who(principal: Principal) -> str:
    if principal.role == "supervisor":
        return "监察 supervisor · 全部单位 all units"
    return f"平台 platform · {esc(principal.unit or '')}"


def page(title: str, body: str, principal: Principal, *, active: str = "", at: datetime | None = None,
         query: str = "", script: str = "") -> str:  # fmt: skip
    """A whole console page: the top bar (navigation, search, who, when), then ``body``."""
    nav = "".join(
        f'<a href="{href}"{" class=on" if key == active else ""}>{label}</a>'
        for key, href, label in (
            ("wall", "/console/", _bi("红黄牌", "cards")),
            ("efficiency", "/console/efficiency", _bi("效能评估", "efficiency")),
            ("search", "/console/search", _bi("查询", "search")),
        )
    )
    when = (
        f'<span class="who">更新 <span id="updated">{esc(moment(at))}</span> <span id="status"></span></span>'
        if at is not None
        else ""
    )
    search = (
        f'<form action="/console/search" method="get" role="search"><input name="q" value={attr(query)} '
        'placeholder="办件编号 / 申请人 / 职权" aria-label="search"><button type="submit">查询</button></form>'
    )
    top = (
        f'<header class="top"><h1>电子监察 <span class="en">e-supervision</span></h1><nav>{nav}</nav>{search}'
        f'<span class="who">{_who(principal)}</span>{when}</header>'
    )
    tail = f"<script>{script}</script>" if script else ""
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{esc(title)} · 电子监察</title>'
        f"<style>{STYLE}</style></head><body>{top}<main>{body}</main>{tail}</body></html>"
    )


def error_page(principal: Principal | None, title: str, message: str) -> str:
    """A page that says what went wrong, in one paragraph (never a traceback)."""
    body = f'<div class="problems"><h2>{esc(title)}</h2><p>{esc(message)}</p></div>'
    if principal is None:
        return f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{esc(title)}</title></head>' \
               f"<body>{body}</body></html>"  # fmt: skip
    return page(title, body, principal)


# -- the card wall ------------------------------------------------------------------------------------------------
def _problems(problems: Sequence[IndexProblem]) -> str:
    if not problems:
        return ""
    items = "".join(f"<li>{case_link(p.case_id)}: {esc(p.where)}: {esc(p.message)}</li>" for p in problems[:50])
    more = f"<li>… {len(problems) - 50} 个 more</li>" if len(problems) > 50 else ""
    return (
        f'<div class="problems" data-problems="{len(problems)}">'
        f"<b>{_bi('索引不一致的案件未显示', 'cases whose index does not tie are not shown')}"
        f"</b><ul>{items}{more}</ul></div>"
    )


def _card(c: WallCard) -> str:
    card = c.card
    zh, en = LEVELS[card.level]
    limit_zh, limit_en = LIMITS[card.limit]
    if card.scope == "step":
        step = f"{esc(c.step_name or card.task or '')} <small>{esc(card.task or '')}</small>"
    else:
        step = _bi("整个案件", "whole case")
    late = f'<span class="late">已超期 {c.late_days} 天</span>' if card.level == "red" and c.late_days else ""
    people = "、".join(f"{esc(name)}<small>({esc(pid)})</small>" for pid, name in c.people) or "—"
    power = f"{esc(card.power or '—')} {esc(c.power_name or '')}"
    rows = [
        ("环节", step),
        (limit_zh, f"{esc(_day(card.deadline))} <small>{esc(limit_en)}</small>"),
        ("单位", esc(c.unit_name)),
        ("职权", power),
        ("责任人", people),
    ]
    for label, clause in (("责任事项", card.responsibility), ("追责情形", card.accountability)):
        if clause:
            rows.append((label, f'<div class="clause" title={attr(clause)}>{esc(clause)}</div>'))
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return (
        f'<article class="card {card.level}" data-case={attr(card.case)} data-level="{card.level}" '
        f'data-task={attr(card.task or "")} data-rule="{card.rule}">'
        f'<div class="head"><span class="badge {card.level}">{zh}</span><small>{en} · {card.rule}</small>{late}</div>'
        f'<div class="case">{case_link(card.case)}</div><dl>{dl}</dl></article>'
    )


def _group_table(
    title: str, en: str, rows: Sequence[tuple[str, str, int, int]], param: str, base: Mapping[str, str]
) -> str:
    if not rows:
        return ""
    body = "".join(
        f'<tr><td><a href="/console/?{esc(urlencode({**base, param: key}))}">{esc(label)}</a>'
        f"{'' if key == label else f' <small>{esc(key)}</small>'}</td>"
        f'<td class="n red">{red or ""}</td><td class="n yellow">{yellow or ""}</td></tr>'
        for key, label, red, yellow in rows[:30]
    )
    return (
        f'<section data-group="{param}"><h2>{_bi(title, en)}</h2><table><thead><tr><th></th>'
        f'<th class="n">红</th><th class="n">黄</th></tr></thead><tbody>{body}</tbody></table></section>'
    )


def live_fragment(wall: Wall, filters: Mapping[str, str]) -> str:
    """The part of the wall that refreshes live: counts, cards and the tables by unit, power and person."""
    counts = wall.counts()
    tiles = [
        ("red", "红牌", "red cards", counts["red"]),
        ("yellow", "黄牌", "yellow cards", counts["yellow"]),
        ("", "有牌案件", "cases with cards", counts["cases"]),
    ]
    if wall.open_cases is not None:
        tiles.append(("", "在办案件", "open cases", wall.open_cases))
    head = "".join(
        f'<div class="count {cls}" data-count="{en.split()[0]}"><b>{n:,}</b>{_bi(zh, en)}</div>'
        for cls, zh, en, n in tiles
    )
    if wall.cards:
        shown = wall.cards[:MAX_CARDS]
        rest = len(wall.cards) - len(shown)
        zh = f"另有 {rest:,} 张牌未显示, 请按单位、职权或责任人筛选"
        en = f"{rest:,} more cards: filter by unit, power or person"
        more = f'<p class="more" data-more="{rest}">{_bi(zh, en)}</p>' if rest else ""
        cards = f'<div class="cards">{"".join(_card(c) for c in shown)}</div>{more}'
    else:
        cards = f'<div class="empty">{_bi("当前没有黄牌或红牌", "no cards now")}</div>'
    side = (
        _group_table("按单位", "by unit", wall.groups("unit"), "unit", filters)
        + _group_table("按职权(事项)", "by power", wall.groups("power"), "power", filters)
        + _group_table("按责任人", "by person", wall.groups("person"), "person", filters)
    )
    return (
        f'<div class="counts">{head}</div>{_problems(wall.problems)}'
        f'<div class="layout"><div>{cards}</div><aside>{side}</aside></div>'
    )


def wall_page(wall: Wall, principal: Principal, filters: Mapping[str, str], every: int) -> str:
    """The card wall (红黄牌): counts, the cards most urgent first, and the tables; refreshed every ``every`` s."""
    shown = "".join(f"<span>{esc(k)} = <b>{esc(v)}</b></span> " for k, v in filters.items())
    clear = f'<p>{_bi("筛选", "filter")}: {shown} <a href="/console/">全部 all</a></p>' if filters else ""
    src = "/console/live" + (f"?{urlencode(filters)}" if filters else "")
    body = (
        f'{clear}<div id="live" data-src={attr(src)} data-every="{every}" data-signature="{wall.signature}">'
        f"{live_fragment(wall, filters)}</div>"
    )
    return page("红黄牌", body, principal, active="wall", at=wall.at, script=_POLL)


# -- one case -----------------------------------------------------------------------------------------------------
def _legend() -> str:
    items = "".join(
        f'<span><i style="background:{fill};border-color:{stroke}"></i>{_bi(*STATE_LABELS[s])}</span>'
        for s, (fill, stroke) in STATE_STYLE.items()
    )
    return f'<div class="legend">{items}</div>'


def _findings(entry: Mapping[str, Any]) -> str:
    found = entry.get("findings")
    if not isinstance(found, list) or not found:
        return ""
    rules = ", ".join(sorted({str(f.get("rule")) for f in found if isinstance(f, dict)}))
    lines = "".join(
        f"<li><b>{esc(str(f.get('rule')))}</b> {esc(str(f.get('message', '')))}</li>"
        for f in found
        if isinstance(f, dict)
    )
    return f"<details><summary>{esc(rules)}</summary><ul>{lines}</ul></details>"


def _trail(view: CaseView, person: Mapping[str, str]) -> str:
    rows = []
    for entry in view.trail:
        action = str(entry.get("action", ""))
        outcome = str(entry.get("outcome", ""))
        step = entry.get("step")
        step_name = view.names.steps.get(step, step) if isinstance(step, str) else ""
        actor = entry.get("actor")
        actor_text = f"{esc(person.get(actor, actor))}<br><small>{esc(actor)}</small>" if isinstance(actor, str) else ""
        at = entry.get("at")
        try:
            when = esc(moment(datetime.fromisoformat(at))).replace(" ", "<br>") if isinstance(at, str) else ""
        except ValueError:
            when = esc(str(at))
        cls = ' class="refused"' if outcome == "refused" else ""
        rows.append(
            f'<tr{cls} data-seq="{esc(str(entry.get("seq", "")))}" '
            f"data-step={attr(step if isinstance(step, str) else '')} "
            f'data-outcome={attr(outcome)}><td class="n">{esc(str(entry.get("seq", "")))}</td><td>{when}</td>'
            f"<td>{esc(ACTIONS.get(action, action))}<br><small>{esc(action)}</small></td><td>{actor_text}</td>"
            f"<td>{esc(str(step_name or ''))}</td><td>{esc(TRAIL_OUTCOMES.get(outcome, outcome))}</td>"
            f'<td class="f">{_findings(entry)}</td></tr>'
        )
    head = "".join(f"<th>{h}</th>" for h in ("#", "时间", "动作", "办理人", "环节", "结果", "发现 findings"))
    return f'<table id="trail"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def case_page(view: CaseView, principal: Principal, people: Mapping[str, str], unit: str) -> str:
    """The case page: facts, cards and deadlines, the coloured flowchart and the trail beside it."""
    case, record = view.case, view.record
    status_zh, status_en = STATUSES.get(case.status, (case.status, case.status))
    outcome = OUTCOMES.get(case.outcome or "", case.outcome or "")
    facts = [
        ("办件编号 case", esc(case.id)),
        (
            "状态 status",
            f'<span class="badge grey" id="status-badge">{esc(status_zh)}</span> <small>{esc(status_en)}</small>'
            + (f" · {esc(outcome)}" if outcome else ""),
        ),
        ("流程 process", f"{esc(view.names.title)} <small>{esc(record.process)}</small>"),
        ("职权 power", esc(record.power or "—")),
        ("单位 unit", esc(unit)),
        ("申请人 applicant", esc(view.applicant or "—")),
        ("启动 started", esc(moment(case.started_at))),
        ("办结 ended", esc(moment(case.ended_at)) or "—"),
    ]
    if view.deadlines is not None:
        facts.append(
            ("承诺时限 promised", esc(_day(view.deadlines.promised.day if view.deadlines.promised else None)) or "—")
        )
        facts.append(
            ("法定时限 statutory", esc(_day(view.deadlines.statutory.day if view.deadlines.statutory else None)) or "—")
        )
    fact_html = "".join(f"<div><b>{k}</b>{v}</div>" for k, v in facts)
    alerts = "".join(
        f'<li data-level="{a.level}" data-task={attr(a.task or "")}>'
        f'<span class="badge {a.level}">{LEVELS[a.level][0]}</span> '
        f"{esc(view.names.steps.get(a.task, a.task) if a.task else '整个案件 whole case')} · "
        f"{LIMITS[a.limit][0]} {esc(_day(a.deadline.day))}"
        + (f" · 责任人 {esc(people.get(a.responsible, a.responsible))}" if a.responsible else "")
        + "</li>"
        for a in view.alerts
    )
    ready = "".join(
        f"<li data-ready={attr(r.id)}>{esc(r.name or r.id)} <small>{esc(r.id)}</small> · 自 {esc(moment(r.since))}"
        + (f" · 时限 {esc(_day(d.day))}" if (d := view.step_deadlines.get(r.id)) else "")
        + (f" · 办理人 {esc(people.get(r.assignee, r.assignee))}" if r.assignee else "")
        + "</li>"
        for r in view.ready
    )
    panels = f'<section class="panel"><div class="facts">{fact_html}</div></section>'
    if alerts or ready:
        panels += (
            f'<section class="panel"><h2>{_bi("当前环节与牌", "current steps and cards")}</h2>'
            f'<ul id="alerts">{alerts}</ul><ul id="ready">{ready}</ul></section>'
        )
    charts = "".join(f'<div class="flow">{svg}</div>' for svg in view.svgs) or (
        f"<p>{_bi('流程图不可用', 'the flowchart is not at hand')}</p>"
        + (f'<p class="problems">{esc(view.chart_error)}</p>' if view.chart_error else "")
    )
    body = (
        f'{panels}<div class="casegrid"><section class="panel"><h2>{_bi("流程图", "flowchart")}</h2>{_legend()}'
        f'{charts}</section><section class="panel trail"><h2>{_bi("办理痕迹", "trail")}</h2>{_trail(view, people)}'
        "</section></div>"
    )
    return page(f"案件 {case.id}", body, principal, at=view.at)


# -- search -------------------------------------------------------------------------------------------------------
def search_page(query: str, hits: Sequence[Hit], more: bool, principal: Principal, units: Mapping[str, str]) -> str:
    """The search form's results."""
    if not query.strip():
        hint = _bi("按办件编号、申请人、职权或流程查询", "search by case id, applicant, power or process")
        body = f'<div class="panel"><p>{hint}</p></div>'
        return page("查询", body, principal, active="search")
    rows = "".join(
        f"<tr data-case={attr(h.id)}><td>{case_link(h.id)}</td><td>{esc(h.applicant or '')}</td>"
        f"<td>{esc(h.title)} <small>{esc(h.power or '')}</small></td><td>{esc(units.get(h.unit, h.unit))}</td>"
        f"<td>{esc(STATUSES.get(h.status, (h.status, ''))[0])}</td><td>{esc(moment(h.started_at))}</td>"
        f"<td><small>{esc(h.matched)}</small></td></tr>"
        for h in hits
    )
    head = "".join(f"<th>{h}</th>" for h in ("办件编号", "申请人", "职权 / 流程", "单位", "状态", "启动", "匹配"))
    note = f"<p>{_bi('只显示前 ' + str(len(hits)) + ' 条', 'first results only')}</p>" if more else ""
    result = (
        f'<table id="hits"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{note}'
        if hits
        else f"<p>{_bi('没有找到', 'nothing found')}</p>"
    )
    body = f'<div class="panel"><h2>查询 “{esc(query)}” · {len(hits)} 条</h2>{result}</div>'
    return page("查询", body, principal, active="search", query=query)


# -- efficiency ---------------------------------------------------------------------------------------------------
def _rate(v: Any) -> str:
    return "—" if v is None else f"{float(v) * 100:.1f}%"


_VOLUME = {"received": "#90a4ae", "completed": "#37474f"}


def _bars(kind: str, groups: Mapping[str, Mapping[str, Any]], metrics: Sequence[str], labels: Mapping[str, str],
          *, rates: bool) -> str:  # fmt: skip
    """Horizontal bars per group: rates in percent (full track 100%), or counts (full track the largest)."""
    rows = []
    for key, values in sorted(groups.items()):
        bars = []
        for m in metrics:
            raw = values[m]
            value = round(float(raw) * 100, 1) if rates and raw is not None else float(raw or 0)
            tip = f"{labels.get(key, key)} {METRIC_LABELS[m]} {value:g}{'%' if rates else ''}"
            colour = COLOURS.get(m) or _VOLUME.get(m, "#546e7a")
            bars.append(Bar(value, colour, tip, {"group": key, "metric": m}))
        rows.append((labels.get(key, key), bars))
    top = 100.0 if rates else max([b.value for _, bars in rows for b in bars] + [1.0])
    return bar_rows(kind, rows, top, title=kind)


def _legend_of(colours: Mapping[str, str]) -> str:
    return " ".join(f"<span style={attr('color:' + c)}>■ {METRIC_LABELS[m]}</span>" for m, c in colours.items())


def _chart_panel(title: str, en: str, groups: Mapping[str, Mapping[str, Any]], labels: Mapping[str, str],
                 key: str) -> str:  # fmt: skip
    return (
        f'<section class="panel"><h2>{_bi(title, en)}</h2>'
        f"<h3>{_bi('办结率 (%)', 'completion rates')} · {_legend_of(COLOURS)}</h3>"
        + _bars(f"{key}-rates", groups, tuple(COLOURS), labels, rates=True)
        + f"<h3>{_bi('件数', 'cases')} · {_legend_of(_VOLUME)}</h3>"
        + _bars(f"{key}-volume", groups, tuple(_VOLUME), labels, rates=False)
        + "</section>"
    )


def efficiency_page(ev: Evaluation, principal: Principal, units: Mapping[str, str], period: str,
                    problems: Sequence[IndexProblem], unit: str | None = None) -> str:  # fmt: skip
    """效能评估: the totals, bar charts per unit and per period, and the tables."""
    data = ev.to_json()
    total = data["total"]
    tiles = [
        ("受理", "received", f"{total['received']:,}"),
        ("办结", "completed", f"{total['completed']:,}"),
        ("按时办结率", "on time", _rate(total["on_time_rate"])),
        ("提前办结率", "early", _rate(total["early_rate"])),
        ("超期办结率", "overdue", _rate(total["overdue_rate"])),
        (
            "平均用时(工作日)",
            "avg working days",
            "—" if total["avg_working_days"] is None else f"{total['avg_working_days']}",
        ),
        ("拒绝次数", "refusals", f"{total['refusals']:,}"),
    ]
    head = "".join(f'<div class="count" data-total="{en}"><b>{v}</b>{_bi(zh, en)}</div>' for zh, en, v in tiles)
    by_unit, by_period = data["by_unit"], data["by_period"]
    charts = _chart_panel("按单位", "by unit", by_unit, units, "unit") if by_unit else ""
    if by_period:
        zh, en = ("按月", "by month") if period == "month" else ("按季度", "by quarter")
        charts += _chart_panel(zh, en, by_period, {}, "period")
    tables = ""
    for dim, zh in (("unit", "按单位"), ("power", "按职权"), ("period", "按期间")):
        groups = data[f"by_{dim}"]
        if not groups:
            continue
        names = list(METRIC_LABELS)
        th = "".join(f'<th class="n">{esc(METRIC_LABELS[n])}</th>' for n in names)
        rows = "".join(
            f"<tr><th>{esc(units.get(k, k) if dim == 'unit' else k)}</th>"
            + "".join(
                f'<td class="n">{_rate(v[n]) if n.endswith("_rate") else ("" if v[n] is None else esc(str(v[n])))}</td>'
                for n in names
            )
            + "</tr>"
            for k, v in sorted(groups.items())
        )
        tables += (
            f'<section class="panel"><h2>{zh}</h2><div style="overflow:auto"><table data-table="{dim}">'
            f"<thead><tr><th></th>{th}</tr></thead><tbody>{rows}</tbody></table></div></section>"
        )
    switch = " · ".join(
        f'<a href="/console/efficiency?{esc(urlencode({"period": p, **({"unit": unit} if unit else {})}))}"'
        f"{' class=on' if p == period else ''}>{zh}</a>"
        for p, zh in (("month", "按月 month"), ("quarter", "按季度 quarter"))
    )
    if unit:
        switch += f' · {_bi("单位", "unit")} {esc(units.get(unit, unit))} <a href="/console/efficiency">全部 all</a>'
    elif len(units) > 1:
        switch += f" · {_bi('单位', 'unit')}: " + " · ".join(
            f'<a href="/console/efficiency?{esc(urlencode({"period": period, "unit": u}))}">{esc(n)}</a>'
            for u, n in sorted(units.items())
        )
    body = (
        f'<p>{_bi("截至", "until")} {esc(moment(ev.until))} · {switch}</p><div class="counts">{head}</div>'
        f'{_problems(problems)}<div class="charts">{charts}</div>{tables}'
    )
    return page("效能评估", body, principal, active="efficiency", at=ev.until)
