from recruiting.models import Interaction


def test_resume_content_hash_tracks_content(make_org, make_resume):
    resume = make_resume(org=make_org())
    first = resume.content_hash
    resume.save()
    assert resume.content_hash == first
    resume.skills = [*resume.skills, "kubernetes"]
    resume.save()
    assert resume.content_hash != first


def test_interaction_strength_has_order_and_sign():
    kinds = Interaction.Kind
    ordered = [
        kinds.IMPRESSION,
        kinds.CLICK,
        kinds.APPLY,
        kinds.SHORTLIST,
        kinds.INTERVIEW,
        kinds.OFFER,
        kinds.HIRE,
    ]
    strengths = [Interaction(kind=k).strength for k in ordered]
    assert strengths == sorted(strengths) and strengths[0] > 0
    for k in (kinds.REJECT, kinds.WITHDRAW, kinds.NOT_INTERESTED):
        assert Interaction(kind=k).strength < 0
