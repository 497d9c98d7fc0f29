"""The report's words in English and Chinese, and the cities' Chinese names.

The report is written in English; :func:`translator` returns a function that
maps each English phrase to its Chinese form when ``lang == "zh"`` (and
leaves a phrase without a translation in English, so a new phrase never
breaks a report). City names in Chinese come from the optional ``name_zh``
column of the instance's own cities table (:func:`chinese_names`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

LANGUAGES = ("en", "zh")

# The national city clusters (城市群) named in the instances' ``cluster`` column.
CLUSTER_ZH = {
    "jingjinji": "京津冀", "yangtze_delta": "长三角", "pearl_delta": "珠三角", "chengyu": "成渝",
    "middle_yangtze": "长江中游", "central_plains": "中原", "shandong_peninsula": "山东半岛",
    "guanzhong_plain": "关中平原", "beibu_gulf": "北部湾", "harbin_changchun": "哈长",
    "central_south_liaoning": "辽中南", "lanzhou_xining": "兰州—西宁", "tianshan_north_slope": "天山北坡",
    "central_guizhou": "黔中", "central_yunnan": "滇中", "central_shanxi": "山西中部",
    "hohhot_baotou_ordos_yulin": "呼包鄂榆", "ningxia_yellow_river": "宁夏沿黄", "gd_fj_zj_coast": "粤闽浙沿海",
    "jinzhong": "晋中",
}
REGION_ZH = {"east": "东部", "central": "中部", "west": "西部", "northeast": "东北"}

ZH: dict[str, str] = {
    # headings and page furniture
    "Relocation plan": "疏解方案",
    "Summary": "概要",
    "Megacity cores: residents moved and density": "特大城市中心城区：疏解人口与人口密度",
    "Flow map": "疏解流向图",
    "Interactive map": "交互地图",
    "National overview": "全国概览",
    "City clusters": "各城市群",
    "Receiving cities and their capacity": "承接城市及其容量",
    "Cost breakdown": "成本构成",
    "Sites opened": "新建园区",
    "Sweep comparison": "情景比较",
    "Pareto front: residents moved against cost": "帕累托前沿：疏解人口与成本",
    "Schedule": "分期安排",
    "Explanations": "方案解释",
    "Files and provenance": "文件与来源",
    "Contents": "目录",
    "Status": "状态",
    "result folder": "结果文件夹",
    "report generated": "报告生成于",
    "by": "由",
    "Why there is no plan": "为何没有方案",
    # summary cards
    "Objective": "目标值",
    "Best bound": "最优界",
    "Gap": "间隙",
    "Residents moved": "疏解人口",
    "Jobs moved": "疏解就业岗位",
    "Receiving cities": "承接城市",
    "Sites opened (count)": "新建园区数",
    "Solver": "求解器",
    "target": "目标",
    "objective vs bound": "目标值与界之差",
    "facility units": "个设施单位",
    "of": "共",
    "candidates": "个候选",
    "parks and hubs": "产业园区与物流枢纽",
    "weighted total cost, minimised": "加权总成本（最小化）",
    "no plan can cost less": "任何方案的成本都不低于此值",
    # status sentences
    "Optimal": "最优",
    "Feasible": "可行",
    "Infeasible": "不可行",
    # table headers
    "component": "成本项",
    "what it counts": "含义",
    "amount": "金额",
    "weight": "权重",
    "in the objective": "计入目标值",
    "core": "中心城区",
    "target kind": "目标类型",
    "target residents": "目标人口",
    "residents moved": "疏解人口",
    "shortfall": "缺口",
    "density before (persons/km²)": "疏解前密度（人/平方公里）",
    "density after (persons/km²)": "疏解后密度（人/平方公里）",
    "change (persons/km²)": "变化（人/平方公里）",
    "from": "迁出地",
    "to": "迁入地",
    "type": "类型",
    "units": "单位数",
    "residents": "人口",
    "jobs": "就业岗位",
    "km": "公里",
    "cost": "成本",
    "city": "城市",
    "tier": "城市等级",
    "residents received": "承接人口",
    "jobs received": "承接就业岗位",
    "sites": "园区",
    "site cost": "园区成本",
    "jobs placed": "安置岗位",
    "capacity (jobs)": "容量（岗位）",
    "use": "利用率",
    "used / cap": "已用 / 上限",
    "item": "项目",
    "value": "值",
    "file": "文件",
    "content": "内容",
    "cluster": "城市群",
    "region": "地区",
    "hard": "硬约束",
    "soft": "软约束",
    "no cap": "无上限",
    # cost components
    "Relocation": "搬迁",
    "Operating": "运营",
    "Access": "可达性",
    "Sites": "园区",
    "Shortfall": "缺口惩罚",
    # map text
    "megacity core (origin)": "特大城市中心城区（迁出地）",
    "receiving city (area ~ residents received)": "承接城市（面积 ~ 承接人口）",
    "candidate city, received nothing": "候选城市，未承接",
    "site opened": "新建园区",
    "Legend": "图例",
    "flows to": "流向",
    "flows from": "来自",
    "residents move from": "人口疏解自",
    "cores to": "个中心城区，迁往",
    "cities": "个城市",
    "no plan": "无方案",
    "Zoom to a city cluster": "缩放到城市群",
    "All": "全部",
    "received nothing": "未承接",
    "capacity use": "容量利用",
    "moved out": "疏解出",
    "to cities": "迁往城市数",
    "more rows": "更多行",
    "facility": "设施",
    "other cities": "其他城市",
    "other city clusters": "其他城市群",
    "no cluster": "不属城市群",
    "receives": "承接",
    # explanations
    "Pan with the mouse, zoom with the wheel; hover a city for what it receives, a flow for its facilities "
    "(all flows of its core light up). The buttons zoom to a city cluster.":
        "拖动平移，滚轮缩放；悬停城市查看其承接内容，悬停流线查看设施明细（同一中心城区的全部流线高亮）。"
        "按钮可缩放到各城市群。",
    "One panel per city cluster that receives anything; flows coloured by the cluster of the receiving city.":
        "每个承接疏解的城市群一幅小图；流线颜色按承接城市所属城市群区分。",
    "Flows grouped by the cluster of the receiving city; width ~ residents moved.":
        "流线按承接城市所属城市群分组着色；线宽 ~ 疏解人口。",
    "Moves by origin, destination and type, largest first": "按迁出地、迁入地和类型汇总的迁移，按规模排序",
    "Cost = relocation + operating + access, unweighted.": "成本 = 搬迁 + 运营 + 可达性（未加权）。",
    "The schedule of this plan (schedule.csv).": "本方案的分期安排（schedule.csv）。",
    "Why these cities: the explanation of this plan (explain.json).": "为何选择这些城市：本方案的解释（explain.json）。",
}


def translator(lang: str) -> Callable[[str], str]:
    """A function from an English phrase to its form in ``lang`` (English when there is none)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown report language {lang!r}; expected one of {', '.join(LANGUAGES)}")
    if lang == "en":
        return lambda text: text
    return lambda text: ZH.get(text, text)


def cluster_label(cluster: str, lang: str) -> str:
    """A cluster id as a reader names it: ``yangtze_delta`` -> ``Yangtze delta`` / ``长三角``."""
    if not cluster:
        return "不属城市群" if lang == "zh" else "no cluster"
    if lang == "zh" and cluster in CLUSTER_ZH:
        return CLUSTER_ZH[cluster]
    return cluster.replace("_", " ").capitalize() if cluster.islower() else cluster


def region_label(region: str, lang: str) -> str:
    if lang == "zh" and region in REGION_ZH:
        return REGION_ZH[region]
    return region or ("无" if lang == "zh" else "none")


def chinese_names(manifest: str | None) -> dict[str, str]:
    """City id -> ``name_zh`` from the cities table the manifest names, or {} when it has none.

    Reads only the manifest's own cities table, under the same rules as the
    loader (a path inside the instance folder, no URLs); any failure means
    "no Chinese names", and the report says so.
    """
    if not manifest:
        return {}
    from .errors import Problem
    from .tables import locate_table, read_table_file

    path = Path(manifest)
    try:
        parsed = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    value = (parsed.get("tables") or {}).get("cities")
    rows: list[dict[str, object]]
    if isinstance(value, str):
        problems: list[Problem] = []
        located = locate_table("cities", value, path.parent, str(path), problems)
        table = read_table_file("cities", located, problems) if located is not None else None
        if table is None or "name_zh" not in table.columns:
            return {}
        rows = table.rows
    elif isinstance(parsed.get("cities"), list):
        rows = [r for r in parsed["cities"] if isinstance(r, dict)]
    else:
        return {}
    names = {}
    for row in rows:
        city, name = row.get("id"), row.get("name_zh")
        if isinstance(city, str) and isinstance(name, str) and name.strip():
            names[city] = name.strip()
    return names
