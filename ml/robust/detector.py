"""Detects gamed resumes (hidden characters, injected instructions, skill repetition and keyword stuffing,
pasted job-ad text) and says why; ``sanitize`` removes exactly the flagged parts, so they never reach an
embedding and never raise a score.

Two levels: ``detect(resume)`` needs only the resume (stored on it by the platform); ``detect_for_job(resume,
job)`` adds what is only visible against one job (the resume copies that job's title, skills or ad), shown in
that job's ranked-candidates row. Thresholds were set on the attacks of ``ml/robust/attacks.py`` and checked for
false flags on the real resumes (``bench/robustness.py`` measures both).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..types import JobDoc, ResumeDoc

# Format characters that render as nothing (zero-width, joiners, bidi controls, BOM); the soft hyphen (U+00AD)
# is left alone: PDF text extraction produces it in honest resumes.
_INVISIBLE = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u180e\U000e0000-\U000e007f]"
)
_INSTRUCTION_PATTERNS = (
    r"\bignore\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier|other)\s+"
    r"(?:instructions?|prompts?|directions?|rules)",
    r"\bdisregard\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier)\b",
    r"\brank\s+(?:this|me|the)\s+(?:candidate|applicant|resume|cv|person)?\s*(?:as\s+)?"
    r"(?:first|top|highest|#?1|number\s+one)\b",
    r"\b(?:give|assign)\s+(?:this\s+\w+\s+|me\s+)?(?:the\s+)?(?:highest|maximum|max|top|best)\s+(?:possible\s+)?"
    r"(?:score|rating|rank)",
    r"\b(?:screening|hiring|recruit\w*|ranking|matching)\s+(?:assistant|bot|ai|algorithm|model|system)\b.{0,40}"
    r"\b(?:should|must|will)\b",
    r"\b(?:system\s+(?:note|prompt|message)|(?:as|you\s+are)\s+an?\s+(?:ai|language\s+model|llm))\b",
    r"\bthis\s+(?:candidate|applicant)\s+is\s+(?:the\s+)?(?:perfect|ideal|best)\s+(?:match|fit|candidate)\b",
)
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _INSTRUCTION_PATTERNS), re.IGNORECASE | re.DOTALL)
# Phrases of a job ad, not of a resume (a pasted ad carries several; an honest resume at most one)
_AD_PHRASES = (
    "we are looking for", "we are seeking", "we're looking for", "the ideal candidate", "the successful candidate",
    "you will be responsible", "apply now", "what we offer", "we offer", "equal opportunity employer",
    "job requirements", "about the role", "about us", "join our team", "competitive salary", "benefits package",
    "candidates must", "to apply", "our client", "job type:", "salary:", "years of experience required",
    "must be able to", "qualified candidates",
)  # fmt: skip
_TOKEN = re.compile(r"[^\W_]+(?:[+#.][^\W_]*)*", re.UNICODE)
_SPLIT = re.compile(r"[\n.;!?]+")
INVISIBLE_MIN = 3  # one stray zero-width space is a copy-paste accident (1 of 2,748 real resumes has one)
SKILL_REPEAT = 3  # the same skill listed this many times
# stuffing density: the same comma list (3 items or more) written 3 times, or the same sentence (>= 2 words) written
# 3 times with repeats making >= 30% of the text, or 8 times at any share (real resumes: 2 of 2,883 flagged)
SEGMENT_REPEAT = 3
REPEATED_SHARE = 0.3
LIST_SHARE = (
    0.1  # a list's repeats against the whole text (long honest resumes repeat "Technologies used: ...")
)
SEGMENT_REPEAT_ALONE = 8
AD_PHRASES_MIN = 2
COPY_SHINGLE = 3  # tokens per shingle when comparing a resume with one job
COPY_CONTAINMENT = 0.6  # share of the job's shingles found in the resume
COPY_MIN_SKILLS = 2  # a job's title with fewer skills is what an honest resume repeats
# the job's title (or its "title, skills" list) as a standalone skill entry or line this many times: an honest
# resume names the job it wants in its headline, not as a skill and again as a line of its summary (chosen on
# attacked training applicants of kandij, bench/robustness.py's validation; 0 false flags on their clean pairs)
TITLE_ENTRIES = 2
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")
_LETTER_PAST_LATIN = re.compile(r"[^\W\d_\x00-\u02ff]")  # a word character past Latin Extended, not a digit


@dataclass(frozen=True)
class Flag:
    kind: str  # hidden_characters | injected_instructions | skill_repetition | keyword_stuffing | pasted_job_text
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "reason": self.reason}


def _texts(resume: ResumeDoc) -> list[str]:
    return [resume.headline, resume.summary, *resume.skills, *resume.experience, *resume.education]


def _norm(s: str) -> str:
    return " ".join(_TOKEN.findall(unicodedata.normalize("NFKC", s).lower()))


_AD_KEYS = tuple(f" {_norm(p)} " for p in _AD_PHRASES)  # the phrases as ``_norm`` writes text
# any of them in a text, in one C-level scan (a Python loop over the phrases per sentence was ~40% of sanitize)
_ANY_AD_KEY = re.compile("|".join(re.escape(k) for k in _AD_KEYS))


def _mixed_script_words(text: str) -> list[str]:
    out = []
    for w in _TOKEN.findall(text):
        scripts = {n.split(" ", 1)[0] for ch in w if ch.isalpha() and (n := unicodedata.name(ch, ""))}
        if len(scripts & set(_SCRIPTS)) > 1:
            out.append(w)
    return out


def _disguised_words(text: str) -> list[str]:
    """Words mixing alphabets, or written wholly in look-alike letters of another alphabet in a Latin text."""
    out = _mixed_script_words(text)
    latin = sum(1 for ch in text if "a" <= ch.lower() <= "z")
    if latin > 0.8 * sum(1 for ch in text if ch.isalpha()):
        out += [w for w in _TOKEN.findall(text) if w not in out and all(ch in _CONFUSABLE for ch in w if ch.isalpha())
                and any(ch.isalpha() for ch in w)]  # fmt: skip
    return out


def _hidden(resume: ResumeDoc, extra: Sequence[str] = ()) -> Flag | None:
    texts = [*_texts(resume), *extra]
    n = sum(len(_INVISIBLE.findall(t)) for t in texts)
    n = n if n >= INVISIBLE_MIN else 0
    mixed = [w for t in texts for w in _disguised_words(t)]
    if not n and not mixed:
        return None
    parts = []
    if n:
        parts.append(f"{n} invisible characters")
    if mixed:
        parts.append(f"{len(mixed)} words mixing look-alike letters of other alphabets (e.g. {mixed[0]!r})")
    return Flag("hidden_characters", "; ".join(parts))


def _instructions(resume: ResumeDoc, extra: Sequence[str] = ()) -> Flag | None:
    texts = [*_texts(resume), *extra]
    hits = [m.group(0) for t in texts for m in _INSTRUCTION.finditer(_clean_chars(t))]
    if not hits:
        return None
    return Flag("injected_instructions", f"instructions to an automated screener: {hits[0][:80]!r}")


def _repetition(resume: ResumeDoc) -> list[Flag]:
    flags = []
    counts = Counter(k for k in (_norm(s) for s in resume.skills) if k)
    rep = [(s, c) for s, c in counts.most_common() if c >= SKILL_REPEAT]
    if rep:
        flags.append(Flag("skill_repetition", f"skill {rep[0][0]!r} listed {rep[0][1]} times"))
    raw = [
        seg
        for t in (resume.headline, resume.summary, *resume.experience)
        for seg in _SPLIT.split(_clean_chars(t))
    ]
    segs = Counter(k for seg in raw if len((k := _norm(seg)).split()) >= 2)
    lists = Counter(_norm(seg) for seg in raw if seg.count(",") >= 2)
    total = sum(len(k.split()) * c for k, c in segs.items())
    repeated = sum(len(k.split()) * (c - 1) for k, c in segs.items())
    top, times = segs.most_common(1)[0] if segs else ("", 0)
    share = repeated / total if total else 0.0
    top_list, list_times = lists.most_common(1)[0] if lists else ("", 0)
    list_share = len(top_list.split()) * (list_times - 1) / total if total else 0.0
    if list_times >= SEGMENT_REPEAT and list_share >= LIST_SHARE:
        flags.append(Flag("keyword_stuffing", f"the same list written {list_times} times: {top_list[:60]!r}"))
    elif times >= SEGMENT_REPEAT_ALONE or (times >= SEGMENT_REPEAT and share >= REPEATED_SHARE):
        reason = f"the same text written {times} times ({share:.0%} of the text): {top[:60]!r}"
        flags.append(Flag("keyword_stuffing", reason))
    return flags


def _ad_text(resume: ResumeDoc) -> Flag | None:
    text = _norm(" \n ".join([resume.summary, *resume.experience, resume.headline]))
    found = [p for p, k in zip(_AD_PHRASES, _AD_KEYS, strict=True) if k in f" {text} "]
    if len(found) < AD_PHRASES_MIN:
        return None
    return Flag("pasted_job_text", f"job-ad phrases: {', '.join(repr(p) for p in found[:3])}")


def detect(resume: ResumeDoc, *, raw_texts: Sequence[str] = ()) -> list[Flag]:
    """Every flag the resume alone shows (empty: nothing found). ``raw_texts``: other text of the same resume
    (an uploaded file's extracted text) searched for hidden characters and instructions only (it repeats the
    sections, so it would count as repetition)."""
    flags = [f for f in (_hidden(resume, raw_texts), _instructions(resume, raw_texts)) if f]
    flags += _repetition(resume)
    ad = _ad_text(resume)
    return flags + ([ad] if ad else [])


def _shingles(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def copied_share(resume: ResumeDoc, text: str) -> float:
    """Share of ``text``'s word shingles found in the resume (0 when the text is too short to tell)."""
    job_sh = _shingles(_norm(text).split(), COPY_SHINGLE)
    if len(job_sh) < 2:
        return 0.0
    res = _shingles(_norm(" \n ".join(_texts(sanitize_characters(resume)))).split(), COPY_SHINGLE)
    return len(job_sh & res) / len(job_sh)


def _job_parts(job: JobDoc) -> dict[str, str]:
    """The parts of a job a copy of which is evidence: its title with a skills list (``COPY_MIN_SKILLS`` or more: a
    title alone is what an honest resume repeats) and its ad text (10 words or more)."""
    parts = {}
    if len(job.skills) >= COPY_MIN_SKILLS:
        parts["title and skills"] = ", ".join([job.title, *job.skills])
    if len(_norm(job.description).split()) >= 10:
        parts["ad"] = job.description
    return parts


def _title_keys(job: JobDoc) -> set[str]:
    return {k for k in (_norm(job.title), _norm(", ".join([job.title, *job.skills]))) if k}


def _segments(text: str) -> list[str]:
    return [seg for seg in _SPLIT.split(_clean_chars(text)) if seg.strip()]


def title_entries(resume: ResumeDoc, job: JobDoc) -> int:
    """How often the job's title (or its title-and-skills list) stands alone as a skill entry or a line of the
    summary or experience."""
    keys = _title_keys(job)
    n = sum(1 for s in resume.skills if _norm(s) in keys)
    return n + sum(
        1 for t in (resume.summary, *resume.experience) for seg in _segments(t) if _norm(seg) in keys
    )


def _comparable_ad(text: str) -> str:
    """The ad as a sanitised resume would keep it (its ad-phrase sentences dropped), so a pasted ad is compared
    with what is left of it after ``sanitize``."""
    return _strip_text(text, set()) or text


def detect_for_job(resume: ResumeDoc, job: JobDoc) -> list[Flag]:
    """Flags of the resume against one job: it copies the job's title and skills list or its ad text."""
    out = []
    for part, text in _job_parts(job).items():
        share = copied_share(resume, _comparable_ad(text) if part == "ad" else text)
        if share >= COPY_CONTAINMENT:
            kind = "pasted_job_text" if part == "ad" else "keyword_stuffing"
            out.append(Flag(kind, f"copies {share:.0%} of this job's {part}"))
    if (
        not any(f.kind == "keyword_stuffing" for f in out)
        and (n := title_entries(resume, job)) >= TITLE_ENTRIES
    ):
        out.append(
            Flag("keyword_stuffing", f"this job's title written {n} times as a skill or a line of its own")
        )
    return out


def _clean_chars(text: str, *, drop_disguised: bool = False) -> str:
    """NFKC, invisible characters removed, look-alike letters of words mixing alphabets mapped to Latin (for
    reading: detection), or those disguised words dropped (``drop_disguised``: what is embedded, so a job title
    written in look-alikes never adds to the score)."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    if text.isascii():
        return text
    # a disguised word needs a Greek or Cyrillic letter: texts without any letter past U+02FF (most non-ASCII
    # text: dashes, accents) skip the per-word script check, the costliest part of reading a resume
    if drop_disguised and _LETTER_PAST_LATIN.search(text) and (bad := set(_disguised_words(text))):
        text = _TOKEN.sub(lambda m: "" if m.group(0) in bad else m.group(0), text)
        text = re.sub(r"[ \t]{2,}", " ", text).strip()
    # every look-alike is a word character, so this equals mapping them token by token (and is ~50x faster:
    # the sanitiser runs on every resume a ranking reads)
    return text.translate(_LATIN)


_CONFUSABLE = {"\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c", "\u0445": "x",
               "\u0443": "y", "\u0456": "i", "\u0455": "s", "\u03bf": "o", "\u03b1": "a", "\u0391": "A",
               "\u0410": "A", "\u0415": "E", "\u041e": "O", "\u0420": "P", "\u0421": "C", "\u0425": "X",
               "\u0412": "B", "\u041c": "M", "\u041d": "H", "\u0422": "T", "\u039f": "O"}  # fmt: skip


_LATIN = str.maketrans(_CONFUSABLE)


def sanitize_characters(resume: ResumeDoc, *, drop_disguised: bool = False) -> ResumeDoc:
    """The resume with ``_clean_chars`` applied to every field."""

    def c(t: str) -> str:
        return _clean_chars(t, drop_disguised=drop_disguised)

    return replace(
        resume,
        headline=c(resume.headline),
        summary=c(resume.summary),
        skills=tuple(x for x in (c(s) for s in resume.skills) if x),
        experience=tuple(c(e) for e in resume.experience),
        education=tuple(c(e) for e in resume.education),
    )


def _strip_text(text: str, seen: set[str]) -> str:
    """Sentences with instructions or already written (``seen``) removed; job-ad phrase sentences removed."""
    keep = []
    for line in text.split("\n"):
        parts = []
        for seg in re.split(r"(?<=[.;!?])\s+", line):
            key = _norm(seg)
            if _INSTRUCTION.search(seg) or (len(key.split()) >= 4 and key in seen):
                continue
            if _ANY_AD_KEY.search(f" {key} "):
                continue
            seen.add(key)
            parts.append(seg)
        if parts:
            keep.append(" ".join(parts))
    return "\n".join(keep)


def sanitize(resume: ResumeDoc) -> ResumeDoc:
    """The resume as it is embedded: invisible characters and look-alike letters undone, instruction and ad
    sentences and repeated sentences removed, each skill listed once. A resume without flags keeps its text
    (only invisible characters, which change nothing a reader sees, are dropped)."""
    r = sanitize_characters(resume, drop_disguised=True)
    seen: set[str] = set()
    skills: dict[str, str] = {}
    for s in r.skills:
        skills.setdefault(_norm(s), s)
    return replace(
        r,
        headline=_strip_text(r.headline, seen),
        summary=_strip_text(r.summary, seen),
        skills=tuple(v for k, v in skills.items() if k),
        experience=tuple(t for t in (_strip_text(e, seen) for e in r.experience) if t),
    )


def sanitize_for_job(resume: ResumeDoc, job: JobDoc) -> ResumeDoc:
    """``sanitize`` plus the copied runs of this job's title/skills and ad text taken out (for a resume that
    ``detect_for_job`` flags against the job)."""
    r = sanitize(resume)
    if not detect_for_job(r, job):
        return r
    job_sh = set()
    for part, text in _job_parts(job).items():
        job_sh |= _shingles(_norm(text).split(), COPY_SHINGLE)
        if part == "ad":
            job_sh |= _shingles(_norm(_comparable_ad(text)).split(), COPY_SHINGLE)
    job_sh |= _shingles(_norm(job.full_text()).split(), COPY_SHINGLE)  # a paste carries company and place too
    # the job's title standing alone (a job naming fewer than COPY_MIN_SKILLS skills): those entries are cut too
    keys = set() if _copies_skills(r, job) else _title_keys(job)

    vocab = {t for sh in job_sh for t in sh}
    # "12.00", "vb.net": a line split on "." keeps only their parts
    vocab |= {p for t in vocab for p in t.split(".") if p}

    def cut(text: str) -> str:
        segs = _segments(text)
        drop_seg = [
            (keys and _norm(seg) in keys) or _mostly_copied(_norm(seg).split(), vocab) for seg in segs
        ]
        if any(drop_seg):  # the job's title standing alone, or a line made of the job's words
            text = "\n".join(seg for seg, d in zip(segs, drop_seg, strict=True) if not d)
        toks = _norm(text).split()
        drop = set()
        for i in range(len(toks) - COPY_SHINGLE + 1):
            if tuple(toks[i : i + COPY_SHINGLE]) in job_sh:
                drop.update(range(i, i + COPY_SHINGLE))
        if not drop:
            return text
        return " ".join(t for i, t in enumerate(toks) if i not in drop)

    job_skills = {_norm(s) for s in (*job.skills, job.title)}
    return replace(
        r,
        summary=cut(r.summary),
        experience=tuple(t for t in (cut(e) for e in r.experience) if t),
        skills=tuple(s for s in r.skills if _norm(s) not in job_skills)
        if _copies_skills(r, job)
        else tuple(s for s in r.skills if _norm(s) not in keys),
    )


COPIED_LINE = 0.6  # a line of a flagged resume whose words are this share of the job's words is cut whole


def _mostly_copied(tokens: list[str], vocab: set[str]) -> bool:
    """A line whose words all come from the job, or (3 words or more) mostly: what is left of a pasted ad once
    ``sanitize`` dropped some of its sentences (the shingles across the gaps no longer match)."""
    hits = sum(t in vocab for t in tokens)
    return bool(tokens) and (hits == len(tokens) or (len(tokens) >= 3 and hits >= COPIED_LINE * len(tokens)))


def _copies_skills(resume: ResumeDoc, job: JobDoc) -> bool:
    text = _job_parts(job).get("title and skills")
    return bool(text) and copied_share(resume, text) >= COPY_CONTAINMENT
