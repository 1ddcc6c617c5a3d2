"""bench/encoder_speed.py: its verdicts follow the figures, and its docs name the CPU's vector units as recorded."""

from __future__ import annotations

from bench import encoder_speed as ES


def _result(short, long_, mean, minimum, flags="avx2, avx512f, avx512_vnni"):
    speed = {"texts": 8, "st_ms_per_text": 3.0, "int8_ms_per_text": 1.0, "speedup_per_rep": []}
    return {
        "speed": {"short": {**speed, "speedup": short}, "long": {**speed, "speedup": long_}},
        "agreement": {"texts": 3000, "mean": mean, "min": minimum, "p01": minimum},
        "build_seconds": 10.0,
        "meta": {
            "load_average": [1.0],
            "load_average_start": [1.0],
            "cpus": 2,
            "reps": 5,
            "cpu_flags": flags,
        },
    }


def test_speed_and_agreement_verdicts_flip_with_the_figures():
    good = ES.verdicts(_result(3.2, 3.1, 0.995, 0.985))
    assert good[0].endswith(": MET") and good[1].endswith(": MET")
    slow_long = ES.verdicts(_result(3.2, 1.5, 0.995, 0.985))
    assert slow_long[0].endswith("NOT MET") and slow_long[1].endswith(": MET")
    low_min = ES.verdicts(_result(3.2, 3.1, 0.995, 0.978))
    assert low_min[1].endswith("NOT MET")


def test_docs_state_the_recorded_cpu_flags():
    r = _result(3.2, 3.1, 0.995, 0.985)
    r["verdicts"] = ES.verdicts(r)
    text = ES.markdown(r)
    assert "avx512_vnni" in text and "AVX2 only" not in text
    del r["meta"]["cpu_flags"]
    assert "not recorded by this run" in ES.markdown(r)
    assert ES.cpu_flags()  # reads /proc/cpuinfo, "unknown" where there is none
