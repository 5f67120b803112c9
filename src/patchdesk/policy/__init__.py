"""Client policy files: TOML in, validated models, the store, and policy documents out.

- ``models``: the pydantic models of a policy file (unknown keys are errors).
- ``load``: read files into models, or a list of problems with file, line and field path.
- ``locate``: the line of a field path in TOML text.
- ``crosschecks``: rules across items (unique names and ids, ring order).
- ``durations``: "4h" / "90m" / "HH:MM" parsing and formatting.
- ``rows``: store column values from models and back (pure).
- ``apply``: write validated policies to the store in the caller's transaction.
- ``describe``: a policy in plain words; ``export``: the markdown and JSON documents.

Nothing here imports textual (the UI/engine boundary test checks it).
"""

from patchdesk.policy.load import LoadedFile, PolicySet, Problem, load_paths, load_text
from patchdesk.policy.models import BlockEntry, ClientPolicy, PolicyDocument

__all__ = [
    "BlockEntry",
    "ClientPolicy",
    "LoadedFile",
    "PolicyDocument",
    "PolicySet",
    "Problem",
    "load_paths",
    "load_text",
]
