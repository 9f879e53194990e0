"""Problem files: the pydantic spec, loading YAML safely, point generators and sweeps, key line numbers, the JSON schema."""
