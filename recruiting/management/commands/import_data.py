"""python manage.py import_data --org SLUG --kind jobs|resumes|interactions FILE [--format jsonl|csv] [--batch-size N]"""

from __future__ import annotations

import csv
import json

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recruiting import importing
from recruiting.models import Organization


class Command(BaseCommand):
    help = (
        "Import jobs, candidates with resumes, or interactions from a JSON Lines or CSV file into one "
        "organization. Idempotent; invalid rows are reported and skipped (see recruiting/importing/)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to a .jsonl or .csv file.")
        parser.add_argument("--org", required=True, help="Organization slug (or id).")
        parser.add_argument("--kind", required=True, choices=importing.KINDS)
        parser.add_argument(
            "--format", choices=importing.FORMATS, help="Default: from the extension, else sniffed."
        )
        parser.add_argument("--batch-size", type=int, default=importing.DEFAULT_BATCH_SIZE)
        parser.add_argument(
            "--partial-batches",
            action="store_true",
            help="Commit a batch's valid rows even when some of its rows fail (default: all-or-nothing).",
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options):
        org_ref = options["org"]
        org = Organization.objects.filter(slug=org_ref).first()
        if org is None and org_ref.isdigit():
            org = Organization.objects.filter(pk=int(org_ref)).first()
        if org is None:
            raise CommandError(f"No organization with slug or id {org_ref!r}.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        path = options["file"]
        try:
            total_rows = _count_records(path, options["format"])
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc

        show = not options["no_progress"] and options["verbosity"] > 0
        with (
            open(path, "rb") as handle,
            tqdm(total=total_rows, unit="row", desc=f"import {options['kind']}", disable=not show) as bar,
        ):
            try:
                report = importing.import_file(
                    organization=org,
                    kind=options["kind"],
                    file=handle,
                    format=options["format"],
                    filename=path,
                    batch_size=options["batch_size"],
                    progress=bar.update,
                    partial_batches=options["partial_batches"],
                )
            except (importing.ImportFileError, ValueError) as exc:
                raise CommandError(str(exc)) from exc

        if options["json"]:
            self.stdout.write(json.dumps(report.to_dict(), indent=2))
            return
        self.stdout.write(
            self.style.SUCCESS(report.summary()) if not report.rejected_count else report.summary()
        )
        for row in report.rejected:
            where = f" [{row['field']}]" if row["field"] else ""
            self.stdout.write(self.style.WARNING(f"  line {row['line']}{where}: {row['reason']}"))
        if report.rejected_truncated:
            self.stdout.write(f"  ... and {report.rejected_count - len(report.rejected)} more rejected rows")


def _count_records(path: str, fmt: str | None) -> int | None:
    """Records in the file, for the progress bar (None when it cannot be told cheaply)."""
    with open(path, "rb") as handle:
        head = handle.read(65536)
        handle.seek(0)
        fmt = fmt or importing.guess_format(path, head)
        if fmt == "jsonl":
            return sum(1 for line in handle if line.strip())
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as text:
            return max(0, sum(1 for row in csv.reader(text) if any(cell.strip() for cell in row)) - 1)
    except csv.Error:
        return None
