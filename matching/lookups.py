"""``field__any=[ids]``: membership in a long list of integer ids as ONE array parameter on PostgreSQL.

Why not ``__in``: a ranking asks about the ~600 documents its first stage found, several times a request, and
an IN of 600 placeholders cost ~15 ms of Python a request (Django's In lookup prepares every value, psycopg's
client-side binding re-parses a query string that long every time: too long for its cache). ``= ANY(%s)``
with one list parameter is the same condition for PostgreSQL's planner (an index scan on the key). Other
databases (the demo's SQLite) get the IN list.
"""

from __future__ import annotations

from django.db.models import Field, ForeignObject, Lookup


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        return [int(v) for v in self.rhs]  # ids only: a value that is no integer fails here, not in SQL

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        if not self.rhs:
            return "1 = 0", []
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*params, self.rhs]
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", [*params, *self.rhs]


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)  # foreign keys keep their own lookups (``candidate_id__any``)
