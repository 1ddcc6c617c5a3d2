from django.apps import AppConfig


class RecruitingConfig(AppConfig):
    name = "recruiting"
    default_auto_field = "django.db.models.BigAutoField"
