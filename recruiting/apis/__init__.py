"""HTTP API of the recruiting app, one module per resource.

Thin views: each parses its input with its own small serializer, reads through
`recruiting.selectors` (which scope everything to the requesting user), writes through
`recruiting.services`, and renders with its own output serializer.

Modules: `auth`, `organizations` (and members), `jobs`, `candidates`, `resumes`, `interactions`,
`uploads` (resume files), `imports` (bulk import); `base` holds the one scoped detail view they share
and `upload_limits` the size checks of the two file endpoints.

Conventions:

* An object outside the user's scope is a 404, for every method, including nested member routes.
* An object in scope that the user may not change is a 403 (e.g. a recruiter editing their
  organization, a job seeker editing an open job, a recruiter editing an applicant's own resume).
* A reference in a request body to an object outside the user's scope (an interaction's job of
  another organization, a resume's candidate the user may not manage) is a 400 naming that field,
  with the same message as for an id that does not exist.
* Interactions are an append-only log: create, list and retrieve only; PUT/PATCH/DELETE are 405.
* PUT replaces the writable fields (omitted optional fields return to their defaults); PATCH
  changes only the fields sent.
"""
