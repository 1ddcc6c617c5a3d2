"""Scores that can't be bought: attacks on the matcher, a detector of gamed resumes, the sanitiser that keeps
the flagged parts out of every embedding, the selectivity rule for interactions, and calibration heads.

Plain Python/NumPy/PyTorch, no Django (see docs/architecture.md, ``ml/``).
"""
