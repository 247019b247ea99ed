"""The fast path: a converged `plan`/`apply`, and `shell -- CMD`, answered from each spec's
cached desired state and a few engine reads over the standard library, without YAML,
Pydantic, Jinja, the Docker SDK, typer or rich. Whatever it is not sure of (a cache miss,
any change, an option it does not know) it hands to the full path, which then refreshes the
cache: it may only ever say "no changes" where the full path would say the same."""
