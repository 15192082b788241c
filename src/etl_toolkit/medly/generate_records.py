"""The records `etl medly generate` writes: courses, questions and their parts,
with the realistic defects a dirty share of them carries."""

from __future__ import annotations

import random
import string
from typing import Any

TYPES = ["long_answer", "calculate", "mcq", "short_answer"]
WORDS = [
    "cell",
    "membrane",
    "enzyme",
    "osmosis",
    "diffusion",
    "protein",
    "nucleus",
    "energy",
    "respiration",
    "glucose",
    "oxygen",
    "carbon",
    "photosynthesis",
    "chlorophyll",
    "mitochondria",
    "tissue",
    "organ",
    "heart",
    "lung",
    "blood",
    "pressure",
    "rate",
    "reaction",
    "temperature",
    "acid",
    "base",
    "salt",
    "ion",
    "electron",
]


def rid(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=n))


def sentence(rng: random.Random, n: int = 8) -> str:
    return " ".join(rng.choices(WORDS, k=n)).capitalize() + "."


class Dirt:
    """Decides, per record, whether and how to spoil it."""

    def __init__(self, rng: random.Random, rate: float) -> None:
        self.rng, self.rate, self.count = rng, rate, 0

    def pick(self, kinds: list[str]) -> str | None:
        if self.rate <= 0 or self.rng.random() >= self.rate:
            return None
        self.count += 1
        return self.rng.choice(kinds)


def course_units(
    subject: str, rng: random.Random, units: int, topics: int, lessons: int
) -> list[Any]:
    return [
        {
            "unitIndex": u,
            "unitTitle": f"Unit {u}: {sentence(rng, 3)}",
            "topics": [
                {
                    "topicIndex": t,
                    "topicTitle": f"Topic {u}.{t}: {sentence(rng, 3)}",
                    "lessons": [
                        {
                            "lessonIndex": x,
                            "lessonID": f"{subject}{u}.{t}.{x}",
                            "lessonTitle": sentence(rng, 4),
                        }
                        for x in range(lessons)
                    ],
                }
                for t in range(topics)
            ],
        }
        for u in range(units)
    ]


def part_record(
    rng: random.Random,
    subject: str,
    qnum: int,
    part: int,
    lesson_ids: list[str],
    practice: bool,
    dirt: Dirt,
    qid: str,
) -> dict[str, Any]:
    qtype = rng.choice(TYPES)
    item: dict[str, Any] = {
        "question_part": part,
        "question_type": qtype,
        "question_text": sentence(rng, 12),
        "markmax": rng.randint(1, 6),
        "markscheme": sentence(rng, 10),
        "difficulty": rng.randint(1, 5),
        "questionID": f"{subject}_{qnum}_{part}_{rid(rng, 10)}",
    }
    if qtype == "mcq":
        item["options"] = [sentence(rng, 3) for _ in range(4)]
        item["correct_answer_index"] = (
            [rng.randrange(4)] if practice and rng.random() < 0.3 else rng.randrange(4)
        )
    if practice:
        item["specification_point"] = f"{rng.randint(1, 9)}.{rng.randint(1, 9)} {sentence(rng, 4)}"
        if rng.random() < 0.1:
            item["question_diagram"] = {
                "required": True,
                "items": [
                    {
                        "description": sentence(rng, 5),
                        "method": "generated",
                        "attempts": [],
                        "final": {"png_path": f"diagrams/{qid}_{part}.png"},
                    }
                ],
            }
    else:
        item["lessonIDs"] = lesson_ids
    spoil = dirt.pick(["unknown_lesson", "missing_difficulty", "wrong_markmax"])
    if spoil == "unknown_lesson" and not practice:
        item["lessonIDs"] = [*lesson_ids, f"{subject}99.99.99"]
    elif spoil == "missing_difficulty":
        item.pop("difficulty")
    elif spoil == "wrong_markmax":
        item["markmax"] = "three"
    return item


def question_record(
    rng: random.Random,
    subject: str,
    qnum: int,
    parts: int,
    lesson_pool: list[str],
    practice: bool,
    dirt: Dirt,
) -> dict[str, Any]:
    qid = f"{subject}_{qnum}_{rid(rng, 10)}"
    diagram: Any = None
    if rng.random() < 0.2:
        diagram = (
            "![diagram](https://example.invalid/d.png)"
            if rng.random() < 0.5
            else {
                "required": True,
                "items": [
                    {
                        "description": sentence(rng, 6),
                        "method": "uploaded",
                        "attempts": [],
                        "final": {"png_path": f"d/{qid}.png"},
                    }
                ],
            }
        )
    lessons = rng.sample(lesson_pool, k=min(len(lesson_pool), rng.randint(1, 2)))
    return {
        "question_number": qnum,
        "question_id": qid,
        "question_stem": sentence(rng, 15),
        "question_stem_diagram": diagram,
        "validation_comment": "PASS",
        "validation_reason": sentence(rng, 6),
        "items": [
            part_record(rng, subject, qnum, p, lessons, practice, dirt, qid)
            for p in range(1, parts + 1)
        ],
    }
