from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("matching", "0005_model_version_compat"),
    ]

    operations = [
        migrations.AddField(
            model_name="modelversion",
            name="encoder_artifact_name",
            field=models.CharField(blank=True, default="", max_length=500),
        ),
        migrations.AddField(
            model_name="modelversion",
            name="encoder_artifact_sha256",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
    ]
