"""The catalog: vendors, operations and requirement rows, loaded from vendor folders and validated."""
