"""The dashboard's views, one module per page family. Each looks its object up in the same scoped
selectors the API uses (404 outside them), then calls the same services."""
