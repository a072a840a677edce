"""CSV import of borrowers, their numbers and consents, and loans (format: docs/import-format.md).

The import streams: rows are read one at a time with the `csv` module (`reader`), validated without writing
(`validation`, with the models' own validators), checked against the earlier rows of the file (`store`, a
throwaway SQLite file, not memory) and written in batches, one transaction per batch (`writer`). A bad row
writes nothing (the good rows around it are imported) and is reported by line, column and reason.
`services.LoanImporter` runs it all; `manage.py import_loans` is its command line.

Per batch, one query per kind of object loads what exists. New objects are then written with multi-row
INSERTs (250 rows each), history rows included (`bulk`; the batch's `import.run` audit event lists the ids
created); loans whose amounts, due date, status or collector change are locked and written with multi-row
UPDATEs, their history rows, one `loan.updated` / `loan.assigned` event each (`audit_log_bulk`) and their
worklists judged again on commit; rows that change a borrower's details go through the services one by one, each
in its own savepoint. Rows that would change nothing cost no write at all, so re-running a file is a no-op.

Error messages never contain the row's values: a row carries names, national ids and numbers, and import
output ends up in terminals, CI logs and tickets.
"""
