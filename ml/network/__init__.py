"""MV-CoN for Tandem: text view + relation view trained side by side with co-teaching.

Public API (stable, used by matching/, bench/ and the tests):
    TrainConfig, TrainProgress, PairScores, MatchingModel, train(data, config, *, cache, progress, clean_mask_fn)

Modules: config (TrainConfig), model (MatchingModel, PairScores), sampling (labelled pairs, negatives),
coteaching (small-loss selection, noise estimate, edge cleaning), epochs (the batch steps), trainer (train),
fresh (interactions newer than the model, applied at serving: the ``interactions=`` keyword of MatchingModel).

Method (see /work/shared/design/mvcon.md); departures are marked "DEPARTURE" in comments:
  * Labels. Interactions are aggregated per (job, resume) pair: the latest event decides the label (positive
    kind -> 1, negative kind -> 0); the pair's strength is the max |strength| of events of that polarity.
    Unlabelled pairs are sampled as negatives (``negatives_per_positive`` per observed positive, per epoch).
  * Text view: ml/textview.py. Pointwise BCE + in-batch contrastive loss with softened negatives on the pooled
    vectors (and peer/cross-level section alignment), over the positives the peer kept.
  * Relation view: ml/relation/. Pointwise BCE + softened contrastive on graph vectors.
  * Co-teaching (Han et al. 2018): per batch, each view ranks the batch's pairs by its own BCE loss and hands
    the OTHER view its R(T) small-loss fraction, R(T) = 1 - forget_rate * min(T / warmup_epochs, 1), T = epoch
    progress (fractional). DEPARTURE: selection is per class (the R(T) fraction is kept among positives and among
    negatives separately), otherwise easy sampled negatives crowd out every positive under a high forget rate.
    DEPARTURE: forget_rate="auto" (default) estimates tau per class after every epoch from the views' own scores
    (``estimate_noise``: how many positives score like uniformly drawn negatives), instead of a hand-set rate:
    real interaction data has no known noise rate, and a fixed rate on clean data drops the hard positives that
    rankings need. (Choices are read on the validation split carved from training, ``bench/quality.py
    --validation``, never on the test cases.)
  * Selection (``selection="memory"``, the default, chosen on the validation split: ml/network/config.py; "batch"
    is the per-batch small-loss rule above): each view keeps a running rank of every observed positive among
    uniformly drawn negatives over the epochs; after the warm-up it names the tau share it ranks lowest and the
    OTHER view leaves those out of its losses. DEPARTURE: every sampled negative is kept (the per-batch rule drops
    the high-loss ones, i.e. the hard negatives rankings need).
  * History features (ml/features.py, ``history_features``): per pair, similarity of the job to the resume's
    training jobs (MiniLM whole/title max+mean cosine, TF-IDF, same company / city / state), to the resume's own
    text and place, a BM25-like TF-IDF query cosine, history size and job degree; computed with the pair's own
    fold's edges left out (as the relation view's graph). A small HistoryHead per view adds a logit term.
    DEPARTURE: on view data with mostly empty resumes this is where the signal is (the place and company of the
    applicant's previous jobs; see the place-and-company peer of bench/peers/place.py).
  * Job-side negatives (``job_negatives_per_positive``): other jobs for the same resume, half of them from the
    positive job's state, so the model learns to rank jobs for a resume (the benchmark's task), not only
    resumes for a job.
  * Final score: ``view_mix="learned"`` fits sigmoid(a*text_logit + b*relation_logit + c) on the pairs both views
    kept (view logits detached so the mix does not disturb the views); a float w gives w*p_text + (1-w)*p_rel.
"""

from .config import TrainConfig
from .coteaching import NoiseEstimate, estimate_noise
from .model import MatchingModel, PairScores, ScoreMix
from .progress import TrainProgress
from .sampling import aggregate_interactions
from .trainer import train, warm_start_weights

__all__ = [
    "MatchingModel",
    "NoiseEstimate",
    "PairScores",
    "ScoreMix",
    "TrainConfig",
    "TrainProgress",
    "aggregate_interactions",
    "estimate_noise",
    "train",
    "warm_start_weights",
]
