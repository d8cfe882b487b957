"""What the training tests share: a small medloom output folder written with the registry's
schemas, and the tiny models built from it once per test session.

The text is our own: short consultations in the voice of a careful doctor. Every preference
pair sets such an answer against a dismissive or unsafe one, so a reward model has something
learnable to find on prompts it has not seen.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.registry import PREFERENCE_PAIR, PRETRAIN_DOCUMENT, SFT_CONVERSATION, SchemaSpec

# (department, patient question, careful answer)
CONSULTATIONS: tuple[tuple[str, str, str], ...] = (
    (
        "呼吸内科",
        "感冒后咳嗽两周了，晚上咳得厉害，需要拍胸片吗？",
        "感冒后咳嗽持续三到八周多与气道高反应有关，可以自行缓解。没有发热、胸痛和咯血时一般不必马上拍片；"
        "如果咳嗽超过八周或痰中带血，建议到呼吸科做胸片和肺功能检查。",
    ),
    (
        "心血管内科",
        "体检发现血压150/95mmHg，平时没有不舒服，要吃降压药吗？",
        "一次测量偏高不能诊断高血压，建议非同日测量三次或做24小时动态血压。确诊后先限盐、减重、规律运动，"
        "三个月仍不达标再在医生指导下用药，不要自行购买降压药。",
    ),
    (
        "儿科",
        "孩子三岁，发烧38.5度，精神还可以，需要马上去医院吗？",
        "孩子精神好、能吃能玩时，可以先按体重用对乙酰氨基酚或布洛芬退热，多喝水并观察。"
        "如果出现抽搐、嗜睡、呼吸急促、皮疹或发热超过三天，建议尽快到儿科就诊。",
    ),
    (
        "内分泌科",
        "空腹血糖7.2mmol/L，是不是得了糖尿病？",
        "空腹血糖达到7.0mmol/L以上需要另一天复查，或者做口服葡萄糖耐量试验和糖化血红蛋白检查才能确诊。"
        "建议到内分泌科就诊，同时控制主食量，每天适量运动。",
    ),
    (
        "消化内科",
        "最近总是胃胀、反酸，吃完饭更明显，怎么办？",
        "饭后胃胀反酸常见于功能性消化不良或胃食管反流。建议少食多餐，睡前三小时不进食，减少咖啡和辛辣食物。"
        "如果症状持续一个月以上或出现黑便、消瘦，建议做胃镜检查。",
    ),
    (
        "神经内科",
        "头痛三天了，太阳穴一跳一跳地痛，要紧吗？",
        "搏动性头痛多见于偏头痛或紧张性头痛，注意休息和规律睡眠。如果头痛突然剧烈、伴有呕吐、肢体无力、"
        "说话不清或发热，建议立即到医院就诊，必要时做头颅CT。",
    ),
    (
        "皮肤科",
        "手上起了很多小水疱，很痒，是湿疹吗？",
        "手部密集小水疱伴瘙痒常见于汗疱疹或湿疹。建议避免频繁洗手和接触洗涤剂，局部可以外用保湿剂。"
        "如果水疱破溃、渗液或范围扩大，建议到皮肤科就诊，不要自行挑破。",
    ),
    (
        "妇产科",
        "怀孕八周，早上恶心呕吐，吃不下东西，正常吗？",
        "孕早期恶心呕吐很常见，多在孕十二周后减轻。建议少量多餐，吃些清淡的饼干。"
        "如果呕吐频繁、不能进食进水、尿量减少或体重下降，建议及时到产科就诊，检查是否有妊娠剧吐。",
    ),
    (
        "骨科",
        "打球扭伤了脚踝，肿得很厉害，要不要拍片？",
        "扭伤后先休息、冰敷、加压包扎并抬高患肢。如果脚踝不能负重行走、骨头处有明显压痛，"
        "建议拍X线片排除骨折；两天后肿胀不消也建议到骨科就诊。",
    ),
    (
        "眼科",
        "眼睛又红又痒，早上起来分泌物很多，怎么办？",
        "眼红、痒、分泌物多常见于结膜炎。建议不要揉眼，毛巾单独使用，勤洗手。"
        "如果出现视力下降、眼痛或怕光，建议尽快到眼科就诊，在医生指导下使用滴眼液。",
    ),
    (
        "泌尿外科",
        "小便的时候尿道刺痛，老想上厕所，是尿路感染吗？",
        "尿频、尿急、尿痛多提示下尿路感染，建议多喝水、不要憋尿，并到医院查尿常规。"
        "如果出现发热、腰痛或尿中带血，建议尽快就诊，在医生指导下使用抗生素。",
    ),
    (
        "耳鼻喉科",
        "鼻塞流清涕，一到春天就打喷嚏，是过敏性鼻炎吗？",
        "季节性发作的鼻痒、喷嚏、清涕和鼻塞符合过敏性鼻炎的表现。建议减少接触花粉，外出戴口罩，"
        "可以到耳鼻喉科做过敏原检测，在医生指导下使用鼻喷激素。",
    ),
    (
        "心血管内科",
        "爬楼梯的时候胸口发闷，休息一会儿就好了，要紧吗？",
        "活动时胸闷、休息后缓解需要警惕心绞痛，建议尽快到心内科做心电图和运动负荷试验。"
        "如果胸痛持续超过十五分钟不缓解、出冷汗，建议立即拨打急救电话。",
    ),
    (
        "消化内科",
        "吃了不干净的东西，拉肚子一天五六次，怎么办？",
        "急性腹泻要注意补液，可以喝口服补液盐，饮食清淡。如果出现高热、便中带血、"
        "口干少尿等脱水表现，或者腹泻超过三天，建议到消化内科就诊并查大便常规。",
    ),
    (
        "内分泌科",
        "脖子有点粗，B超说甲状腺结节3毫米，要手术吗？",
        "三毫米的甲状腺结节大多是良性的，一般不需要手术。建议查甲状腺功能，"
        "六到十二个月复查一次B超；如果结节增大或出现声音嘶哑，建议到甲状腺外科就诊。",
    ),
    (
        "呼吸内科",
        "有哮喘，最近晚上喘得睡不着，要加药吗？",
        "夜间喘憋加重说明哮喘控制不佳，建议尽快复诊，由医生评估后调整吸入药物，不要自行加量。"
        "如果说话困难、嘴唇发紫或急救药物无效，建议立即到急诊就诊。",
    ),
)

# Dismissive or unsafe answers: what a careful doctor would not say.
POOR_ANSWERS: tuple[str, ...] = (
    "没什么大事，多喝热水就好了，不用管它。",
    "随便去药店买点抗生素吃吃就行。",
    "这个说不好，你自己上网查查吧。",
)

# A follow-up turn for multi-turn conversations (every doctor turn is trained).
FOLLOW_UP = ("需要注意饮食吗？", "饮食清淡，规律作息，按时复诊，症状加重及时就医。")


def _write(folder: Path, spec: SchemaSpec, rows: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows, schema=spec.arrow)
    pq.write_table(table, folder / "part-00000.parquet")


def _pretrain_rows() -> list[dict]:
    """Two documents per consultation: the question and answer, and the answer as advice."""
    texts = []
    for department, question, answer in CONSULTATIONS:
        texts.append(
            (f"{department}门诊咨询", f"{department}门诊咨询\n问：{question}\n答：{answer}")
        )
        texts.append((f"{department}健康提示", f"{department}健康提示：{answer}{FOLLOW_UP[1]}"))
    return [
        {
            "id": f"doc-{i:03d}",
            "text": text,
            "source": "consultations",
            "source_record_id": f"qa-{i:03d}",
            "kind": "qa",
            "language": "zh",
            "length": len(text),
            "title": title,
            "heading_path": [],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        for i, (title, text) in enumerate(texts)
    ]


def sft_split(index: int) -> str:
    """Twelve conversations train, two validate, two test."""
    return "train" if index < 12 else ("validation" if index < 14 else "test")


def _sft_rows() -> list[dict]:
    rows = []
    for i, (department, question, answer) in enumerate(CONSULTATIONS):
        messages = [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ]
        if i % 2 == 0:
            messages += [
                {"role": "user", "content": FOLLOW_UP[0]},
                {"role": "assistant", "content": FOLLOW_UP[1]},
            ]
        rows.append(
            {
                "id": f"sft-{i:03d}",
                "messages": messages,
                "source": "consultations",
                "source_record_id": f"qa-{i:03d}",
                "department": department,
                "task": "dialogue",
                "num_turns": len(messages),
                "num_tokens": sum(len(m["content"]) for m in messages),
                "cluster": f"sft-{i:03d}",
                "split": sft_split(i),
            }
        )
    return rows


def _pair_rows() -> list[dict]:
    rows = []
    for i, (_, question, answer) in enumerate(CONSULTATIONS):
        for j, poor in enumerate(POOR_ANSWERS):
            rows.append(
                {
                    "id": f"pair-{i:03d}-{j}",
                    "item_id": f"item-{i:03d}",
                    "source": "consultations",
                    "prompt": [{"role": "user", "content": question}],
                    "chosen": [{"role": "assistant", "content": answer}],
                    "rejected": [{"role": "assistant", "content": poor}],
                    "chosen_id": f"item-{i:03d}-good",
                    "rejected_id": f"item-{i:03d}-poor-{j}",
                    "margin": 1.0,
                    "rule_version": "1.0",
                }
            )
    return rows


def write_output(folder: Path) -> Path:
    """A medloom output folder: pretrain/, sft/ and preference/pairs/ Parquet."""
    _write(folder / "pretrain", PRETRAIN_DOCUMENT, _pretrain_rows())
    _write(folder / "sft", SFT_CONVERSATION, _sft_rows())
    _write(folder / "preference" / "pairs", PREFERENCE_PAIR, _pair_rows())
    return folder


@cache
def session_dir() -> Path:
    """A folder for this test session's shared models, removed when the session ends."""
    folder = Path(tempfile.mkdtemp(prefix="medloom-training-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@cache
def medical_output() -> Path:
    return write_output(session_dir() / "out")


@cache
def tiny_base() -> Path:
    """The bootstrapped tiny Llama and tokenizer, trained on the output's pretraining text."""
    from training.bootstrap import bootstrap_model
    from training.config import BootstrapConfig
    from training.data import pretrain_texts

    texts, _ = pretrain_texts(medical_output(), heldout_fraction=0.1)
    return bootstrap_model(texts["text"], BootstrapConfig(), session_dir() / "base")


ALL_PHASES = ("pretrain", "sft", "reward", "ppo", "dpo", "rejection_sampling", "grpo", "rloo")


# GRPO and RLOO sample a group of answers per prompt at every step, the slowest phases on a
# CPU: the tests run them for two small steps, every other phase on the defaults.
CHAIN_CONFIG = """\
grpo: {max_steps: 2, batch_size: 2, num_generations: 2, max_completion_length: 24}
rloo: {max_steps: 2, batch_size: 2, num_generations: 2, max_completion_length: 24}
"""


@cache
def chain_run() -> Path:
    """`medloom train all` through every phase, once per session."""
    from pipelines.cli import main

    config = session_dir() / "run.yaml"
    config.write_text(CHAIN_CONFIG, encoding="utf-8")
    run = session_dir() / "run"
    argv = ["train", "all", "--data", str(medical_output()), "--output", str(run)]
    exit_code = main([*argv, "--config", str(config), "--phases", ",".join(ALL_PHASES)])
    assert exit_code == 0
    return run
