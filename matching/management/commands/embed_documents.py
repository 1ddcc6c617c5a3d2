from django.core.management.base import BaseCommand

from matching.console import embed_backfill


class Command(BaseCommand):
    help = "Embed every job and resume without a current vector (a backfill), with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        result = embed_backfill(batch_size=options["batch_size"], show_progress=not options["no_progress"])
        self.stdout.write(
            f"embedded {result.embedded}, unchanged {result.unchanged}, missing {result.missing}, "
            f"flags cleared {result.cleared}"
        )
