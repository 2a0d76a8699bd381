"""Generate the Liudong New District device registry, ``ingest/registry/liudong.json``.

The registry is synthetic but shaped by the district's 14th Five-Year Plan: its areas,
the named wastewater plants and lift stations, one ambient air station per main area,
14 district metered areas (DMAs) with their inlet meters, pressure points and 240
acoustic leak loggers, and the C-V2X pilot zone's 535 intersections with 1,600 roadside
units (RSUs). The treatment plants (ST 32) and air stations (ST 22) get HJ 212 data
loggers (MN, password, edition, CRC); some of them report through their logger, the others
over MQTT. One station's logger is of the HJ 212-2025 edition, with a hardware serial, a
heartbeat and an SM4 key (a demonstration value, like the passwords).

Every random choice comes from one ``random.Random(20251)`` used in a fixed order and
every coordinate is rounded to 6 decimals, so the output is byte-for-byte reproducible::

    .venv/bin/python tools/gen_registry.py            # writes ingest/registry/liudong.json
    .venv/bin/python tools/gen_registry.py --out x.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
from pathlib import Path
from typing import Any

SEED = 20251
# The HJ 212 settings draw from a generator of their own, so they leave the rest unchanged;
# so do the HJ 212-2025 loggers' serials and SM4 keys.
HJ212_SEED_OFFSET = 212
HJ2025_SEED_OFFSET = 2025
HEARTBEAT_S = 30  # the 2025 loggers' 9015 interval
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "ingest" / "registry" / "liudong.json"

# Where generated points may fall (the district proper; the model allows a wider box).
LAT_BOX = (24.30, 24.48)
LON_BOX = (109.42, 109.68)
M_PER_DEG_LAT = 111_320.0

N_LEAK_LOGGERS = 240
N_INTERSECTIONS = 535
N_RSUS = 1600
RSU_MAX_OFFSET_M = 25.0

ZONE_ACH = "Auto City north + Hualing"
ZONE_WEST = "Luoqing River west"
ZONE_EAST = "Luoqing River east"

Json = dict[str, Any]

# code, full Chinese name, short Chinese name, English name, centre (lat, lon), sewage zone
AREAS: list[tuple[str, str, str, str, tuple[float, float], str]] = [
    ("guantang", "官塘片区", "官塘", "Guantang", (24.340, 109.460), ZONE_WEST),
    ("hualing", "花岭", "花岭", "Hualing", (24.420, 109.455), ZONE_ACH),
    ("autocity-north", "汽车城北片", "汽车城北", "Auto City north", (24.440, 109.490), ZONE_ACH),
    ("china-europe", "中欧片区", "中欧", "China-Europe zone", (24.400, 109.510), ZONE_ACH),
    ("zhongshan", "中山街", "中山街", "Zhongshan Street", (24.375, 109.475), ZONE_WEST),
    ("xiushui", "秀水片区", "秀水", "Xiushui", (24.315, 109.500), ZONE_WEST),
    ("pangu", "盘古片区", "盘古", "Pangu", (24.370, 109.535), ZONE_WEST),
    ("longhu", "龙湖", "龙湖", "Longhu", (24.340, 109.555), ZONE_WEST),
    ("jiuziling", "九子岭", "九子岭", "Jiuziling", (24.435, 109.560), ZONE_WEST),
    ("luorong", "雒容镇", "雒容", "Luorong", (24.395, 109.610), ZONE_EAST),
    ("luobu", "洛埠镇", "洛埠", "Luobu", (24.455, 109.645), ZONE_EAST),
]
AREA_BY_CODE = {a[0]: a for a in AREAS}

# id, name_zh, name_en, area, capacity m3/d, receiving water, commissioned
WWTPS: list[tuple[str, str, str, str, float, str, str]] = [
    ("wwtp-guantang", "官塘污水处理厂", "Guantang WWTP", "guantang", 100_000, "柳江", "2011-06-28"),
    (
        "wwtp-luorong-south",
        "雒容南污水处理厂",
        "Luorong South WWTP",
        "luorong",
        30_000,
        "洛清江",
        "2004-12-18",
    ),
    (
        "wwtp-china-europe",
        "中欧片区污水处理厂",
        "China-Europe Zone WWTP",
        "china-europe",
        50_000,
        "莫道江",
        "2019-09-26",
    ),
    (
        "wwtp-pangu",
        "盘古片区污水处理站",
        "Pangu sewage works",
        "pangu",
        10_000,
        "莫道江",
        "2016-03-15",
    ),
    (
        "wwtp-xiajintian",
        "下金田屯污水处理站",
        "Xiajintian village treatment station",
        "luobu",
        200,
        "洛清江",
        "2005-08-01",
    ),
]

# id, name_zh, name_en, area, capacity m3/d, commissioned
PUMPING_STATIONS: list[tuple[str, str, str, str, float, str]] = [
    (
        "ps-hualing-north",
        "花岭北污水提升泵站",
        "Hualing North lift station",
        "hualing",
        20_000,
        "2013-05-20",
    ),
    ("ps-hualing", "花岭污水提升泵站", "Hualing lift station", "hualing", 15_000, "2012-10-08"),
    ("ps-luobu", "洛埠污水提升泵站", "Luobu lift station", "luobu", 5_000, "2017-07-12"),
    ("ps-luorong", "雒容污水提升泵站", "Luorong lift station", "luorong", 12_000, "2005-11-30"),
    (
        "ps-zhongshan",
        "中山街污水提升泵站",
        "Zhongshan Street lift station",
        "zhongshan",
        25_000,
        "2014-04-22",
    ),
    ("ps-pilin", "毗邻片污水提升泵站", "Pilin lift station", "guantang", 8_000, "2018-06-16"),
    (
        "ps-luorong-zhonggou",
        "雒容中沟泵站",
        "Luorong Zhonggou pumping station",
        "luorong",
        10_000,
        "2020-12-01",
    ),
    (
        "ps-china-europe",
        "中欧片污水提升泵站",
        "China-Europe lift station",
        "china-europe",
        40_000,
        "2019-08-30",
    ),
]

AIR_AREAS = [
    "guantang",
    "hualing",
    "autocity-north",
    "china-europe",
    "pangu",
    "xiushui",
    "jiuziling",
    "longhu",
    "luorong",
    "luobu",
]

# area code of each DMA, in id order dma-01..dma-14
DMA_AREAS = [
    "guantang",
    "guantang",
    "hualing",
    "hualing",
    "autocity-north",
    "china-europe",
    "zhongshan",
    "zhongshan",
    "xiushui",
    "pangu",
    "longhu",
    "jiuziling",
    "luorong",
    "luobu",
]
POPULATION_TOTAL = (235_000, 290_000)

# HJ 212 pollutant code → (field, unit the loggers send) per system code. The w99xxx codes
# are the district's extension codes for the inlet and bypass meters of a plant's logger
# (HJ 212-2017 App. B has one wastewater flow code, w00000, measured at the outlet).
HJ212_CODES: dict[str, dict[str, tuple[str, str]]] = {
    "32": {
        "w99001": ("influent_flow_m3h", "m3/h"),
        "w00000": ("effluent_flow_m3h", "L/s"),
        "w99002": ("bypass_flow_m3h", "m3/h"),
        "w99018": ("influent_cod_mgl", "mg/L"),
        "w99003": ("influent_nh3n_mgl", "mg/L"),
        "w01018": ("effluent_cod_mgl", "mg/L"),
        "w21003": ("effluent_nh3n_mgl", "mg/L"),
        "w21001": ("effluent_tn_mgl", "mg/L"),
        "w21011": ("effluent_tp_mgl", "mg/L"),
        "w01012": ("effluent_ss_mgl", "mg/L"),
        "w01001": ("effluent_ph", "pH"),
        "w01010": ("water_temp_c", "degC"),
    },
    "22": {
        "a34004": ("pm25_ugm3", "ug/m3"),
        "a34002": ("pm10_ugm3", "ug/m3"),
        "a21026": ("so2_ugm3", "ug/m3"),
        "a21004": ("no2_ugm3", "ug/m3"),
        "a05024": ("o3_ugm3", "ug/m3"),
        "a21005": ("co_mgm3", "mg/m3"),
        "a01001": ("air_temp_c", "degC"),
        "a01002": ("rh_pct", "%"),
        "a01007": ("wind_speed_ms", "m/s"),
        "a01008": ("wind_dir_deg", "deg"),
    },
}
# logger vendors: EPC-96 manufacturer field (7 hex digits) and the CRC their loggers send
VENDORS: dict[str, tuple[str, str]] = {
    "A": ("0000A89", "hj212"),
    "B": ("0003C5E", "modbus"),
    "C": ("0001F07", "hj212"),
}
OBJECT_CLASS = {"32": "00016F", "22": "000122"}  # EPC-96 object class of each system
# site → (vendor, edition, transport, unit overrides, upload whose values are the readings)
HJ212_SITES: dict[str, tuple[str, str, str, dict[str, str], str]] = {
    "wwtp-guantang": ("A", "2017", "hj212", {}, "2011"),
    "wwtp-luorong-south": ("B", "2017", "hj212", {}, "2011"),
    "wwtp-china-europe": ("A", "2017", "mqtt", {}, "2011"),
    "wwtp-pangu": ("C", "2017", "mqtt", {}, "2011"),
    "wwtp-xiajintian": ("C", "2005", "hj212", {}, "2011"),
    "air-luorong": ("B", "2017", "hj212", {"a34004": "mg/m3", "a34002": "mg/m3"}, "2011"),
    "air-luobu": ("A", "2017", "hj212", {"a34004": "ng/m3", "a34002": "ng/m3"}, "2051"),
    "air-jiuziling": (  # HJ 212-2025: serial, heartbeat, SM4
        "A",
        "2025",
        "hj212",
        {"a21026": "mg/m3", "a21004": "mg/m3", "a05024": "mg/m3"},
        "2011",
    ),
}

CN_DIGITS = "〇一二三四五六七八九十"

# Main roads: name_zh, name_en (abbreviated for intersection names), polyline [(lat, lon)]
ROADS: list[tuple[str, str, list[tuple[float, float]]]] = [
    ("官塘大道", "Guantang Ave", [(24.310, 109.450), (24.400, 109.470), (24.460, 109.500)]),
    ("新柳大道", "Xinliu Ave", [(24.360, 109.430), (24.370, 109.520), (24.380, 109.600)]),
    ("文昌路", "Wenchang Rd", [(24.330, 109.470), (24.350, 109.550)]),
    ("东环大道", "Donghuan Ave", [(24.320, 109.570), (24.400, 109.580), (24.470, 109.600)]),
    ("双拥路", "Shuangyong Rd", [(24.390, 109.450), (24.410, 109.530)]),
    ("花岭大道", "Hualing Ave", [(24.400, 109.430), (24.430, 109.470), (24.450, 109.490)]),
    ("阳和大道", "Yanghe Ave", [(24.310, 109.500), (24.340, 109.530), (24.350, 109.580)]),
    ("雒容大道", "Luorong Ave", [(24.380, 109.580), (24.400, 109.620), (24.420, 109.660)]),
    ("柳东大道", "Liudong Ave", [(24.420, 109.480), (24.430, 109.550), (24.440, 109.600)]),
    ("秀水大道", "Xiushui Ave", [(24.302, 109.470), (24.320, 109.520)]),
    ("龙湖路", "Longhu Rd", [(24.320, 109.540), (24.360, 109.560)]),
    ("洛埠大道", "Luobu Ave", [(24.420, 109.620), (24.460, 109.650), (24.470, 109.670)]),
]

NAMED_CROSS_STREETS: list[tuple[str, str]] = [
    ("创业路", "Chuangye Rd"),
    ("创新路", "Chuangxin Rd"),
    ("科技路", "Keji Rd"),
    ("学院路", "Xueyuan Rd"),
    ("和谐路", "Hexie Rd"),
    ("广厦路", "Guangsha Rd"),
    ("秀水路", "Xiushui Rd"),
    ("盘古路", "Pangu Rd"),
    ("中欧路", "Zhongou Rd"),
    ("九子岭路", "Jiuziling Rd"),
    ("官塘冲路", "Guantangchong Rd"),
    ("马步路", "Mabu Rd"),
    ("兰村路", "Lancun Rd"),
    ("莫道路", "Modao Rd"),
    ("洛清路", "Luoqing Rd"),
    ("汽车城路", "Qichecheng Rd"),
    ("环湖路", "Huanhu Rd"),
    ("滨江路", "Binjiang Rd"),
    ("花岭北路", "Hualing North Rd"),
    ("中山路", "Zhongshan Rd"),
    ("金田路", "Jintian Rd"),
    ("鹧鸪江路", "Zheguijiang Rd"),
    ("沙塘路", "Shatang Rd"),
    ("新兴路", "Xinxing Rd"),
    ("凤凰路", "Fenghuang Rd"),
]


def cn_number(n: int) -> str:
    """Chinese numeral for 1..99 (e.g. 12 -> 十二)."""
    if n <= 10:
        return CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    head = "十" if tens == 1 else CN_DIGITS[tens] + "十"
    return head + (CN_DIGITS[ones] if ones else "")


def cross_street_pool() -> list[tuple[str, str]]:
    """Secondary streets that main roads cross: numbered grid streets plus named ones."""
    pool = [(f"车园横{cn_number(i)}路", f"Cheyuan Heng {i} Rd") for i in range(1, 16)]
    pool += [(f"车园纵{cn_number(i)}路", f"Cheyuan Zong {i} Rd") for i in range(1, 16)]
    pool += [(f"柳东{cn_number(i)}路", f"Liudong {i} Rd") for i in range(1, 17)]
    return pool + NAMED_CROSS_STREETS


def clamp_point(lat: float, lon: float) -> tuple[float, float]:
    """Keep a point inside the district box and round it to 6 decimals."""
    lat = min(max(lat, LAT_BOX[0] + 0.001), LAT_BOX[1] - 0.001)
    lon = min(max(lon, LON_BOX[0] + 0.001), LON_BOX[1] - 0.001)
    return round(lat, 6), round(lon, 6)


def offset_m(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """Move a point by metres north and east (small-distance approximation)."""
    dlat = north_m / M_PER_DEG_LAT
    dlon = east_m / (M_PER_DEG_LAT * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def scatter(rng: random.Random, centre: tuple[float, float], sigma_m: float) -> tuple[float, float]:
    """A point normally scattered around a centre, clamped to the district box."""
    lat, lon = offset_m(centre[0], centre[1], rng.gauss(0, sigma_m), rng.gauss(0, sigma_m))
    return clamp_point(lat, lon)


def place(ident: str, name_zh: str, name_en: str, point: tuple[float, float], **extra: Any) -> Json:
    return {
        "id": ident,
        "name_zh": name_zh,
        "name_en": name_en,
        "lat": point[0],
        "lon": point[1],
    } | extra


def apportion(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    raw = [total * w / sum(weights) for w in weights]
    counts = [math.floor(r) for r in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def build_areas() -> list[Json]:
    return [{"code": code, "name_zh": zh, "name_en": en} for code, zh, _, en, _, _ in AREAS]


def build_wastewater(rng: random.Random) -> list[Json]:
    sites: list[Json] = []
    for ident, zh, en, area, capacity, water, commissioned in WWTPS:
        centre, zone = AREA_BY_CODE[area][4], AREA_BY_CODE[area][5]
        sites.append(
            place(
                ident,
                zh,
                en,
                scatter(rng, centre, 900),
                type="wwtp",
                area=area,
                service_zone=zone,
                design_capacity_m3d=float(capacity),
                discharge_standard="GB 18918-2002 1A",
                receiving_water=water,
                commissioned=commissioned,
            )
        )
    for ident, zh, en, area, capacity, commissioned in PUMPING_STATIONS:
        centre, zone = AREA_BY_CODE[area][4], AREA_BY_CODE[area][5]
        sites.append(
            place(
                ident,
                zh,
                en,
                scatter(rng, centre, 1200),
                type="pumping_station",
                area=area,
                service_zone=zone,
                design_capacity_m3d=float(capacity),
                discharge_standard="GB 18918-2002 1A",
                receiving_water=None,
                commissioned=commissioned,
            )
        )
    return sites


def build_air(rng: random.Random) -> list[Json]:
    stations: list[Json] = []
    for code in AIR_AREAS:
        _, _, short_zh, en, centre, _ = AREA_BY_CODE[code]
        stations.append(
            place(
                f"air-{code}",
                f"{short_zh}空气自动监测站",
                f"{en} air station",
                scatter(rng, centre, 400),
                area=code,
            )
        )
    return stations


def dma_populations(rng: random.Random) -> list[int]:
    """Populations per DMA whose total matches the 2020-2025 district population range."""
    while True:
        pops = [rng.randrange(6_000, 29_000, 10) for _ in DMA_AREAS]
        if POPULATION_TOTAL[0] <= sum(pops) <= POPULATION_TOTAL[1]:
            return pops


def build_dmas(rng: random.Random) -> list[Json]:
    pops = dma_populations(rng)
    seen: dict[str, int] = {}
    dmas: list[Json] = []
    for index, (code, population) in enumerate(zip(DMA_AREAS, pops, strict=True), start=1):
        _, _, short_zh, en, centre, _ = AREA_BY_CODE[code]
        seen[code] = seq = seen.get(code, 0) + 1
        siblings = DMA_AREAS.count(code)
        if siblings > 1:  # spread an area's DMAs around its centre
            angle = 2 * math.pi * (seq - 1) / siblings + rng.uniform(-0.3, 0.3)
            centre = offset_m(centre[0], centre[1], 1300 * math.sin(angle), 1300 * math.cos(angle))
        lat, lon = clamp_point(*centre)
        ident = f"dma-{index:02d}"
        label_zh, label_en = f"{short_zh}{cn_number(seq)}区", f"{en} DMA {seq}"
        mains_km = min(80.0, max(15.0, population / 1000 * rng.uniform(1.8, 3.0)))
        meters = [
            place(
                f"{ident}-fm{k}",
                f"{label_zh}进水流量计{k}",
                f"{label_en} inlet meter {k}",
                scatter(rng, (lat, lon), 700),
            )
            for k in range(1, rng.choice((1, 2)) + 1)
        ]
        points = [
            place(
                f"{ident}-pp{k}",
                f"{label_zh}压力监测点{k}",
                f"{label_en} pressure point {k}",
                scatter(rng, (lat, lon), 500),
            )
            for k in range(1, rng.randint(2, 4) + 1)
        ]
        dmas.append(
            place(
                ident,
                f"{label_zh}计量分区",
                label_en,
                (lat, lon),
                area=code,
                population=population,
                mains_km=round(mains_km, 1),
                service_connections=round(population / rng.uniform(2.7, 3.3)),
                leakage_target_pct=9.0,
                inlet_meters=meters,
                pressure_points=points,
            )
        )
    return dmas


def build_leak_loggers(rng: random.Random, dmas: list[Json]) -> list[Json]:
    counts = apportion(N_LEAK_LOGGERS, [d["mains_km"] for d in dmas])
    loggers: list[Json] = []
    for dma, count in zip(dmas, counts, strict=True):
        for _ in range(count):
            n = len(loggers) + 1
            point = scatter(rng, (dma["lat"], dma["lon"]), 650)
            loggers.append(
                place(
                    f"ll-{n:04d}",
                    f"漏损监测仪 ll-{n:04d}",
                    f"Leak logger {n:04d}",
                    point,
                    dma=dma["id"],
                )
            )
    return loggers


def polyline_length(points: list[tuple[float, float]]) -> float:
    """Length in (locally scaled) degrees of latitude, good enough for proportions."""
    total = 0.0
    for (lat1, lon1), (lat2, lon2) in itertools.pairwise(points):
        total += math.hypot(lat2 - lat1, (lon2 - lon1) * math.cos(math.radians(lat1)))
    return total


def point_along(points: list[tuple[float, float]], fraction: float) -> tuple[float, float]:
    """The point a given fraction of the way along a polyline."""
    target = fraction * polyline_length(points)
    for a, b in itertools.pairwise(points):
        seg = polyline_length([a, b])
        if target <= seg or b == points[-1]:
            t = min(1.0, target / seg)
            return a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
        target -= seg
    return points[-1]


def nearest_area(point: tuple[float, float]) -> str:
    def dist(area: tuple[str, str, str, str, tuple[float, float], str]) -> float:
        lat, lon = area[4]
        return math.hypot(point[0] - lat, (point[1] - lon) * math.cos(math.radians(lat)))

    return min(AREAS, key=dist)[0]


def build_intersections(rng: random.Random) -> list[Json]:
    counts = apportion(N_INTERSECTIONS, [polyline_length(r[2]) for r in ROADS])
    pool = cross_street_pool()
    crossings: list[Json] = []
    for (road_zh, road_en, line), count in zip(ROADS, counts, strict=True):
        others = [(zh, en) for zh, en, _ in ROADS if zh != road_zh] + pool
        if count > len(others):
            raise ValueError(f"{road_zh}: {count} intersections but only {len(others)} streets")
        streets = rng.sample(others, count)
        for k, (cross_zh, cross_en) in enumerate(streets):
            fraction = (k + 0.5 + rng.uniform(-0.3, 0.3)) / count
            lat, lon = point_along(line, fraction)
            point = clamp_point(lat, lon)
            n = len(crossings) + 1
            crossings.append(
                place(
                    f"ix-{n:03d}",
                    f"{road_zh}与{cross_zh}交叉口",
                    f"{road_en} / {cross_en}",
                    point,
                    area=nearest_area(point),
                    road_zh=road_zh,
                    road_en=road_en,
                )
            )
    return crossings


def rsus_per_intersection(rng: random.Random, n_crossings: int) -> list[int]:
    """Mostly 3 RSUs per intersection, some 4 and some 2, summing to exactly ``N_RSUS``."""
    n_four = 20
    n_two = 3 * n_crossings + n_four - N_RSUS
    order = list(range(n_crossings))
    rng.shuffle(order)
    counts = [3] * n_crossings
    for i in order[:n_four]:
        counts[i] = 4
    for i in order[n_four : n_four + n_two]:
        counts[i] = 2
    return counts


def build_rsus(rng: random.Random, crossings: list[Json]) -> list[Json]:
    rsus: list[Json] = []
    for crossing, count in zip(crossings, rsus_per_intersection(rng, len(crossings)), strict=True):
        start = rng.uniform(0, 2 * math.pi)
        for k in range(count):  # one per approach, spaced around the junction
            angle = start + 2 * math.pi * k / count + rng.uniform(-0.3, 0.3)
            dist = rng.uniform(8.0, RSU_MAX_OFFSET_M)
            lat, lon = offset_m(
                crossing["lat"], crossing["lon"], dist * math.sin(angle), dist * math.cos(angle)
            )
            n = len(rsus) + 1
            rsus.append(
                place(
                    f"rsu-{n:04d}",
                    f"路侧单元 rsu-{n:04d}",
                    f"RSU {n:04d}",
                    (round(lat, 6), round(lon, 6)),
                    intersection=crossing["id"],
                )
            )
    return rsus


def build_hj212(rng: random.Random, registry: Json, new_rng: random.Random) -> None:
    """Give every treatment plant and air station its data logger; some report through it.

    ``new_rng`` draws what only HJ 212-2025 loggers have (serial, SM4 key)."""
    registry["hj212_codes"] = {
        st: {code: {"field": f, "unit": u} for code, (f, u) in codes.items()}
        for st, codes in HJ212_CODES.items()
    }
    sites = [("32", s) for s in registry["wastewater"] if s["type"] == "wwtp"]
    sites += [("22", s) for s in registry["air"]]
    for st, site in sites:
        vendor, edition, transport, units, readings_cn = HJ212_SITES.get(
            site["id"], ("A", "2017", "mqtt", {}, "2011")
        )
        manufacturer, crc = VENDORS[vendor]
        if edition == "2005":  # HJ/T 212-2005: a 14-digit MN
            mn = f"{rng.randrange(10**13, 10**14)}"
        else:
            mn = f"01{manufacturer}{OBJECT_CLASS[st]}{rng.randrange(16**9):09X}"
        logger: Json = {
            "mn": mn,
            "pw": f"{rng.randrange(10**6):06d}",
            "st": st,
            "edition": edition,
            "crc": crc,
            "units": units,
            "readings_cn": readings_cn,
            "interval_s": 60,
        }
        if edition == "2025":
            logger |= {
                "serial": f"LD{manufacturer}{new_rng.randrange(16**8):08X}",
                "heartbeat_s": HEARTBEAT_S,
                # a demonstration key of the synthetic district, like its PWs
                "sm4_key": f"{new_rng.randrange(16**32):032x}",
            }
        site["transport"] = transport
        site["hj212"] = logger


def build_registry(seed: int = SEED) -> Json:
    rng = random.Random(seed)
    dmas = build_dmas(rng)
    registry: Json = {
        "version": 1,
        "areas": build_areas(),
        "wastewater": build_wastewater(rng),
        "air": build_air(rng),
        "dmas": dmas,
        "leak_loggers": build_leak_loggers(rng, dmas),
    }
    crossings = build_intersections(rng)
    registry["intersections"] = crossings
    registry["rsus"] = build_rsus(rng, crossings)
    build_hj212(
        random.Random(seed + HJ212_SEED_OFFSET), registry, random.Random(seed + HJ2025_SEED_OFFSET)
    )
    return registry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output JSON file")
    args = parser.parse_args()
    registry = build_registry()
    text = json.dumps(registry, ensure_ascii=False, indent=1) + "\n"
    args.out.write_text(text, encoding="utf-8")
    counts = {key: len(value) for key, value in registry.items() if isinstance(value, list)}
    print(f"wrote {args.out} ({len(text.encode('utf-8'))} bytes): {counts}")


if __name__ == "__main__":
    main()
