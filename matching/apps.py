from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "matching"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from matching import embedding, lookups  # noqa: F401 (lookups: registers ``__any``)
        from matching.compat import backfill
        from matching.index.upkeep import connect_match_signals
        from matching.signals import model_activated
        from recruiting import signals

        # recruiting sends these after its transaction commits; embedding is queued only when content changed.
        signals.document_saved.connect(
            embedding.on_document_saved, dispatch_uid="matching.embed_on_document_saved"
        )
        signals.document_erased.connect(
            embedding.on_document_erased, dispatch_uid="matching.forget_on_document_erased"
        )
        # an interaction moves both documents in the active model's space
        signals.interaction_recorded.connect(
            embedding.on_interaction_recorded, dispatch_uid="matching.embed_on_interaction_recorded"
        )
        # bulk imports: one flag update and one embedding task per committed batch
        signals.documents_imported.connect(
            embedding.on_documents_imported, dispatch_uid="matching.embed_on_documents_imported"
        )
        signals.interactions_imported.connect(
            embedding.on_interactions_imported, dispatch_uid="matching.embed_on_interactions_imported"
        )
        # a version activated without its own retrieval space gets it written: behind it on the backfill queue
        # when it serves against an older space (compatible update), else before it serves
        model_activated.connect(backfill.on_model_activated, dispatch_uid="matching.model_space.activated")
        # index upkeep and result-cache invalidation (saved, erased, interaction recorded, model activated)
        connect_match_signals()
