"""A seeded generator of realistic-looking jobs, resumes and interactions, for demos and benchmarks.

Each job and each resume belongs to a latent occupation family (software, data, nursing, retail,
logistics, finance, marketing, hospitality); resumes borrow a little from other families (career
changers, side skills). Interactions are sparse funnels (impression -> click -> apply -> shortlist ->
interview -> offer -> hire, or a reject / withdraw / not_interested) drawn from structure that text alone
cannot see: each candidate looks mostly in their home city, at two favourite employers, and (about a third of
them) also in a related family (software <-> data, retail <-> logistics, ...); a share of pairs are accidental
clicks on random jobs (label noise). Spread over the last ~90 days.

`generate(...)` is pure and deterministic for a seed (and a fixed `now`); `load_sample_data(...)`
writes it into one organization with bulk_create (computing content_hash itself, since bulk_create
bypasses save()). Bulk writes send no `document_saved` signals: the embedding sweep picks documents
without vectors up, or call the embedding step explicitly after loading.

The family is kept in every external id (``sample-job-nursing-00012``), so benchmarks can read the
latent label back.

Modules: `vocabulary` (the words), `generator` (`generate`, `sample_resume_text`), `loading`
(`load_sample_data`).
"""

from recruiting.sample_data.generator import EXTERNAL_PREFIX, SampleData, generate, sample_resume_text
from recruiting.sample_data.loading import has_sample_data, load_sample_data
from recruiting.sample_data.vocabulary import FAMILIES, FAMILY_NAMES

__all__ = [
    "EXTERNAL_PREFIX",
    "FAMILIES",
    "FAMILY_NAMES",
    "SampleData",
    "generate",
    "has_sample_data",
    "load_sample_data",
    "sample_resume_text",
]
