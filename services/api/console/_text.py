"""The console's words, Chinese first and English as an option."""

from __future__ import annotations

from typing import Literal

Language = Literal["zh", "en"]

TEXT: dict[str, tuple[str, str]] = {
    "title": ("柳东新区智慧环境监测", "Liudong smart-environment monitoring"),
    "overview": ("总览", "Overview"),
    "alerts": ("告警", "Alerts"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "user": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "or_key": ("或使用 API 密钥", "or an API key"),
    "key": ("API 密钥", "API key"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "sign_in_failed": ("用户名、密码或密钥不正确", "Wrong user name, password or key"),
    "devices": ("设备", "Devices"),
    "reporting": ("在线上报", "reporting"),
    "silent": ("无数据", "silent"),
    "never": ("从未上报", "never reported"),
    "alerting": ("告警中", "alerting"),
    "maintenance": ("维护中", "in maintenance"),
    "kpi": ("2025 年目标", "2025 targets"),
    "treatment_rate": ("城镇污水处理率（今日）", "Sewage treatment rate (today)"),
    "leakage": ("供水管网漏损率（本月）", "Water network leakage (this month)"),
    "rsu_online": ("路侧单元在线率", "RSUs online"),
    "intersections": ("已覆盖路口", "Intersections covered"),
    "aqi_now": ("各站点空气质量指数", "AQI by station"),
    "target": ("目标", "target"),
    "coverage": ("数据覆盖", "data coverage"),
    "meets": ("达标", "on target"),
    "misses": ("未达标", "off target"),
    "no_verdict": ("数据不全，暂不判定", "incomplete data: no verdict"),
    "no_data": ("无数据", "no data"),
    "map_note": (
        "底图为登记设备坐标所围成的区域轮廓，未加载在线地图。",
        "The outline is drawn around the registered devices; no online map is loaded.",
    ),
    "open_alerts": ("未关闭告警", "Open alerts"),
    "feed": ("类别", "Feed"),
    "area": ("片区", "Area"),
    "severity": ("级别", "Severity"),
    "state": ("状态", "State"),
    "rule": ("规则", "Rule"),
    "subject": ("对象", "Subject"),
    "value": ("数值", "Value"),
    "started": ("开始时间", "Started"),
    "fired": ("告警时间", "Fired"),
    "all": ("全部", "all"),
    "filter": ("筛选", "Filter"),
    "live": ("实时更新", "live"),
    "none_open": ("当前没有未关闭的告警", "No open alerts"),
    "evidence": ("证据", "Evidence"),
    "history": ("处理记录", "History"),
    "window": ("时间窗", "Window"),
    "limit": ("限值", "Limit"),
    "standard": ("标准", "Standard"),
    "clause": ("条款", "Clause"),
    "edition": ("版本", "Edition"),
    "comment": ("备注", "Comment"),
    "acknowledge": ("确认告警", "Acknowledge"),
    "resolve": ("关闭告警", "Resolve"),
    "silence": ("维护静默", "Maintenance silence"),
    "silence_device": ("静默此设备", "Silence this device"),
    "silence_area": ("静默此片区", "Silence this area"),
    "until": ("截止", "until"),
    "hours": ("小时", "hours"),
    "viewer_note": (
        "查看者角色只能查看，确认与关闭需要值班员角色。",
        "The viewer role can look only; acknowledging and resolving need the operator role.",
    ),
    "acknowledged_by": ("确认人", "Acknowledged by"),
    "resolved_by": ("关闭人", "Resolved by"),
    "latest": ("最新数据", "Latest readings"),
    "flag": ("数据标记", "Flag"),
    "recent": ("最近 24 小时", "Last 24 hours"),
    "device_alerts": ("该设备的告警", "This device's alerts"),
    "grafana": ("在 Grafana 中查看", "Open in Grafana"),
    "ack_link_title": ("通过消息确认告警", "Acknowledge from a message"),
    "ack_for": ("此链接发送给", "This link was sent to"),
    "ack_done": ("已确认，谢谢。", "Acknowledged. Thank you."),
    "link_refused": ("此链接无效", "This link cannot be used"),
    "link_forged": ("链接无效或已被篡改。", "The link is not valid."),
    "link_expired": ("链接已过期，请登录控制台处理。", "The link has expired; sign in to act."),
    "link_used": (
        "链接已使用过，每个链接只能使用一次。",
        "The link was used already; each works once.",
    ),
    "link_off": (
        "本服务未配置确认链接（ENVMON_CONSOLE__LINK_SECRET）。",
        "Acknowledge links are not set up here (ENVMON_CONSOLE__LINK_SECRET).",
    ),
    "not_firing": ("该告警当前不可确认", "This alert cannot be acknowledged now"),
    "open_console": ("打开控制台", "Open the console"),
    "lang_switch": ("English", "中文"),
}

STATES: dict[str, tuple[str, str]] = {
    "pending": ("待定", "pending"),
    "firing": ("告警中", "firing"),
    "acknowledged": ("已确认", "acknowledged"),
    "resolved": ("已关闭", "resolved"),
    "discarded": ("已撤销", "discarded"),
    "rearmed": ("已重置", "re-armed"),
}
SEVERITIES: dict[str, tuple[str, str]] = {
    "critical": ("严重", "critical"),
    "major": ("重要", "major"),
    "minor": ("次要", "minor"),
    "warning": ("提示", "warning"),
}
FEEDS: dict[str, tuple[str, str]] = {
    "wastewater": ("污水", "wastewater"),
    "air": ("空气", "air"),
    "water": ("供水", "water supply"),
    "v2x": ("车路协同", "C-V2X"),
}


def word(table: dict[str, tuple[str, str]], key: str, lang: Language) -> str:
    pair = table.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "zh" else pair[1]
