from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "matching"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from matching import embedding
        from matching.index.upkeep import connect_match_signals
        from recruiting import signals

        # recruiting sends these after its transaction commits; embedding is queued only when content changed.
        signals.document_saved.connect(
            embedding.on_document_saved, dispatch_uid="matching.embed_on_document_saved"
        )
        signals.document_erased.connect(
            embedding.on_document_erased, dispatch_uid="matching.forget_on_document_erased"
        )
        # index upkeep and result-cache invalidation (saved, erased, interaction recorded, model activated)
        connect_match_signals()
