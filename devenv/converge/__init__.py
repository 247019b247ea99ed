"""The reconcile pipeline: desired state, observed state, the plan (pure), apply, readiness, the work guard."""
