"""Media intake (issue 22, docs/media.md): what an upload must be to be stored, read from its
content. Pure processing, no database and no storage: `intake.clean_upload` returns a file safe
to store or raises MediaRefused; `workflows.services.media.medium_upload` stores it."""
