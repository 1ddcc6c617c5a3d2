"""Why a job and a resume match: matched and missing skills, and the best-matching sections.

Skills are compared after normalisation (case, punctuation, whitespace) and synonym folding
(``postgres`` = ``postgresql``, ``k8s`` = ``kubernetes``, ``js`` = ``javascript`` ...). A job skill
counts as matched when it is in the resume's skill list, or when the skill (or a synonym) appears as a
whole phrase in the resume's text (headline, summary, experience). Sections come from the trained
model's ``section_similarities`` when one is active, else from zero-shot cosines of the same section
texts under the serving encoder (the process-wide section cache, primed from the stored section vectors).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from ml.embedding import shared_cache
from ml.types import PEER_SECTIONS, JobDoc, ResumeDoc

# alias -> canonical form (both sides already normalised with `normalise_skill`)
SYNONYMS: dict[str, str] = {
    "postgres": "postgresql",
    "psql": "postgresql",
    "pg": "postgresql",
    "js": "javascript",
    "ecmascript": "javascript",
    "ts": "typescript",
    "k8s": "kubernetes",
    "kube": "kubernetes",
    "golang": "go",
    "node": "nodejs",
    "node js": "nodejs",
    "reactjs": "react",
    "react js": "react",
    "vuejs": "vue",
    "vue js": "vue",
    "angularjs": "angular",
    "py": "python",
    "python3": "python",
    "python 3": "python",
    "ml": "machine learning",
    "dl": "deep learning",
    "nlp": "natural language processing",
    "cv": "computer vision",
    "ai": "artificial intelligence",
    "amazon web services": "aws",
    "google cloud platform": "gcp",
    "google cloud": "gcp",
    "microsoft azure": "azure",
    "c sharp": "c#",
    "csharp": "c#",
    "cpp": "c++",
    "cplusplus": "c++",
    "sklearn": "scikit learn",
    "scikit": "scikit learn",
    "tf": "tensorflow",
    "drf": "django rest framework",
    "rest api": "rest",
    "rest apis": "rest",
    "restful": "rest",
    "restful apis": "rest",
    "mongo": "mongodb",
    "ms sql": "sql server",
    "mssql": "sql server",
    "gitlab ci": "ci cd",
    "cicd": "ci cd",
    "continuous integration": "ci cd",
    "dotnet": ".net",
    "net": ".net",
    "ux": "user experience",
    "ui": "user interface",
    "pm": "project management",
    "excel": "microsoft excel",
    "ms excel": "microsoft excel",
    "powerbi": "power bi",
    "elastic": "elasticsearch",
    "es": "elasticsearch",
    "rabbit": "rabbitmq",
    "gql": "graphql",
    "objective c": "objective-c",
}
_WORDS = """
python django flask fastapi java kotlin scala rust ruby rails php swift sql mysql sqlite redis kafka spark
hadoop airflow docker terraform ansible linux bash git html css sass pandas numpy pytorch keras celery nginx
graphql grpc microservices agile scrum jira figma tableau salesforce sap accounting marketing seo sales
recruiting nursing statistics matlab typescript javascript postgresql kubernetes go nodejs react vue angular
aws gcp azure c# c++ tensorflow rest mongodb elasticsearch rabbitmq communication leadership
"""
_PHRASES = (
    "scikit learn",
    "machine learning",
    "deep learning",
    "natural language processing",
    "computer vision",
    "ci cd",
    "power bi",
    "project management",
    "data analysis",
    "customer service",
)
# Skills recognised in free text (raw-text scoring); canonical forms.
VOCABULARY: frozenset[str] = frozenset(SYNONYMS.values()) | frozenset(_WORDS.split()) | frozenset(_PHRASES)

_PUNCT = re.compile(r"[^\w#+.]+")


def normalise_skill(skill: str) -> str:
    """Lower case, punctuation to spaces (``#``, ``+`` and inner dots kept), one space between words,
    then synonym folding: ``"  Postgres "`` -> ``"postgresql"``, ``"Node.js"`` -> ``"nodejs"``."""
    s = str(skill).strip().lower()
    s = re.sub(r"\.js\b", "js", s)  # node.js, vue.js, react.js
    s = _PUNCT.sub(" ", s).replace("_", " ")
    s = re.sub(r"(?<![\w])\.|\.(?![\w])", " ", s)  # dots only inside words (".net" keeps its own below)
    s = " ".join(s.split())
    if str(skill).strip().lower() in {".net", "dotnet", "asp.net"}:
        return ".net"
    return SYNONYMS.get(s, s)


def _aliases(canonical: str) -> set[str]:
    return {canonical} | {alias for alias, c in SYNONYMS.items() if c == canonical}


def _phrase_in(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w#+]){re.escape(phrase)}(?![\w#+])", text) is not None


def _folded_text(text: str) -> str:
    t = re.sub(r"\.js\b", "js", text.lower())
    return " " + " ".join(_PUNCT.sub(" ", t).replace("_", " ").split()) + " "


def skills_in_text(text: str) -> list[str]:
    """Canonical skills from VOCABULARY (and their synonyms) that appear in free text."""
    folded = _folded_text(text)
    found = []
    for canonical in sorted(VOCABULARY):
        if len(canonical) <= 1:
            continue  # "r", "c": too ambiguous in prose
        if any(_phrase_in(folded, a) for a in _aliases(canonical) if len(a) > 1):
            found.append(canonical)
    return found


def skill_reasons(
    required: Sequence[str],
    nice_to_have: Sequence[str],
    resume_skills: Sequence[str],
    resume_text: str = "",
) -> dict[str, list[str]]:
    """matched_skills (required then nice-to-have, in the job's words), missing_skills (required ones the
    resume lacks) and missing_nice_to_have."""
    have = {normalise_skill(s) for s in resume_skills if str(s).strip()}
    folded = _folded_text(resume_text) if resume_text else ""

    def present(skill: str) -> bool:
        c = normalise_skill(skill)
        if not c:
            return False
        if c in have:
            return True
        return bool(folded) and any(_phrase_in(folded, a) for a in _aliases(c) if len(a) > 1)

    matched, missing, missing_nice, seen = [], [], [], set()
    for skill, bucket in [(s, "req") for s in required] + [(s, "nice") for s in nice_to_have]:
        c = normalise_skill(skill)
        if not c or c in seen:
            continue
        seen.add(c)
        if present(skill):
            matched.append(str(skill).strip())
        elif bucket == "req":
            missing.append(str(skill).strip())
        else:
            missing_nice.append(str(skill).strip())
    return {"matched_skills": matched, "missing_skills": missing, "missing_nice_to_have": missing_nice}


def resume_text_of(doc: ResumeDoc) -> str:
    return "\n".join([doc.headline, doc.summary, *doc.experience])


# --------------------------------------------------------------------------------------- sections


def _peer_texts(job: JobDoc, resume: ResumeDoc) -> tuple[list[str], list[str]]:
    js, rs = job.sections(), resume.sections()
    return [js[k] for k in PEER_SECTIONS], [rs[v] for v in PEER_SECTIONS.values()]


def zero_shot_sections(encoder, job: JobDoc, resumes: Sequence[ResumeDoc]) -> list[dict[str, float]]:
    """Per resume, {"title:headline": cos, "skills:skills": cos, "description:experience": cos} (0.0 when
    either section is empty) — the same keys as MatchingModel.section_similarities."""
    jt, _ = _peer_texts(job, resumes[0]) if resumes else ([], [])
    rts = [_peer_texts(job, r)[1] for r in resumes]
    flat = jt + [t for ts in rts for t in ts]
    vecs = shared_cache(encoder).encode(flat)  # primed from stored SectionVectors by the caller
    n = len(PEER_SECTIONS)
    jv = vecs[:n]
    out = []
    for i in range(len(resumes)):
        rv = vecs[n + i * n : n + (i + 1) * n]
        sims = (jv * rv).sum(axis=1)
        out.append({f"{j}:{r}": float(s) for (j, r), s in zip(PEER_SECTIONS.items(), sims, strict=True)})
    return out


def best_sections(similarities: dict[str, float], top: int = 3) -> list[dict]:
    """The section pairs by similarity, best first: [{"job_section", "resume_section", "similarity"}].
    The whole-document pair and pairs with an empty side (similarity exactly 0) are left out."""
    pairs = []
    for key, sim in similarities.items():
        j, _, r = key.partition(":")
        if j == "whole" or sim is None or not np.isfinite(sim) or sim == 0.0:
            continue
        pairs.append({"job_section": j, "resume_section": r, "similarity": round(float(sim), 4)})
    pairs.sort(key=lambda p: -p["similarity"])
    return pairs[:top]


def job_skill_lists(job_required: Iterable[str], job_nice: Iterable[str]) -> tuple[list[str], list[str]]:
    return [str(s) for s in job_required or []], [str(s) for s in job_nice or []]
