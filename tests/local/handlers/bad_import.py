"""A module whose import fails: Lambda's init error, retried in the invoke phase."""

print("bad_import: importing")
raise ValueError("no config at import")
