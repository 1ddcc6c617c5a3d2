from django.core.management.base import BaseCommand, CommandError

from config.celery import runs_eagerly
from matching.console import train_in_process
from matching.training.runs import start_training_run


class Command(BaseCommand):
    help = (
        "Start a training run (train -> evaluate -> promote). With CELERY_TASK_ALWAYS_EAGER=1 it runs here "
        "with a progress bar; otherwise it is queued for the training workers and its id printed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        if runs_eagerly():
            run = train_in_process(say=self.stdout.write, show_progress=not options["no_progress"])
            if run.status == run.Status.FAILED:
                raise CommandError(f"training run {run.pk} failed: {run.error}")
            return
        run, created = start_training_run(trigger="cli")
        verb = "queued" if created else "already in progress"
        self.stdout.write(f"training run {run.pk} {verb}; follow it at /api/training-runs/{run.pk}/")
