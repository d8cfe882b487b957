"""De-identification benchmark: quality on the generated gold set, speed beside Presidio.

    python benchmarks/deid.py [--out benchmarks/out/deid] [--documents 600] [--clean 200]
                              [--real PATH] [--repeat 3] [--no-presidio]

1. Generates the annotated benchmark with `deid_gold.generate` (seeded) and writes it to
   ``--out`` (gold.jsonl, clean.jsonl), so `medloom deid eval --gold ...` can be run on it.
2. Scores medloom's engine: character recall, precision, F2, recall per category and on
   direct identifiers, document leak rate, share of clean-control characters redacted.
3. Scores the peer, Presidio's AnalyzerEngine with a blank ``zh`` spaCy pipeline and
   pattern recognizers equivalent to medloom's shapes (same categories; labels as
   lookbehinds, which the ``regex`` module Presidio uses allows), loaded from disk without
   downloads as FACTS.md describes.
4. Times detection for both in this one process, one core, on three corpora: the gold
   documents (dense with identifiers), the clean controls, and real doctor-patient
   dialogues (CMtMedQA, from ../shared/data/real when present). Reports characters per
   second (median of ``--repeat`` runs, the two detectors taking turns) and the ratio,
   twice: per second of wall time, and per second of this process's CPU time, which is
   what "per core" means on a machine whose other work takes turns with this one (the
   load average, before and after, is in the results).

Results go to ``--out/results.json`` and are printed as a table. Not a test: run by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from deid_gold import generate  # noqa: E402

from pipelines.deid import DeidConfig, Deidentifier, PhiSpan  # noqa: E402
from pipelines.deid.metrics import EvalReport  # noqa: E402

REAL_DIALOGUES = REPO.parent / "shared" / "data" / "real" / "zhongjing" / "CMtMedQA_test.json"

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史"
)
# The peer's patterns: the same categories and shapes as medloom's recognizers.
PEER_PATTERNS: dict[str, list[str]] = {
    "PHONE": [
        r"(?<!\d)(?:(?:\+|00)?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)",
        r"(?<!\d)(?:[(（]0\d{2,3}[)）]|0\d{2,3}[\s-]?)\d{7,8}(?:(?:转|-)\d{1,6})?(?!\d)",
    ],
    "ID_CARD": [r"(?<![\d])\d{6}\s?\d{8}\s?\d{3}[\dXx](?![\d])", r"(?<!\d)\d{15}(?!\d)"],
    "BANK_CARD": [r"(?<!\d)(?:62|4|5)\d{2}(?:[\s-]?\d{4}){2}[\s-]?\d{4,7}(?!\d)"],
    "EMAIL": [r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"],
    "URL": [r"(?:https?://|www\.)[^\s，。；]+"],
    "IP": [
        r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])",
        r"(?<![0-9A-Za-z:])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![0-9A-Za-z:])",
        r"(?<![0-9A-Za-z:])(?:[0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f:]*[0-9A-Fa-f](?![0-9A-Za-z:])",
    ],
    "DATE": [
        r"(?<!\d)(?:19|20)\d{2}\s*[年\-/.]\s*\d{1,2}\s*[月\-/.]\s*\d{1,2}\s*[日号]?"
        r"(?:\s*\d{1,2}[:：时]\d{2}分?)?",
        r"(?<!\d)(?:19|20)\d{2}年\d{1,2}月",
        r"(?<![\d年])\d{1,2}月\d{1,2}[日号]",
        r"(?<!\d)\d{2}年\d{1,2}月\d{1,2}[日号]",
        r"[〇零一二三四五六七八九]{4}年[一二三四五六七八九十]{1,2}月(?:[一二三四五六七八九十]{1,3}[日号])?",
    ],
    "AGE": [r"(?<!\d)(?:9\d|1[0-4]\d)\s*(?:周岁|岁)"],
    "MRN": [
        r"(?<=(?:住院号|病案号|门诊号|ID号|登记号|就诊卡号|检查号|病历号|标本号|样本号|条码号|检验号)"
        r"\s*[:：]?\s*)[A-Za-z0-9-]{4,20}"
    ],
    "INSURANCE": [r"(?<=(?:医保卡号|医保号|社保卡号|社保号)\s*[:：]?\s*)[A-Za-z0-9]{6,20}"],
    "PASSPORT": [r"(?<![A-Za-z0-9])[EGC][A-Z]?\d{7,8}(?![A-Za-z0-9])"],
    "PLATE": [
        r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z]·?[A-HJ-NP-Z0-9]{5,6}"
    ],
    "WECHAT": [r"(?<=(?:微信号?|vx|VX|wx)\s*[:：]?\s*)[A-Za-z][-_A-Za-z0-9]{5,19}"],
    "QQ": [r"(?<=(?:QQ|qq|扣扣)号?\s*[:：]?\s*)[1-9]\d{4,11}"],
    "PERSON": [
        rf"(?<=(?:姓名|患者|医师|医生|签名|者|其子|其女)[:：\s]{{0,2}})(?:欧阳|司马|诸葛|[{_SURNAMES}])"
        r"[\u4e00-\u9fff]{1,2}",
        rf"[{_SURNAMES}](?:先生|女士|医生|主任|教授|阿姨)",
        rf"(?:欧阳|司马|诸葛|[{_SURNAMES}])[\u4e00-\u9fff]{{1,2}}(?=[，,\s][男女]|陪同|代诉|签字|您好)",
    ],
    "ADDRESS": [r"[\u4e00-\u9fff]{2,20}?(?:路|街|道|巷)\d+号(?:\d+(?:栋|号楼|单元|室))*"],
    "HOSPITAL": [r"[\u4e00-\u9fff]{2,12}?(?:医院|卫生院|诊所)"],
}


def presidio_detector() -> Callable[[str], list[PhiSpan]]:
    """Presidio's analyzer with the peer patterns, blank zh spaCy, no downloads."""
    import spacy
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SlimSpacyNlpEngine

    model_dir = tempfile.mkdtemp(prefix="medloom-zh-blank-")
    spacy.blank("zh").to_disk(model_dir)
    nlp = SlimSpacyNlpEngine(
        models=[{"lang_code": "zh", "model_name": model_dir}],
        supported_languages=["zh"],
        auto_download=False,
    )
    registry = RecognizerRegistry(supported_languages=["zh"])
    for category, patterns in PEER_PATTERNS.items():
        registry.add_recognizer(
            PatternRecognizer(
                supported_entity=category,
                supported_language="zh",
                patterns=[Pattern(f"{category}_{i}", p, 0.8) for i, p in enumerate(patterns)],
            )
        )
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["zh"])

    def detect(text: str) -> list[PhiSpan]:
        return [PhiSpan(r.start, r.end, r.entity_type) for r in analyzer.analyze(text, "zh")]

    return detect


def score(
    detect: Callable[[str], list[PhiSpan]], gold: list[dict], clean: list[dict]
) -> EvalReport:
    report = EvalReport()
    for row in gold:
        spans = [PhiSpan(s["start"], s["end"], s["category"]) for s in row["spans"]]
        report.add_document(spans, detect(row["text"]))
    for row in clean:
        report.add_clean(row["text"], detect(row["text"]))
    return report


def throughput(
    detectors: dict[str, Callable[[str], object]], texts: Sequence[str], repeat: int
) -> dict[str, float]:
    """Characters per second of wall time and of CPU time (``NAME cpu``) of each detector,
    the median of ``repeat`` runs.

    The detectors take turns within each repeat, so a shared machine's load falls on both.
    """
    chars = sum(map(len, texts))
    times: dict[str, list[float]] = {}
    for _ in range(repeat):
        for name, detect in detectors.items():
            start, cpu = time.perf_counter(), time.process_time()
            for text in texts:
                detect(text)
            times.setdefault(name, []).append(time.perf_counter() - start)
            times.setdefault(f"{name} cpu", []).append(time.process_time() - cpu)
    return {name: chars / statistics.median(runs) for name, runs in times.items()}


def real_dialogues(path: Path) -> list[str]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [
        "\n".join(f"患者：{q}\n医生：{a}" for q, a in row["history"])
        + f"\n患者：{row['instruction']}\n医生：{row['output']}"
        for row in rows
        if "history" in row
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="De-identification benchmark")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "out" / "deid"))
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--documents", type=int, default=600)
    parser.add_argument("--clean", type=int, default=200)
    parser.add_argument("--real", default=str(REAL_DIALOGUES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-presidio", action="store_true")
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    gold, clean = generate(args.seed, args.documents, args.clean)
    for name, rows in (("gold.jsonl", gold), ("clean.jsonl", clean)):
        (out / name).write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
    engine = Deidentifier(DeidConfig(), b"benchmark-secret-0123456789")
    corpora = {"gold": [r["text"] for r in gold], "clean": [r["text"] for r in clean]}
    if Path(args.real).is_file():
        corpora["real dialogues"] = real_dialogues(Path(args.real))

    results: dict[str, object] = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cores": os.cpu_count(),
        "load_before": os.getloadavg(),
        "python": platform.python_version(),
        "medloom": score(engine.detect, gold, clean).as_dict(),
        "throughput": {},
    }
    redacted = sum(
        s.end - s.start for t in corpora.get("real dialogues", []) for s in engine.detect(t)
    )
    results["real_redaction"] = redacted / max(1, sum(map(len, corpora.get("real dialogues", []))))
    peer = None if args.no_presidio else presidio_detector()
    if peer:
        results["presidio"] = score(peer, gold, clean).as_dict()
    detectors: dict[str, Callable[[str], object]] = {"medloom": engine.detect}
    if peer:
        detectors["presidio"] = peer
    for name, texts in corpora.items():
        row: dict[str, float] = {"chars": sum(map(len, texts))}
        row.update(throughput(detectors, texts, args.repeat))
        if peer:
            row["ratio"] = row["medloom"] / row["presidio"]
            row["ratio cpu"] = row["medloom cpu"] / row["presidio cpu"]
        results["throughput"][name] = row  # type: ignore[index]
    results["load_after"] = os.getloadavg()
    (out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    print_table(results)


def print_table(results: dict) -> None:
    ours = results["medloom"]
    theirs = results.get("presidio")
    print("| measure | medloom |" + (" presidio (peer) |" if theirs else ""))
    print("|---|---|" + ("---|" if theirs else ""))
    for key in ("recall", "precision", "f2", "direct_recall", "leak_rate", "clean_redaction"):
        row = f"| {key} | {ours[key]:.4f} |"
        print(row + (f" {theirs[key]:.4f} |" if theirs else ""))
    for category, value in ours["recall_by_category"].items():
        row = f"| recall {category} | {value:.4f} |"
        peer = theirs["recall_by_category"].get(category, 0.0) if theirs else None
        print(row + (f" {peer:.4f} |" if theirs else ""))
    print(f"\nshare of real dialogue characters redacted: {results['real_redaction']:.5f}")
    load = ", ".join(f"{a:.2f}" for a in results["load_before"])
    print(
        f"\nload average before: {load}; after: "
        + ", ".join(f"{a:.2f}" for a in results["load_after"])
    )
    print("\n| corpus | chars | clock | medloom chars/s | presidio chars/s | ratio |")
    print("|---|---|---|---|---|---|")
    for name, row in results["throughput"].items():
        for clock, key in (("wall", ""), ("CPU", " cpu")):
            peer = (
                f"{row['presidio' + key]:,.0f} | {row['ratio' + key]:.1f}x"
                if "presidio" in row
                else "- | -"
            )
            print(f"| {name} | {row['chars']:,} | {clock} | {row['medloom' + key]:,.0f} | {peer} |")


if __name__ == "__main__":
    main()
