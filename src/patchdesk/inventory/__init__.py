"""Reading the CSV files an operator imports (devices, missing patches): untrusted input
parsed and validated into rows, with no store and no database. ``records`` is the shared
reader; ``devices`` and ``patches`` the two file kinds; the store's ``inventory_ops`` and
``missing_patch_ops`` apply the rows."""
